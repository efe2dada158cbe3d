"""
Performance guards that are not timings: they count what the code does, so a
regression fails here instead of waiting for the next benchmark run (see bench/).
"""

import subprocess
import sys
from pathlib import Path
from unittest import mock

import numpy as np
import pytest
from matplotlib.animation import FuncAnimation
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.layout_engine import ConstrainedLayoutEngine

from mpl_residual import animate, residual_grid, save_animation

BENCH = Path(__file__).parents[1] / "bench"


def _figure(layout=None):
    return FigureCanvasAgg(Figure(figsize=(4, 3), layout=layout)).figure


def _count(cls, name):
    original = getattr(cls, name)
    calls = []

    def counted(self, *args, **kwargs):
        calls.append(self)
        return original(self, *args, **kwargs)

    return mock.patch.object(cls, name, counted), calls


@pytest.mark.parametrize("n_layers", [3, 12])
@pytest.mark.parametrize("suffix", [".gif", ".html"])
def test_saving_an_animate_animation_draws_the_figure_once_in_all(tmp_path, suffix, n_layers):
    # Laid out, then drawn once for the background: never once per frame.
    stream = np.random.default_rng(0).standard_normal((n_layers, 8, 12))
    anim = animate(stream, fig=_figure(layout="constrained"))
    patch, draws = _count(Figure, "draw")
    layout_patch, layouts = _count(ConstrainedLayoutEngine, "execute")
    with patch, layout_patch:
        save_animation(anim, tmp_path / f"a{suffix}", progress=False)
    assert len(draws) == 1
    assert len(layouts) == 1  # laid out once, then held
    assert anim.figure.get_layout_engine() is not None  # and given back


@pytest.mark.parametrize("n_layers", [3, 12])
def test_a_page_with_a_compact_layout_draws_each_layout_once(tmp_path, n_layers):
    stream = np.random.default_rng(0).standard_normal((n_layers, 8, 12))
    fig = FigureCanvasAgg(Figure(figsize=(8, 4), layout="constrained")).figure
    anim = animate(stream, fig=fig)
    patch, draws = _count(Figure, "draw")
    layout_patch, layouts = _count(ConstrainedLayoutEngine, "execute")
    with patch, layout_patch:
        text = anim.to_html(dpi=100)
    assert "mr-compact" in text
    assert len(draws) == 2 and len(layouts) == 2  # whatever the number of frames
    assert tuple(fig.get_size_inches()) == (8, 4)  # and its own size given back


def test_translucent_cells_draw_the_first_frame_once_more_for_the_poster(tmp_path):
    # Painted cells that let the figure show through cannot lie over a backdrop that
    # shows the first frame's: the page holds that frame whole, as one more draw.
    stream = np.random.default_rng(0).standard_normal((4, 8, 12))
    anim = animate(stream, fig=_figure(layout="constrained"), alpha=0.5)
    patch, draws = _count(Figure, "draw")
    with patch:
        text = anim.to_html(dpi=80, compact=False)
    assert len(draws) == 2
    assert 'class="mr-poster"' in text


def test_any_animation_is_drawn_once_per_frame(tmp_path, stream):
    fig = _figure()
    artist = residual_grid(stream, ax=fig.add_subplot())
    anim = FuncAnimation(fig, artist.set_layer, frames=5)
    patch, draws = _count(Figure, "draw")
    with patch:
        save_animation(anim, tmp_path / "a.gif", progress=False)
    assert len(draws) <= 5 + 1  # Animation.save's own draw per frame is the frame


def test_set_layer_creates_nothing(stream):
    fig = _figure()
    ax = fig.add_subplot()
    artist = residual_grid(stream, ax=ax, colorbar=True, title="layer {}".format)
    children = list(ax.get_children())
    norm = artist.norm
    limits = (norm.vmin, norm.vmax)
    for layer in range(100):
        artist.set_layer(layer % len(stream))
    assert ax.get_children() == children and fig.axes == [ax]
    assert ax.child_axes == [artist.colorbar.ax]  # the colorbar sits beside the grid
    assert artist.norm is norm and (norm.vmin, norm.vmax) == limits


def test_hover_and_set_layer_do_not_autoscale(stream):
    artist = residual_grid(stream)
    with mock.patch.object(type(artist.norm), "autoscale_None") as autoscale:
        for layer in range(len(stream)):
            artist.set_layer(layer)
    autoscale.assert_not_called()


@pytest.mark.parametrize("placement", ["one", "auto"])
def test_gpu_benchmark_runs_on_the_cpu_with_a_tiny_model(placement):
    pytest.importorskip("transformers")
    out = subprocess.run(
        [sys.executable, "gpu_capture.py", "--device", "cpu", "--tiny", "--repeats", "1",
         "--placement", placement],  # fmt: skip
        cwd=BENCH,
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    ).stdout
    last = out.strip().splitlines()[-1]
    assert '"benchmark": "gpu_capture"' in last and '"device": "cpu"' in last
    assert "capture" in out and "hidden_states" in out
    assert "seq64_decompose_time_ratio_vs_forward" in last  # the decomposition's row
    assert "seq64_attribution_time_ratio_vs_forward" in last  # and the attribution's
    assert ('"placement": "device_map auto"' in last) == (placement == "auto")


def test_decompose_benchmark_runs_with_a_tiny_model():
    pytest.importorskip("transformer_lens")
    out = subprocess.run(
        [sys.executable, "decompose_speed.py", "--quick", "--repeats", "1"],
        cwd=BENCH,
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    ).stdout
    last = out.strip().splitlines()[-1]
    assert '"benchmark": "decompose_speed"' in last
    assert "seq64_memory_ratio_vs_run_with_cache" in last


def test_stats_benchmark_runs_on_a_small_corpus(monkeypatch):
    pytest.importorskip("transformers")
    monkeypatch.syspath_prepend(str(BENCH))
    import stats_speed

    got = stats_speed.speed(1, 300, batch=8)
    assert got["tokens"] >= got["tokens_counted"] >= 300 and got["ratio"] > 0
    assert stats_speed.child("stats", 300)["extra_mb"] < 1000


def test_component_stats_benchmark_runs_on_a_small_corpus(monkeypatch):
    pytest.importorskip("transformers")
    monkeypatch.syspath_prepend(str(BENCH))
    import component_stats_speed

    got = component_stats_speed.speed("toy", 1, 300)
    assert got["tokens"] >= 300 and got["whole / forward"] > 0 and got["heads / forward"] > 0
    assert component_stats_speed.child("toy", 300)["extra_mb"] < 1000


def test_a_layer_sheet_holds_its_stream_once():
    stream = np.random.default_rng(0).standard_normal((12, 16, 24))
    from mpl_residual import ResidualStreamArtist, layer_sheet

    fig = layer_sheet(stream)
    artists = [c for ax in fig.axes for c in ax.collections if isinstance(c, ResidualStreamArtist)]
    assert len(artists) == 12
    assert all(np.shares_memory(a.stream.data, artists[0].stream.data) for a in artists)


def test_an_artists_stream_is_shared_not_copied(stream):
    first = residual_grid(stream)
    second = residual_grid(first.stream, layer=2)
    assert np.shares_memory(second.stream.data, first.stream.data)
    assert not np.shares_memory(first.stream.data, stream)  # user data is copied


def test_saving_leaves_the_artist_on_its_layer(tmp_path, stream):
    anim = animate(stream, fig=_figure())
    anim.artist.set_layer(3)
    save_animation(anim, tmp_path / "a.html", progress=False)
    assert anim.artist.layer == 3


def test_a_stream_is_converted_once_per_call(tmp_path, monkeypatch):
    # Checked once at the public door; everything behind it passes the checked array.
    import mpl_residual._arrays
    from mpl_residual import artist, grid, scaling, stream

    real = mpl_residual._arrays.as_float_array
    conversions = []

    def counted(x, **kwargs):
        out = real(x, **kwargs)
        if out is not x:
            conversions.append(type(x).__name__)
        return out

    for module in (grid, scaling, artist, stream):
        monkeypatch.setattr(module, "as_float_array", counted)
    nested = np.random.default_rng(0).standard_normal((3, 4, 5)).tolist()
    save_animation(nested, tmp_path / "a.gif", colorbar=True, progress=False)
    assert conversions == ["list"]
    conversions.clear()
    from mpl_residual import layer_sheet

    layer_sheet(nested)
    assert conversions == ["list"]


def test_a_redrawn_grid_is_an_image_not_a_quad_mesh():
    from matplotlib.collections import QuadMesh

    stream = np.random.default_rng(0).standard_normal((4, 64, 128))
    fig = _figure()
    artist = residual_grid(stream, ax=fig.add_subplot())
    fig.canvas.draw()  # the first draw: a quad mesh
    renderer = fig.canvas.get_renderer()
    meshes, mesh_calls = _count(QuadMesh, "draw")
    with meshes:
        for layer in range(4):
            artist.set_layer(layer)
            artist.draw(renderer)
    # Once more as a quad mesh, on a scratch canvas, to map the pixels to cells; then
    # every frame is put down as an image (the same bytes: see test_artist).
    assert len(mesh_calls) == 1 and mesh_calls[0] is not artist
