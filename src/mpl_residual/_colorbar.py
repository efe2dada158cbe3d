"""Colorbars for residual grids: as tall as the grid, with arrows where values are clipped."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
from matplotlib.colorbar import make_axes

from ._layout.panels import TALL_ASPECT, AlongGrids, BesideGrid, RoomBeside
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
        beside = BesideGrid(parent)
        cax.set_axes_locator(beside)
        parent.set_axes_locator(RoomBeside(cax, beside, then=parent.get_axes_locator()))
        return fig.colorbar(artist, cax=cax, **options)
    if placed_by_user:
        return fig.colorbar(artist, ax=ax, **{**defaults, **options})
    # Made as Figure.colorbar makes it (room taken from the grids' layout), then
    # stretched along the grids as drawn rather than along their rows of the layout.
    cax, rest = make_axes(axes, **{"aspect": TALL_ASPECT, **defaults, **options})
    cax.grid(visible=False, which="both", axis="both")
    cax.set_axes_locator(AlongGrids(axes, cax))
    return fig.colorbar(artist, cax=cax, **rest)
