"""Turning whatever the user passes into a float numpy array, with clear errors."""

from __future__ import annotations

import math
import numbers
import operator
import warnings
from typing import Any

import numpy as np

__all__: list[str] = []


def _is_torch_tensor(x: Any) -> bool:
    # Duck-typed so that torch is never imported here.
    return type(x).__module__.split(".")[0] == "torch" and hasattr(x, "detach")


def _describe(x: Any) -> str:
    """A short description of *x* for error messages."""
    shape = getattr(x, "shape", None)
    dtype = getattr(x, "dtype", None)
    if shape is not None and dtype is not None:
        return f"{type(x).__name__} of shape {tuple(shape)} and dtype {dtype}"
    return type(x).__name__


def as_float_array(x: Any, *, name: str = "x") -> np.ndarray:
    """
    Return *x* as a floating-point numpy array.

    numpy arrays, nested sequences and torch tensors (any device, any dtype, with or
    without ``requires_grad``) are accepted.  float32 and float64 are kept, float16 and
    bfloat16 become float32, integers and booleans become float64, and ``longdouble``
    becomes float64 (what matplotlib and the colour scale compute in): values beyond
    float64's range become ±inf, with a warning that says so.  A float32 or float64
    masked array is returned as is; other masked arrays are converted with their mask
    kept.

    Raises
    ------
    TypeError
        For complex, string, object or other non-numeric data.
    ValueError
        For ragged nested sequences.
    """
    if _is_torch_tensor(x):
        t = x.detach()
        if t.is_complex():
            raise TypeError(f"{name} must be real-valued; got a complex {_describe(x)}")
        if str(t.dtype) != "torch.float64":
            t = t.float()
        return t.cpu().numpy()
    if isinstance(x, np.ma.MaskedArray):
        if x.dtype.kind == "f" and x.dtype.itemsize >= 4:
            return x  # e.g. an artist's stream, shared rather than copied
        data = as_float_array(np.ma.getdata(x), name=name)
        return np.ma.MaskedArray(data, mask=np.ma.getmaskarray(x))
    try:
        arr = np.asarray(x)
    except ValueError as err:  # ragged nested sequences
        raise ValueError(
            f"{name} must be a rectangular array of numbers; got a ragged {type(x).__name__} "
            f"({err})"
        ) from None
    kind = arr.dtype.kind
    if kind == "c":
        raise TypeError(f"{name} must be real-valued; got complex data ({_describe(arr)})")
    if kind == "f" and arr.dtype.itemsize > 8:
        return _from_longdouble(arr, name)
    if kind in "fiub":
        if kind == "f" and arr.dtype.itemsize >= 4:
            return arr
        return arr.astype(np.float32 if kind == "f" else np.float64)
    if kind == "O":
        try:
            return arr.astype(np.float64)
        except (TypeError, ValueError):
            pass
    raise TypeError(
        f"{name} must hold numbers; got {_describe(arr)}"
        + (f" from a {type(x).__name__}" if not isinstance(x, np.ndarray) else "")
    )


def _from_longdouble(arr: np.ndarray, name: str) -> np.ndarray:
    """*arr* (extended precision) in float64, saying so when values do not fit."""
    with np.errstate(over="ignore"):
        wide = arr.astype(np.float64)
    overflowed = np.isinf(wide) & np.isfinite(arr)
    if overflowed.any():
        warnings.warn(
            f"{name} holds {int(overflowed.sum())} value(s) beyond float64's range "
            f"(±{np.finfo(np.float64).max:.3g}), e.g. "
            f"{np.format_float_scientific(arr[overflowed].flat[0], precision=3)}; they "
            "are drawn as ±inf",
            RuntimeWarning,
            stacklevel=3,
        )
    return wide


def as_index(value: Any, name: str, *, expected: str = "an integer") -> int:
    """*value* as a Python int (numpy integers too); TypeError naming *name* otherwise."""
    if not isinstance(value, bool):
        try:
            return operator.index(value)
        except TypeError:
            pass
    shown = repr(value) if isinstance(value, bool) else f"{type(value).__name__} {value!r}"
    raise TypeError(f"{name} must be {expected}; got {shown}")


def check_index(value: Any, n: int, name: str, *, of: str) -> int:
    """
    *value* as an index into *n* things (negative counts from the end), made
    non-negative; TypeError or IndexError naming *name* and what it indexes (*of*).

    >>> check_index(-1, 7, "layer", of="a stream of 7 layers")
    6
    """
    index = as_index(value, name)
    if not -n <= index < n:
        valid = f"valid: {-n} to {n - 1}" if n else "there are none"
        raise IndexError(f"{name}={index} is out of range for {of}; {valid}")
    return index % n


def as_real(value: Any, name: str, *, finite: bool = True) -> float:
    """
    *value* as a float; TypeError naming *name* for what is not a real number (strings,
    booleans), ValueError for NaN and, if *finite*, for infinities.
    """
    if isinstance(value, np.ndarray) and value.ndim == 0 and value.dtype.kind in "iuf":
        value = value[()]
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number; got {type(value).__name__} {value!r}")
    number = float(value)
    if math.isnan(number) or (finite and math.isinf(number)):
        raise ValueError(f"{name} must be a finite number; got {name}={value!r}")
    return number
