import einops
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from mpl_residual import grid_shape, to_grid
from mpl_residual.grid import as_stream


@pytest.mark.parametrize(
    ("d_model", "expected"),
    [
        (768, (24, 32)),
        (384, (16, 24)),
        (4096, (64, 64)),
        (8192, (64, 128)),
        (7, (1, 7)),
        (1, (1, 1)),
        (2048, (32, 64)),
        (12, (3, 4)),
    ],
)
def test_default_rows_most_nearly_square(d_model, expected):
    assert grid_shape(d_model) == expected
    assert to_grid(np.zeros(d_model)).shape == expected


@given(
    d_model=st.integers(1, 5000),
)
def test_default_rows_is_the_squarest_factorization(d_model):
    rows, cols = grid_shape(d_model)
    assert rows * cols == d_model and rows <= cols
    better = [r for r in range(rows + 1, int(d_model**0.5) + 1) if d_model % r == 0]
    assert not better


@given(
    x=hnp.arrays(
        dtype=st.sampled_from([np.float16, np.float32, np.float64, np.int32, np.int64]),
        shape=hnp.array_shapes(min_dims=1, max_dims=4, max_side=6).map(lambda s: s[:-1] + (12,)),
    ),
    rows=st.sampled_from([None, 1, 2, 3, 4, 6, 12]),
)
def test_matches_einops_rearrange(x, rows):
    got = to_grid(x, rows)
    r = rows if rows is not None else 3
    want = einops.rearrange(x, "... (row col) -> ... row col", row=r)
    assert got.dtype.kind == "f"
    np.testing.assert_array_equal(got, want.astype(got.dtype))


@given(
    shape=hnp.array_shapes(min_dims=1, max_dims=3, max_side=5),
    d_model=st.integers(1, 40),
    data=st.data(),
)
def test_pad_fills_tail_with_nan(shape, d_model, data):
    rows = data.draw(st.integers(1, d_model))
    x = np.arange(np.prod(shape[:-1], dtype=int) * d_model, dtype=float).reshape(
        *shape[:-1], d_model
    )
    got = to_grid(x, rows, pad=True)
    cols = -(-d_model // rows)
    assert got.shape == (*shape[:-1], rows, cols)
    flat = got.reshape(*shape[:-1], rows * cols)
    np.testing.assert_array_equal(flat[..., :d_model], x)
    assert np.isnan(flat[..., d_model:]).all()


def test_rows_that_do_not_divide_name_the_choices():
    with pytest.raises(
        ValueError,
        match=r"rows=10 does not divide d_model=768; valid rows "
        r"include 1, 2, 3, 4, 6, 8, 12, 16, .*pad=True",
    ):
        to_grid(np.zeros(768), rows=10)


@pytest.mark.parametrize(
    ("rows", "err", "match"),
    [
        (0, ValueError, "positive integer"),
        (-2, ValueError, "positive integer"),
        (2.5, TypeError, "positive integer"),
        ("4", TypeError, "positive integer"),
        (True, TypeError, "positive integer"),
        (769, ValueError, "larger than d_model=768"),
    ],
)
def test_bad_rows(rows, err, match):
    with pytest.raises(err, match=match):
        to_grid(np.zeros(768), rows=rows)


@pytest.mark.parametrize(
    ("x", "err", "match"),
    [
        (np.float64(3.0), ValueError, r"shape \(\.\.\., d_model\); got a 0-d"),
        (np.zeros((3, 0)), ValueError, "d_model >= 1"),
        (np.zeros(4, dtype=complex), TypeError, "real-valued"),
        (np.array(["a", "b"]), TypeError, "must hold numbers"),
        ([[1, 2, 3], [4, 5]], ValueError, "ragged list"),
        ([object(), object()], TypeError, "must hold numbers"),
    ],
)
def test_bad_input(x, err, match):
    with pytest.raises(err, match=match):
        to_grid(x)


def test_numpy_integer_rows_and_lists():
    assert to_grid([1, 2, 3, 4, 5, 6], np.int64(2)).tolist() == [[1, 2, 3], [4, 5, 6]]


def test_half_precision_becomes_float32():
    assert to_grid(np.ones(6, np.float16)).dtype == np.float32
    assert to_grid(np.ones(6, np.float64)).dtype == np.float64


class TestTorch:
    torch = pytest.importorskip("torch")

    @pytest.mark.parametrize("dtype", ["float32", "float16", "bfloat16", "float64", "int64"])
    def test_any_dtype(self, dtype):
        torch = self.torch
        t = torch.arange(768).to(getattr(torch, dtype))
        got = to_grid(t, 16)
        assert isinstance(got, np.ndarray) and got.dtype.kind == "f"
        want = t.double().numpy().reshape(16, 48)
        np.testing.assert_array_equal(got, want)

    def test_requires_grad(self):
        t = self.torch.randn(2, 384, requires_grad=True)
        got = to_grid(t)
        assert got.shape == (2, 16, 24)
        np.testing.assert_array_equal(got, t.detach().numpy().reshape(2, 16, 24))

    def test_meta_device_has_no_data(self):
        # Any real device works through .cpu(); the meta device has no values at all.
        with pytest.raises(Exception):  # noqa: B017 - torch's own error
            to_grid(self.torch.empty(8, device="meta"))

    def test_complex_tensor(self):
        with pytest.raises(TypeError, match="real-valued"):
            to_grid(self.torch.zeros(4, dtype=self.torch.complex64))


def test_as_stream_shapes():
    assert as_stream(np.zeros(768)).shape == (1, 24, 32)
    assert as_stream(np.zeros(768), rows=16).shape == (1, 16, 48)
    assert as_stream(np.zeros((4, 5))).shape == (1, 4, 5)
    assert as_stream(np.zeros((3, 4, 5)), rows=4).shape == (3, 4, 5)


@pytest.mark.parametrize(
    ("x", "kw", "match"),
    [
        (
            np.zeros((2, 3, 4, 5)),
            {},
            r"\(layers, rows, cols\), \(rows, cols\) or \(d_model,\); "
            r"got ndarray of shape \(2, 3, 4, 5\)",
        ),
        (np.float32(1), {}, r"got ndarray of shape \(\) and dtype float32"),
        (np.zeros((0, 4, 5)), {}, "must not be empty"),
        (np.zeros((13, 768)), {"rows": 16}, r"use to_grid\(x, rows=16\) first"),
        (np.zeros((3, 4, 5)), {"rows": 5}, "already folded into 4 rows"),
    ],
)
def test_as_stream_errors(x, kw, match):
    with pytest.raises(ValueError, match=match):
        as_stream(x, **kw)


def test_folding_is_einops_rearrange_itself(monkeypatch):
    import einops

    calls = []
    real = einops.rearrange

    def spy(x, pattern, **axes):
        calls.append((pattern, axes))
        return real(x, pattern, **axes)

    monkeypatch.setattr(einops, "rearrange", spy)
    to_grid(np.arange(12.0), 3)
    assert calls == [("... (row col) -> ... row col", {"row": 3})]


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.int32, bool])
def test_masked_input_keeps_its_mask_through_folding_and_padding(dtype):
    x = np.ma.masked_array(np.ones(10, dtype=dtype), mask=[0, 1] + [0] * 8)
    grid = to_grid(x, 3, pad=True)
    assert grid.shape == (3, 4) and np.ma.isMaskedArray(grid)
    np.testing.assert_array_equal(np.ma.getmaskarray(grid).ravel(), [0, 1] + [0] * 8 + [1, 1])
