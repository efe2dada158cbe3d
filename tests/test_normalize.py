"""`normalize`: each layer on its own scale, everywhere a stream is drawn."""

import numpy as np
import pytest

from mpl_residual import (
    ResidualStream,
    animate,
    layer_sheet,
    load_sample,
    normalize,
    residual_grid,
    save_animation,
    to_grid,
)


def test_rms_divides_each_layer_by_its_root_mean_square(gpt2_like):
    out = normalize(gpt2_like, "rms")
    flat = out.reshape(13, -1).astype(np.float64)
    np.testing.assert_allclose(np.sqrt((flat**2).mean(axis=1)), 1, rtol=1e-5)
    ratio = gpt2_like.reshape(13, -1) / out.reshape(13, -1)
    np.testing.assert_allclose(
        ratio, np.repeat(ratio[:, :1], 768, 1), rtol=1e-5
    )  # a factor a layer
    assert out.dtype == np.float32 and out.shape == gpt2_like.shape


def test_ln_is_layernorm_without_weights(gpt2_like):
    import torch

    out = normalize(gpt2_like, "ln").reshape(13, -1)
    want = torch.nn.functional.layer_norm(
        torch.from_numpy(gpt2_like.reshape(13, -1)).double(), (768,), eps=0.0
    ).numpy()
    np.testing.assert_allclose(out, want, atol=1e-5)


def test_nan_padding_is_ignored_and_stays_nan():
    flat = np.arange(2 * 10, dtype=np.float64).reshape(2, 10) + 1
    padded = to_grid(flat, 4, pad=True)  # 4 x 3: two NaN cells
    out = normalize(padded, "rms")
    assert np.isnan(out.reshape(2, -1)[:, 10:]).all()
    want = flat / np.sqrt((flat**2).mean(axis=1, keepdims=True))
    np.testing.assert_allclose(out.reshape(2, -1)[:, :10], want)


def test_every_position_and_degenerate_layers():
    every = load_sample(position=None)
    out = normalize(every, "ln")
    assert isinstance(out, ResidualStream) and out.tokens == every.tokens
    assert out.layer_names == every.layer_names and out.shape == every.shape
    np.testing.assert_allclose(np.nanmean(out.values, axis=(-2, -1)), 0, atol=1e-5)
    zeros = np.zeros((2, 3, 3))
    np.testing.assert_array_equal(normalize(zeros, "rms"), zeros)  # no 0/0
    huge = np.full((1, 2, 2), 1e308)
    np.testing.assert_allclose(normalize(huge, "rms"), 1.0)  # squares would overflow
    assert normalize(zeros, None) is not None


@pytest.mark.parametrize(
    ("args", "err", "match"),
    [
        ((np.zeros((2, 2, 2)), "l2"), ValueError, "normalize must be one of None, 'rms', 'ln'"),
        ((np.zeros((2, 2)), "rms"), ValueError, r"\(layers, rows, cols\) or"),
        ((["a"], "rms"), TypeError, "must hold numbers"),
    ],
)
def test_bad_input(args, err, match):
    with pytest.raises(err, match=match):
        normalize(*args)


def test_everywhere_a_stream_is_drawn(gpt2_like, tmp_path):
    import matplotlib.pyplot as plt

    artist = residual_grid(gpt2_like, normalize="rms", colorbar=True)
    np.testing.assert_allclose(artist.stream.data, normalize(gpt2_like, "rms"))
    assert artist.colorbar.ax.get_ylabel() == "× RMS of the layer"
    low, high = artist.norm.vmin, artist.norm.vmax  # one scale for every layer
    artist.set_layer(12)
    assert (artist.norm.vmin, artist.norm.vmax) == (low, high)
    labelled = residual_grid(gpt2_like, normalize="ln", colorbar={"label": "mine"})
    assert labelled.colorbar.ax.get_ylabel() == "mine"
    fig = layer_sheet(gpt2_like, normalize="ln")
    panel = fig.axes[0].collections[0]
    np.testing.assert_allclose(panel.stream.data, normalize(gpt2_like, "ln"), atol=1e-6)
    anim = animate(gpt2_like, normalize="rms", colorbar=True)
    assert anim.artist.colorbar.ax.get_ylabel() == "× RMS of the layer"
    path = save_animation(gpt2_like, tmp_path / "n.gif", normalize="rms", progress=False)
    assert path.stat().st_size > 0
    plt.close("all")


def test_normalized_layers_show_their_structure(gpt2_like):
    # Raw: the early layers sit in the middle of the scale, all one colour; normalized,
    # every layer spans it.
    raw = residual_grid(gpt2_like)
    norm = residual_grid(gpt2_like, normalize="rms")
    spread = lambda a: np.ptp(np.asarray(a.norm(a.stream[0])))  # noqa: E731
    assert spread(raw) < 0.1 < 0.5 < spread(norm)


@pytest.mark.mpl_image_compare(style="default", remove_text=True)
def test_image_raw_and_normalized(gpt2_like):
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 3, figsize=(8, 3.6), layout="constrained")
    for row, how in zip(axes, (None, "rms"), strict=True):
        for ax, layer in zip(row, (0, 6, 12), strict=True):
            residual_grid(gpt2_like, ax=ax, layer=layer, normalize=how)
    return fig
