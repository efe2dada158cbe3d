"""One colour scale for a whole residual stream: symmetric about zero and robust."""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
from matplotlib.colors import Normalize

from ._arrays import as_float_array, as_real

__all__ = ["robust_limits", "clipped_fraction", "colorbar_extend", "WideNormalize", "stream_norm"]

#: Percentile of |x| used for the default (robust) limits.
ROBUST_PERCENTILE = 98.0


def _finite(array: np.ndarray) -> np.ndarray:
    """
    The finite, unmasked values of a float *array*, flat, in float64 (float32 spans
    overflow).
    """
    flat = array.compressed() if np.ma.isMaskedArray(array) else np.ravel(array)
    return flat[np.isfinite(flat)].astype(np.float64)


class WideNormalize(Normalize):
    """
    A linear `~matplotlib.colors.Normalize` that works over float64's whole range.

    `~matplotlib.colors.Normalize` keeps float32 data in float32 and computes
    ``(x - vmin) / (vmax - vmin)``, which overflows once ``vmax - vmin`` passes the
    dtype's largest value (3.4e38 in float32, 1.8e308 in float64): every cell then
    gets one colour.  This norm computes in float64 and scales the limits down first,
    so values up to float64's largest are coloured correctly.  It is what
    `residual_grid` makes when no *norm* is given.

    Examples
    --------
    >>> norm = WideNormalize(-1e308, 1e308)
    >>> float(norm(5e307))
    0.75
    """

    _scale = "linear"  # a linear colorbar axis, as for a plain Normalize

    def __call__(self, value: Any, clip: bool | None = None) -> Any:
        if clip is None:
            clip = self.clip
        result, is_scalar = self.process_value(value)
        result = result.astype(np.float64)
        if self.vmin is None or self.vmax is None:
            self.autoscale_None(result)
        vmin, vmax = float(self.vmin), float(self.vmax)
        if vmin == vmax:
            result.fill(0)
        elif vmin > vmax:
            raise ValueError(f"vmin must not exceed vmax; got vmin={vmin}, vmax={vmax}")
        else:
            data = result.data  # a copy of the input: astype copies
            if clip:
                np.clip(data, vmin, vmax, out=data)
            scale = max(abs(vmin), abs(vmax))
            low, high = vmin / scale, vmax / scale
            data /= scale
            data -= low
            data /= high - low
            # far outside the limits, as far as matters: under is < 0, over > 1 (the
            # colormap multiplies by its size next, which would overflow near 1e308)
            np.clip(data, -1.0, 2.0, out=data)
        return result[0] if is_scalar else result

    def inverse(self, value: Any) -> Any:
        if not self.scaled():
            raise ValueError("Not invertible until both vmin and vmax are set")
        vmin, vmax = float(self.vmin), float(self.vmax)
        value = np.ma.asarray(value, dtype=np.float64) if np.iterable(value) else value
        return vmin * (1 - value) + vmax * value


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
    return limits_of(as_float_array(data, name="data"), robust=robust, percentile=percentile)


def limits_of(
    array: np.ndarray, *, robust: bool = True, percentile: float = ROBUST_PERCENTILE
) -> tuple[float, float]:
    """`robust_limits` of a float array that is already checked (no conversion)."""
    mag = np.abs(_finite(array))
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
    flat = _finite(as_float_array(data, name="data"))
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
    return extend_of(as_float_array(data, name="data"), norm)


def extend_of(array: np.ndarray, norm: Normalize) -> Literal["neither", "both", "min", "max"]:
    """`colorbar_extend` of a float array that is already checked (no conversion)."""
    flat = _finite(array)
    if flat.size == 0 or norm.vmin is None or norm.vmax is None:
        return "neither"
    low = bool(flat.min() < norm.vmin)
    high = bool(flat.max() > norm.vmax)
    return {(False, False): "neither", (True, True): "both", (True, False): "min"}.get(
        (low, high), "max"
    )


def stream_norm(
    data: np.ndarray,
    *,
    norm: Any = None,
    vmin: Any = None,
    vmax: Any = None,
    robust: bool = True,
    nonnegative: bool = False,
) -> Any:
    """
    The norm for a checked stream: *norm* as given, or a `WideNormalize` from *vmin*
    and *vmax* (finite numbers) with what they leave unset from `robust_limits` of
    *data* (for several streams on one scale, pass them concatenated); for values
    that cannot be negative (*nonnegative*), from 0 to the same upper limit.
    """
    if norm is not None:
        if vmin is not None or vmax is not None:
            raise ValueError(
                "pass either norm or vmin/vmax, not both "
                f"(got norm={norm!r}, vmin={vmin!r}, vmax={vmax!r})"
            )
        return norm
    vmin = None if vmin is None else as_real(vmin, "vmin")
    vmax = None if vmax is None else as_real(vmax, "vmax")
    if vmin is None or vmax is None:
        low, high = limits_of(data, robust=robust)
        vmin = (0.0 if nonnegative else low) if vmin is None else vmin
        vmax = high if vmax is None else vmax
    if not vmin <= vmax:
        raise ValueError(f"vmin must not exceed vmax; got vmin={vmin:g}, vmax={vmax:g}")
    return WideNormalize(vmin=vmin, vmax=vmax)
