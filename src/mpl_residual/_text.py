"""
Text that comes from a model or a file (tokens, layer and model names), shown as it is:
drawn by matplotlib, written into SVG and PDF, printed on a terminal.
"""

from __future__ import annotations

import re
import textwrap
from typing import Any

__all__: list[str] = []


def strings(value: Any, name: str) -> tuple[str, ...]:
    """*value* (tokens, names: any sequence of str) as a tuple; TypeError naming *name*
    for one str or anything that is not a str in it."""
    if isinstance(value, str):
        raise TypeError(f"{name} must be a sequence of str, not one str; got {value!r:.60}")
    items = tuple(value)
    for item in items:
        if not isinstance(item, str):
            raise TypeError(f"{name} must hold str only; got {type(item).__name__} {item!r:.60}")
    return items

#: Characters that must never reach a terminal, an SVG or a PDF as they are: C0 and C1
#: controls and DEL (a terminal obeys them; XML forbids most), the line and paragraph
#: separators U+2028 and U+2029 (a line break where none is seen), the bidirectional
#: embeddings, overrides and isolates U+202A-U+202E and U+2066-U+2069 (an RLO turns
#: the rest of a line around: "wrote evil<RLO>fdp.exe"), lone surrogates (no encoding
#: writes them) and the noncharacters U+FFFE and U+FFFF.  Right-to-left letters are
#: kept: only what reorders or breaks the text around them is written as its escape.
_UNPRINTABLE = re.compile(
    "[\x00-\x1f\x7f-\x9f\u2028-\u202e\u2066-\u2069\ud800-\udfff\ufffe\uffff]"
)


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(text: str) -> str:
    r"""
    *text* with every control character, lone surrogate and noncharacter written as
    its Python escape (``\x1b``, ``\x00``, ``\ud800``): safe on a terminal, in XML and
    in PDF, and still telling which character it was.  Everything else is kept, right-
    to-left text and ``$`` included.

    >>> printable("\x1b[2Jpwned\x00 ok é")
    '\\x1b[2Jpwned\\x00 ok é'
    """
    return _UNPRINTABLE.sub(_escape, text)


def literal(text: str) -> str:
    r"""
    *text* as matplotlib must be given it to draw it as it is: `printable`, and every
    ``$`` escaped, so that it is never read as mathtext.

    Matplotlib typesets text between two unescaped dollar signs (``"$x^2$"``) and fails
    to draw text with an empty pair (``"$$"``); an escaped ``\$`` is drawn as ``$``.
    Labels made from a model's tokens must show the token as it is.

    >>> literal("cost: $5 or $$")
    'cost: \\$5 or \\$\\$'
    """
    return printable(text).replace("$", r"\$")


def percent(p: float) -> str:
    """
    A probability as a short percentage; the small ones that would read 0% do not.

    >>> percent(0.3149), percent(0.004), percent(0.00002)
    ('31%', '0.4%', '<0.1%')
    """
    if p >= 0.01:
        return f"{p:.0%}"
    return f"{p:.1%}" if p >= 0.001 else "<0.1%"


def wrapped(text: str, width: int) -> str:
    r"""*text* on lines of at most about *width* characters, broken between words.

    >>> wrapped("share of the logit difference, in logits", 22)
    'share of the logit\ndifference, in logits'
    """
    return textwrap.fill(text, width, break_long_words=False) if len(text) > width else text
