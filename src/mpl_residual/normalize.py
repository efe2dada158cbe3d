"""`normalize`: each layer on the scale the next block's norm sees, or its own RMS."""

from __future__ import annotations

import warnings
from dataclasses import replace
from typing import Any, Literal

import numpy as np

from ._arrays import _describe, as_float_array
from .labels import Labels, split
from .stream import ResidualStream

__all__ = ["normalize", "NORMALIZATIONS", "relabelled"]

#: The normalizations, and the unit their values are in (for colorbar labels).
NORMALIZATIONS: dict[str | None, str] = {
    None: "",
    "rms": "× RMS of the layer",
    "ln": "σ of the layer (LayerNorm)",
}

Normalization = Literal["rms", "ln"] | None


def _check(how: Any) -> Normalization:
    if how not in NORMALIZATIONS:
        shown = ", ".join(repr(k) for k in NORMALIZATIONS)
        raise ValueError(f"normalize must be one of {shown}; got normalize={how!r}")
    return how


def unit(how: Normalization) -> str:
    """What the values are in after *how*: ``"× RMS of the layer"``, or ``""`` raw."""
    return NORMALIZATIONS[_check(how)]


def relabelled(labels: Labels, how: Normalization) -> Labels:
    """
    *labels* of values normalized by *how*: the quantity says its unit (``"largest |x|,
    × RMS of the layer"``), and values centred by ``"ln"`` are signed.
    """
    if _check(how) is None:
        return labels
    quantity = f"{labels.quantity}, {unit(how)}" if labels.quantity else unit(how)
    scale = "signed" if how == "ln" and labels.scale == "nonnegative" else labels.scale
    return replace(labels, quantity=quantity, scale=scale)


def normalize(stream: Any, how: Normalization) -> Any:
    """
    Each layer of a stream on its own scale, so that every layer shows its structure.

    The residual stream grows with depth (in GPT-2 by orders of magnitude), so one
    colour scale over raw values leaves early layers flat and late ones saturated.

    Parameters
    ----------
    stream : array-like or ResidualStream
        ``(layers, rows, cols)``, or ``(layers, tokens, rows, cols)`` (each layer at
        each position is normalized on its own).  NaN (padding) is ignored and stays
        NaN.
    how : {None, "rms", "ln"}
        ``None``: the values as they are.  ``"rms"``: each layer divided by its root
        mean square over ``d_model``.  ``"ln"``: each layer minus its mean, divided by
        its standard deviation: LayerNorm without its weights, what the next block's
        norm sees.  A layer whose RMS or deviation is zero stays zero.

    Returns
    -------
    numpy.ndarray or ResidualStream
        The same kind of thing as *stream* (a `ResidualStream` keeps its labels, and
        its `~ResidualStream.quantity` says the unit), float, same shape.  One colour
        scale still spans all layers when it is drawn.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.array([[[1.0, -1.0], [1.0, -1.0]], [[10.0, -10.0], [10.0, 30.0]]])
    >>> normalize(x, "rms")[1].round(3).tolist()
    [[0.577, -0.577], [0.577, 1.732]]
    >>> normalize(x, "ln")[0].tolist()
    [[1.0, -1.0], [1.0, -1.0]]
    """
    how = _check(how)
    values, labels = split(stream)
    data = as_float_array(values, name="stream")
    if np.ma.isMaskedArray(data):
        data = data.filled(np.nan)
    if data.ndim not in (3, 4) or data.size == 0:
        raise ValueError(
            "normalize expects a stream of shape (layers, rows, cols) or "
            f"(layers, tokens, rows, cols); got {_describe(data)}"
        )
    if how is None:
        out = data
    else:
        finite = np.where(np.isfinite(data), data, np.nan).astype(np.float64)
        axes = (-2, -1)
        with warnings.catch_warnings():  # a layer of NaN only: its scale is NaN, kept
            warnings.simplefilter("ignore", RuntimeWarning)
            # In units of the layer's largest |x|, so squares never overflow (1e308).
            big = np.nanmax(np.abs(finite), axis=axes, keepdims=True)
            big = np.where(big > 0, big, 1.0)
            unit_values = finite / big
            if how == "rms":
                centre = 0.0
                scale = big * np.sqrt(np.nanmean(unit_values**2, axis=axes, keepdims=True))
            else:
                centre = big * np.nanmean(unit_values, axis=axes, keepdims=True)
                scale = big * np.nanstd(unit_values, axis=axes, keepdims=True)
        scale = np.where(scale > 0, scale, 1.0)
        out = ((data - centre) / scale).astype(data.dtype)
    if not isinstance(stream, ResidualStream):
        return out
    changed = relabelled(labels, how)
    return replace(stream, values=out, quantity=changed.quantity, scale=changed.scale)
