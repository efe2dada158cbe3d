"""`DimensionStats` and its moments: exact merges, fields that draw, files that load."""

import json
from dataclasses import replace

import numpy as np
import pytest

from mpl_residual import layer_sheet, residual_grid
from mpl_residual.outliers import median_ratio
from mpl_residual.stats import FIELDS, DimensionStats, Moments


def _moments(x: np.ndarray, text0: int = 0) -> Moments:
    """The moments of x (layers, tokens, d_model), token t being text text0 + t."""
    magnitude = np.abs(x)
    at = magnitude.argmax(axis=1)
    # max_ratio (new with the one rule for "massive"): each |x| over its vector's median
    ratio = median_ratio(x)
    ratio_at = ratio.argmax(axis=1)
    return Moments(
        np.full(len(x), x.shape[1]),
        x.mean(axis=1),
        ((x - x.mean(axis=1, keepdims=True)) ** 2).sum(axis=1),
        magnitude.sum(axis=1),
        magnitude.max(axis=1),
        text0 + at,
        np.zeros_like(at),
        at % 3,
        ratio.max(axis=1),
        text0 + ratio_at,
        np.zeros_like(ratio_at),
        ratio_at % 3,
    )


def _stats(x=None, **kwargs) -> DimensionStats:
    if x is None:
        x = np.random.default_rng(0).standard_normal((3, 50, 24)) * [[[1.0]], [[5.0]], [[20.0]]]
    fields = {"layer_names": ("embeddings", "block 1", "block 2"), "tokens": ("a", "b", "c")}
    return DimensionStats(_moments(x), **{**fields, **kwargs})


def test_merged_moments_equal_the_moments_of_everything():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 1000, 16)) * 1e3 + 1e6  # a large mean: naive sums cancel
    merged = Moments.empty(2, 16)
    for start in range(0, 1000, 137):
        merged = merged.merge(_moments(x[:, start : start + 137], text0=start))
    whole = _moments(x)
    np.testing.assert_allclose(merged.mean, whole.mean, rtol=1e-12)
    np.testing.assert_allclose(merged.m2, whole.m2, rtol=1e-9)
    np.testing.assert_allclose(merged.sum_abs, whole.sum_abs, rtol=1e-12)
    np.testing.assert_array_equal(merged.absmax, whole.absmax)
    np.testing.assert_array_equal(merged.where_text, whole.where_text)
    assert merged.count.tolist() == [1000, 1000]


def test_equal_maxima_go_to_the_earliest_text_whatever_the_order():
    x = np.ones((1, 2, 1))
    a, b = _moments(x[:, :1], text0=7), _moments(x[:, 1:], text0=3)
    assert a.merge(b).where_text.item() == b.merge(a).where_text.item() == 3


def test_fields_are_folded_and_drawable():
    stats = _stats(rows=4)
    x = np.random.default_rng(0).standard_normal((3, 50, 24)) * [[[1.0]], [[5.0]], [[20.0]]]
    for name in FIELDS:
        assert stats.field(name).shape == (3, 4, 6)
    np.testing.assert_allclose(stats.std.reshape(3, -1), x.std(axis=1))
    np.testing.assert_allclose(stats.mean_abs.reshape(3, -1), np.abs(x).mean(axis=1))
    assert stats.count.max() == stats.count.min() == 50 == stats.n_tokens
    artist = residual_grid(stats.absmax, layer=2)
    assert artist.n_layers == 3
    stream = stats.stream("std")
    assert stream.layer_names == stats.layer_names and stream.d_model == 24
    fig = layer_sheet(stream, cmap="magma", vmin=0)
    norm = fig.axes[0].collections[0].norm
    assert norm.vmin == 0 and 0 < norm.vmax <= stats.std.max()
    assert stats.refold(2).mean.shape == (3, 2, 12)
    with pytest.raises(ValueError, match="field must be one of count, mean, std, mean_abs"):
        stats.field("median")


def test_outliers_and_where_they_were():
    x = np.random.default_rng(2).standard_normal((3, 40, 24))
    x[2, 17, 5] = 900.0
    stats = _stats(x)
    assert stats.outliers(100).tolist() == [5]
    assert stats.outliers(1e6).tolist() == []
    text, position, token = stats.where(-1, 5)
    assert (text, position, token) == (17, 0, "abc"[17 % 3])
    with pytest.raises(ValueError, match="factor must be positive"):
        stats.outliers(0)
    with pytest.raises(IndexError, match="dim=24 is out of range for d_model=24"):
        stats.where(0, 24)


def test_save_and_load_round_trip(tmp_path):
    stats = _stats(model_name="m$\x00", n_texts=50, rows=3)
    path = stats.save(tmp_path / "stats.npz")
    assert DimensionStats.is_file(path)
    with np.load(path, allow_pickle=False) as data:
        assert "labels" in data.files
    back = DimensionStats.load(path)
    for name in FIELDS:
        np.testing.assert_array_equal(back.field(name), stats.field(name))
    assert (back.layer_names, back.model_name, back.n_texts, back.tokens, back.rows) == (
        stats.layer_names,
        "m$\x00",
        50,
        ("a", "b", "c"),
        3,
    )
    # Saved moments merge later, as exactly as ever.
    again = back.moments.merge(stats.moments)
    np.testing.assert_allclose(again.mean, stats.moments.mean)


def test_load_refuses_what_is_not_statistics(tmp_path):
    from mpl_residual import load_sample

    stream = load_sample().save(tmp_path / "stream.npz")
    assert not DimensionStats.is_file(stream) and not DimensionStats.is_file(tmp_path / "none")
    with pytest.raises(ValueError, match=r"not a file of dimension stats \(its labels say 'st"):
        DimensionStats.load(stream)
    with pytest.raises(FileNotFoundError, match="no such file"):
        DimensionStats.load(tmp_path / "none.npz")
    path = _stats().save(tmp_path / "s.npz")
    with np.load(path) as data:
        arrays = dict(data)
    arrays["labels"] = np.array(json.dumps({"kind": "something else"}))
    np.savez(tmp_path / "other.npz", **arrays)
    with pytest.raises(ValueError, match="is not a file of dimension stats .*'something else'"):
        DimensionStats.load(tmp_path / "other.npz")
    arrays["labels"] = np.array(json.dumps({"kind": "mpl-residual dimension stats", "format": 2}))
    arrays["m2"] = arrays["m2"][:, :3]
    np.savez(tmp_path / "bad.npz", **arrays)
    with pytest.raises(
        ValueError, match=r"does not hold valid statistics: moments m2 is \(3, 3\)"
    ):
        DimensionStats.load(tmp_path / "bad.npz")
    (tmp_path / "trunc.npz").write_bytes(path.read_bytes()[:300])
    with pytest.raises(ValueError, match="trunc.npz"):
        DimensionStats.load(tmp_path / "trunc.npz")


def test_statistics_of_nothing_are_refused():
    with pytest.raises(ValueError, match="no tokens were counted"):
        DimensionStats(Moments.empty(2, 4))
    with pytest.raises(ValueError, match="2 layer names for 3 layers"):
        _stats(layer_names=("a", "b"))
    with pytest.raises(ValueError, match="rows=5 does not divide d_model=24"):
        _stats(rows=5)


def test_a_nan_is_the_largest_whatever_the_order():
    x = np.ones((1, 2, 1))
    x[0, 1, 0] = np.nan
    a, b = _moments(x[:, :1], text0=0), _moments(x[:, 1:], text0=1)
    for merged in (a.merge(b), b.merge(a), Moments.empty(1, 1).merge(b).merge(a)):
        assert np.isnan(merged.absmax.item()) and merged.where_text.item() == 1


def test_statistics_saved_when_blocks_counted_from_one_load_renamed(tmp_path):
    import json

    import mpl_residual._npzfile as npzfile

    stats = _stats(n_texts=50)
    path = stats.save(tmp_path / "s.npz")
    with np.load(path) as saved:
        arrays = {name: saved[name] for name in saved.files}
    labels = json.loads(str(arrays["labels"]))
    del labels["blocks_from"]  # as older versions wrote it
    arrays["labels"] = np.array(json.dumps(labels))
    npzfile.write_npz(tmp_path / "old.npz", **arrays)
    assert DimensionStats.load(tmp_path / "old.npz").layer_names == (
        "embeddings", "block 0", "block 1")  # fmt: skip
    assert DimensionStats.load(path).layer_names == stats.layer_names  # this version's


def test_statistics_of_two_runs_merge_into_those_of_one(tmp_path):
    x = np.random.default_rng(3).standard_normal((3, 60, 24))
    x[1, 45, 7] = 500.0
    fields = {"layer_names": ("embeddings", "block 1", "block 2"), "model_name": "m"}
    first = DimensionStats(_moments(x[:, :30]), n_texts=30, tokens=("a", "b", "c"), **fields)
    second = DimensionStats(
        _moments(x[:, 30:]), n_texts=30, tokens=("c", "d", "a"), **fields
    )  # its own token table
    first.save(tmp_path / "1.npz")
    second.save(tmp_path / "2.npz")
    merged = DimensionStats.load(tmp_path / "1.npz").merge(DimensionStats.load(tmp_path / "2.npz"))
    whole = _moments(x)
    np.testing.assert_allclose(merged.moments.mean, whole.mean, rtol=1e-12)
    np.testing.assert_allclose(merged.moments.m2, whole.m2, rtol=1e-9)
    np.testing.assert_array_equal(merged.moments.absmax, whole.absmax)
    assert merged.n_texts == 60 and merged.n_tokens == 60
    assert merged.tokens == ("a", "b", "c", "d")
    # text 45 is the second run's text 15; its token 45 % 3 = 0 is the second's "c"
    assert merged.where(1, 7) == (45, 0, "c")
    assert merged.moments.where_text.max() < 60
    with pytest.raises(ValueError, match="cannot merge statistics of 2 layers x d_model=24"):
        merged.merge(DimensionStats(_moments(x[:2])))
    with pytest.raises(ValueError, match="cannot merge statistics of 'other' into 'm'"):
        merged.merge(replace(first, model_name="other"))
    with pytest.raises(TypeError, match="other must be DimensionStats; got ndarray"):
        merged.merge(x)
    assert first.merge(replace(second, tokens=())).where(1, 7)[2] is None


# -- fields that cannot be negative draw from 0, labelled ------------------------------------


@pytest.mark.parametrize("field", ["count", "std", "mean_abs", "absmax", "max_ratio"])
def test_fields_that_cannot_be_negative_draw_from_zero_with_a_label(field):
    from matplotlib.figure import Figure

    from mpl_residual import animate
    from mpl_residual.stats import FIELD_LABELS

    stream = _stats().stream(field)
    ax = Figure().add_subplot()
    artist = residual_grid(stream, ax=ax, colorbar=True)
    assert artist.norm.vmin == 0 and artist.norm.vmax > 0
    assert artist.cmap.name.startswith("viridis")  # sequential, whatever the style's map
    assert artist.colorbar.ax.get_ylabel() == FIELD_LABELS[field]
    fig = layer_sheet(stream)
    sheet = fig.axes[0].collections[0]
    assert sheet.norm.vmin == 0 and fig.axes[-1].get_ylabel() == FIELD_LABELS[field]
    anim = animate(stream, fig=Figure(), colorbar=True)
    assert anim.artist.norm.vmin == 0
    assert anim.artist.colorbar.ax.get_ylabel() == FIELD_LABELS[field]


def test_a_signed_field_keeps_a_symmetric_scale_and_says_what_it_is():
    artist = residual_grid(_stats().stream("mean"), colorbar=True)
    assert artist.norm.vmin == -artist.norm.vmax
    assert artist.colorbar.ax.get_ylabel() == "mean"


def test_explicit_limits_norm_and_colormap_still_win():
    from matplotlib.colors import LogNorm

    stream = _stats().stream("absmax")
    artist = residual_grid(stream, vmin=-1, vmax=2, cmap="magma", colorbar={"label": "mine"})
    assert (artist.norm.vmin, artist.norm.vmax) == (-1, 2)
    assert artist.cmap.name.startswith("magma") and artist.colorbar.ax.get_ylabel() == "mine"
    assert isinstance(residual_grid(stream, norm=LogNorm()).norm, LogNorm)


def test_a_normalized_field_says_its_unit_and_ln_makes_it_signed():
    from mpl_residual import normalize

    stream = _stats().stream("absmax")
    rms = residual_grid(stream, normalize="rms", colorbar=True)
    assert rms.colorbar.ax.get_ylabel() == "largest |x|, × RMS of the layer"
    assert rms.norm.vmin == 0
    ln = residual_grid(stream, normalize="ln", colorbar=True)
    assert ln.norm.vmin == -ln.norm.vmax  # centred: signed now
    assert normalize(stream, "ln").scale == "signed"
    assert normalize(stream, "rms").quantity == "largest |x|, × RMS of the layer"


# -- files whose labels lie ----------------------------------------------------------------------


def _rewritten(tmp_path, name, labels=None, **arrays):
    """A saved statistics file with some labels or arrays replaced."""
    path = _stats(n_texts=50).save(tmp_path / "good.npz")
    with np.load(path) as data:
        fields = dict(data)
    said = json.loads(fields["labels"].item())
    said.update(labels or {})
    fields["labels"] = np.array(json.dumps(said))
    fields.update(arrays)
    np.savez(tmp_path / name, **fields)
    return tmp_path / name


@pytest.mark.parametrize(
    ("labels", "arrays", "match"),
    [
        ({"n_texts": -1000}, {}, "n_texts must be non-negative"),
        ({"n_texts": 1e400}, {}, "the labels hold Infinity"),
        ({"n_texts": 3}, {}, "where_text must index the 3 texts read"),
        ({"pad": "no"}, {}, "pad must be true or false"),
        ({"special": 1}, {}, "special must be true or false"),
        ({"max_length": 0}, {}, "max_length must be positive"),
        ({"final": "both"}, {}, "final must be 'normed' or 'raw'"),
        ({"surprise": 1}, {}, r"unknown labels \['surprise'\]"),
        ({}, {"count": np.array([50.5, 50.5, 50.5])}, "counts must be whole numbers"),
        ({}, {"count": np.array([50, 49, 50])}, "the same in every layer"),
        ({}, {"where_text": np.full((3, 24), -3)}, "where_text must index"),
        ({}, {"ratio_position": np.full((3, 24), -1)}, "must not be negative"),
        ({}, {"where_token": np.full((3, 24), 7)}, "where_token must index the 3 tokens"),
        ({}, {"absmax": -np.ones((3, 24))}, "absmax holds negative values"),
    ],
)
def test_a_file_whose_labels_lie_is_refused(tmp_path, labels, arrays, match):
    path = _rewritten(tmp_path, "lying.npz", labels, **arrays)
    with pytest.raises(ValueError, match="lying.npz' does not hold valid statistics: .*" + match):
        DimensionStats.load(path)


def test_statistics_made_differently_are_not_merged():
    base = _stats(model_name="m", n_texts=50)
    for change, said in [
        ({"special": True}, "special=True"),
        ({"final": "raw"}, "final='raw'"),
        ({"max_length": 64}, "max_length=64"),
        ({"rows": 4}, "rows=4"),
    ]:
        with pytest.raises(ValueError, match=f"made with other settings: {said}"):
            base.merge(replace(base, **change))
    assert base.merge(replace(base)).n_texts == 100
    with pytest.raises(ValueError, match="cannot merge statistics of None into 'm'"):
        base.merge(replace(base, model_name=None))


def test_the_settings_are_saved_and_loaded(tmp_path):
    stats = _stats(n_texts=50, special=True, final="raw", max_length=128, dropped_tokens=7)
    back = DimensionStats.load(stats.save(tmp_path / "s.npz"))
    assert back.settings() == stats.settings() and back.dropped_tokens == 7
