import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from matplotlib.colors import Normalize

from mpl_residual import robust_limits
from mpl_residual.scaling import clipped_fraction, colorbar_extend

finite_or_not = st.floats(allow_nan=True, allow_infinity=True, width=32)


def test_gpt2_vector_is_readable(gpt2_vector):
    # The real vector from the seed: dim 496 = 187.08 while the median |x| is 0.24.
    assert gpt2_vector[496] == pytest.approx(187.08)
    vmin, vmax = robust_limits(gpt2_vector)
    assert vmin == -vmax
    assert clipped_fraction(gpt2_vector, vmin, vmax) < 0.05
    # Readable: a typical value sits well away from the centre colour...
    median = np.median(np.abs(gpt2_vector))
    assert median / vmax > 0.05
    # ...where the full range would put it within 0.2% of the centre.
    _, full = robust_limits(gpt2_vector, robust=False)
    assert full == pytest.approx(187.08, rel=1e-4)
    assert median / full < 0.002


@given(
    x=hnp.arrays(
        np.float32,
        hnp.array_shapes(min_dims=1, max_dims=3, max_side=8),
        elements=finite_or_not,
    ),
    robust=st.booleans(),
)
def test_limits_are_symmetric_finite_and_ignore_nonfinite(x, robust):
    vmin, vmax = robust_limits(x, robust=robust)
    assert np.isfinite(vmin) and np.isfinite(vmax)
    assert vmin == -vmax and vmax > 0
    finite = x[np.isfinite(x)]
    if finite.size and np.abs(finite).max() > 0:
        assert vmax <= np.abs(finite).max()
        # The same limits as the finite values alone: NaN/inf never move them.
        assert (vmin, vmax) == robust_limits(finite, robust=robust)
        if not robust:
            assert vmax == np.abs(finite).max()


@given(
    x=hnp.arrays(
        st.sampled_from([np.float16, np.float32, np.float64, np.int16]),
        st.integers(100, 400),
        elements=st.integers(-1000, 1000),
    )
)
def test_robust_clips_at_most_about_two_percent(x):
    vmin, vmax = robust_limits(x)
    assert clipped_fraction(x, vmin, vmax) <= 0.02 + 1 / x.size


@pytest.mark.parametrize(
    ("x", "expected"),
    [
        (np.full(10, 3.0), (-3.0, 3.0)),
        (np.full(10, -2.0), (-2.0, 2.0)),
        (np.zeros(10), (-1.0, 1.0)),
        (np.full(10, np.nan), (-1.0, 1.0)),
        (np.array([np.inf, -np.inf, np.nan]), (-1.0, 1.0)),
        (np.r_[np.zeros(999), 5.0], (-5.0, 5.0)),
    ],
)
def test_degenerate_streams(x, expected):
    assert robust_limits(x) == expected


def test_one_scale_for_the_whole_stream():
    stream = np.stack([np.linspace(-1, 1, 100), np.linspace(-10, 10, 100)])
    vmin, vmax = robust_limits(stream, robust=False)
    assert (vmin, vmax) == (-10.0, 10.0)


def test_bad_percentile():
    with pytest.raises(ValueError, match=r"percentile must be in \(0, 100\]; got percentile=0"):
        robust_limits([1.0], percentile=0)


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ([0, 1], "neither"),
        ([-3, 1], "min"),
        ([0, 3], "max"),
        ([-3, 3], "both"),
        ([np.nan, np.inf, -np.inf, 0], "neither"),
        ([np.nan], "neither"),
    ],
)
def test_colorbar_extend(data, expected):
    assert colorbar_extend(np.array(data, float), Normalize(-2, 2)) == expected


def test_wide_normalize_spans_float64():
    from mpl_residual.scaling import WideNormalize

    norm = WideNormalize(-1e308, 1e308)
    np.testing.assert_allclose(norm(np.array([-1e308, 0.0, 5e307, 1e308])), [0, 0.5, 0.75, 1])
    np.testing.assert_allclose(norm.inverse(np.array([0, 0.5, 1])), [-1e308, 0, 1e308])
    assert float(norm(1e308)) == 1.0
    small = np.float32(3e38)
    np.testing.assert_allclose(WideNormalize(-small, small)(np.float32([-3e38, 3e38])), [0, 1])
    clipped = WideNormalize(-1, 1, clip=True)(np.array([-5.0, 5.0]))
    np.testing.assert_array_equal(clipped, [0, 1])
    masked = WideNormalize(0, 2)(np.ma.masked_array([1.0, 2.0], mask=[True, False]))
    assert masked.mask.tolist() == [True, False]
    with pytest.raises(ValueError, match="vmin must not exceed vmax"):
        WideNormalize(2, 1)(1.0)


def test_robust_limits_of_huge_values_do_not_overflow():
    x = np.float32([-3e38, 3e38, 1e38, -1e38] * 25)
    low, high = robust_limits(x, robust=False)
    assert high == pytest.approx(3e38, rel=1e-6) and np.isfinite(high)
