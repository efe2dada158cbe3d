"""Style presets shipped as ``.mplstyle`` files inside the package."""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Iterator
from importlib import resources

import matplotlib
import matplotlib.style

__all__ = ["STYLES", "style_context"]

#: The shipped presets; use as ``plt.style.use("mpl_residual.<name>")``.
STYLES: tuple[str, ...] = ("blog_dark", "blog_light", "paper")


def _short_name(name: str) -> str:
    short = name.removeprefix(f"{__package__}.") if isinstance(name, str) else None
    if short not in STYLES:
        raise ValueError(
            f"unknown mpl_residual style {name!r}; expected one of "
            + ", ".join(repr(s) for s in STYLES)
        )
    return short


@functools.cache
def _preset(short: str) -> matplotlib.RcParams:
    """The rc settings of a shipped preset, read once (reading and parsing the file
    took 2 ms of every ``with style_context(...)``)."""
    path = resources.files(__package__) / f"{short}.mplstyle"
    return matplotlib.rc_params_from_file(path, use_default_template=False)


@contextlib.contextmanager
def style_context(name: str, *, after_reset: bool = False) -> Iterator[None]:
    """
    Use one of the shipped styles inside a ``with`` block, or as a decorator.

    Parameters
    ----------
    name : {"blog_dark", "blog_light", "paper"}
        The preset; the ``"mpl_residual."`` prefix is optional.
    after_reset : bool, default: False
        Reset to matplotlib's defaults before applying the style.

    Notes
    -----
    - ``blog_dark``: the seed's blog look, black figure and axes with cells separated
      by black gaps, viridis, no axis frame or ticks.
    - ``blog_light``: the same on white.
    - ``paper``: serif, small fonts, single-column width (3.5 in), a thin full frame
      around each grid, a colour-blind-safe diverging map (``RdBu_r``), 300 dpi
      output, TrueType fonts in PDF and text kept as text in SVG.

    Each preset sets every rc property it relies on (spines, ticks, faces, text
    colours, grid), so it draws the same figure whatever preset was applied before it.
    Both ends of each preset's colormap stand out from its background, so clipped
    cells (drawn just past the ends) read as clipped.  No preset sets
    ``savefig.bbox: tight``, which would break ``Animation.save``.

    Examples
    --------
    >>> import numpy as np
    >>> import matplotlib.pyplot as plt
    >>> from mpl_residual import residual_grid, style_context
    >>> with style_context("blog_dark"):
    ...     fig, ax = plt.subplots()
    ...     artist = residual_grid(np.random.randn(12, 16, 48), ax=ax)
    """
    with matplotlib.style.context(_preset(_short_name(name)), after_reset=after_reset):
        yield
