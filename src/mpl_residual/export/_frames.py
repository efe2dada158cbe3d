"""Rendering the frames of an animation once each, for `save_animation`'s encoders."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
from matplotlib.animation import AbstractMovieWriter, Animation
from matplotlib.backend_bases import FigureCanvasBase
from matplotlib.backends.backend_agg import FigureCanvasAgg, RendererAgg
from matplotlib.collections import QuadMesh
from matplotlib.patches import Rectangle
from matplotlib.transforms import Bbox

from .._raster import mesh_like
from ._encoders import Encoder
from ._scene import (
    Grid,
    LayerFrames,
    Scene,
    at_dpi,
    by_zorder,
    drawn_scene,
    layout_restored,
    merged,
    pixel_box,
    rgb,
)

__all__: list[str] = []

Progress = Callable[[int, int], None] | None


class _Found(Exception):
    """Raised by `_FigureProbe` with the figure it was given."""


class _FigureProbe(AbstractMovieWriter):
    """A movie writer that stops `Animation.save` at its start, with the figure."""

    def setup(self, fig: Any, outfile: Any, dpi: float | None = None) -> None:
        raise _Found(fig)

    def grab_frame(self, **savefig_kwargs: Any) -> None:  # never reached
        raise NotImplementedError

    def finish(self) -> None:  # never reached
        raise NotImplementedError


def figure_of(anim: Any) -> Any:
    """
    The figure an animation draws: `LayerFrames.figure`, or for any other matplotlib
    animation the one it hands a movie writer (matplotlib has no public name for it):
    `Animation.save` is started with a writer that stops it, before anything is drawn.
    """
    if isinstance(anim, LayerFrames):
        return anim.figure
    try:
        anim.save(os.devnull, writer=_FigureProbe(fps=1))
    except _Found as found:
        return found.args[0]
    raise TypeError(f"cannot tell the figure of {type(anim).__name__}")  # pragma: no cover


@contextlib.contextmanager
def resized(fig: Any, size: tuple[float, float]) -> Iterator[None]:
    """*fig* at *size* (inches) for a while, laid out anew; its own size after."""
    before = tuple(fig.get_size_inches())
    fig.set_size_inches(size, forward=False)
    try:
        yield
    finally:
        fig.set_size_inches(before, forward=False)
        fig.stale = True


def render_layers(anim: LayerFrames, encoder: Encoder, dpi: float, progress: Progress) -> None:
    """
    The fast path for animations made by `animate`: the figure is drawn (and laid out)
    once without the grids and what follows them; each frame then redraws only those,
    and whatever sits above the grids in their Axes, into a copy of that background,
    and hands the encoder only the regions that change.  One full draw for the whole
    animation.
    """
    with drawn_scene(anim, dpi) as scene:
        # What changes: each grid with what lies over it, and each follower's place, as
        # regions (a grid alone usually fits a 256-colour palette; text does not).
        boxes = merged([scene.extent_box(g) for g in scene.grids] + scene.follower_boxes())
        encoder.start(scene.backdrop, (scene.width, scene.height))
        renderer = scene.renderer
        background = renderer.copy_from_bbox(anim.figure.bbox)
        opaque = encoder.takes_rgba  # then the buffer's own pixels, used at once
        for i, layer in enumerate(scene.layers):
            renderer.restore_region(background)
            anim.show_layer(layer)
            for grid in scene.grids:
                for a in by_zorder([grid.artist, *grid.over]):
                    a.draw(renderer)
            for follower in by_zorder(scene.followers):
                follower.draw(renderer)
            encoder.add([(scene.crop(box, opaque=opaque), (box[0], box[1])) for box in boxes])
            if progress is not None:
                progress(i, len(scene.layers))


@dataclass
class GridCells:
    """
    One animated grid, for a player that paints its cells itself.  Boxes are in buffer
    pixels (origin top left): ``(left, top, right, bottom)``.
    """

    #: Where the cells go: the outer corners of the first and last cell (floats; left
    #: < right, top < bottom), and the box that clips them.
    mesh: tuple[float, float, float, float]
    clip: tuple[int, int, int, int]
    #: Whether cell column 0 is at the right (x axis inverted) / row 0 at the bottom.
    flip: tuple[bool, bool]
    #: Each frame's cells as RGBA bytes, ``(frames, rows, cols, 4)``, rows and columns
    #: in screen order (flipped as *flip* says).
    colors: np.ndarray
    #: Each frame's raw values (NaN, inf kept), ``(frames, rows, cols)``, data order.
    values: np.ndarray
    #: Cells from this flat index on are padding (see `ResidualStreamArtist.d_model`).
    d_model: int
    #: What is drawn over the grid (lines between cells, spines, ...) on transparent,
    #: and where it goes; None when there is nothing.
    overlay: tuple[np.ndarray, tuple[int, int]] | None


@dataclass
class CellFrames:
    """A `LayerAnimation` taken apart for a player that paints the cells itself."""

    size: tuple[int, int]
    #: The figure without what follows the layer and what is drawn over the grids
    #: (RGB).  It shows the first frame's cells when they are opaque, so that the
    #: backdrop, the overlays and the first sprites are the whole first frame even
    #: without a script; with translucent cells it has none, and *poster* is the whole
    #: first frame.
    backdrop: np.ndarray
    poster: np.ndarray | None
    grids: list[GridCells]
    #: What follows the layer (titles, marks, markers), per frame, on transparent:
    #: one list of frames for each box of `boxes`; None where a frame draws nothing.
    sprites: list[list[np.ndarray | None]]
    boxes: list[tuple[int, int, int, int]]
    #: The layer each frame shows.
    layers: tuple[int, ...]


def paints_cells(anim: LayerFrames) -> bool:
    """Whether the cells of *anim* are axis-aligned rectangles a player can paint."""
    for artist in anim.artists:
        ax = artist.axes
        transform = artist.get_transform()
        if ax is None or not transform.is_affine or not isinstance(ax.patch, Rectangle):
            return False
        matrix = transform.get_affine().get_matrix()
        if matrix[0, 1] != 0 or matrix[1, 0] != 0:
            return False
    return True


def _edges_only(artist: Any) -> QuadMesh | None:
    """The lines between *artist*'s cells as a mesh of their own, or None if none."""
    width = float(artist.get_linewidth()[0])
    colors = artist.get_edgecolor()
    if width <= 0 or len(colors) == 0 or not np.any(np.asarray(colors)[:, 3] > 0):
        return None
    return mesh_like(
        artist,
        facecolors="none",
        edgecolors=colors,
        linewidths=width,
        antialiased=bool(artist.get_antialiased()[0]),
        zorder=artist.get_zorder(),
    )


def _cell_colors(artist: Any, layers: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
    """The values of *layers* and their colours, rounded to bytes as Agg rounds them."""
    values = artist.stream[list(layers)]
    rgba = artist.to_rgba(values.reshape(len(layers), -1), alpha=artist.get_alpha())
    colors = np.floor(rgba * 255 + 0.5).astype(np.uint8)  # to_rgba's bytes=True truncates
    return np.ma.getdata(values), colors.reshape(*values.shape, 4)


def _grid_cells(scene: Scene, grid: Grid, colors: np.ndarray, values: np.ndarray) -> GridCells:
    artist, renderer, height = grid.artist, scene.renderer, scene.height
    renderer.clear()  # over the grid, on transparent: its lines and the Axes' artists
    for a in by_zorder(a for a in (_edges_only(artist), *grid.over) if a is not None):
        a.draw(renderer)
    box = scene.extent_box(grid)
    pixels = scene.crop(box, alpha=True)
    rows, cols = values.shape[1:]
    (x0, y0), (x1, y1) = artist.get_transform().transform([[-0.5, -0.5], [cols - 0.5, rows - 0.5]])
    top0, top1 = height - y0, height - y1  # buffer rows count down from the top
    flip = (bool(x1 < x0), bool(top0 > top1))  # column 0 right of the last / row 0 below
    if flip[0]:
        colors = colors[:, :, ::-1]
    if flip[1]:
        colors = colors[:, ::-1]
    clip_box = artist.get_clip_box() or scene.anim.figure.bbox
    return GridCells(
        mesh=(
            float(min(x0, x1)),
            float(min(top0, top1)),
            float(max(x0, x1)),
            float(max(top0, top1)),
        ),
        clip=pixel_box(clip_box, scene.width, height, pad=0),
        flip=flip,
        colors=np.ascontiguousarray(colors),
        values=values,
        d_model=artist.d_model,
        overlay=(pixels, (box[0], box[1])) if pixels[..., 3].any() else None,
    )


def _cut(
    pieces: list[tuple[tuple[int, int, int, int], np.ndarray]], box: tuple[int, int, int, int]
) -> np.ndarray | None:
    """What a frame shows in *box* (RGBA), from the pieces it drew there (each one's
    box and pixels); None where it shows nothing."""
    x0, y0, x1, y1 = box
    cut = np.zeros((y1 - y0, x1 - x0, 4), np.uint8)
    for (left, top, right, bottom), pixels in pieces:
        a0, b0, a1, b1 = max(x0, left), max(y0, top), min(x1, right), min(y1, bottom)
        if a0 < a1 and b0 < b1:
            cut[b0 - y0 : b1 - y0, a0 - x0 : a1 - x0] = pixels[
                b0 - top : b1 - top, a0 - left : a1 - left
            ]
    return cut if cut[..., 3].any() else None


def render_cells(
    anim: LayerFrames, dpi: float, progress: Progress, *, still: bool = True
) -> CellFrames:
    """
    The player's frames: the figure drawn once without what changes, the lines and
    artists over each grid on transparent, what follows the layer per frame, and each
    frame's cells as colours and values.  One full draw (two where the cells are
    translucent: the poster) and one small draw a frame.  Without *still* (a layout
    only a script shows), the backdrop never holds cells.
    """
    taken = [_cell_colors(artist, tuple(anim.layers)) for artist in anim.artists]
    # opaque cells: painted ones hide the first frame's, which the backdrop can show
    opaque = all(colors[..., 3].min() == 255 for _, colors in taken)
    with drawn_scene(anim, dpi, cells=still and opaque) as scene:
        layers = scene.layers
        backdrop = scene.backdrop
        poster = scene.first_frame() if still and not opaque else None
        grids = [
            _grid_cells(scene, grid, colors, values)
            for grid, (values, colors) in zip(scene.grids, taken, strict=True)
        ]
        # What follows the layer, drawn once a frame on transparent: each follower's
        # pixels where it is, cut to the boxes around all its places at the end.
        renderer = scene.renderer
        places: dict[int, list[Bbox]] = {id(f): [] for f in scene.followers}
        drawn = []
        for i, layer in enumerate(layers):
            anim.show_layer(layer)
            renderer.clear()
            for follower in by_zorder(scene.followers):
                follower.draw(renderer)
            pieces = []
            for follower in scene.followers:
                if (place := scene.placed(follower)) is not None:
                    places[id(follower)].append(place)
                    box = scene.box(place)
                    pieces.append((box, scene.crop(box, alpha=True)))
            drawn.append(pieces)
            if progress is not None:
                progress(i, len(layers))
        boxes = scene.around(places)
        sprites = [[_cut(pieces, box) for pieces in drawn] for box in boxes]
        return CellFrames(
            size=(scene.width, scene.height),
            backdrop=backdrop,
            poster=poster,
            grids=grids,
            sprites=sprites,
            boxes=boxes,
            layers=tuple(layers),
        )


class _Adapter(AbstractMovieWriter):
    """Lets `Animation.save` drive an encoder, for animations not made by `animate`."""

    def __init__(self, encoder: Encoder) -> None:
        super().__init__(fps=encoder.fps)
        self.encoder = encoder

    def setup(self, fig: Any, outfile: Any, dpi: float | None = None) -> None:
        super().setup(fig, outfile, dpi)
        self._stack = contextlib.ExitStack()
        self._stack.enter_context(at_dpi(fig, self.dpi))
        self._hold_layout = self._stack.enter_context(layout_restored(fig))
        self._renderer: RendererAgg | None = None
        self._started = False
        # Animation.save has the canvas draw each frame (draw_idle); a plain Agg canvas
        # does so at once, so its buffer is the frame and need not be drawn again.
        canvas = fig.canvas
        self._reuse = isinstance(canvas, FigureCanvasAgg) and (
            type(canvas).draw_idle is FigureCanvasBase.draw_idle
        )

    def grab_frame(self, **savefig_kwargs: Any) -> None:
        fig = self.fig
        if self._reuse:
            rgba = np.asarray(fig.canvas.buffer_rgba())
        else:
            width, height = fig.bbox.size
            if self._renderer is None:
                self._renderer = RendererAgg(width, height, self.dpi)
            self._renderer.clear()
            fig.draw(self._renderer)
            rgba = np.asarray(self._renderer.buffer_rgba())
        if not self._started:
            self.encoder.start(None, (rgba.shape[1], rgba.shape[0]))
            self._started = True
            self._hold_layout()
        self.encoder.add([(rgb(rgba), (0, 0))])

    def finish(self) -> None:
        self._stack.close()


def render_any(anim: Animation, encoder: Encoder, dpi: float, progress: Progress) -> None:
    """Any matplotlib animation, driven by `Animation.save`: one draw per frame."""
    anim.save(encoder.path, writer=_Adapter(encoder), dpi=dpi, progress_callback=progress)
