"""Figure sizes that fit a grid, so a stream drawn without a figure of its own looks right."""

from __future__ import annotations

from typing import Any

import matplotlib as mpl
from matplotlib.figure import Figure
from matplotlib.transforms import Bbox

__all__: list[str] = []

#: Largest picture the library renders: 2^28 pixels (a 1 GiB RGBA buffer), no side
#: over 2^16.  Beyond that Agg fails with a bare ``std::bad_alloc`` or worse.
MAX_PIXELS = 2**28
MAX_SIDE = 2**16


def fitted_size(
    n_rows: int,
    n_cols: int,
    *,
    nrows: int = 1,
    ncols: int = 1,
    colorbar: bool = False,
    width: float | None = None,
    extra: float = 0.0,
) -> tuple[float, float]:
    """
    ``(width, height)`` in inches for *nrows* x *ncols* panels of square-celled grids.

    The width is ``rcParams["figure.figsize"][0]`` (so style presets set it); the height
    follows the grids' aspect, plus room for titles, plus *extra* times the panels'
    height (room for a panel under them).
    """
    width = mpl.rcParams["figure.figsize"][0] if width is None else width
    font = mpl.rcParams["font.size"] / 72  # one line of text, in inches
    usable = width * (0.85 if colorbar else 0.95) - 0.1 * ncols
    panel_height = usable / ncols * n_rows / n_cols
    height = nrows * (panel_height * (1 + extra) + 2.2 * font) + 0.2 + (4 * font if extra else 0)
    return width, min(max(height, 1.2), 3 * width)


def fitted_figure(
    n_rows: int, n_cols: int, *, pyplot: bool, colorbar: bool = False, extra: float = 0.0
) -> Figure:
    """A constrained-layout figure sized for one grid; a pyplot figure if *pyplot*."""
    size = fitted_size(n_rows, n_cols, colorbar=colorbar, extra=extra)
    if pyplot:
        import matplotlib.pyplot as plt

        return plt.figure(figsize=size, layout="constrained")
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    return FigureCanvasAgg(Figure(figsize=size, layout="constrained")).figure


def check_pixels(fig: Figure, dpi: float, *, name: str = "dpi") -> None:
    """
    Raise ValueError, naming *name*, if *fig* at *dpi* is too large a picture to render.
    """
    width, height = (float(v) * dpi for v in fig.get_size_inches())  # inf for 1e308
    if min(width, height) < 1 or not (
        width <= MAX_SIDE and height <= MAX_SIDE and width * height <= MAX_PIXELS
    ):
        made = " x ".join(f"{v:.0f}" if v < 1e15 else f"{v:.3g}" for v in (width, height))
        raise ValueError(
            f"{name}={dpi:g} makes {made} pixel pictures of this "
            f"{fig.get_figwidth():g} x {fig.get_figheight():g} inch figure; at least 1 and "
            f"at most {MAX_SIDE} pixels a side, {MAX_PIXELS:,} in all"
        )


class BelowGrid:
    """
    An axes locator: a panel exactly as wide as the grid's drawn box (after its
    aspect is applied), *gap* points under the grid's tick labels, *height* times the
    grid's height (at least *minimum* inches).
    """

    def __init__(
        self, ax: Any, *, height: float = 0.33, gap: float = 10.0, minimum: float = 0.8
    ) -> None:
        self.ax, self.height, self.gap, self.minimum = ax, height, gap, minimum

    def __call__(self, panel: Any, renderer: Any) -> Bbox:
        ax = self.ax  # not *panel*: matplotlib also calls locators with the parent
        locator = ax.get_axes_locator()
        ax.apply_aspect(locator(ax, renderer) if locator else None)
        box = ax.get_position(original=False)
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
        return Bbox.from_bounds(box.x0, bottom - gap - height, box.width, height)
