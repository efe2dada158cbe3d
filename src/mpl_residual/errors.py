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
    "BadResolution",
    "EmptyCorpus",
    "FoldError",
    "LimitsTooLarge",
    "LensError",
    "NotDecomposable",
    "NotOneToken",
    "NotRegularFile",
    "TokenNotFound",
    "TooLong",
    "TooMany",
    "TooManyCells",
    "TooManyFrames",
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


class BadResolution(ValueError):
    """A resolution (dpi) at which a figure cannot be drawn: too low for text, or a
    picture too large (or under a pixel); `check_pixels` raises it."""


class TooMany(ValueError):
    """
    More panels (a sheet) or frames (an animation) than can be read or drawn in a
    reasonable time: pick fewer layers.  `step` is the smallest step that fits.
    """

    def __init__(self, *, what: str, count: int, most: int) -> None:
        self.what, self.count, self.most = what, count, most
        self.step = -(-count // most)
        super().__init__(self.describe(f"layers=slice(None, None, {self.step})"))

    def describe(self, how: str) -> str:
        """The message, *how* saying how to pick layers (``--layers 0::20``)."""
        return (
            f"{self.count} {self.what} are too many (at most {self.most}); pick layers "
            f"with {how}"
        )


class TooManyPanels(TooMany):
    """A sheet of more panels than can be read or laid out."""

    def __init__(self, count: int, most: int) -> None:
        super().__init__(what="panels of a sheet", count=count, most=most)


class TooManyFrames(TooMany):
    """An animation of more frames than a GIF or MP4 is written with in a minute."""

    def __init__(self, count: int, most: int) -> None:
        super().__init__(what="frames of a GIF or MP4", count=count, most=most)


class TooLong(ValueError):
    """A text of more tokens than the model reads (its position table): `n_tokens` and
    `limit` say how many; pass ``max_length`` (``--max-length``) to cut it."""

    def __init__(self, n_tokens: int, limit: int) -> None:
        self.n_tokens, self.limit = n_tokens, limit
        super().__init__(self.describe(f"max_length={limit}"))

    def describe(self, how: str) -> str:
        """The message, *how* saying how to cut the text (``--max-length 64``)."""
        return (
            f"the text has {self.n_tokens} tokens, and the model reads at most {self.limit}; "
            f"cut it with {how}"
        )


class EmptyCorpus(ValueError):
    """A corpus with no token to count: no text, or only special tokens left out."""

    def __init__(self, n_texts: int, special: bool) -> None:
        self.n_texts, self.special = n_texts, special
        super().__init__(self.describe("special=True"))

    def describe(self, how: str) -> str:
        """The message, *how* saying how to count special tokens (``--special``)."""
        left_out = "" if self.special else f" (special tokens are left out; pass {how})"
        return f"no token to count in {self.n_texts} texts{left_out}"


class LimitsTooLarge(ValueError):
    """Colour limits beyond what matplotlib's colorbar can show (about ±2.2e307)."""


class TooManyCells(ValueError):
    """A grid of more cells a layer than a picture can show (see `MAX_CELLS`)."""


#: The most cells a layer's grid may have: 2048 x 2048, far beyond any model's width
#: (8192 for a 70B model) and far more cells than a figure has pixels for.
MAX_CELLS = 2**22


def check_cells(shape: tuple[int, ...]) -> None:
    """Refuse a stream whose grids (the last two of *shape*) exceed `MAX_CELLS`."""
    cells = int(shape[-1]) * (int(shape[-2]) if len(shape) > 1 else 1)
    if cells > MAX_CELLS:
        grid = " x ".join(map(str, shape[-2:])) if len(shape) > 1 else str(shape[-1])
        raise TooManyCells(
            f"a grid of {grid} = {cells:,} cells a layer is more than a picture can show "
            f"(at most {MAX_CELLS:,}, 2048 x 2048); pick the dimensions to draw first"
        )


class NotRegularFile(OSError):
    """An output path that exists and is not a regular file (a device, a FIFO, a socket)."""
