"""`layer_stat`, `layer_profile` and the callbacks that let views follow a grid's layer."""

import numpy as np
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from mpl_residual import animate, layer_profile, load_sample, residual_grid, save_animation
from mpl_residual.outliers import layer_stat


def _axes(n=1):
    fig = FigureCanvasAgg(Figure()).figure
    return fig.subplots(n, 1) if n > 1 else fig.add_subplot()


def test_the_statistics(gpt2_like):
    flat = gpt2_like.reshape(13, -1).astype(np.float64)
    np.testing.assert_allclose(layer_stat(gpt2_like, "rms"), np.sqrt((flat**2).mean(1)), rtol=1e-6)
    np.testing.assert_allclose(
        layer_stat(gpt2_like, "norm"), np.linalg.norm(flat, axis=1), rtol=1e-6
    )
    np.testing.assert_allclose(layer_stat(gpt2_like, "absmax"), np.abs(flat).max(1))
    x = np.array([[[3.0, np.nan], [np.inf, 4.0]], [[np.nan, np.nan], [np.nan, np.nan]]])
    assert layer_stat(x, "norm")[0] == 5.0 and np.isnan(layer_stat(x, "norm")[1])
    assert layer_stat(np.full((1, 2, 2), 1e308), "norm")[0] == pytest.approx(2e308)


def test_a_line_of_one_number_per_layer(gpt2_like):
    ax = _axes()
    profile = layer_profile(gpt2_like, ax=ax, stat="norm")
    np.testing.assert_array_equal(profile.line.get_xdata(), np.arange(13))
    np.testing.assert_allclose(profile.line.get_ydata(), layer_stat(gpt2_like, "norm"))
    assert profile.marker is None and profile.ax is ax and profile.stat == "norm"
    assert ax.get_yscale() == "log"  # two orders of magnitude
    assert ax.get_ylabel() == "L2 norm" and ax.get_xlabel() == "layer"


def test_a_narrow_range_stays_linear_and_names_label_the_ticks():
    sample = load_sample()
    ax = _axes()
    layer_profile(sample, ax=ax)
    assert ax.get_yscale() == "linear"
    assert [t.get_text() for t in ax.get_xticklabels()] == list(sample.layer_names)


def test_the_marker_follows_the_grid(gpt2_like):
    top, bottom = _axes(2)
    artist = residual_grid(gpt2_like, ax=top, layer=3)
    profile = layer_profile(gpt2_like, ax=bottom, follow=artist)
    values = layer_stat(gpt2_like, "rms")
    assert list(profile.marker.get_xdata()) == [3]
    for layer in (7, -1, 0):
        artist.set_layer(layer)
        x, y = profile.marker.get_data()
        assert list(x) == [layer % 13] and list(y) == [values[layer % 13]]
    assert profile.marker in artist.followers


def test_anyone_can_follow_with_matplotlibs_own_callbacks(stream):
    artist = residual_grid(stream)
    heard = []
    artist.add_callback(lambda a: heard.append(a.layer))
    artist.set_layer(2)
    artist.set_layer(-1)
    assert heard == [2, 4]


@pytest.mark.parametrize(
    ("kwargs", "err", "match"),
    [
        ({"stat": "mean"}, ValueError, "stat must be one of 'rms', 'norm', 'absmax'"),
        ({"follow": "x"}, TypeError, "follow must be a ResidualStreamArtist"),
    ],
)
def test_bad_arguments(stream, kwargs, err, match):
    with pytest.raises(err, match=match):
        layer_profile(stream, ax=_axes(), **kwargs)


def test_a_grid_of_another_length_cannot_be_followed(stream):
    artist = residual_grid(stream[:3], ax=_axes())
    with pytest.raises(ValueError, match="follow shows a stream of 3 layers; this profile has 5"):
        layer_profile(stream, ax=_axes(), follow=artist)


def test_four_dimensional_streams_ask_for_a_position():
    with pytest.raises(ValueError, match=r"pick one position first, e.g. stream.at\(-1\)"):
        layer_profile(load_sample(position=None), ax=_axes())


def test_animate_puts_the_profile_under_the_grid_and_exports_show_it_move(gpt2_like, tmp_path):
    import player_pages

    anim = animate(gpt2_like, profile="rms", colorbar=True)
    profile = anim.profile
    anim.figure.canvas.draw()
    grid_box = anim.artist.axes.get_window_extent()
    panel_box = profile.ax.get_window_extent()
    assert panel_box.y1 < grid_box.y0  # under it
    assert panel_box.x0 == pytest.approx(grid_box.x0, abs=1)
    assert panel_box.x1 == pytest.approx(grid_box.x1, abs=1)  # as wide as the grid
    path = save_animation(anim, tmp_path / "p.html", progress=False)
    data = player_pages.payload(path.read_text())
    assert any(len(set(s["of"])) == 13 for s in data["sprites"])  # title and marker move
    frames = player_pages.frames(path.read_text())
    x0, y0, x1, y1 = (int(v) for v in profile.ax.bbox.extents)
    height = frames[0].shape[0]
    panel = (slice(height - y1, height - y0), slice(x0, x1))
    assert not np.array_equal(frames[0][panel], frames[6][panel])  # the marker moved


@pytest.mark.mpl_image_compare(style="default", remove_text=True)
def test_image_grid_with_profile(gpt2_like):
    anim = animate(gpt2_like, profile="norm", colorbar=True, normalize="rms")
    anim._show(8)
    return anim.figure


@pytest.mark.parametrize("suffix", [".gif", ".mp4"])
def test_the_marker_moves_in_raster_exports(gpt2_like, tmp_path, suffix):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from PIL import Image, ImageSequence

    fig = FigureCanvasAgg(Figure(figsize=(4, 4))).figure
    anim = animate(gpt2_like, fig=fig, profile="rms", layers=[0, 6])
    path = save_animation(anim, tmp_path / f"p{suffix}", progress=False)
    if suffix == ".gif":
        with Image.open(path) as im:
            frames = [np.asarray(f.convert("RGB")).astype(int) for f in ImageSequence.Iterator(im)]
    else:
        import subprocess

        import imageio_ffmpeg

        raw = subprocess.run(
            [imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-i", str(path), "-f", "rawvideo",
             "-pix_fmt", "rgb24", "-"],
            capture_output=True, check=True,
        ).stdout  # fmt: skip
        frames = list(np.frombuffer(raw, np.uint8).reshape(-1, 400, 400, 3).astype(int))
    x0, y0, x1, y1 = (int(v) for v in anim.profile.ax.bbox.extents)
    panel = (slice(400 - y1, 400 - y0), slice(x0, x1))
    assert np.abs(frames[0][panel] - frames[1][panel]).max() > 100  # the marker moved
