import sys

import numpy as np
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import LogFormatter
from PIL import Image, ImageSequence

import player_pages
from mpl_residual import animate, residual_grid, save_animation


def _html_frames(path):
    """Every frame of an exported page, as the player composes it."""
    return player_pages.frames(path.read_text())


def _gif_frames(path):
    with Image.open(path) as im:
        return [np.asarray(f.convert("RGB")) for f in ImageSequence.Iterator(im)]


def _mp4_frames(path, width, height):
    import subprocess

    import imageio_ffmpeg

    raw = subprocess.run(
        [
            imageio_ffmpeg.get_ffmpeg_exe(),
            "-v",
            "error",
            "-i",
            str(path),
            "-f",
            "rawvideo",
            "-pix_fmt",
            "rgb24",
            "-",
        ],
        capture_output=True,
        check=True,
    ).stdout
    return list(np.frombuffer(raw, np.uint8).reshape(-1, height, width, 3))


def _figure():
    return FigureCanvasAgg(Figure(figsize=(4, 3))).figure


def _layer_alone(stream, layer, **kwargs):
    """Layer *layer* drawn alone, on a figure like the one given to save_animation."""
    fig = _figure()
    kwargs = {"title": f"layer {layer}", **kwargs}
    residual_grid(stream, ax=fig.add_subplot(), layer=layer, **kwargs)
    fig.canvas.draw()
    return np.asarray(fig.canvas.buffer_rgba())[..., :3]


@pytest.fixture
def big_stream():
    rng = np.random.default_rng(1)
    return (rng.standard_normal((6, 8, 12)).cumsum(axis=0)).astype(np.float32)


# -- every frame, in every format -------------------------------------------------------------


def _close(frame, want, *, lines=True):
    """
    A player's frame against matplotlib's own drawing: the same but where a cell's
    edge falls (the player paints cells crisply under the figure's lines; Agg blends
    their edges under the lines, and rounds pixel centres on a boundary its own way).
    """
    diff = np.abs(frame.astype(int) - want.astype(int)).max(-1)
    assert (diff == 0).mean() > (0.95 if lines else 0.985)
    assert (diff > 30).mean() < 0.005
    assert diff.mean() < 1.5


@pytest.mark.parametrize("kwargs", [{}, {"edgecolor": "none"}, {"origin": "lower"}])
def test_html_has_every_frame_and_frame_k_is_layer_k(tmp_path, big_stream, kwargs):
    path = save_animation(
        big_stream, tmp_path / "stream.html", fig=_figure(), progress=False, **kwargs
    )
    frames = _html_frames(path)
    assert len(frames) == 6
    for k in (0, 3, 5):
        _close(frames[k], _layer_alone(big_stream, k, **kwargs), lines="edgecolor" not in kwargs)
    assert not np.array_equal(frames[0], frames[3])
    text = path.read_text()
    assert "http://" not in text and "https://" not in text and "<link" not in text


def test_html_cells_are_the_artists_colours_and_the_readout_its_text(tmp_path, big_stream):
    from matplotlib.backend_bases import MouseEvent

    anim = animate(big_stream, fig=_figure())
    data = player_pages.payload(anim.to_html())
    artist = anim.artist
    colors = player_pages.cell_colors(data)
    mantissa, exponent = player_pages.readout(data)
    ax = artist.axes
    ax.figure.canvas.draw()
    from mpl_residual.export._readout import text4

    for k in (0, 2, 5):
        artist.set_layer(k)
        want = np.floor(artist.to_rgba(big_stream[k]) * 255 + 0.5).astype(np.uint8)
        np.testing.assert_array_equal(colors[k], want)  # row 0 on top: screen order
        for row, col in ((0, 0), (3, 7), (7, 11)):
            x, y = ax.transData.transform((col, row))
            event = MouseEvent("motion_notify_event", ax.figure.canvas, x, y)
            said = artist.format_cursor_data(artist.get_cursor_data(event))
            value = text4(int(mantissa[k, row, col]), int(exponent[k, row, col]))
            assert said == f"dim {row * 12 + col} (row {row}, col {col}) = {value}"


def test_html_without_readout_holds_no_values(tmp_path, big_stream):
    path = save_animation(big_stream, tmp_path / "a.html", readout=False, progress=False)
    data = player_pages.payload(path.read_text())
    assert data["grids"][0]["readout"] is None and data["mode"] == "cells"


def test_default_figure_fits_the_grid(tmp_path, big_stream):
    frames = _html_frames(save_animation(big_stream, tmp_path / "a.html", progress=False))
    height, width = frames[0].shape[:2]
    assert width == 640 and height < 640  # rcParams width; the height follows the grid


def test_gif_has_every_frame_and_frame_k_is_layer_k(tmp_path, big_stream):
    path = save_animation(
        big_stream, tmp_path / "stream.gif", fig=_figure(), fps=4, progress=False
    )
    frames = _gif_frames(path)
    assert len(frames) == 6
    with Image.open(path) as im:
        assert im.info["duration"] == 250 and im.info["loop"] == 0
    for k in (0, 3, 5):
        want = _layer_alone(big_stream, k).astype(int)
        assert np.abs(frames[k].astype(int) - want).mean() < 2  # 256 colours per frame
        other = _layer_alone(big_stream, (k + 2) % 6).astype(int)
        assert np.abs(frames[k].astype(int) - other).mean() > 4


def test_mp4_has_every_frame_and_frame_k_is_layer_k(tmp_path, big_stream):
    path = save_animation(
        big_stream, tmp_path / "stream.mp4", fig=_figure(), fps=5, progress=False
    )
    frames = _mp4_frames(path, 400, 300)  # 4 x 3 inches at 100 dpi
    assert len(frames) == 6
    for k in (0, 3, 5):
        want = _layer_alone(big_stream, k).astype(int)
        h, w = want.shape[:2]
        got = frames[k][:h, :w].astype(int)
        assert np.abs(got - want).mean() < 6  # H.264 is lossy
        other = _layer_alone(big_stream, (k + 2) % 6).astype(int)
        assert np.abs(got - other).mean() > np.abs(got - want).mean() * 2


def test_any_matplotlib_animation_and_layer_subsets(tmp_path, stream):
    fig = FigureCanvasAgg(Figure(figsize=(3, 2))).figure
    anim = animate(stream, fig=fig, layers=slice(None, None, 3), interval=100)
    path = save_animation(anim, tmp_path / "a.html", dpi=50, progress=False)
    frames = _html_frames(path)
    assert len(frames) == 3  # layers 0, 3 and the last, 4
    assert frames[0].shape == (100, 150, 3)  # 3 x 2 inches at 50 dpi
    assert fig.dpi == 100  # restored


def test_stream_options_reach_animate(tmp_path, stream):
    path = save_animation(stream, tmp_path / "a.html", layers=[4], cmap="RdBu_r", progress=False)
    assert len(_html_frames(path)) == 1


def test_no_frame_is_dropped_past_matplotlibs_embed_limit(tmp_path):
    import matplotlib as mpl

    noisy = np.random.default_rng(0).standard_normal((12, 64, 128))
    with mpl.rc_context({"animation.embed_limit": 0.05}):  # 50 kB, far below the page
        path = save_animation(noisy, tmp_path / "big.html", dpi=60, progress=False)
    assert path.stat().st_size > 200_000
    assert len(_html_frames(path)) == 12


def test_progress_bar_on_a_terminal(tmp_path, stream, monkeypatch, capsys):
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True, raising=False)
    save_animation(stream, tmp_path / "a.gif", progress=True)
    err = capsys.readouterr().err
    assert "a.gif" in err and "5/5" in err
    save_animation(stream, tmp_path / "b.gif", progress=False)
    assert capsys.readouterr().err == ""


def test_file_mode_follows_the_umask(tmp_path, stream):
    import os

    path = save_animation(stream, tmp_path / "a.gif", progress=False)
    mask = os.umask(0)
    os.umask(mask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~mask


# -- nothing is lost --------------------------------------------------------------------------


def _only(tmp_path, *names):
    return sorted(p.name for p in tmp_path.iterdir()) == sorted(names)


def _broken_at(frame, fn):
    def broken(*args, **kwargs):
        if args and args[0] == frame:
            raise RuntimeError("frame function failed")
        return fn(*args, **kwargs)

    return broken


@pytest.mark.parametrize("suffix", [".gif", ".mp4", ".html"])
def test_failure_midway_keeps_the_old_file_and_leaves_no_temporary(tmp_path, stream, suffix):
    path = tmp_path / f"keep{suffix}"
    path.write_bytes(b"precious")
    anim = animate(stream, fig=_figure())
    anim.artist.set_layer = _broken_at(3, anim.artist.set_layer)
    with pytest.raises(RuntimeError, match="frame function failed"):
        save_animation(anim, path, progress=False)
    assert path.read_bytes() == b"precious"
    assert _only(tmp_path, path.name)


@pytest.mark.parametrize("suffix", [".gif", ".html"])
def test_a_figure_failing_to_draw_is_left_as_it_was(tmp_path, stream, suffix):
    # The first draw of an export fails (a text of the user's that cannot be drawn):
    # the figure keeps its dpi, layout engine and layer, and every artist its own
    # draw (the export stands in for some while it draws).
    fig = FigureCanvasAgg(Figure(figsize=(4, 3), dpi=72, layout="constrained")).figure
    anim = animate(stream, fig=fig)
    anim.artist.set_layer(2)
    ax = anim.artist.axes
    note = ax.text(0.5, 0.5, "note", zorder=5)
    note.draw = lambda renderer: (_ for _ in ()).throw(RuntimeError("cannot draw"))
    engine = fig.get_layout_engine()
    with pytest.raises(RuntimeError, match="cannot draw"):
        save_animation(anim, tmp_path / f"a{suffix}", dpi=100, progress=False)
    assert fig.dpi == 72 and fig.get_layout_engine() is engine
    assert anim.artist.layer == 2
    assert "draw" not in vars(anim.artist) and "draw" not in vars(ax.title)
    assert all("draw" not in vars(spine) for spine in ax.spines.values())
    del note.draw
    fig.canvas.draw()  # and draws as before
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize("suffix", [".gif", ".html"])
def test_any_animation_failing_midway(tmp_path, stream, suffix):
    from matplotlib.animation import FuncAnimation

    fig = _figure()
    artist = residual_grid(stream, ax=fig.add_subplot())
    anim = FuncAnimation(fig, _broken_at(3, artist.set_layer), frames=5)
    path = tmp_path / f"keep{suffix}"
    path.write_bytes(b"precious")
    with pytest.raises(RuntimeError, match="frame function failed"):
        save_animation(anim, path, progress=False)
    assert path.read_bytes() == b"precious" and _only(tmp_path, path.name)


def test_unknown_suffix_writes_nothing(tmp_path, stream):
    with pytest.raises(ValueError, match=r"suffix '\.avi'; supported: \.gif, \.mp4, \.html"):
        save_animation(stream, tmp_path / "a.avi")
    with pytest.raises(ValueError, match=r"suffix ''"):
        save_animation(stream, tmp_path / "noext")
    assert _only(tmp_path)


@pytest.mark.parametrize(
    ("kwargs", "err", "match"),
    [
        ({"fps": 0}, ValueError, r"fps must be from 1/60 \(a frame a minute\) to 50 for \.gif"),
        ({"fps": -1}, ValueError, "got fps=-1"),
        ({"fps": 1e-9}, ValueError, "got fps=1e-09"),
        ({"fps": 60}, ValueError, "to 50 for .gif; got fps=60 .GIF frame delays"),
        ({"fps": float("nan")}, ValueError, "fps must be a finite number; got fps=nan"),
        ({"fps": float("inf")}, ValueError, "fps must be a finite number; got fps=inf"),
        ({"fps": "5"}, TypeError, "fps must be a number; got str '5'"),
        ({"fps": True}, TypeError, "fps must be a number; got bool True"),
        ({"dpi": "x"}, TypeError, "dpi must be a number; got str 'x'"),
        ({"dpi": 0}, ValueError, "dpi must be a positive number; got dpi=0"),
        ({"dpi": 100_000}, ValueError, r"dpi=100000 makes 640000 x \d+ pixel pictures"),
    ],
)
def test_bad_fps_and_dpi_before_anything_is_written(tmp_path, stream, kwargs, err, match):
    with pytest.raises(err, match=match):
        save_animation(stream, tmp_path / "a.gif", **kwargs)
    assert _only(tmp_path)


def test_mp4_and_html_play_faster_than_gif(tmp_path, stream):
    save_animation(stream, tmp_path / "a.html", fps=200, progress=False)
    with pytest.raises(ValueError, match="to 1000 for .mp4"):
        save_animation(stream, tmp_path / "a.mp4", fps=1001)


def test_a_fast_animation_plays_at_the_fastest_gif_rate(tmp_path, stream):
    path = save_animation(animate(stream, fig=_figure(), interval=5), tmp_path / "f.gif")
    with Image.open(path) as im:
        assert im.info["duration"] == 20  # 50 fps, not 200


def test_missing_folder(tmp_path, stream):
    with pytest.raises(FileNotFoundError, match="the folder .*nope.* does not exist"):
        save_animation(stream, tmp_path / "nope" / "a.gif")


def test_bad_stream_before_anything_is_written(tmp_path):
    path = tmp_path / "a.gif"
    path.write_bytes(b"old")
    with pytest.raises(ValueError, match=r"stream must have shape"):
        save_animation(np.zeros((2, 2, 2, 2)), path)
    assert path.read_bytes() == b"old" and _only(tmp_path, "a.gif")


def test_options_with_an_animation_are_refused(tmp_path, stream):
    anim = animate(stream, fig=Figure())
    with pytest.raises(TypeError, match=r"\['cmap'\] are for animating a stream"):
        save_animation(anim, tmp_path / "a.gif", cmap="viridis")


def test_mp4_without_a_working_ffmpeg(tmp_path, stream, monkeypatch):
    import imageio_ffmpeg

    def missing():
        raise RuntimeError("No ffmpeg exe could be found.")

    monkeypatch.setattr(imageio_ffmpeg, "get_ffmpeg_exe", missing)
    path = tmp_path / "a.mp4"
    path.write_bytes(b"old")
    with pytest.raises(RuntimeError, match="writing .mp4 needs ffmpeg, which cannot run here"):
        save_animation(stream, path)
    assert path.read_bytes() == b"old" and _only(tmp_path, "a.mp4")
    monkeypatch.setitem(sys.modules, "imageio_ffmpeg", None)
    with pytest.raises(RuntimeError, match=r"pip install 'mpl-residual\[export\]'"):
        save_animation(stream, path)


def test_a_failed_export_of_a_stream_warns_of_nothing(tmp_path, stream, monkeypatch):
    import gc
    import warnings

    from mpl_residual.export import _encoders

    def full_disk(self):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(_encoders.GifEncoder, "close", full_disk)
    gc.collect()  # other tests' animations are not this test's business
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(OSError, match=r"No space left on device: '.*a\.gif'"):
            save_animation(stream, tmp_path / "a.gif", progress=False)
        gc.collect()
    assert not [w for w in caught if "Animation was deleted" in str(w.message)]


def test_a_saved_animation_is_not_deleted_without_rendering(tmp_path, stream):
    import gc
    import warnings

    anim = animate(stream, fig=_figure())
    save_animation(anim, tmp_path / "a.gif", progress=False)
    gc.collect()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        del anim
        gc.collect()
    assert not caught


def test_gif_frames_keep_the_figures_own_colours(tmp_path, big_stream):
    anim = animate(big_stream, fig=_figure(), colorbar=True)
    path = save_animation(anim, tmp_path / "a.gif", progress=False)
    frames = _gif_frames(path)
    ax = anim.artist.axes
    height = frames[0].shape[0]
    centres = ax.transData.transform([(c, r) for r in range(8) for c in range(12)]).astype(int)
    for k in (0, 3):
        want = _layer_alone(big_stream, k, colorbar=True)
        at = (height - 1 - centres[:, 1], centres[:, 0])
        np.testing.assert_array_equal(frames[k][at], want[at])  # every cell exact
        diff = np.abs(frames[k].astype(int) - want.astype(int)).max(-1)
        assert (diff == 0).mean() > 0.9  # blended edges of text and lines go to the nearest
    # The colorbar keeps its gradient: the same ~250 colours as the PNG, not a banded few.
    x0, y0, x1, y1 = anim.artist.colorbar.ax.bbox.extents.round().astype(int)
    column = slice(height - y1 + 3, height - y0 - 3), (x0 + x1) // 2

    def distinct(image):
        return len(np.unique(image[column].reshape(-1, 3), axis=0))

    assert distinct(frames[0]) == distinct(want) > 150


# -- any number of colours and frames ---------------------------------------------------------


def test_a_colormap_of_more_than_65536_colours_plays_exactly(tmp_path):
    """The player's cell indices widen to 4 bytes where a palette needs them."""
    import json
    import re

    from matplotlib.colors import ListedColormap

    rng = np.random.default_rng(0)
    cmap = ListedColormap(rng.random((70000, 3)))
    values = rng.uniform(-1, 1, (2, 400, 400))  # 320,000 cells fill nearly every colour
    anim = animate(values, fig=Figure(), cmap=cmap, vmin=-1, vmax=1)
    html = anim.to_html(readout=False)
    payload = json.loads(re.search(r'class="mr-data">(.*?)</script>', html).group(1))
    assert payload["grids"][0]["indexBytes"] == 4


def test_a_gif_keeps_one_frame_a_layer_even_when_nothing_changes(tmp_path):
    from PIL import Image

    stream = np.zeros((4, 3, 3))
    path = save_animation(stream, tmp_path / "same.gif", progress=False, title="fixed")
    with Image.open(path) as gif:
        assert gif.n_frames == 4


def test_too_many_frames_are_refused_before_drawing_in_every_format(tmp_path):
    from mpl_residual.errors import TooManyFrames

    stream = np.zeros((2001, 1, 2))
    for suffix in (".gif", ".mp4", ".html"):  # the player too: 20,000 made 76 MB in 98 s
        said = r"2001 frames .*\(at most 2000\).*=slice\(None, None, 2\)"
        with pytest.raises(TooManyFrames, match=said):
            save_animation(stream, tmp_path / f"x{suffix}", progress=False)
        assert not (tmp_path / f"x{suffix}").exists()


@pytest.mark.parametrize(
    ("smallest", "labelled"),
    [(10, "nothing"), (6, "an axis label"), (5, "minor tick labels"), (4, "a figure text")],
)
def test_the_compact_layout_takes_over_where_the_smallest_text_gets_too_small(
    smallest, labelled
):
    # The player switches to its phone layout under the width at which the figure's
    # smallest text would fall under 9 CSS pixels: 9 * 72 * width_in / smallest_pt.
    from mpl_residual.export.player import _below

    fig = Figure(figsize=(6, 3))
    ax = fig.add_subplot()
    residual_grid(np.zeros((4, 8, 12)), ax=ax)
    if labelled == "an axis label":
        ax.set_xlabel("x", fontsize=6)
    elif labelled == "minor tick labels":
        ax.set_yscale("log")
        ax.set_ylim(1, 1000)
        ax.yaxis.set_minor_formatter(LogFormatter(labelOnlyBase=False))
        ax.tick_params(which="minor", labelsize=5)
    elif labelled == "a figure text":
        fig.text(0.5, 0.5, "note", fontsize=4)
        fig.text(0.5, 0.2, "hidden", fontsize=2, visible=False)
    assert _below(fig) == pytest.approx(9 * 72 * 6 / smallest)
    assert len(ax.xaxis.get_major_ticks()) >= 1  # (the figure is left drawable)


@pytest.mark.parametrize("style", ["default", "paper"])
def test_the_page_composes_to_a_full_draw_spines_included(style):
    # The spines lie half over the cells: a spine taken for part of the backdrop was
    # half covered by the painted cells (the top one: 295 pixels off at 6 x 3 in).
    import matplotlib as mpl

    import mpl_residual as mr

    stream = np.random.default_rng(1).standard_normal((4, 16, 24)).cumsum(axis=0)
    with mr.style_context(style) if style != "default" else mpl.rc_context():
        fig = FigureCanvasAgg(Figure(figsize=(6, 3), layout="constrained", dpi=80)).figure
        anim = animate(stream, fig=fig)
        page = anim.to_html(dpi=80, compact=False)
        for k in (0, 3):
            anim.show_layer(k)
            fig.canvas.draw()
            drawn = np.asarray(fig.canvas.buffer_rgba())[..., :3].astype(int)
            composed = player_pages.frames(page)[k].astype(int)
            # equal but where Agg blends neighbouring cells under the lines between them
            assert (np.abs(composed - drawn).max(axis=-1) > 60).sum() == 0
