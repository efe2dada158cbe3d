"""
The scene every frame renderer starts from: a `LayerFrames` animation's figure laid
out once, its layout held, and drawn once without what changes from frame to frame
(`Scene`); and the pixel boxes, buffers and draws that the renderers share.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from typing import Any, Protocol, runtime_checkable

import numpy as np
from matplotlib.backends.backend_agg import RendererAgg
from matplotlib.spines import Spine
from matplotlib.transforms import Bbox

__all__: list[str] = []


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


def rgb(rgba: np.ndarray) -> np.ndarray:
    """RGB from an Agg buffer; transparent pixels are flattened onto white."""
    alpha = rgba[..., 3:]
    if alpha.min() == 255:
        from PIL import Image  # Pillow drops a channel 2.5x as fast as a strided copy

        height, width = rgba.shape[:2]
        image = Image.frombuffer("RGBA", (width, height), np.ascontiguousarray(rgba))
        return np.asarray(image.convert("RGB"))
    return (rgba[..., :3] * (alpha / 255) + 255 * (1 - alpha / 255)).astype(np.uint8)


@contextlib.contextmanager
def at_dpi(fig: Any, dpi: float) -> Iterator[None]:
    before = fig.dpi
    fig.dpi = dpi
    try:
        yield
    finally:
        fig.dpi = before


@contextlib.contextmanager
def layout_restored(fig: Any) -> Iterator[Callable[[], None]]:
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


def pixel_box(bbox: Bbox, width: int, height: int, *, pad: int) -> tuple[int, int, int, int]:
    """(left, top, right, bottom) of *bbox* in buffer columns and rows, with *pad*."""
    left = max(0, int(np.floor(bbox.xmin)) - pad)
    right = min(width, int(np.ceil(bbox.xmax)) + pad)
    top = max(0, height - int(np.ceil(bbox.ymax)) - pad)
    bottom = min(height, height - int(np.floor(bbox.ymin)) + pad)
    return left, top, right, bottom


def _overlap(a: tuple[int, ...], b: tuple[int, ...]) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def merged(boxes: list[tuple[int, int, int, int]]) -> list[tuple[int, int, int, int]]:
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


def by_zorder(artists: Any) -> list[Any]:
    return sorted(artists, key=lambda a: a.get_zorder())


def _painted_extent(artist: Any, renderer: RendererAgg) -> Bbox:
    """
    Where *artist* paints.  A spine in its default place, on its Axes' edge: that edge
    and its line's width (a spine's window extent adds its axis's ticks, which the
    axis draws, and measuring them costs a millisecond).  Anything else: its window
    extent.
    """
    if (
        isinstance(artist, Spine)
        and artist.spine_type in ("left", "right", "bottom", "top")
        and artist.get_position() == ("outward", 0.0)
        and artist.get_bounds() is None
    ):
        x0, y0, x1, y1 = artist.axes.bbox.extents
        line = {
            "left": (x0, y0, x0, y1),
            "right": (x1, y0, x1, y1),
            "bottom": (x0, y0, x1, y0),
            "top": (x0, y1, x1, y1),
        }[artist.spine_type]
        dpi = artist.get_figure(root=True).dpi
        half = artist.get_linewidth() / 2 * dpi / 72 + 1  # and a pixel for antialiasing
        return Bbox.from_extents(line[0] - half, line[1] - half, line[2] + half, line[3] + half)
    return artist.get_window_extent(renderer)


class Grid:
    """
    One animated grid on its Axes, and what its Axes draws over it (`over`: found as
    the figure is first drawn, see `Scene`), which each frame draws again after the
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
        kept to draw over them in each frame."""
        extent = _painted_extent(artist, renderer)
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


class Scene:
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
        self.grids = [Grid(artist) for artist in anim.artists]
        moving = {id(a) for a in (*anim.artists, *anim.followers)}
        above: dict[int, list[Grid]] = {}  # the grids each artist might lie over
        candidates: dict[int, Any] = {}
        for grid in self.grids:
            ax, zorder = grid.artist.axes, grid.artist.get_zorder()
            for a in ax.get_children():
                if id(a) not in moving and a is not ax.patch and a.get_zorder() > zorder:
                    above.setdefault(id(a), []).append(grid)
                    candidates[id(a)] = a

        def paints(a: Any, renderer: Any) -> bool:
            if id(a) in moving:
                grid = a in anim.artists
                if grid and not cells:  # its lines as a draw would fit them, unpainted
                    getattr(a, "_fit_lines", lambda: None)()
                return grid and cells
            over = [g.takes(a, renderer) for g in above[id(a)]] if a.get_visible() else []
            return not any(over)

        unpainted = [*self.followers, *anim.artists]
        with _painting([*unpainted, *candidates.values()], paints):
            fig.draw(renderer)
        self.backdrop = rgb(np.asarray(renderer.buffer_rgba()))

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
        return self.around(places)

    def around(self, places: dict[int, list[Bbox]]) -> list[tuple[int, int, int, int]]:
        """The pixel boxes around each follower's *places*, overlapping ones merged."""
        return merged([self.box(Bbox.union(boxes)) for boxes in places.values() if boxes])

    def box(self, bbox: Bbox) -> tuple[int, int, int, int]:
        """(left, top, right, bottom) of *bbox* in buffer pixels, two pixels of margin."""
        return pixel_box(bbox, self.width, self.height, pad=2)

    def extent_box(self, grid: Grid) -> tuple[int, int, int, int]:
        """`box` of *grid* and what is drawn over it."""
        return self.box(grid.extent(self.renderer))

    def first_frame(self) -> np.ndarray:
        """The whole figure with its first layer, as a full draw shows it (RGB)."""
        self.anim.show_layer(self.layers[0])
        self.renderer.clear()
        self.anim.figure.draw(self.renderer)
        return rgb(np.asarray(self.renderer.buffer_rgba()))

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
        return rgb(pixels)


@contextlib.contextmanager
def drawn_scene(anim: LayerFrames, dpi: float, *, cells: bool = False) -> Iterator[Scene]:
    """*anim*'s `Scene` at *dpi*; its figure as it was after (its dpi, layout engine
    and shown layers), also where drawing it fails."""
    fig = anim.figure
    shown = [artist.layer for artist in anim.artists]
    with at_dpi(fig, dpi), layout_restored(fig) as hold_layout:
        width, height = (int(v) for v in fig.bbox.size)
        try:
            yield Scene(anim, RendererAgg(width, height, dpi), hold_layout, cells=cells)
        finally:  # leave the figure as it was (and stale for its own canvas)
            for artist, layer in zip(anim.artists, shown, strict=True):
                artist.set_layer(layer)
