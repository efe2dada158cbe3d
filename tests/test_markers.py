"""Massive dimensions: `outlier_dims`, and `mark_dims` outlines that follow the layer."""

import numpy as np
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from mpl_residual import DimMarkers, animate, mark_dims, outlier_dims, residual_grid, to_grid


def _grid(stream, **kwargs):
    ax = FigureCanvasAgg(Figure()).figure.add_subplot()
    return residual_grid(stream, ax=ax, **kwargs)


def test_outlier_dims_finds_the_massive_dimensions(gpt2_like):
    assert outlier_dims(gpt2_like).tolist() == [138, 447]
    assert outlier_dims(gpt2_like, factor=1e6).tolist() == []
    # the median of each layer, in any layer: dimension 447 is massive from layer 2 on
    early = gpt2_like[:2]
    assert 447 not in outlier_dims(early).tolist()


def test_outlier_dims_ignores_padding_and_nonfinite():
    flat = np.ones((2, 10))
    flat[1, 3] = 1e4
    flat[0, 5] = np.inf
    grid = to_grid(flat, 4, pad=True)
    assert outlier_dims(grid).tolist() == [3]
    with pytest.raises(ValueError, match="factor must be positive"):
        outlier_dims(grid, factor=0)


def test_fixed_dims_in_every_layer(gpt2_like):
    artist = _grid(gpt2_like)
    marks = mark_dims(artist, [447, 138, 447])
    assert isinstance(marks, DimMarkers) and marks.dims.tolist() == [138, 447]
    assert marks in artist.axes.get_children() and marks in artist.followers
    halo, outline, *labels = marks.get_children()
    centres = [p.vertices[:4].mean(axis=0).tolist() for p in outline.get_paths()]
    assert centres == [[10.0, 4.0], [31.0, 13.0]]  # (col, row) of 138 and 447 in 24 x 32
    assert len(halo.get_paths()) == 2 and len(labels) == 2  # the labels' halo and ink
    # Labels are placed when drawn (changed on purpose: in pixels, where they fit), each
    # centred over its cell when there is room above it.
    artist.axes.figure.canvas.draw()
    assert marks.labelled.tolist() == [138, 447]
    cells = artist.get_transform().transform([[31, 13], [10, 4]])  # 447 first: the largest
    top = artist.get_transform().transform([[31, 12.5], [10, 3.5]])
    panel = artist.axes.bbox
    for collection in labels:  # glyphs of "447" and "138", over their cells
        assert len(collection.get_paths()) == 2
        offsets = collection.get_offsets()
        assert offsets[1, 0] == pytest.approx(cells[1, 0])  # 138: centred over its cell
        assert cells[0, 0] - 20 < offsets[0, 0] < panel.x1  # 447, last column: slid in
        assert np.all(offsets[:, 1] > top[:, 1])  # above the cell's top edge on screen


def test_top_and_factor_follow_the_layer(gpt2_like):
    artist = _grid(gpt2_like)
    top = mark_dims(artist, top=2, labels=False)
    massive = mark_dims(artist, factor=100)
    assert massive.dims.tolist() == []  # layer 0: nothing massive yet
    artist.set_layer(6)
    assert top.dims.tolist() == [138, 447]
    assert massive.dims.tolist() == [138, 447]
    assert len(top.get_children()) == 2  # outlines only (halo and ink), no labels
    artist.set_layer(0)
    layer0 = np.abs(gpt2_like[0].ravel())
    assert top.dims.tolist() == sorted(np.argsort(layer0)[-2:].tolist())


def test_marks_are_drawn_and_exported(gpt2_like, tmp_path):
    import player_pages
    from mpl_residual import save_animation

    anim = animate(gpt2_like)
    mark_dims(anim.artist, factor=100)
    anim.figure.canvas.draw()
    path = save_animation(anim, tmp_path / "m.html", progress=False)
    frames = player_pages.frames(path.read_text())
    ax = anim.artist.axes
    x, y = ax.transData.transform((31 - 0.46, 13))  # the left edge of dim 447's outline
    height = frames[0].shape[0]
    at = (height - int(y), int(round(x)))
    assert not np.array_equal(frames[0][at], frames[6][at])  # outlined in layer 6 only
    assert frames[6][at].min() > 200  # white


@pytest.mark.parametrize(
    ("args", "kwargs", "err", "match"),
    [
        ((), {}, TypeError, "mark_dims takes one of dims=, top= or factor=; got none"),
        (([1],), {"top": 2}, TypeError, "got dims, top"),
        (([768],), {}, ValueError, r"dims \[768\] are not dimensions of this stream"),
        (("12",), {}, TypeError, "dims must be a sequence of dimensions"),
        ((), {"top": 0}, ValueError, "top must be at least 1"),
        ((), {"factor": -1}, ValueError, "factor must be positive"),
        ((), {"factor": "x"}, TypeError, "factor must be a number"),
    ],
)
def test_bad_arguments(gpt2_like, args, kwargs, err, match):
    with pytest.raises(err, match=match):
        mark_dims(_grid(gpt2_like), *args, **kwargs)


def test_the_artist_must_be_drawn():
    from mpl_residual import ResidualStreamArtist

    with pytest.raises(ValueError, match="must be on an Axes"):
        mark_dims(ResidualStreamArtist(np.zeros((2, 2, 2))), top=1)
    with pytest.raises(TypeError, match="needs a ResidualStreamArtist"):
        mark_dims("grid", top=1)


@pytest.mark.mpl_image_compare(style="default", remove_text=True)
def test_image_marked_dims(gpt2_like):
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 3.4), layout="constrained")
    artist = residual_grid(gpt2_like, ax=ax, layer=9, colorbar=True)
    mark_dims(artist, factor=100, labels=False)
    return fig


def _label_boxes(marks):
    return list(marks._labels.boxes)


def _within(inner, outer, slack=0.01):
    return (
        inner.x0 >= outer.x0 - slack and inner.y0 >= outer.y0 - slack
        and inner.x1 <= outer.x1 + slack and inner.y1 <= outer.y1 + slack
    )  # fmt: skip


@pytest.mark.parametrize("style", ["blog_dark", "paper", None])
@pytest.mark.parametrize("figsize", [None, (3.2, 2.4)])
def test_labels_never_overlap_nor_leave_the_figure(gpt2_like, style, figsize):
    import matplotlib.pyplot as plt

    from mpl_residual import style_context
    from mpl_residual.markers import LABEL_SIZE

    context = style_context(style) if style else plt.style.context("default")
    with context:
        fig = plt.figure(figsize=figsize)
        artist = residual_grid(gpt2_like, ax=fig.add_subplot(), layer=9, colorbar=True)
        marks = mark_dims(artist, top=5)  # `render --mark top:5`
        fig.canvas.draw()
    assert len(marks.dims) == 5
    boxes = _label_boxes(marks)
    assert len(boxes) == len(marks.labelled) >= 1
    for i, box in enumerate(boxes):
        assert _within(box, fig.bbox) and _within(box, artist.axes.bbox)
        assert not any(box.overlaps(other) for other in boxes[i + 1 :])
    assert LABEL_SIZE >= 7  # type size, in points
    digit = marks._labels._path("8").get_extents()  # the glyphs, in points
    assert digit.height >= 0.7 * LABEL_SIZE  # a digit's height is ~0.73 of its type size
    tight = fig.get_tightbbox()
    assert tight.x0 >= 0 and tight.y0 >= 0
    assert tight.x1 <= fig.get_figwidth() + 1e-6 and tight.y1 <= fig.get_figheight() + 1e-6
    plt.close(fig)


def test_without_room_for_every_label_fewer_are_drawn_but_all_outlined(gpt2_like):
    import matplotlib.pyplot as plt

    fig = plt.figure(figsize=(3.2, 2.4))
    artist = residual_grid(gpt2_like, ax=fig.add_subplot(), layer=9)
    marks = mark_dims(artist, top=120)
    fig.canvas.draw()
    assert len(marks.dims) == 120  # every marked cell is listed
    assert 0 < len(marks.labelled) < 120  # no room for all of their labels
    assert set(marks.labelled) <= set(marks.dims)
    assert all(len(outline.get_paths()) == 120 for outline in marks._outlines)
    values = np.abs(np.asarray(artist.stream[9]).ravel())
    strongest = int(marks.dims[np.argmax(values[marks.dims])])
    assert strongest in marks.labelled  # the largest |x| is labelled first
    plt.close(fig)


@pytest.mark.parametrize("dpi", [60, 100, 200])
def test_the_window_extent_holds_every_pixel_drawn(gpt2_like, dpi):
    # Exports cut what follows the layer out of a frame by its window extent: the
    # labels' halos and the outlines' antialiased edges must lie inside it.
    from matplotlib.backends.backend_agg import RendererAgg

    fig = FigureCanvasAgg(Figure(figsize=(5, 3), dpi=dpi)).figure
    artist = residual_grid(gpt2_like, ax=fig.add_subplot(), layer=3)
    marks = mark_dims(artist, top=4)
    fig.canvas.draw()
    renderer = RendererAgg(*(int(v) for v in fig.bbox.size), dpi)
    marks.draw(renderer)
    alpha = np.asarray(renderer.buffer_rgba())[..., 3]
    rows, cols = np.nonzero(alpha)
    assert len(rows) and len(marks.labelled)
    box = marks.get_window_extent(renderer)
    height = alpha.shape[0]
    assert cols.min() >= np.floor(box.x0) and cols.max() + 1 <= np.ceil(box.x1)
    assert height - rows.max() - 1 >= np.floor(box.y0) and height - rows.min() <= np.ceil(box.y1)
