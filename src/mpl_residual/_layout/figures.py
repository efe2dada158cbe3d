"""The figures the views make for themselves: their size, and the largest picture drawn."""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator

import matplotlib as mpl
from matplotlib.figure import Figure

from ..errors import BadResolution
from .engine import FittedLayout

__all__: list[str] = []

#: Largest picture the library renders: 2^28 pixels (a 1 GiB RGBA buffer), no side
#: over 2^16.  Beyond that Agg fails with a bare ``std::bad_alloc`` or worse.
MAX_PIXELS = 2**28
MAX_SIDE = 2**16
#: The lowest resolution text is drawn at: 6 pt text is a pixel high at 12 dpi.
MIN_DPI = 12


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


#: Whether the views make their figures without pyplot (`offscreen`).
_OFFSCREEN: contextvars.ContextVar[bool] = contextvars.ContextVar("offscreen", default=False)


@contextlib.contextmanager
def offscreen() -> Iterator[None]:
    """
    In this block, the figures the views make for themselves are not pyplot's: no
    window opens and none is left for pyplot to close (for exports and widgets).
    """
    token = _OFFSCREEN.set(True)
    try:
        yield
    finally:
        _OFFSCREEN.reset(token)


def fitted_figure(
    n_rows: int, n_cols: int, *, colorbar: bool = False, extra: float = 0.0
) -> Figure:
    """A figure sized for one grid, laid out by `FittedLayout`: pyplot's, unless made
    `offscreen`."""
    size = fitted_size(n_rows, n_cols, colorbar=colorbar, extra=extra)
    if not _OFFSCREEN.get():
        import matplotlib.pyplot as plt

        return plt.figure(figsize=size, layout=FittedLayout())
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    return FigureCanvasAgg(Figure(figsize=size, layout=FittedLayout())).figure


def check_pixels(fig: Figure, dpi: float, *, name: str = "dpi") -> None:
    """
    Raise `BadResolution` (a ValueError), naming *name*, if *fig* at *dpi* is too large
    a picture to render (or too low a resolution to draw text at).
    """
    if not dpi >= MIN_DPI:  # FreeType cannot draw text of under a pixel ("invalid ppem")
        raise BadResolution(f"{name}={dpi:g} is too low to draw text at; at least {MIN_DPI}")
    width, height = (float(v) * dpi for v in fig.get_size_inches())  # inf for 1e308
    if min(width, height) < 1 or not (
        width <= MAX_SIDE and height <= MAX_SIDE and width * height <= MAX_PIXELS
    ):
        made = " x ".join(f"{v:.0f}" if v < 1e15 else f"{v:.3g}" for v in (width, height))
        raise BadResolution(
            f"{name}={dpi:g} makes {made} pixel pictures of this "
            f"{fig.get_figwidth():g} x {fig.get_figheight():g} inch figure; at least 1 and "
            f"at most {MAX_SIDE} pixels a side, {MAX_PIXELS:,} in all"
        )
