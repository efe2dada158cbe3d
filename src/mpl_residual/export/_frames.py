"""Rendering the frames of an animation once each, for `save_animation`'s encoders."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from matplotlib.animation import AbstractMovieWriter, Animation
from matplotlib.backend_bases import FigureCanvasBase
from matplotlib.backends.backend_agg import FigureCanvasAgg, RendererAgg
from matplotlib.collections import QuadMesh
from matplotlib.patches import Rectangle
from matplotlib.text import Text
from matplotlib.transforms import Bbox

from ._encoders import Encoder

if TYPE_CHECKING:
    from ..animation import LayerAnimation

__all__: list[str] = []

Progress = Callable[[int, int], None] | None


def _rgb(rgba: np.ndarray) -> np.ndarray:
    """RGB from an Agg buffer; transparent pixels are flattened onto white."""
    alpha = rgba[..., 3:]
    if alpha.min() == 255:
        return rgba[..., :3].copy()
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
def _hidden(*artists: Any) -> Iterator[None]:
    shown = [a.get_visible() for a in artists]
    for a in artists:
        a.set_visible(False)
    try:
        yield
    finally:
        for a, visible in zip(artists, shown, strict=True):
            a.set_visible(visible)


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


class _Scene:
    """
    A `LayerAnimation`'s figure laid out and drawn once at a resolution: what every
    kind of frame rendering shares.  The layout engine is held from the first draw on
    (frames only change data), and the artists drawn over the grid are found once.
    """

    def __init__(self, anim: LayerAnimation, renderer: RendererAgg) -> None:
        fig, artist, label = anim.figure, anim.artist, anim.label
        self.anim, self.artist, self.label, self.layers = anim, artist, label, anim.layers
        self.renderer = renderer
        self.width, self.height = renderer.width, renderer.height
        ax = artist.axes
        artist.set_layer(self.layers[0])
        fig.draw(renderer)  # lays the figure out, once
        self.first = _rgb(np.asarray(renderer.buffer_rgba()))  # the whole first frame
        # What the Axes draws over the grid (spines, texts) is drawn again after it in
        # each frame, in the Axes' order, so that frames match a full draw.
        grid = Bbox.intersection(artist.get_window_extent(renderer), ax.bbox) or ax.bbox
        self.over = [
            a
            for a in ax.get_children()
            if a is not artist
            and a is not label
            and a is not ax.patch
            and a.get_visible()
            and a.get_zorder() > artist.get_zorder()
            and a.get_window_extent(renderer).overlaps(grid)
        ]
        self.grid_extent = Bbox.union([grid, *(a.get_window_extent(renderer) for a in self.over)])
        texts = []
        for layer in self.layers:
            artist.set_layer(layer)
            if label.get_visible() and label.get_text():
                texts.append(label.get_window_extent(renderer))
        self.label_extent = Bbox.union(texts) if texts else None

    def box(self, bbox: Bbox) -> tuple[int, int, int, int]:
        """(left, top, right, bottom) of *bbox* in buffer pixels, two pixels of margin."""
        return _pixel_box(bbox, self.width, self.height, pad=2)

    def draw_without(self, *hidden: Any) -> np.ndarray:
        """The figure drawn without *hidden*, every text where it was: an RGB buffer."""
        renderer = self.renderer
        renderer.clear()
        # Axes move hidden titles out of the way: keep every text where it was drawn.
        placed = [(a, a.get_position()) for a in hidden if isinstance(a, Text)]
        with _hidden(*hidden):
            self.anim.figure.draw(renderer)
        for text, position in placed:
            text.set_position(position)
        return _rgb(np.asarray(renderer.buffer_rgba()))

    def crop(self, box: tuple[int, int, int, int], *, alpha: bool = False) -> np.ndarray:
        """The pixels of *box* in the renderer's buffer, RGB or RGBA."""
        x0, y0, x1, y1 = box
        pixels = np.asarray(self.renderer.buffer_rgba())[y0:y1, x0:x1]
        return pixels.copy() if alpha else _rgb(pixels)


@contextlib.contextmanager
def _scene(anim: LayerAnimation, dpi: float) -> Iterator[_Scene]:
    fig = anim.figure
    shown = anim.artist.layer
    anim.mark_rendered()
    with _at_dpi(fig, dpi), _layout_restored(fig) as hold_layout:
        width, height = (int(v) for v in fig.bbox.size)
        scene = _Scene(anim, RendererAgg(width, height, dpi))
        hold_layout()
        try:
            yield scene
        finally:
            anim.artist.set_layer(shown)  # leave the figure as it was (and stale)


def render_layers(anim: LayerAnimation, encoder: Encoder, dpi: float, progress: Progress) -> None:
    """
    The fast path for animations made by `animate`: the figure is drawn (and laid out)
    once without the grid and its label; each frame then redraws only those two, and
    whatever sits above them in the Axes, into a copy of that background, and hands the
    encoder only the region that changes.  One full draw for the whole animation.
    """
    with _scene(anim, dpi) as scene:
        artist, label, layers = scene.artist, scene.label, scene.layers
        above = sorted([label, *scene.over], key=lambda a: a.get_zorder())
        # What changes: the grid with what lies over it, and every text the label takes,
        # as two regions (the grid alone usually fits a 256-colour palette; text does
        # not).
        boxes = [scene.box(scene.grid_extent)]
        if scene.label_extent is not None:
            text_box = scene.box(scene.label_extent)
            if _overlap(text_box, boxes[0]):  # a label over the grid: one region
                text_box = scene.box(Bbox.union([scene.grid_extent, scene.label_extent]))
                boxes = []
            boxes.append(text_box)
        encoder.start(scene.draw_without(artist, *above), (scene.width, scene.height))
        renderer = scene.renderer
        background = renderer.copy_from_bbox(anim.figure.bbox)
        for i, layer in enumerate(layers):
            renderer.restore_region(background)
            artist.set_layer(layer)
            artist.draw(renderer)
            for a in above:
                a.draw(renderer)
            encoder.add([(scene.crop(box), (box[0], box[1])) for box in boxes])
            if progress is not None:
                progress(i, len(layers))


@dataclass
class CellFrames:
    """
    A `LayerAnimation` taken apart for a player that paints the cells itself.

    Pictures are numpy arrays of the figure rendered at the export's resolution, in
    buffer pixels (origin top left); boxes are ``(left, top, right, bottom)``.
    """

    size: tuple[int, int]
    #: The figure without the label and what is drawn over the grid (RGB).  It shows
    #: the first frame's cells when they are opaque, so that the backdrop, the overlay
    #: and the first label are the whole first frame even without a script; with
    #: translucent cells it has none, and *poster* is the whole first frame.
    backdrop: np.ndarray
    poster: np.ndarray | None
    #: What is drawn over the grid (lines between cells, spines, ...) on transparent,
    #: and where it goes; None when there is nothing.
    overlay: tuple[np.ndarray, tuple[int, int]] | None
    #: Where the cells go: the outer corners of the first and last cell, in buffer
    #: pixels (floats; left < right, top < bottom), and the box that clips them.
    mesh: tuple[float, float, float, float]
    clip: tuple[int, int, int, int]
    #: Whether cell column 0 is at the right (x axis inverted) / row 0 at the bottom.
    flip: tuple[bool, bool]
    #: Each frame's cells as RGBA bytes, ``(frames, rows, cols, 4)``, rows and columns
    #: in screen order (flipped as *flip* says).
    colors: np.ndarray
    #: Each frame's raw values (NaN, inf kept), ``(frames, rows, cols)``, data order.
    values: np.ndarray
    #: Each frame's label (RGBA, on transparent) and where it goes; None: no label.
    labels: list[tuple[np.ndarray, tuple[int, int]] | None]
    #: Cells from this flat index on are padding (see `ResidualStreamArtist.d_model`).
    d_model: int
    #: The layer each frame shows.
    layers: tuple[int, ...]


def paints_cells(anim: LayerAnimation) -> bool:
    """Whether the cells of *anim* are axis-aligned rectangles a player can paint."""
    artist = anim.artist
    ax = artist.axes
    transform = artist.get_transform()
    if ax is None or not transform.is_affine or not isinstance(ax.patch, Rectangle):
        return False
    matrix = transform.get_affine().get_matrix()
    return matrix[0, 1] == 0 and matrix[1, 0] == 0


def _edges_only(artist: Any) -> QuadMesh | None:
    """The lines between *artist*'s cells as a mesh of their own, or None if none."""
    width = float(artist.get_linewidth()[0])
    colors = artist.get_edgecolor()
    if width <= 0 or len(colors) == 0 or not np.any(np.asarray(colors)[:, 3] > 0):
        return None
    mesh = QuadMesh(
        artist.get_coordinates(),
        facecolors="none",
        edgecolors=colors,
        linewidths=width,
        antialiased=bool(artist.get_antialiased()[0]),
        transform=artist.get_transform(),
        zorder=artist.get_zorder(),
    )
    mesh.set_figure(artist.get_figure(root=False))
    mesh.set_clip_box(artist.get_clip_box())
    clip = artist.get_clip_path()
    if clip is not None:
        mesh.set_clip_path(clip)
    return mesh


def render_cells(anim: LayerAnimation, dpi: float, progress: Progress) -> CellFrames:
    """
    The player's frames: the figure drawn once without its cells, the lines and
    artists over the grid on transparent, each frame's label, and each frame's cells
    as colours and values.  Two full draws and one small draw per frame.
    """
    with _scene(anim, dpi) as scene:
        artist, label, layers = scene.artist, scene.label, scene.layers
        renderer, height = scene.renderer, scene.height
        values = artist.stream[list(layers)]
        rows, cols = values.shape[1:]
        # As Agg turns them into bytes: rounded (to_rgba's bytes=True truncates).
        rgba = artist.to_rgba(values.reshape(len(layers), -1), alpha=artist.get_alpha())
        colors = np.floor(rgba * 255 + 0.5).astype(np.uint8)
        if colors[..., 3].min() == 255:  # opaque: painted cells hide the first frame's
            artist.set_layer(layers[0])
            backdrop, poster = scene.draw_without(label, *scene.over), None
        else:
            backdrop, poster = scene.draw_without(artist, label, *scene.over), scene.first
        # Over the grid, on transparent: the lines between cells and the Axes' artists.
        renderer.clear()
        on_top = [a for a in (_edges_only(artist), *scene.over) if a is not None]
        for a in sorted(on_top, key=lambda a: a.get_zorder()):
            a.draw(renderer)
        box = scene.box(scene.grid_extent)
        pixels = scene.crop(box, alpha=True)
        overlay = (pixels, (box[0], box[1])) if pixels[..., 3].any() else None
        # Each frame's label, on transparent.
        labels: list[tuple[np.ndarray, tuple[int, int]] | None] = []
        label_box = None if scene.label_extent is None else scene.box(scene.label_extent)
        for i, layer in enumerate(layers):
            artist.set_layer(layer)
            if label_box is None or not label.get_text():
                labels.append(None)
            else:
                renderer.clear()
                label.draw(renderer)
                labels.append((scene.crop(label_box, alpha=True), label_box[:2]))
            if progress is not None:
                progress(i, len(layers))
        # Where the cells go on screen.
        (x0, y0), (x1, y1) = artist.get_transform().transform(
            [[-0.5, -0.5], [cols - 0.5, rows - 0.5]]
        )
        top0, top1 = height - y0, height - y1  # buffer rows count down from the top
        flip = (x1 < x0, top0 > top1)  # column 0 right of the last / row 0 below it
        mesh = (min(x0, x1), min(top0, top1), max(x0, x1), max(top0, top1))
        clip_box = artist.get_clip_box() or anim.figure.bbox
        clip = _pixel_box(clip_box, scene.width, height, pad=0)
        colors = colors.reshape(len(layers), rows, cols, 4)
        if flip[0]:
            colors = colors[:, :, ::-1]
        if flip[1]:
            colors = colors[:, ::-1]
        return CellFrames(
            size=(scene.width, height),
            poster=poster,
            backdrop=backdrop,
            overlay=overlay,
            mesh=tuple(float(v) for v in mesh),
            clip=clip,
            flip=(bool(flip[0]), bool(flip[1])),
            colors=np.ascontiguousarray(colors),
            values=np.ma.getdata(values),
            labels=labels,
            d_model=artist.d_model,
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
