"""Rendering the frames of an animation once each, for `save_animation`'s encoders."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import numpy as np
from matplotlib.animation import AbstractMovieWriter, Animation
from matplotlib.backend_bases import FigureCanvasBase
from matplotlib.backends.backend_agg import FigureCanvasAgg, RendererAgg
from matplotlib.text import Text
from matplotlib.transforms import Bbox

from ._encoders import Encoder

if TYPE_CHECKING:
    from .animation import LayerAnimation

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


def render_layers(anim: LayerAnimation, encoder: Encoder, dpi: float, progress: Progress) -> None:
    """
    The fast path for animations made by `animate`: the figure is drawn (and laid out)
    once without the grid and its label; each frame then redraws only those two, and
    whatever sits above them in the Axes, into a copy of that background, and hands the
    encoder only the region that changes.  One full draw for the whole animation.
    """
    fig, artist, label = anim.figure, anim.artist, anim.label
    ax = artist.axes
    layers = anim.layers
    shown = artist.layer
    with _at_dpi(fig, dpi), _layout_restored(fig) as hold_layout:
        width, height = (int(v) for v in fig.bbox.size)
        renderer = RendererAgg(width, height, dpi)
        artist.set_layer(layers[0])
        fig.draw(renderer)  # lays the figure out, once
        hold_layout()
        # What the Axes draws over the grid (spines, texts) is drawn again after it in
        # each frame, in the Axes' order, so that frames match a full draw.
        grid = Bbox.intersection(artist.get_window_extent(renderer), ax.bbox) or ax.bbox
        over = [
            a
            for a in ax.get_children()
            if a is not artist
            and a is not label
            and a is not ax.patch
            and a.get_visible()
            and a.get_zorder() > artist.get_zorder()
            and a.get_window_extent(renderer).overlaps(grid)
        ]
        above = sorted([label, *over], key=lambda a: a.get_zorder())
        # What changes: the grid with what lies over it, and every text the label takes,
        # as two regions (the grid alone usually fits a 256-colour palette; text does
        # not).  Two pixels of margin catch antialiased edges.
        texts = []
        for layer in layers:
            artist.set_layer(layer)
            if label.get_visible() and label.get_text():
                texts.append(label.get_window_extent(renderer))
        grid_extent = Bbox.union([grid, *(a.get_window_extent(renderer) for a in over)])
        boxes = [_pixel_box(grid_extent, width, height, pad=2)]
        if texts:
            text_box = _pixel_box(Bbox.union(texts), width, height, pad=2)
            if _overlap(text_box, boxes[0]):  # a label over the grid: one region
                text_box = _pixel_box(Bbox.union([grid_extent, *texts]), width, height, pad=2)
                boxes = []
            boxes.append(text_box)
        renderer.clear()
        # Axes move hidden titles out of the way: keep every text where it was drawn.
        placed = [(a, a.get_position()) for a in above if isinstance(a, Text)]
        with _hidden(artist, *above):
            fig.draw(renderer)
        for text, position in placed:
            text.set_position(position)
        background = renderer.copy_from_bbox(fig.bbox)
        encoder.start(_rgb(np.asarray(renderer.buffer_rgba())), (width, height))
        for i, layer in enumerate(layers):
            renderer.restore_region(background)
            artist.set_layer(layer)
            artist.draw(renderer)
            for a in above:
                a.draw(renderer)
            buffer = np.asarray(renderer.buffer_rgba())
            encoder.add([(_rgb(buffer[y0:y1, x0:x1]), (x0, y0)) for x0, y0, x1, y1 in boxes])
            if progress is not None:
                progress(i, len(layers))
    artist.set_layer(shown)  # leave the figure as it was (and stale for its own canvas)


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
