"""
Numbers about a stream: its size per layer, and the dimensions with massive activations.

"Massive" has one meaning everywhere in mpl-residual (Sun et al., 2024): a value is
massive when ``|x| > factor x`` the median ``|x|`` of its own vector, that is, of the same
layer at the same token.  `median_ratio` is that ratio; `outlier_dims` and
``mark_dims(factor=...)`` compare it with *factor*, ``mpl-residual render --mark
factor:X`` calls `mark_dims`, and `DimensionStats.max_ratio` keeps its largest value
over a corpus (``DimensionStats.outliers``).
"""

from __future__ import annotations

import warnings
from typing import Any, Literal

import numpy as np

from ._arrays import _describe, as_float_array, as_real
from .labels import split

__all__ = ["LAYER_STATS", "check_factor", "layer_stat", "median_ratio", "outlier_dims", "top_dims"]

#: The statistics `layer_stat` computes, and how a label says them.
LAYER_STATS: dict[str, str] = {"rms": "RMS", "norm": "L2 norm", "absmax": "max |x|"}

LayerStat = Literal["rms", "norm", "absmax"]


def _layers(stream: Any) -> np.ndarray:
    """*stream* as ``(layers, d_model)`` floats, NaN where there is no value."""
    data = as_float_array(split(stream)[0], name="stream")
    if np.ma.isMaskedArray(data):
        data = data.astype(np.float64).filled(np.nan)
    if data.ndim != 3 or data.size == 0:
        raise ValueError(
            f"expected a stream of shape (layers, rows, cols); got {_describe(data)}"
            + ("; pick one position first, e.g. stream.at(-1)" if data.ndim == 4 else "")
        )
    return data.reshape(len(data), -1)


def layer_stat(stream: Any, stat: LayerStat = "rms") -> np.ndarray:
    """
    One number per layer: ``"rms"`` (root mean square over ``d_model``), ``"norm"``
    (L2 norm) or ``"absmax"`` (largest ``|x|``), NaN (padding) and inf ignored; float64.

    >>> import numpy as np
    >>> layer_stat(np.array([[[3.0, 4.0]], [[0.0, 0.0]]]), "norm").tolist()
    [5.0, 0.0]
    """
    if stat not in LAYER_STATS:
        shown = ", ".join(repr(k) for k in LAYER_STATS)
        raise ValueError(f"stat must be one of {shown}; got stat={stat!r}")
    flat = _layers(stream).astype(np.float64)
    flat = np.where(np.isfinite(flat), flat, np.nan)
    with warnings.catch_warnings():  # a layer with no finite value: NaN
        warnings.simplefilter("ignore", RuntimeWarning)
        big = np.nanmax(np.abs(flat), axis=1)
        if stat == "absmax":
            return big
        scale = np.where(big > 0, big, 1.0)[:, None]  # squares in units of the max
        squares = (flat / scale) ** 2
        if stat == "rms":
            return scale[:, 0] * np.sqrt(np.nanmean(squares, axis=1))
        norm = scale[:, 0] * np.sqrt(np.nansum(squares, axis=1))
        return np.where(np.isfinite(big), norm, np.nan)


def median_ratio(vectors: Any) -> np.ndarray:
    """
    The rule behind "massive": each ``|x|`` divided by the median ``|x|`` of its own
    vector (the last axis), in float64.  NaN (padding) is left out of the median and
    stays NaN; where the median is zero (a vector of mostly zeros) the ratio is 0, so
    nothing there counts as massive.

    >>> median_ratio(np.array([[1.0, -2.0, 300.0], [0.0, 0.0, 5.0]])).tolist()
    [[0.5, 1.0, 150.0], [0.0, 0.0, 0.0]]
    """
    magnitude = magnitudes(vectors)
    return ratios_to(magnitude, row_medians(magnitude)[..., None])


def magnitudes(vectors: Any, dtype: Any = np.float64) -> np.ndarray:
    """``|x|`` as *dtype*, NaN where *x* is not finite (left out of `row_medians`)."""
    magnitude = np.abs(np.asarray(vectors, dtype=dtype))
    finite = np.isfinite(magnitude)
    return magnitude if finite.all() else np.where(finite, magnitude, np.nan)


def row_medians(magnitude: np.ndarray, *, overwrite: bool = False) -> np.ndarray:
    """
    The median of each vector (the last axis) of `magnitudes`, in float64, NaN left
    out (NaN for a vector of NaN only), as ``np.nanmedian`` finds it in float64; by one
    sort where there is no NaN (float32 sorts four times faster than float64 and holds
    the same order: the middle values are then taken in float64), in place where
    *overwrite*.
    """
    n = magnitude.shape[-1]
    if n == 0 or np.isnan(magnitude).any():
        with warnings.catch_warnings():  # a vector of NaN only: its median is NaN
            warnings.simplefilter("ignore", RuntimeWarning)
            return np.nanmedian(magnitude.astype(np.float64), axis=-1)
    ordered = magnitude if overwrite else magnitude.copy()
    ordered.sort(axis=-1)
    upper = ordered[..., n // 2].astype(np.float64)
    if n % 2:
        return upper
    return (ordered[..., n // 2 - 1].astype(np.float64) + upper) / 2  # numpy's mean of two


def ratios_to(magnitude: np.ndarray, median: np.ndarray, *, overwrite: bool = False) -> np.ndarray:
    """*magnitude* over *median* (broadcast): 0 where the median is not positive, NaN
    where the magnitude is NaN (see `median_ratio`); into *magnitude* where
    *overwrite* (and every median is positive)."""
    unusable = ~(median > 0)
    if overwrite and not unusable.any():
        with np.errstate(invalid="ignore"):
            return np.divide(magnitude, median, out=magnitude)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratios = magnitude / median
    if unusable.any():
        ratios = np.where(unusable, np.where(np.isnan(magnitude), np.nan, 0.0), ratios)
    return ratios


def check_factor(factor: Any) -> float:
    """*factor* as a positive finite float, with a clear error."""
    factor = as_real(factor, "factor")
    if not factor > 0:
        raise ValueError(f"factor must be positive; got factor={factor:g}")
    return factor


def outlier_dims(stream: Any, *, factor: float = 100.0) -> np.ndarray:
    """
    The dimensions with massive activations: sorted, those whose ``|x|`` exceeds
    *factor* times the median ``|x|`` of the same layer, in any layer (`median_ratio`).

    Sun et al. (2024) found a handful of such dimensions in every large language
    model, 100 to 1000 times the median; they act as biases, and they dominate any
    colour scale.  The same rule marks cells (``mark_dims(factor=...)``) and finds them
    over a corpus (`DimensionStats.outliers`).

    Parameters
    ----------
    stream : array-like or ResidualStream
        ``(layers, rows, cols)``; dimension ``d`` is cell ``(d // cols, d % cols)``.
    factor : float, default: 100
        How many medians count as massive.

    Returns
    -------
    numpy.ndarray of int

    Examples
    --------
    >>> import numpy as np
    >>> x = np.ones((2, 4, 4))
    >>> x[1, 2, 3] = 500.0
    >>> outlier_dims(x).tolist()
    [11]
    """
    factor = check_factor(factor)
    return np.flatnonzero((median_ratio(_layers(stream)) > factor).any(axis=0))


def top_dims(values: np.ndarray, top: int) -> np.ndarray:
    """The *top* dimensions of one layer (flat) with the largest finite ``|x|``, sorted."""
    magnitude = np.abs(np.asarray(values, np.float64).ravel())
    magnitude = np.where(np.isfinite(magnitude), magnitude, -1.0)
    count = min(top, int(np.count_nonzero(magnitude >= 0)))
    if count == 0:
        return np.zeros(0, int)
    picked = np.argpartition(-magnitude, count - 1)[:count]
    return np.sort(picked)
