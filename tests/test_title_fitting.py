"""Titles are fitted once per layout, never when drawn; no private matplotlib names."""

import re
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.text import Text

import mpl_residual as mr
from mpl_residual import ResidualStreamArtist

LONG = "block 6 + final norm · 'paris' → ' the' 31%"


def _titles(n_layers):
    return lambda layer: LONG if layer == n_layers - 1 else f"layer {layer}"


@pytest.fixture
def measured(monkeypatch):
    """How many times any text is measured."""
    calls = []
    original = Text.get_window_extent

    def counting(self, *args, **kwargs):
        calls.append(self.get_text())
        return original(self, *args, **kwargs)

    monkeypatch.setattr(Text, "get_window_extent", counting)
    return calls


def test_set_layer_measures_nothing_and_the_title_keeps_one_size(measured):
    fig = plt.figure(figsize=(3.2, 2.4), layout="constrained")
    stream = np.random.default_rng(0).standard_normal((7, 16, 24))
    artist = mr.residual_grid(stream, ax=fig.add_subplot(), title=_titles(7))
    fig.canvas.draw()
    size = artist.title.get_fontsize()  # fitted for the longest title, at layer 0
    measured.clear()
    for layer in range(7):
        artist.set_layer(layer)
        assert artist.title.get_fontsize() == size
    assert measured == []
    assert artist.title.get_text() == LONG.replace(" → ", "\n→ ")
    plt.close(fig)


def test_a_sheets_titles_are_measured_once_a_pass_not_once_for_each_panel(measured):
    # Every panel of a sheet shares one group of titles: the group is fitted once a
    # layout pass however many of its members ask (asking each member measured every
    # member: 169 panels took 12 s).
    def titles_measured(n):
        fig = mr.layer_sheet(np.random.default_rng(0).standard_normal((n, 4, 6)))
        measured.clear()
        fig.canvas.draw()
        plt.close(fig)
        return sum(text.startswith("layer ") for text in measured)

    few, many = titles_measured(8), titles_measured(32)
    assert many < 6 * few  # 4x the panels; a group measured for each member was 16x


def test_a_sheet_is_laid_out_once_more_after_its_titles_a_profile_twice(monkeypatch):
    # After the titles are fitted the figure is laid out around them: once where no
    # Axes has a locator that measures the pass before (a sheet, whose colorbar runs
    # along the grids as they are), twice where one has (a profile under a grid).
    from mpl_residual._layout.engine import FittedLayout

    passes = []
    original = FittedLayout.lay_out
    monkeypatch.setattr(
        FittedLayout, "lay_out", lambda self, fig: passes.append(fig) or original(self, fig)
    )
    stream = np.random.default_rng(0).standard_normal((7, 16, 24))
    lensed = mr.ResidualStream(
        stream, tokens=("the", "is"), position=1,
        predictions=tuple((("paris", 0.5), ("rome", 0.1)) for _ in range(7)),
    )  # fmt: skip
    sheet = mr.layer_sheet(lensed, figsize=(3.2, 2.4))
    sheet.canvas.draw()
    assert "\n" in sheet.axes[0].get_title()  # broken to fit: laid out again
    assert len(passes) == 2  # the first layout, and one around the fitted titles
    long = mr.ResidualStream(
        stream, tokens=("the", "Independence"), position=1,
        predictions=tuple((("Declaration", 0.5), ("rome", 0.1)) for _ in range(7)),
    )  # fmt: skip
    anim = mr.animate(long, profile="rms", colorbar=True)
    anim.artist.figure.canvas.draw()
    passes.clear()
    anim.artist.figure.set_size_inches(2.4, 2.4)
    anim.artist.figure.canvas.draw()
    assert "\n" in anim.artist.title.get_text()
    assert len(passes) == 3
    plt.close("all")


def test_drawing_fits_no_title(monkeypatch):
    fig = plt.figure(figsize=(3.2, 2.4))  # no layout engine: fitted when linked
    stream = np.random.default_rng(0).standard_normal((7, 16, 24))
    artist = mr.residual_grid(stream, ax=fig.add_subplot(), title=_titles(7))
    assert fig.get_layout_engine() is None
    fitted = []
    monkeypatch.setattr(
        ResidualStreamArtist, "fit_title", lambda self, renderer=None: fitted.append(self)
    )
    fig.canvas.draw()
    artist.set_layer(6)
    fig.canvas.draw()
    assert fitted == []
    plt.close(fig)


def test_a_figure_without_engine_is_fitted_when_linked_and_on_request():
    fig = plt.figure(figsize=(3.2, 2.4))
    stream = np.random.default_rng(0).standard_normal((7, 16, 24))
    artist = mr.residual_grid(stream, ax=fig.add_subplot(), title=_titles(7))
    small = artist.title.get_fontsize()
    asked = FontProperties(size=plt.rcParams["axes.titlesize"]).get_size_in_points()
    assert small < asked  # no engine: shrunk, not broken
    fig.set_size_inches(12, 6)
    artist.fit_title()
    assert artist.title.get_fontsize() >= small
    plt.close(fig)


def test_the_constrained_engine_is_kept_inside_with_its_compress_setting():
    fig = plt.figure(figsize=(3.2, 2.4), layout="compressed")
    inner = fig.get_layout_engine()
    stream = np.random.default_rng(0).standard_normal((7, 16, 24))
    mr.residual_grid(stream, ax=fig.add_subplot(), title=_titles(7))
    engine = fig.get_layout_engine()
    assert engine.around is inner  # its own settings, compress included, lay it out
    engine.set(w_pad=0.2)
    assert inner.get()["w_pad"] == 0.2 and engine.get() == inner.get()
    fig.canvas.draw()
    plt.close(fig)


@pytest.mark.parametrize("asked", [None, True, False])
def test_antialiasing_set_after_making_is_what_is_drawn(asked):
    stream = np.random.default_rng(0).standard_normal((1, 8, 8))

    def drawn(**kwargs):
        fig = FigureCanvasAgg(Figure(figsize=(2, 2), dpi=50)).figure
        ax = fig.add_axes((0, 0, 1, 1))
        artist = mr.residual_grid(stream, ax=ax, edgecolor="k", linewidth=1.0, **kwargs)
        fig.canvas.draw()
        return artist, np.asarray(fig.canvas.buffer_rgba()).copy()

    on = drawn(antialiased=True)[1]
    off = drawn(antialiased=False)[1]
    assert not np.array_equal(on, off)
    artist, _ = drawn() if asked is None else drawn(antialiased=asked)
    for flag, expected in ((False, off), (True, on), (False, off)):
        artist.set_antialiased(flag)
        fig = artist.get_figure(root=True)
        fig.canvas.draw()
        assert np.array_equal(np.asarray(fig.canvas.buffer_rgba()), expected)
        assert bool(artist.get_antialiased()[0]) is flag


def test_no_private_matplotlib_attribute_in_the_package():
    private = re.compile(r"\.(_fig|_antialiased|_get_renderer|_compress|_draw_was_started)\b")
    package = Path(mr.__file__).parent
    found = [
        f"{path.relative_to(package)}:{number}: {line.strip()}"
        for path in sorted(package.rglob("*.py"))
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if private.search(line)
    ]
    assert found == []


def test_any_animation_exports_through_its_figure(tmp_path):
    from matplotlib.animation import FuncAnimation

    fig, ax = plt.subplots(figsize=(2, 2))
    (line,) = ax.plot([0, 1])
    anim = FuncAnimation(fig, lambda i: line.set_ydata([0, i]), frames=3)
    path = mr.save_animation(anim, tmp_path / "a.gif", progress=False, dpi=40)
    from PIL import Image

    with Image.open(path) as image:
        assert image.n_frames == 3 and image.size == (80, 80)
    plt.close(fig)
