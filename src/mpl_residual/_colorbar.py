"""Colorbars for residual grids: as tall as the grid, with arrows where values are clipped."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
from matplotlib.colorbar import make_axes
from matplotlib.transforms import Bbox

from ._text import literal
from .errors import LimitsTooLarge
from .scaling import extend_of

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.colorbar import Colorbar

    from .artist import ResidualStreamArtist

__all__: list[str] = []

#: Options of `Figure.colorbar` that place the colorbar; with any of them the
#: colorbar is placed by matplotlib (`Figure.colorbar`'s own layout), not beside the grid.
PLACEMENT = frozenset(
    {"cax", "ax", "location", "orientation", "fraction", "shrink", "aspect", "pad"}
    | {"anchor", "panchor", "use_gridspec"}
)

#: Largest colour limit a colorbar can show: matplotlib's colorbar and tick locators
#: compute spans and midpoints that overflow float64 beyond about this.
LARGEST_LIMIT = float(np.finfo(np.float64).max) / 8


def colorbar_options(colorbar: Any) -> dict[str, Any] | None:
    """
    The keywords of a ``colorbar=`` argument (True, False, None or a mapping of
    them), or None for no colorbar.
    """
    if isinstance(colorbar, Mapping):
        return dict(colorbar)
    if colorbar is None or isinstance(colorbar, (bool, np.bool_)):
        return {} if colorbar else None
    raise TypeError(
        "colorbar must be True, False or a dict of Figure.colorbar options; "
        f"got {type(colorbar).__name__} {colorbar!r:.60}"
    )


class _BesideGrid:
    """
    An axes locator: a bar as tall as the grid's drawn box (after its aspect is
    applied), *pad* points to its right, *aspect* times as tall as it is wide.
    """

    def __init__(self, ax: Axes, *, pad: float = 6.0, aspect: float = 20.0) -> None:
        self.ax, self.pad, self.aspect = ax, pad, aspect

    def __call__(self, cax: Axes, renderer: Any) -> Bbox:
        ax = self.ax  # not *cax*: matplotlib also calls locators with the parent
        locator = ax.get_axes_locator()
        ax.apply_aspect(locator(ax, renderer) if locator else None)
        box = ax.get_position(original=False)
        width, height = ax.get_figure(root=False).bbox.size  # in pixels
        gap = self.pad * ax.get_figure(root=True).dpi / 72 / width
        bar = box.height * height / self.aspect / width
        return Bbox.from_bounds(box.x1 + gap, box.y0, bar, box.height)


#: Points kept free between a colorbar's last label and the figure's edge.
EDGE = 3.0


class _RoomBeside:
    """
    An axes locator for a grid with its colorbar beside it: the grid's own box (its
    cell of the layout), narrowed where the bar, its ticks and its label would run past
    the figure's right edge, so that they stay on the figure, as `Figure.colorbar`
    takes room from its parent.  A grid with room to spare is left where it is.
    """

    def __init__(self, cax: Axes, beside: _BesideGrid, then: Any = None) -> None:
        self.cax, self.beside, self.then = cax, beside, then

    def _decorations(self, renderer: Any) -> float:
        """Pixels the colorbar's ticks, tick labels and label take right of its bar."""
        try:
            extent = self.cax.yaxis.get_tightbbox(renderer)
        except (RuntimeError, ValueError):
            return 0.0
        return 0.0 if extent is None else max(0.0, extent.x1 - self.cax.bbox.x1)

    def __call__(self, ax: Axes, renderer: Any) -> Bbox:
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


class _AlongGrids:
    """
    An axes locator for a colorbar beside several grids, in the room that matplotlib
    made for it (right of their layout column): as tall as the grids as drawn (after
    their aspect), from the lowest bottom to the highest top, *pad* points right of
    the rightmost grid, and *aspect* times as tall as it is wide (at most the room).
    The colorbar keeps the box aspect that matplotlib gives it (made with the same
    *aspect*), so the bar is never shortened.
    """

    def __init__(
        self, axes: list[Axes], cax: Axes, *, pad: float = 6.0, aspect: float = TALL_ASPECT
    ) -> None:
        self.axes, self.cax, self.pad, self.aspect = axes, cax, pad, aspect

    def __call__(self, cax: Axes, renderer: Any) -> Bbox:
        boxes = []
        for ax in self.axes:
            locator = ax.get_axes_locator()
            ax.apply_aspect(locator(ax, renderer) if locator else None)
            boxes.append(ax.get_position(original=False))
        room = self.cax.get_position(original=True)
        low, high = min(b.y0 for b in boxes), max(b.y1 for b in boxes)
        figure = self.cax.get_figure(root=False)
        width, height = figure.bbox.size
        gap = self.pad * figure.get_figure(root=True).dpi / 72 / width
        left = min(max(b.x1 for b in boxes) + gap, room.x0)
        bar = (high - low) * height / self.aspect / width
        return Bbox.from_extents(left, low, left + bar, high)


def with_unit(colorbar: Any, unit: str) -> Any:
    """*colorbar* (a ``colorbar=`` argument) labelled with *unit* unless it has a label."""
    options = colorbar_options(colorbar)
    if options is None or not unit:
        return colorbar
    # from a file: drawn as it is, never parsed (the lines a view broke it into kept)
    options.setdefault("label", "\n".join(literal(line) for line in unit.split("\n")))
    return options


def check_limits(norm: Any) -> None:
    """Raise ValueError if a colorbar cannot show *norm*'s limits (see `LARGEST_LIMIT`)."""
    limits = [v for v in (norm.vmin, norm.vmax) if v is not None]
    if limits and max(abs(float(v)) for v in limits) > LARGEST_LIMIT:
        raise LimitsTooLarge(
            f"cannot draw a colorbar for colour limits ({norm.vmin:g}, {norm.vmax:g}): "
            f"matplotlib's colorbar overflows beyond about ±{LARGEST_LIMIT:.1e}; the grid "
            "is coloured correctly without it (colorbar=False), or rescale the stream"
        )


def add_colorbar(
    artist: ResidualStreamArtist,
    data: np.ndarray,
    options: dict[str, Any],
    *,
    ax: Axes | list[Axes],
    **defaults: Any,
) -> Colorbar:
    """
    Add a colorbar with *options* (from `colorbar_options`) for *artist*.

    ``extend`` defaults to arrows on the sides where *data* (a checked float array)
    is clipped by the artist's norm.  For one Axes and no placement option
    (`PLACEMENT`), the colorbar sits right of the grid and is exactly as tall as it;
    otherwise `Figure.colorbar` places it, with *defaults* (e.g. ``shrink``) under
    the options given.
    """
    check_limits(artist.norm)
    options = {"extend": extend_of(data, artist.norm), **options}
    axes = ax if isinstance(ax, list) else [ax]
    fig = axes[0].get_figure(root=False)
    placed_by_user = bool(PLACEMENT & options.keys())
    if len(axes) == 1 and not placed_by_user:
        parent = axes[0]
        cax = parent.inset_axes([1.02, 0.0, 0.05, 1.0])
        beside = _BesideGrid(parent)
        cax.set_axes_locator(beside)
        parent.set_axes_locator(_RoomBeside(cax, beside, then=parent.get_axes_locator()))
        return fig.colorbar(artist, cax=cax, **options)
    if placed_by_user:
        return fig.colorbar(artist, ax=ax, **{**defaults, **options})
    # Made as Figure.colorbar makes it (room taken from the grids' layout), then
    # stretched along the grids as drawn rather than along their rows of the layout.
    cax, rest = make_axes(axes, **{"aspect": TALL_ASPECT, **defaults, **options})
    cax.grid(visible=False, which="both", axis="both")
    cax.set_axes_locator(_AlongGrids(axes, cax))
    return fig.colorbar(artist, cax=cax, **rest)
