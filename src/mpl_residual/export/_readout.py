"""
Values for the player's hover read-out: each rounded to four significant digits
exactly as Python's ``format(value, ".4g")`` rounds it (a decimal mantissa and
exponent), then numbered in the order of all such values (`ordinals`), so that a value
is stored as its distance from the smallest value of its colour: the cell's colour
already says most of it.  The player's script turns it back into the same text.
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


#: Four-digit mantissas, 1000 to 9999.
DIGITS = 9000
#: Below the lowest decimal exponent of a float64 value (5e-324): exponents from here on
#: are numbered from 0.
LOWEST = -330
#: How many ordinals the positive (and the negative) finite values take.
SPAN = 640 * DIGITS
#: Ordinals of the values that are not finite and non-zero.
ORDINAL_NEGATIVE_ZERO, ORDINAL_ZERO = 0, 1
ORDINAL_INFINITY, ORDINAL_NAN, ORDINAL_NEGATIVE_INFINITY = 2 + SPAN, 3 + SPAN, -1 - SPAN


def ordinals(mantissa: np.ndarray, exponent: np.ndarray) -> np.ndarray:
    """
    Each `decimal4` value's place in the order of all ``.4g`` values, int64: ``-inf``
    < negative values < ``-0`` (0) < ``0`` (1) < positive values < ``inf`` < NaN, one
    apart for neighbouring values (``1.234`` and ``1.235``).  Values of one colour
    (one interval of a norm) have ordinals close together.

    >>> ordinals(*decimal4(np.array([1.234, 1.235, -1.234, 0.0, -0.0])))
    array([ 2970236,  2970237, -2970235,        1,        0])
    """
    m = np.asarray(mantissa, np.int64)
    e = np.asarray(exponent, np.int64)
    k = (e - LOWEST) * DIGITS + np.abs(m) - 1000
    finite = np.where(m > 0, 2 + k, -1 - k)
    special = np.array(
        [ORDINAL_ZERO, ORDINAL_NEGATIVE_ZERO, ORDINAL_NAN, ORDINAL_INFINITY,
         ORDINAL_NEGATIVE_INFINITY], np.int64
    )  # fmt: skip
    return np.where(e == SPECIAL, special[np.where(e == SPECIAL, m, 0)], finite)


def from_ordinals(ordinal: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The ``(mantissa, exponent)`` of `decimal4` back from `ordinals` (what the
    player's script does before it writes the text, `text4`)."""
    o = np.asarray(ordinal, np.int64)
    k = np.where(o > 0, o - 2, -1 - o)
    mantissa = np.where(o > 0, 1, -1) * (k % DIGITS + 1000)
    exponent = k // DIGITS + LOWEST
    specials = {
        ORDINAL_ZERO: ZERO,
        ORDINAL_NEGATIVE_ZERO: NEGATIVE_ZERO,
        ORDINAL_NAN: NAN,
        ORDINAL_INFINITY: INFINITY,
        ORDINAL_NEGATIVE_INFINITY: NEGATIVE_INFINITY,
    }
    for code, which in specials.items():
        mantissa = np.where(o == code, which, mantissa)
        exponent = np.where(o == code, SPECIAL, exponent)
    return mantissa.astype(np.int16), exponent.astype(np.int16)


def by_colour(ordinal: np.ndarray, colour: np.ndarray, n_colours: int) -> tuple:
    """
    *ordinal* (of `ordinals`) stored against each value's *colour* (palette indices,
    shaped alike): ``(base, offsets, width)``, the smallest ordinal of each colour
    (int32, ``n_colours`` of them; 0 for a colour no value has), each value's
    distance from its colour's (uint32) and the bytes the largest distance needs (1-4).
    """
    ordinal = np.asarray(ordinal, np.int64).ravel()
    colour = np.asarray(colour).ravel()
    base = np.full(n_colours, ORDINAL_NAN, np.int64)
    np.minimum.at(base, colour, ordinal)
    offsets = (ordinal - base[colour]).astype(np.uint32)
    largest = int(offsets.max()) if offsets.size else 0
    width = max(1, -(-largest.bit_length() // 8))
    return base.astype(np.int32), offsets, width


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
