"""
The errors that callers tell apart by their class, never by their text.

>>> import mpl_residual as mr
>>> from mpl_residual.errors import FoldError
>>> try:
...     mr.to_grid(range(768), rows=10)
... except FoldError as err:
...     print(err.rows, err.d_model, err.divisors[:4])
10 768 (1, 2, 3, 4)

Each is a subclass of the builtin a caller would catch anyway (`ValueError`,
`OSError`), and carries what it is about as attributes, so that the command line can
say it in its own words (``--rows 10`` rather than ``rows=10``).
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = [
    "FoldError",
    "LensError",
    "NotDecomposable",
    "NotOneToken",
    "NotRegularFile",
    "TokenNotFound",
    "TooManyPanels",
]


class FoldError(ValueError):
    """*rows* cannot fold a ``d_model`` vector (it does not divide it, or exceeds it)."""

    def __init__(self, *, rows: int, d_model: int, divisors: Sequence[int]) -> None:
        self.rows, self.d_model, self.divisors = rows, d_model, tuple(divisors)
        super().__init__(self.describe("pass pad=True"))

    def describe(self, pad: str) -> str:
        """The message, *pad* saying how to ask for padding (``"pass --pad"``)."""
        if self.rows > self.d_model:
            return f"rows={self.rows} is larger than d_model={self.d_model}"
        shown = ", ".join(map(str, self.divisors[:10]))
        shown += ", ..." if len(self.divisors) > 10 else ""
        return (
            f"rows={self.rows} does not divide d_model={self.d_model}; valid rows include "
            f"{shown} (or {pad} to pad the last row with NaN)"
        )


class TokenNotFound(ValueError):
    """A position given as a token's text that no token reads (or that names nothing)."""

    def __init__(self, message: str, *, word: str, tokens: Sequence[str] = ()):
        super().__init__(message)
        self.word, self.tokens = word, tuple(tokens)


class LensError(ValueError):
    """The logit lens (or an attribution) cannot be read as asked: the model has no
    output embedding that reads the stream, or fewer tokens than asked for."""


class NotDecomposable(ValueError):
    """A model whose residual stream is not the sum of what its blocks write."""


class NotOneToken(ValueError):
    """A target (or versus) text that is not exactly one token of the vocabulary."""

    def __init__(self, message: str, *, text: str, pieces: Sequence[str]):
        super().__init__(message)
        self.text, self.pieces = text, tuple(pieces)


class TooManyPanels(ValueError):
    """A sheet of more panels than can be read or laid out; pick fewer layers."""


class NotRegularFile(OSError):
    """An output path that exists and is not a regular file (a device, a FIFO, a socket)."""
