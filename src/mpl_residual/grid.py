"""Folding a ``d_model`` vector into a ``rows x cols`` grid."""

from __future__ import annotations

import math
from typing import Any

import einops
import numpy as np

from ._arrays import _describe, as_float_array, as_index
from .errors import FoldError, check_cells

__all__ = ["to_grid", "grid_shape"]


def _divisors(n: int) -> list[int]:
    small = [d for d in range(1, math.isqrt(n) + 1) if n % d == 0]
    return small + [n // d for d in reversed(small) if d * d != n]


def _check_rows(rows: Any) -> int:
    rows = as_index(rows, "rows", expected="a positive integer or None")
    if rows < 1:
        raise ValueError(f"rows must be a positive integer or None; got rows={rows}")
    return rows


def grid_shape(d_model: int, rows: int | None = None, *, pad: bool = False) -> tuple[int, int]:
    """
    Return the ``(rows, cols)`` that :func:`to_grid` folds a *d_model* vector into.

    Parameters
    ----------
    d_model : int
        Length of the vector.
    rows : int, optional
        Number of grid rows.  ``None`` picks the most nearly square factorization of
        *d_model* with ``rows <= cols``.
    pad : bool, default: False
        Allow a *rows* that does not divide *d_model*; ``cols`` is rounded up.

    Returns
    -------
    (int, int)

    Examples
    --------
    >>> grid_shape(768)
    (24, 32)
    >>> grid_shape(768, 10, pad=True)
    (10, 77)
    """
    d_model = as_index(d_model, "d_model")
    if d_model < 1:
        raise ValueError(f"d_model must be at least 1; got d_model={d_model}")
    if rows is None:
        rows = max(d for d in _divisors(d_model) if d * d <= d_model)
        return rows, d_model // rows
    rows = _check_rows(rows)
    if rows > d_model or (d_model % rows and not pad):
        raise FoldError(rows=rows, d_model=d_model, divisors=_divisors(d_model))
    return rows, -(-d_model // rows)


def to_grid(x: Any, rows: int | None = None, *, pad: bool = False) -> np.ndarray:
    """
    Fold the last axis of *x* into a ``rows x cols`` grid, row by row.

    ``to_grid(x, rows)`` is identical to
    ``einops.rearrange(x, "... (row col) -> ... row col", row=rows)``: dimension 0 is
    the first cell of the first row, dimension ``cols`` the first cell of the second row.

    Parameters
    ----------
    x : array-like or torch.Tensor, shape (..., d_model)
        One vector or any stack of them.  Torch tensors may live on any device and have
        any dtype (bfloat16 and float16 included) and may require grad; torch itself is
        never imported by this function.
    rows : int, optional
        Number of grid rows.  ``None`` picks the most nearly square factorization with
        ``rows <= cols`` (768 -> 24 x 32, 384 -> 16 x 24).
    pad : bool, default: False
        If *rows* does not divide ``d_model``, pad the end of the vector with NaN up to
        ``rows * ceil(d_model / rows)`` instead of raising.  NaN cells are drawn in the
        colormap's "bad" colour.

    Returns
    -------
    numpy.ndarray, shape (..., rows, cols)
        A floating-point array (float32 for half-precision input).

    Raises
    ------
    ValueError
        If *x* is 0-d or empty, or *rows* does not divide ``d_model`` and *pad* is false.
    TypeError
        If *x* is not real-valued numeric data.

    Examples
    --------
    >>> import numpy as np
    >>> to_grid(np.arange(768.0)).shape
    (24, 32)
    >>> to_grid(np.zeros((13, 768)), rows=16).shape
    (13, 16, 48)
    """
    arr = as_float_array(x)
    if arr.ndim == 0:
        raise ValueError(
            f"to_grid expects an array of shape (..., d_model); got a 0-d {_describe(arr)}"
        )
    d_model = arr.shape[-1]
    if arr.size == 0 and d_model == 0:
        raise ValueError(f"to_grid expects d_model >= 1; got an array of shape {arr.shape}")
    n_rows, n_cols = grid_shape(d_model, rows, pad=pad)
    missing = n_rows * n_cols - d_model
    if missing:
        width = [(0, 0)] * (arr.ndim - 1) + [(0, missing)]
        padded = np.pad(np.ma.getdata(arr), width, constant_values=np.nan)
        if np.ma.isMaskedArray(arr):
            mask = np.pad(np.ma.getmaskarray(arr), width, constant_values=True)
            padded = np.ma.MaskedArray(padded, mask=mask)
        arr = padded
    return einops.rearrange(arr, "... (row col) -> ... row col", row=n_rows)


def as_stream(stream: Any, *, rows: int | None = None) -> np.ndarray:
    """
    Return *stream* as a float ``(layers, rows, cols)`` array, with clear errors.

    ``(layers, rows, cols)`` is taken as is, ``(rows, cols)`` as one layer and
    ``(d_model,)`` as one vector folded with `to_grid`.  A *rows* that disagrees with an
    already folded stream is an error rather than a silent re-fold.
    """
    shape = getattr(stream, "shape", None)
    if isinstance(shape, tuple) and shape and all(isinstance(n, int) for n in shape):
        check_cells(shape)  # before any copy of it is made
    data = as_float_array(stream, name="stream")
    check_cells(data.shape or (1,))
    expected = "(layers, rows, cols), (rows, cols) or (d_model,)"
    if data.ndim == 0 or data.ndim > 3:
        raise ValueError(f"stream must have shape {expected}; got {_describe(data)}")
    if data.size == 0:
        raise ValueError(f"stream must not be empty; got {_describe(data)}")
    if data.ndim == 1:
        return to_grid(data, rows)[np.newaxis]
    if rows is not None and _check_rows(rows) != data.shape[-2]:
        hint = (
            f"; to fold a (layers, d_model) array use to_grid(x, rows={rows}) first"
            if data.ndim == 2
            else ""
        )
        raise ValueError(
            f"rows={rows} does not match a stream that is already folded into "
            f"{data.shape[-2]} rows ({_describe(data)}){hint}"
        )
    return data if data.ndim == 3 else data[np.newaxis]
