"""One colour scale for a whole residual stream: symmetric about zero and robust."""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
from matplotlib.colors import Normalize

from ._arrays import as_float_array

__all__ = ["robust_limits", "clipped_fraction", "colorbar_extend"]

#: Percentile of |x| used for the default (robust) limits.
ROBUST_PERCENTILE = 98.0


def _finite_abs(data: np.ndarray) -> np.ndarray:
    flat = np.ravel(np.ma.getdata(data))
    return np.abs(flat[np.isfinite(flat)])


def robust_limits(
    data: Any, *, robust: bool = True, percentile: float = ROBUST_PERCENTILE
) -> tuple[float, float]:
    """
    Colour limits for a whole stream: ``(-m, m)`` with ``m`` a high percentile of ``|x|``.

    Residual streams are signed and heavy-tailed: a few dimensions of GPT-2 small reach
    hundreds while the median ``|x|`` is below 1.  Limits from the full range would wash
    every ordinary dimension out to the centre colour, so by default ``m`` is the
    *percentile*-th percentile of ``|x|`` over every layer at once (as seaborn's
    ``robust=True``, about 2% of cells end up clipped and are drawn in the colormap's
    over/under colours).  NaN and inf
    are ignored.

    Parameters
    ----------
    data : array-like
        The stream, any shape.
    robust : bool, default: True
        If false, ``m`` is the largest finite ``|x|``.
    percentile : float, default: 98
        Percentile of ``|x|`` used when *robust* is true.

    Returns
    -------
    (float, float)
        ``(-m, m)``; ``(-1, 1)`` when there is no finite non-zero value.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.r_[np.linspace(-1, 1, 999), 500.0]
    >>> robust_limits(x)  # doctest: +ELLIPSIS
    (-0.98..., 0.98...)
    >>> robust_limits(x, robust=False)
    (-500.0, 500.0)
    """
    if not 0 < percentile <= 100:
        raise ValueError(f"percentile must be in (0, 100]; got percentile={percentile}")
    mag = _finite_abs(as_float_array(data, name="data"))
    if mag.size == 0:
        m = 0.0
    elif robust:
        m = float(np.percentile(mag, percentile))
        if m == 0.0:  # mostly zeros: fall back to the largest value so non-zeros show
            m = float(mag.max())
    else:
        m = float(mag.max())
    if not m > 0.0:
        m = 1.0
    return -m, m


def clipped_fraction(data: Any, vmin: float, vmax: float) -> float:
    """
    Fraction of the finite values of *data* that lie outside ``[vmin, vmax]``.

    Examples
    --------
    >>> clipped_fraction([-5, 0, 1, 5], -2, 2)
    0.5
    """
    flat = np.ravel(as_float_array(data, name="data"))
    flat = flat[np.isfinite(flat)]
    if flat.size == 0:
        return 0.0
    return float(np.count_nonzero((flat < vmin) | (flat > vmax)) / flat.size)


def colorbar_extend(data: Any, norm: Normalize) -> Literal["neither", "both", "min", "max"]:
    """
    The ``extend`` a colorbar for *data* drawn with *norm* should have.

    Arrows are shown on the side(s) where some finite value of *data* lies outside
    ``[norm.vmin, norm.vmax]``, so that clipped cells are visibly marked.

    Examples
    --------
    >>> from matplotlib.colors import Normalize
    >>> colorbar_extend([-5, 0, 1], Normalize(-2, 2))
    'min'
    """
    flat = np.ravel(as_float_array(data, name="data"))
    flat = flat[np.isfinite(flat)]
    if flat.size == 0 or norm.vmin is None or norm.vmax is None:
        return "neither"
    low = bool(flat.min() < norm.vmin)
    high = bool(flat.max() > norm.vmax)
    return {(False, False): "neither", (True, True): "both", (True, False): "min"}.get(
        (low, high), "max"
    )
