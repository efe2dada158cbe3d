"""
Values for the player's hover read-out: each rounded to four significant digits
exactly as Python's ``format(value, ".4g")`` rounds it, stored as a decimal
mantissa and exponent that the player's script turns back into the same text.
"""

from __future__ import annotations

import numpy as np

__all__: list[str] = []

#: Exponent that marks a value with no four-digit mantissa; its mantissa says which.
SPECIAL = np.iinfo(np.int16).max
#: Mantissas of the special values.
ZERO, NEGATIVE_ZERO, NAN, INFINITY, NEGATIVE_INFINITY = 0, 1, 2, 3, 4


def decimal4(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """
    ``(mantissa, exponent)``, both int16 and shaped like *values*, such that
    ``mantissa * 10**(exponent - 3)`` is ``format(value, ".4g")`` for every finite,
    non-zero value (``1000 <= |mantissa| <= 9999``; *exponent* is that of the first
    digit).  Zeros, NaN and infinities get ``exponent == SPECIAL`` and a mantissa from
    ``ZERO`` ... ``NEGATIVE_INFINITY``.

    The rounding is Python's (correctly rounded, ties to even on the exact binary
    value): numpy does the bulk, and the few values that land within rounding error
    of a tie are rounded by Python itself.

    >>> m, e = decimal4(np.array([187.14, -0.000123456, 1e300, 0.0]))
    >>> m.tolist(), e.tolist()
    ([1871, -1235, 1000, 0], [2, -4, 300, 32767])
    """
    x = np.asarray(values, dtype=np.float64)
    flat = x.ravel()
    mantissa = np.zeros(flat.shape, np.int16)
    exponent = np.full(flat.shape, SPECIAL, np.int16)
    finite = np.isfinite(flat) & (flat != 0)
    v = flat[finite]
    exp = np.floor(np.log10(np.abs(v))).astype(np.int64)
    scaled = v / _pow10(exp - 3)  # at float64's ends inf or nan: Python rounds those
    # log10 can be off by one next to powers of ten: four digits before the point.
    low, high = np.abs(scaled) < 1000, np.abs(scaled) >= 10000
    exp = exp - low + high
    scaled = np.where(low | high, v / _pow10(exp - 3), scaled)
    digits = np.rint(scaled)
    carried = np.abs(digits) >= 10000  # 9999.7 rounds to 10000: that is 1000e+1
    exp = exp + carried
    digits = np.where(carried, np.copysign(1000.0, v), digits)
    # Within rounding error of a tie numpy may round the other way than Python, and
    # powers of ten under- or overflow at float64's ends: Python rounds those.
    near = np.abs(np.abs(scaled - np.trunc(scaled)) - 0.5) < 1e-6
    near |= (exp < -290) | (exp > 290) | ~np.isfinite(scaled)
    for i in np.flatnonzero(near):
        text = format(float(v[i]), ".3e")  # the same rounding as .4g's
        head, _, tail = text.partition("e")
        digits[i] = int(head.replace(".", ""))
        exp[i] = int(tail)
    mantissa[finite] = digits.astype(np.int16)
    exponent[finite] = exp.astype(np.int16)
    special = ~finite
    sv = flat[special]
    mantissa[special] = np.select(
        [np.isnan(sv), sv == np.inf, sv == -np.inf, np.signbit(sv)],
        [NAN, INFINITY, NEGATIVE_INFINITY, NEGATIVE_ZERO],
        ZERO,
    ).astype(np.int16)
    return mantissa.reshape(x.shape), exponent.reshape(x.shape)


def _pow10(exponents: np.ndarray) -> np.ndarray:
    """10.0 ** exponents, clipped where float64 has no such power (those are redone)."""
    return np.power(10.0, np.clip(exponents, -300, 300).astype(np.float64))


def text4(mantissa: int, exponent: int) -> str:
    """The ``.4g`` text of one encoded value (what the player's script does)."""
    if exponent == SPECIAL:
        return ("0", "-0", "nan", "inf", "-inf")[mantissa]
    digits = str(abs(mantissa))
    sign = "-" if mantissa < 0 else ""
    if -4 <= exponent < 4:
        if exponent >= 0:
            whole, frac = digits[: exponent + 1], digits[exponent + 1 :]
        else:
            whole, frac = "0", "0" * (-exponent - 1) + digits
        frac = frac.rstrip("0")
        return sign + whole + ("." + frac if frac else "")
    frac = digits[1:].rstrip("0")
    power = f"e{'-' if exponent < 0 else '+'}{abs(exponent):02d}"
    return f"{sign}{digits[0]}{'.' + frac if frac else ''}{power}"
