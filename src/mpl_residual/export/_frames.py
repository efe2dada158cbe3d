"""Rendering the frames of an animation once each, for `save_animation`'s encoders."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import numpy as np
from matplotlib.animation import AbstractMovieWriter, Animation
from matplotlib.backend_bases import FigureCanvasBase
from matplotlib.backends.backend_agg import FigureCanvasAgg, RendererAgg
from matplotlib.collections import QuadMesh
from matplotlib.patches import Rectangle
from matplotlib.transforms import Bbox

from .._raster import mesh_like
from ._encoders import Encoder

__all__: list[str] = []

Progress = Callable[[int, int], None] | None


@runtime_checkable
class LayerFrames(Protocol):
    """
    An animation that says what it animates, as `mpl_residual.LayerAnimation` does: the
    grids that change layer together (`artists`), what follows them (`followers`:
    titles, marks, markers), the layer of each frame, and how to show one.  It is
    drawn once and then only what changes.
    """

    @property
    def figure(self) -> Any: ...

    @property
    def artists(self) -> Sequence[Any]: ...

    @property
    def followers(self) -> Sequence[Any]: ...

    @property
    def layers(self) -> Sequence[int]: ...

    @property
    def frame_names(self) -> Sequence[str]: ...

    def show_layer(self, layer: int) -> None: ...

    def mark_rendered(self) -> None: ...


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


def _rgb(rgba: np.ndarray) -> np.ndarray:
    """RGB from an Agg buffer; transparent pixels are flattened onto white."""
    alpha = rgba[..., 3:]
    if alpha.min() == 255:
        from PIL import Image  # Pillow drops a channel 2.5x as fast as a strided copy

        height, width = rgba.shape[:2]
        image = Image.frombuffer("RGBA", (width, height), np.ascontiguousarray(rgba))
        return np.asarray(image.convert("RGB"))
    return (rgba[..., :3] * (alpha / 255) + 255 * (1 - alpha / 255)).astype(np.uint8)


@contextlib.contextmanager
def _at_dpi(fig: Any, dpi: float) -> Iterator[None]:
    before = fig.dpi
    fig.dpi = dpi
    try:
        yield
    finally:
        fig.dpi = before


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


@contextlib.contextmanager
def _layout_restored(fig: Any) -> Iterator[Callable[[], None]]:
    """
    Yield ``hold()``, which keeps the figure's current layout from then on; the layout
    engine is given back on exit.  Frames only change data, so laying the figure out
    again for each of them would cost time and could make frames jitter.
    """
    engine = fig.get_layout_engine()

    def hold() -> None:
        if engine is not None:
            fig.set_layout_engine("none")

    try:
        yield hold
    finally:
        if engine is not None:
            fig.set_layout_engine(engine)


def _pixel_box(bbox: Bbox, width: int, height: int, *, pad: int) -> tuple[int, int, int, int]:
    """(left, top, right, bottom) of *bbox* in buffer columns and rows, with *pad*."""
    left = max(0, int(np.floor(bbox.xmin)) - pad)
    right = min(width, int(np.ceil(bbox.xmax)) + pad)
    top = max(0, height - int(np.ceil(bbox.ymax)) - pad)
    bottom = min(height, height - int(np.floor(bbox.ymin)) + pad)
    return left, top, right, bottom


def _overlap(a: tuple[int, ...], b: tuple[int, ...]) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def _merged(boxes: list[tuple[int, int, int, int]]) -> list[tuple[int, int, int, int]]:
    """*boxes* with every overlapping pair replaced by the box around both."""
    boxes = list(boxes)
    pairs = ((i, j) for i in range(len(boxes)) for j in range(i + 1, len(boxes)))
    pair = next(((i, j) for i, j in pairs if _overlap(boxes[i], boxes[j])), None)
    while pair is not None:
        a, b = boxes[pair[0]], boxes.pop(pair[1])
        boxes[pair[0]] = (min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3]))
        pairs = ((i, j) for i in range(len(boxes)) for j in range(i + 1, len(boxes)))
        pair = next(((i, j) for i, j in pairs if _overlap(boxes[i], boxes[j])), None)
    return boxes


def _by_zorder(artists: Any) -> list[Any]:
    return sorted(artists, key=lambda a: a.get_zorder())


class _Grid:
    """
    One animated grid on its Axes, and what its Axes draws over it (`over`: found as
    the figure is first drawn, see `_Scene`), which each frame draws again after the
    cells, in the Axes' order, so that frames match a full draw.
    """

    def __init__(self, artist: Any) -> None:
        self.artist = artist
        self._over: list[tuple[Any, Bbox]] = []  # and where each one is drawn

    @property
    def over(self) -> list[Any]:
        return [a for a, _ in self._over]

    def box(self, renderer: RendererAgg) -> Bbox:
        """Where the cells are drawn: inside the Axes."""
        artist, ax = self.artist, self.artist.axes
        transform = artist.get_transform()
        if transform.is_affine:  # the outer corners (a quad mesh's extent visits every cell)
            rows, cols = artist.stream.shape[1:]
            drawn = Bbox(transform.transform([[-0.5, -0.5], [cols - 0.5, rows - 0.5]]))
            drawn = Bbox.from_extents(*drawn.min, *drawn.max)
        else:
            drawn = artist.get_window_extent(renderer)
        return Bbox.intersection(drawn, ax.bbox) or ax.bbox

    def takes(self, artist: Any, renderer: RendererAgg) -> bool:
        """Whether *artist*, drawn now where it is, lies over the cells: then it is
        kept to draw over them in each frame.  Asked once an artist (a spine's
        extent measures its axis's ticks: a millisecond)."""
        extent = artist.get_window_extent(renderer)
        if not extent.overlaps(self.box(renderer)):
            return False
        self._over.append((artist, extent))
        return True

    def extent(self, renderer: RendererAgg) -> Bbox:
        """The grid and what is drawn over it."""
        return Bbox.union([self.box(renderer), *(extent for _, extent in self._over)])


@contextlib.contextmanager
def _painting(artists: Sequence[Any], paints: Callable[[Any, Any], bool]) -> Iterator[None]:
    """
    Each of *artists* painted in a draw only where ``paints(artist, renderer)`` says
    so, asked at its turn (the Axes is placed and has placed its titles by then).
    Artists left unpainted still take their part in the draw: hiding them instead
    would move an Axes' titles (it places hidden ones out of the way).
    """
    own = [vars(a).get("draw") for a in artists]
    for a in artists:

        def draw(renderer: Any, a: Any = a, drawn: Any = a.draw) -> None:
            if paints(a, renderer):
                drawn(renderer)

        a.draw = draw
    try:
        yield
    finally:
        for a, draw in zip(artists, own, strict=True):
            if draw is None:
                del a.draw
            else:
                a.draw = draw


def _lay_out(fig: Any) -> None:
    """*fig*'s layout engine run once, as `Figure.draw` runs it (a ValueError from it
    is ignored there too), so that the draw after it can hold the layout."""
    engine = fig.get_layout_engine()
    if fig.axes and engine is not None:
        with contextlib.suppress(ValueError):
            engine.execute(fig)


class _Scene:
    """
    A `LayerAnimation`'s figure laid out and drawn once at a resolution: what every
    kind of frame rendering shares.  The figure is laid out and the layout held from
    then on (frames only change data), then drawn once with its first layer: without
    what follows the layer (the followers: titles, marks, markers) and what lies over
    the grids (found as it is drawn), which each frame draws, and without the grids'
    cells unless *cells*.  That draw is the `backdrop`.
    """

    def __init__(
        self, anim: LayerFrames, renderer: RendererAgg, hold: Callable[[], None], *, cells: bool
    ) -> None:
        fig = anim.figure
        self.anim, self.layers = anim, anim.layers
        self.renderer = renderer
        self.width, self.height = renderer.width, renderer.height
        anim.show_layer(self.layers[0])
        _lay_out(fig)
        hold()
        self.followers = [f for f in anim.followers if f.get_visible()]
        self.grids = [_Grid(artist) for artist in anim.artists]
        moving = {id(a) for a in (*anim.artists, *anim.followers)}
        above: dict[int, list[_Grid]] = {}  # what might lie over each grid
        for grid in self.grids:
            ax, zorder = grid.artist.axes, grid.artist.get_zorder()
            for a in ax.get_children():
                if id(a) not in moving and a is not ax.patch and a.get_zorder() > zorder:
                    above.setdefault(id(a), []).append(grid)
        candidates = [a for grid in self.grids for a in grid.artist.axes.get_children()]
        candidates = list({id(a): a for a in candidates if id(a) in above}.values())

        def paints(a: Any, renderer: Any) -> bool:
            if id(a) in moving:
                grid = a in anim.artists
                if grid and not cells:  # its lines as a draw would fit them, unpainted
                    getattr(a, "_fit_lines", lambda: None)()
                return grid and cells
            over = [g.takes(a, renderer) for g in above[id(a)]] if a.get_visible() else []
            return not any(over)

        unpainted = [*self.followers, *anim.artists]
        with _painting([*unpainted, *candidates], paints):
            fig.draw(renderer)
        self.backdrop = _rgb(np.asarray(renderer.buffer_rgba()))

    def placed(self, follower: Any) -> Bbox | None:
        """Where *follower* is drawn now (None where nothing is)."""
        box = follower.get_window_extent(self.renderer)
        return box if box.width > 0 or box.height > 0 else None

    def follower_boxes(self) -> list[tuple[int, int, int, int]]:
        """Where the followers go in any frame: the boxes around each one's places."""
        places: dict[int, list[Bbox]] = {id(f): [] for f in self.followers}
        for layer in self.layers:
            self.anim.show_layer(layer)
            for follower in self.followers:
                if (box := self.placed(follower)) is not None:
                    places[id(follower)].append(box)
        return _merged([self.box(Bbox.union(boxes)) for boxes in places.values() if boxes])

    @property
    def over(self) -> list[Any]:
        return [a for grid in self.grids for a in grid.over]

    def box(self, bbox: Bbox) -> tuple[int, int, int, int]:
        """(left, top, right, bottom) of *bbox* in buffer pixels, two pixels of margin."""
        return _pixel_box(bbox, self.width, self.height, pad=2)

    def extent_box(self, grid: _Grid) -> tuple[int, int, int, int]:
        """`box` of *grid* and what is drawn over it."""
        return self.box(grid.extent(self.renderer))

    def first_frame(self) -> np.ndarray:
        """The whole figure with its first layer, as a full draw shows it (RGB)."""
        self.anim.show_layer(self.layers[0])
        self.renderer.clear()
        self.anim.figure.draw(self.renderer)
        return _rgb(np.asarray(self.renderer.buffer_rgba()))

    def crop(
        self, box: tuple[int, int, int, int], *, alpha: bool = False, opaque: bool = False
    ) -> np.ndarray:
        """
        The pixels of *box* in the renderer's buffer, RGB or RGBA (*alpha*); with
        *opaque*, where they are all opaque, the buffer's RGBA itself (no copy: use it
        before the next frame is drawn).
        """
        x0, y0, x1, y1 = box
        pixels = np.asarray(self.renderer.buffer_rgba())[y0:y1, x0:x1]
        if alpha:
            return pixels.copy()
        if opaque and pixels[..., 3].min() == 255:
            return pixels
        return _rgb(pixels)


@contextlib.contextmanager
def _scene(anim: LayerFrames, dpi: float, *, cells: bool = False) -> Iterator[_Scene]:
    fig = anim.figure
    shown = [artist.layer for artist in anim.artists]
    with _at_dpi(fig, dpi), _layout_restored(fig) as hold_layout:
        width, height = (int(v) for v in fig.bbox.size)
        scene = _Scene(anim, RendererAgg(width, height, dpi), hold_layout, cells=cells)
        try:
            yield scene
        finally:  # leave the figure as it was (and stale for its own canvas)
            for artist, layer in zip(anim.artists, shown, strict=True):
                artist.set_layer(layer)


def render_layers(anim: LayerFrames, encoder: Encoder, dpi: float, progress: Progress) -> None:
    """
    The fast path for animations made by `animate`: the figure is drawn (and laid out)
    once without the grids and what follows them; each frame then redraws only those,
    and whatever sits above the grids in their Axes, into a copy of that background,
    and hands the encoder only the regions that change.  One full draw for the whole
    animation.
    """
    with _scene(anim, dpi) as scene:
        # What changes: each grid with what lies over it, and each follower's place, as
        # regions (a grid alone usually fits a 256-colour palette; text does not).
        boxes = _merged([scene.extent_box(g) for g in scene.grids] + scene.follower_boxes())
        encoder.start(scene.backdrop, (scene.width, scene.height))
        renderer = scene.renderer
        background = renderer.copy_from_bbox(anim.figure.bbox)
        opaque = encoder.takes_rgba  # then the buffer's own pixels, used at once
        for i, layer in enumerate(scene.layers):
            renderer.restore_region(background)
            anim.show_layer(layer)
            for grid in scene.grids:
                for a in _by_zorder([grid.artist, *grid.over]):
                    a.draw(renderer)
            for follower in _by_zorder(scene.followers):
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


def _grid_cells(scene: _Scene, grid: _Grid, colors: np.ndarray, values: np.ndarray) -> GridCells:
    artist, renderer, height = grid.artist, scene.renderer, scene.height
    renderer.clear()  # over the grid, on transparent: its lines and the Axes' artists
    for a in _by_zorder(a for a in (_edges_only(artist), *grid.over) if a is not None):
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
        clip=_pixel_box(clip_box, scene.width, height, pad=0),
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
    with _scene(anim, dpi, cells=still and opaque) as scene:
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
            for follower in _by_zorder(scene.followers):
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
        boxes = _merged([scene.box(Bbox.union(p)) for p in places.values() if p])
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
        self._stack.enter_context(_at_dpi(fig, self.dpi))
        self._hold_layout = self._stack.enter_context(_layout_restored(fig))
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
        self.encoder.add([(_rgb(rgba), (0, 0))])

    def finish(self) -> None:
        self._stack.close()


def render_any(anim: Animation, encoder: Encoder, dpi: float, progress: Progress) -> None:
    """Any matplotlib animation, driven by `Animation.save`: one draw per frame."""
    anim.save(encoder.path, writer=_Adapter(encoder), dpi=dpi, progress_callback=progress)
