import io

import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.figure import Figure

from mpl_residual import ResidualStream, ResidualStreamArtist, layer_sheet, robust_limits
from mpl_residual.sheet import _best_ncols


def _artists(fig):
    return [c for ax in fig.axes for c in ax.collections if isinstance(c, ResidualStreamArtist)]


def test_every_layer_in_order_on_one_norm_with_one_colorbar(stream):
    fig = layer_sheet(stream)
    artists = _artists(fig)
    assert [a.layer for a in artists] == [0, 1, 2, 3, 4]
    assert all(a.norm is artists[0].norm for a in artists)
    assert (artists[0].norm.vmin, artists[0].norm.vmax) == robust_limits(stream)
    cbar = artists[0].colorbar
    assert cbar is not None and cbar.extend == "both"
    assert sum(ax.get_visible() for ax in fig.axes) == 6  # five panels, one colorbar
    assert [a.axes.get_title() for a in artists] == [f"layer {i}" for i in range(5)]


def test_unused_panels_are_hidden_and_ncols_is_honoured(stream):
    fig = layer_sheet(stream, ncols=2)
    panels = [ax for ax in fig.axes if ax is not _artists(fig)[0].colorbar.ax]
    assert len(panels) == 6 and [ax.get_visible() for ax in panels] == [True] * 5 + [False]
    with pytest.raises(ValueError, match="ncols must be a positive integer"):
        layer_sheet(stream, ncols=0)


@pytest.mark.parametrize(
    ("n", "rows", "cols", "expected"),
    [(13, 16, 48, 3), (13, 24, 32, 4), (1, 16, 48, 1), (80, 64, 128, 8)],
)
def test_default_ncols_keeps_the_sheet_near_4_by_3(n, rows, cols, expected):
    assert _best_ncols(n, rows, cols) == expected


def test_options_reach_every_panel(stream):
    fig = layer_sheet(stream, layers=[0, -1], cmap="RdBu_r", vmin=-2, vmax=2, colorbar=False)
    artists = _artists(fig)
    assert [a.layer for a in artists] == [0, 4]
    assert all(a.cmap.name.startswith("RdBu_r") for a in artists)
    assert all((a.norm.vmin, a.norm.vmax) == (-2, 2) for a in artists)
    assert artists[0].colorbar is None


def test_titles_name_the_token(stream):
    fig = layer_sheet(ResidualStream(stream, tokens=("a", " b"), position=1), layers=[2])
    assert fig.axes[0].get_title() == "layer 2 · ' b'"


def test_in_a_given_figure_and_vector_output(stream):
    fig = Figure()
    sub = fig.subfigures(1, 2)[1]
    assert layer_sheet(stream, fig=sub) is sub
    buf = io.BytesIO()
    layer_sheet(stream).savefig(buf, format="svg")
    assert buf.getvalue().count(b"<path") > 5 * 48  # cells are vector shapes


def test_refuses_single_layer_options(stream):
    with pytest.raises(TypeError, match="drop ax="):
        layer_sheet(stream, ax=plt.gca())


@pytest.mark.mpl_image_compare(style="mpl_residual.paper", remove_text=True)
def test_image_paper_sheet():
    rng = np.random.default_rng(4)
    x = rng.standard_normal((7, 384)).cumsum(axis=0)
    x[:, 100] = np.linspace(0, 60, 7)
    return layer_sheet(x.reshape(7, 16, 24), figsize=(7, 3.2))


@pytest.mark.parametrize("changed", [None, "size", "limits"])
def test_the_colorbar_spans_the_grids_not_their_layout_rows(changed):
    # The bar's box is kept between the layout's questions while nothing it depends on
    # changes: a new figure size or new limits of a grid move it.
    fig = layer_sheet(np.random.default_rng(0).standard_normal((7, 16, 24)), ncols=4)
    fig.canvas.draw()
    if changed == "size":
        fig.set_size_inches(5, 4.5)
        fig.canvas.draw()
    elif changed == "limits":
        fig.axes[6].set_ylim(20, -4)  # the lowest grid, drawn taller
        fig.canvas.draw()
    grids = [
        ax.get_window_extent()
        for ax in fig.axes
        if ax.get_visible() and any(isinstance(c, ResidualStreamArtist) for c in ax.collections)
    ]
    assert len(grids) == 7
    colorbar = fig.axes[0].collections[0].colorbar
    assert colorbar.extend == "both"
    bar = colorbar.outline.get_window_extent()  # arrows included
    assert bar.y0 == pytest.approx(min(g.y0 for g in grids), abs=1)
    assert bar.y1 == pytest.approx(max(g.y1 for g in grids), abs=1)
    assert bar.x0 > max(g.x1 for g in grids)


def _lensed(n_layers=7, token="is", answer="paris"):
    values = np.random.default_rng(0).standard_normal((n_layers, 8, 8)).astype(np.float32)
    predictions = tuple(((answer, 0.5 + 0.05 * i), ("rome", 0.1)) for i in range(n_layers))
    return ResidualStream(values, tokens=("the", token), position=1, predictions=predictions)


def test_long_titles_break_alike_and_never_run_into_each_other():
    fig = layer_sheet(_lensed())
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    artists = _artists(fig)
    titles = [a.axes.title for a in artists]
    assert {t.get_text().count("\n") for t in titles} == {1}  # one break, the same everywhere
    assert titles[3].get_text() == "layer 3 · 'is'\n→ 'paris' 65%"
    boxes = [t.get_window_extent(renderer) for t in titles]
    for i, a in enumerate(boxes):
        for b in boxes[i + 1 :]:
            assert not a.overlaps(b)
    # Titles that fit stay on one line.
    wide = layer_sheet(_lensed(), figsize=(30, 6))
    assert all("\n" not in a.axes.get_title() for a in _artists(wide))
    plt.close("all")


def test_a_break_that_does_not_shorten_the_widest_line_is_not_made():
    fig = layer_sheet(_lensed(token="a", answer="a very long answer token"))
    fig.canvas.draw()  # titles are fitted to the room they get when laid out
    titles = [a.axes.get_title() for a in _artists(fig)]
    assert titles[0].startswith("layer 0 · 'a'\n→ ")  # not "layer 0\n'a'\n→ ..."
    plt.close("all")
