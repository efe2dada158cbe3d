"""
Axes locators for panels under or beside a grid as drawn (after its aspect), and for
keeping a grid and its panels on a figure that no layout engine lays out.
"""

from __future__ import annotations

import weakref
from typing import Any

from matplotlib.transforms import Bbox

__all__: list[str] = []


#: Points kept free between what a panel draws and the figure's edge.
EDGE = 3.0


def drawn_box(ax: Any, renderer: Any) -> Bbox:
    """*ax*'s box as drawn, in figure fractions: placed by its locator, then its aspect."""
    locator = ax.get_axes_locator()
    ax.apply_aspect(locator(ax, renderer) if locator else None)
    return ax.get_position(original=False)


class _Locator:
    """
    An axes locator that adjusts the box another locator (*then*) gives, or the Axes'
    own: measuring the Axes asks its locator for the box again, and is given it as is.
    """

    then: Any = None
    _busy = False

    def __call__(self, ax: Any, renderer: Any) -> Bbox:
        box = self.then(ax, renderer) if self.then else ax.get_position(original=True)
        if renderer is None or self._busy:
            return box
        self._busy = True
        try:
            return self._adjusted(ax, box, renderer)
        finally:
            self._busy = False

    def _adjusted(self, ax: Any, box: Bbox, renderer: Any) -> Bbox:
        raise NotImplementedError


class BelowGrid:
    """
    An axes locator: a panel as wide as the grid's drawn box (after its aspect is
    applied; at least 60% of the grid's cell of the layout, centred under it, when
    the grid is drawn much narrower), *gap* points under the grid's tick labels,
    *height* times the grid's height (at least *minimum* inches).
    """

    def __init__(
        self, ax: Any, *, height: float = 0.33, gap: float = 10.0, minimum: float = 0.8
    ) -> None:
        self.ax, self.height, self.gap, self.minimum = ax, height, gap, minimum

    def __call__(self, panel: Any, renderer: Any) -> Bbox:
        ax = self.ax  # not *panel*: matplotlib also calls locators with the parent
        box = drawn_box(ax, renderer)
        figure = ax.get_figure(root=False)
        to_fraction = figure.transSubfigure.inverted()
        bottom = box.y0
        if renderer is not None:
            ticks = ax.xaxis.get_tightbbox(renderer)
            if ticks is not None and ticks.height > 0:
                bottom = min(bottom, to_fraction.transform((0, ticks.y0))[1])
        dpi = ax.get_figure(root=True).dpi
        gap = self.gap * dpi / 72 / figure.bbox.height
        height = max(self.height * box.height, self.minimum * dpi / figure.bbox.height)
        width = max(box.width, 0.6 * ax.get_position(original=True).width)
        left = box.x0 + (box.width - width) / 2
        return Bbox.from_bounds(left, bottom - gap - height, width, height)


class RoomBelow(_Locator):
    """
    An axes locator for a grid with a panel under it (`BelowGrid`: a profile, a
    slider): the grid's box, raised where the panel and what it draws under itself
    would run past the figure's bottom edge.  A grid with room to spare is left where
    it is.  *then*, another locator of the grid's, places the box first.
    """

    def __init__(self, panel: Any, below: BelowGrid, then: Any = None, edge: float = EDGE):
        self.panel, self.below, self.then, self.edge = panel, below, then, edge

    def _under(self, artist: Any, renderer: Any) -> float:
        """Pixels *artist* (an Axes, or an Axis) draws below its Axes' box."""
        try:
            if hasattr(artist, "get_tightbbox") and hasattr(artist, "bbox"):
                tight = artist.get_tightbbox(renderer, call_axes_locator=False)
                return 0.0 if tight is None else max(0.0, artist.bbox.y0 - tight.y0)
            tight = artist.get_tightbbox(renderer)
            return 0.0 if tight is None else max(0.0, artist.axes.bbox.y0 - tight.y0)
        except (RuntimeError, ValueError):
            return 0.0

    def _adjusted(self, ax: Any, box: Bbox, renderer: Any) -> Bbox:
        figure = ax.get_figure(root=False)
        height = figure.bbox.height
        dpi = ax.get_figure(root=True).dpi
        # measured where each is now: heights of text, not of places
        fixed = (
            self._under(self.panel, renderer)
            + self._under(ax.xaxis, renderer)
            + (self.below.gap + self.edge) * dpi / 72
        )

        def over(bottom: float) -> float:
            """Pixels the panel would reach below the figure with the box's bottom here."""
            ax.apply_aspect(Bbox.from_extents(box.x0, bottom, box.x1, box.y1))
            drawn = ax.get_position(original=False)
            panel = max(self.below.height * drawn.height * height, self.below.minimum * dpi)
            return fixed + panel - drawn.y0 * height

        if over(box.y0) <= 0.5:
            return box
        low, high = box.y0, box.y1 - 0.1 * (box.y1 - box.y0)  # the lowest bottom that fits
        for _ in range(12):
            middle = (low + high) / 2
            low, high = (low, middle) if over(middle) <= 0.5 else (middle, high)
        return Bbox.from_extents(box.x0, high, box.x1, box.y1)


def panel_below(ax: Any, *, height: float = 0.33, minimum: float = 0.5, gap: float = 10.0):
    """
    A new Axes under the grid of *ax*, as wide as its drawn box (`BelowGrid`), kept on
    the figure: the grid rises to make room for it (`RoomBelow`), and it narrows for
    what it draws beside itself (`InsideFigure`).
    """
    panel = ax.inset_axes([0.0, -0.5, 1.0, 0.33])
    below = BelowGrid(ax, height=height, minimum=minimum, gap=gap)
    panel.set_axes_locator(InsideFigure(below))
    ax.set_axes_locator(RoomBelow(panel, below, then=ax.get_axes_locator()))
    return panel


class InsideFigure(_Locator):
    """
    An axes locator: the Axes' own box (its cell of the layout), narrowed or lowered
    where what it draws (tick labels, axis labels, title) would run past the figure's
    edges, so that everything stays on the figure.  An Axes with room to spare is left
    where it is.  *then*, another locator, places the box first.
    """

    def __init__(self, then: Any = None, *, edge: float = EDGE) -> None:
        self.then, self.edge = then, edge

    def _adjusted(self, ax: Any, box: Bbox, renderer: Any) -> Bbox:
        figure = ax.get_figure(root=False)
        try:  # what it draws around its original box (measured there: nothing moves)
            tight = ax.get_tightbbox(renderer, call_axes_locator=False)
        except (RuntimeError, ValueError):
            return box
        if tight is None:
            return box
        placed = ax.get_position(original=True).transformed(figure.transSubfigure)
        area = figure.bbox
        edge = self.edge * ax.get_figure(root=True).dpi / 72
        around = (  # how far it reaches past each side of the box, in pixels
            max(0.0, placed.x0 - tight.x0),
            max(0.0, placed.y0 - tight.y0),
            max(0.0, tight.x1 - placed.x1),
            max(0.0, tight.y1 - placed.y1),
        )
        wanted = box.transformed(figure.transSubfigure)
        fitted = Bbox.from_extents(
            max(wanted.x0, area.x0 + edge + around[0]),
            max(wanted.y0, area.y0 + edge + around[1]),
            min(wanted.x1, area.x1 - edge - around[2]),
            min(wanted.y1, area.y1 - edge - around[3]),
        )
        if fitted.width < 0.1 * wanted.width or fitted.height < 0.1 * wanted.height:
            return box  # no room at all: as it was
        return fitted.transformed(figure.transSubfigure.inverted())


def keep_inside(ax: Any) -> None:
    """Give *ax* an `InsideFigure` locator (around its own locator, if it has one)."""
    locator = ax.get_axes_locator()
    if not isinstance(locator, InsideFigure):
        ax.set_axes_locator(InsideFigure(locator))


class BesideGrid:
    """
    An axes locator: a bar as tall as the grid's drawn box (after its aspect is
    applied), *pad* points to its right, *aspect* times as tall as it is wide.
    """

    def __init__(self, ax: Any, *, pad: float = 6.0, aspect: float = 20.0) -> None:
        self.ax, self.pad, self.aspect = ax, pad, aspect

    def __call__(self, cax: Any, renderer: Any) -> Bbox:
        ax = self.ax  # not *cax*: matplotlib also calls locators with the parent
        box = drawn_box(ax, renderer)
        width, height = ax.get_figure(root=False).bbox.size  # in pixels
        gap = self.pad * ax.get_figure(root=True).dpi / 72 / width
        bar = box.height * height / self.aspect / width
        return Bbox.from_bounds(box.x1 + gap, box.y0, bar, box.height)


class RoomBeside:
    """
    An axes locator for a grid with its colorbar beside it: the grid's own box (its
    cell of the layout), narrowed where the bar, its ticks and its label would run past
    the figure's right edge, so that they stay on the figure, as `Figure.colorbar`
    takes room from its parent.  A grid with room to spare is left where it is.
    """

    def __init__(self, cax: Any, beside: BesideGrid, then: Any = None) -> None:
        self.cax, self.beside, self.then = cax, beside, then

    def _decorations(self, renderer: Any) -> float:
        """Pixels the colorbar's ticks, tick labels and label take right of its bar."""
        try:
            extent = self.cax.yaxis.get_tightbbox(renderer)
        except (RuntimeError, ValueError):
            return 0.0
        return 0.0 if extent is None else max(0.0, extent.x1 - self.cax.bbox.x1)

    def __call__(self, ax: Any, renderer: Any) -> Bbox:
        box = self.then(ax, renderer) if self.then else ax.get_position(original=True)
        if renderer is None:
            return box
        figure = ax.get_figure(root=False)
        width, height = figure.bbox.size
        dpi = ax.get_figure(root=True).dpi
        need = (self.beside.pad + EDGE) * dpi / 72 + self._decorations(renderer)
        right = box.x1
        for _ in range(6):
            candidate = Bbox.from_extents(box.x0, box.y0, right, box.y1)
            ax.apply_aspect(candidate)
            drawn = ax.get_position(original=False)
            bar = drawn.height * height / self.beside.aspect
            over = drawn.x1 * width + bar + need - width  # pixels past the right edge
            if over <= 0.5:
                break
            centred = drawn.width < candidate.width * 0.999  # narrowed by its aspect
            right = max(box.x0 + 0.1 * box.width, right - (2 if centred else 1) * over / width)
        return Bbox.from_extents(box.x0, box.y0, right, box.y1)


#: How many times taller than wide a colorbar beside several grids is.
TALL_ASPECT = 30.0
#: The colorbars that `AlongGrids` places (matplotlib wraps a colorbar's locator).
PLACED_ALONG_GRIDS: weakref.WeakSet = weakref.WeakSet()


class AlongGrids:
    """
    An axes locator for a colorbar beside several grids, in the room that matplotlib
    made for it (right of their layout column): as tall as the grids as drawn (after
    their aspect), from the lowest bottom to the highest top, *pad* points right of
    the rightmost grid, and *aspect* times as tall as it is wide (at most the room).
    The colorbar keeps the box aspect that matplotlib gives it (made with the same
    *aspect*), so the bar is never shortened.
    """

    def __init__(
        self, axes: list, cax: Any, *, pad: float = 6.0, aspect: float = TALL_ASPECT
    ) -> None:
        self.axes, self.cax, self.pad, self.aspect = axes, cax, pad, aspect
        self._placed: tuple[tuple, Bbox] | None = None  # the last box, and what it came of
        PLACED_ALONG_GRIDS.add(cax)

    def _state(self) -> tuple | None:
        """
        What the box depends on: the figure's size, the room, and each grid's cell,
        limits and aspect settings; None where a grid has a locator of its own (then
        it is measured every time).  Constrained layout asks a colorbar of n grids for
        its box n times a pass (once for each grid it belongs to): measuring the n
        grids each time made a sheet of 101 panels take 25 s to lay out.
        """
        figure = self.cax.get_figure(root=False)
        state: list = [tuple(figure.bbox.size), self.cax.get_position(original=True).bounds]
        for ax in self.axes:
            if ax.get_axes_locator() is not None:
                return None
            state.append((
                ax.get_position(original=True).bounds, ax.get_xlim(), ax.get_ylim(),
                ax.get_xscale(), ax.get_yscale(), ax.get_aspect(), ax.get_adjustable(),
                ax.get_anchor(), ax.get_box_aspect(),
            ))  # fmt: skip
        return tuple(state)

    def __call__(self, cax: Any, renderer: Any) -> Bbox:
        state = self._state()
        if state is not None and self._placed is not None and self._placed[0] == state:
            return self._placed[1]
        box = self._measured(renderer)
        self._placed = None if state is None else (state, box)
        return box

    def _measured(self, renderer: Any) -> Bbox:
        boxes = [drawn_box(ax, renderer) for ax in self.axes]
        room = self.cax.get_position(original=True)
        low, high = min(b.y0 for b in boxes), max(b.y1 for b in boxes)
        figure = self.cax.get_figure(root=False)
        width, height = figure.bbox.size
        gap = self.pad * figure.get_figure(root=True).dpi / 72 / width
        left = min(max(b.x1 for b in boxes) + gap, room.x0)
        bar = (high - low) * height / self.aspect / width
        return Bbox.from_extents(left, low, left + bar, high)
