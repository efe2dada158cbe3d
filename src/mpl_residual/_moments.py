"""
What every set of corpus statistics shares: running moments that merge exactly, the
largest values and where they were, and the checks of the numbers that say how they
were counted.  `DimensionStats` (per layer) and `ComponentStats` (per component) are
made of these.
"""

from __future__ import annotations

import json
import os
from dataclasses import fields, replace
from pathlib import Path
from typing import Any

import numpy as np

from ._npzfile import write_npz
from ._text import printable, strings
from .grid import to_grid

__all__: list[str] = []

#: The largest count a file may hold: what float64 (the moments' merges) counts
#: exactly, and two of which sum without overflow (uint64 2^64 - 1 plus 2 merged to 1).
MAX_COUNT = 2**53


def merged_moments(
    counts: tuple[np.ndarray, np.ndarray],
    means: tuple[np.ndarray, np.ndarray],
    m2s: tuple[np.ndarray, np.ndarray],
) -> tuple[np.ndarray, np.ndarray]:
    """
    The mean and the sum of squared deviations of two sets together, from each set's
    (Chan, Golub and LeVeque 1979): accurate where the naive ``sum(x**2) - n *
    mean**2`` cancels.  *counts* broadcast against the means (``(n, 1)`` for ``(n,
    d)``); a row counted by neither set stays 0.
    """
    na, nb = (np.asarray(c, dtype=np.float64) for c in counts)
    n = na + nb
    with np.errstate(invalid="ignore", divide="ignore"):
        weight = np.where(n > 0, nb / n, 0.0)
        delta = means[1] - means[0]
        mean = means[0] + delta * weight
        m2 = m2s[0] + m2s[1] + delta**2 * na * weight
    return np.where(n > 0, mean, 0.0), np.where(n > 0, m2, 0.0)


def later(
    mine: np.ndarray, theirs: np.ndarray, my_text: np.ndarray, their_text: np.ndarray
) -> np.ndarray:
    """
    Where *theirs* is the maximum of the two: larger, or NaN (NaN counts as the
    largest, so that it shows), or equal and from an earlier text (so that the result
    does not depend on how the corpus was split).  Unset locations (-1) never win.
    """
    my_nan, their_nan = np.isnan(mine), np.isnan(theirs)
    wins = (theirs > mine) | (their_nan & ~my_nan)
    wins |= ((theirs == mine) | (their_nan & my_nan)) & (their_text < my_text)
    return wins & (their_text >= 0)


def check_locations(
    arrays: dict[str, np.ndarray], names: tuple[str, str, str], *, n_texts: int,
    n_tokens: int | None, said: str = "moments",
) -> None:  # fmt: skip
    """
    Raise ValueError unless the locations ``(text, position, token)`` held in *arrays*
    under *names* are whole numbers inside *n_texts* texts and *n_tokens* token
    spellings (None: token ids, unchecked above); messages start with *said*.
    """
    texts, positions, tokens = (np.asarray(arrays[name]) for name in names)
    for name, array in zip(names, (texts, positions, tokens), strict=True):
        if array.dtype.kind not in "iu":
            raise ValueError(f"{said} {name} must hold whole numbers")
    if texts.size and (texts.min() < 0 or texts.max() >= n_texts):
        raise ValueError(
            f"{said} {names[0]} must index the {n_texts} texts read; got "
            f"{texts.min()} to {texts.max()}"
        )
    if positions.size and (positions.min() < 0 or tokens.min() < 0):
        raise ValueError(f"{said} {names[1]} and {names[2]} must not be negative")
    if n_tokens is not None and tokens.size and tokens.max() >= n_tokens:
        raise ValueError(f"{said} {names[2]} must index the {n_tokens} tokens spelled")


def check_counts(count: np.ndarray, what: str) -> None:
    """Raise ValueError unless *count* is one whole, non-negative number repeated, at
    most `MAX_COUNT` (every token adds to every one of *what*)."""
    count = np.asarray(count)
    if count.dtype.kind not in "iu":
        raise ValueError(f"counts must be whole numbers; got {count.dtype} {count[:3]}")
    if count.size and (count.min() < 0 or np.any(count != count.flat[0])):
        raise ValueError(
            f"counts must be one non-negative number, the same in every {what}; got {count}"
        )
    if count.size and count.max() > MAX_COUNT:
        raise ValueError(f"counts must be at most 2^53 (counted exactly); got {count.max()}")


def whole(value: Any, name: str, *, positive: bool = False, optional: bool = False) -> Any:
    """*value* as a non-negative (or positive) int, None if *optional*; else ValueError."""
    if value is None and optional:
        return None
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise ValueError(f"{name} must be a whole number; got {value!r:.40}")
    if value < (1 if positive else 0):
        least = "positive" if positive else "non-negative"
        raise ValueError(f"{name} must be {least}; got {value}")
    if value > MAX_COUNT:
        raise ValueError(f"{name} must be at most 2^53 (counted exactly); got {value:.3g}")
    return int(value)


def flag(value: Any, name: str) -> bool:
    """*value* as a bool, if it is one; else ValueError."""
    if not isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{name} must be true or false; got {value!r:.40}")
    return bool(value)


def merged_spellings(
    mine: tuple[str, ...], theirs: tuple[str, ...]
) -> tuple[tuple[str, ...], np.ndarray | None]:
    """
    The token spellings of two sets of statistics merged: *theirs* appended where they
    are new, and where each of theirs went (None: the spellings of one side are
    unknown, so none are told).
    """
    if not (mine and theirs):
        return (), None
    known = {token: i for i, token in enumerate(mine)}
    for token in theirs:
        known.setdefault(token, len(known))
    return tuple(known), np.array([known[t] for t in theirs], dtype=np.int64)


# -- what DimensionStats and ComponentStats do alike -------------------------------------


def checked_labels(stats: Any, fewest_texts: int) -> dict[str, Any]:
    """
    The labels every set of corpus statistics holds, checked against its moments (a
    `DimensionStats` or `ComponentStats`, while it is made): tokens, n_texts (if not
    given, *fewest_texts*: the fewest that the locations point into), the fold, special,
    max_length and dropped_tokens.  ValueError names what is wrong.
    """
    moments = stats.moments
    if not np.all(moments.count > 0):
        raise ValueError("no tokens were counted; the statistics of nothing are undefined")
    if stats.model_name is not None and not isinstance(stats.model_name, str):
        raise ValueError(f"model_name must be a text; got {stats.model_name!r:.40}")
    n_texts = fewest_texts if stats.n_texts is None else stats.n_texts
    checked = {
        "tokens": strings(stats.tokens, "tokens"),
        "n_texts": whole(n_texts, "n_texts"),
        "rows": whole(stats.rows, "rows", positive=True, optional=True),
        "pad": flag(stats.pad, "pad"),
        "special": flag(stats.special, "special"),
        "max_length": whole(stats.max_length, "max_length", positive=True, optional=True),
        "dropped_tokens": whole(stats.dropped_tokens, "dropped_tokens"),
    }
    moments.check(checked["n_texts"], len(checked["tokens"]) or None)
    to_grid(np.zeros(moments.mean.shape[1]), checked["rows"], pad=checked["pad"])  # or why not
    return checked


def merged(mine: Any, other: Any) -> Any:
    """
    *mine* and *other* (statistics of one kind) as one, exactly as if one run had read
    *other*'s texts after *mine*'s: refused where their `settings` differ (naming what
    does), the token spellings merged, *other*'s text numbers moved on.
    """
    said, theirs = mine.settings(), other.settings()
    differ = [key for key in said if said[key] != theirs[key]]
    if differ:
        shown = ", ".join(
            f"{key}={printable(repr(theirs[key])):.60} (here {printable(repr(said[key])):.60})"
            for key in differ
        )
        raise ValueError(f"cannot merge statistics made with other settings: {shown}")
    tokens, index = merged_spellings(mine.tokens, other.tokens)
    moved = other.moments.renumbered(mine.n_texts, index)
    return replace(
        mine,
        moments=mine.moments.merge(moved),
        n_texts=mine.n_texts + other.n_texts,
        tokens=tokens,
        dropped_tokens=mine.dropped_tokens + other.dropped_tokens,
    )


def saved(stats: Any, path: str | os.PathLike[str], **labels: Any) -> Path:
    """*stats* written to *path* as a plain ``.npz``: its running moments, and every
    other field as JSON labels after *labels* (its kind and format); whole or not at all."""
    for item in fields(stats):
        if item.name != "moments":
            value = getattr(stats, item.name)
            labels[item.name] = list(value) if isinstance(value, tuple) else value
    return write_npz(Path(path), labels=np.array(json.dumps(labels)), **stats.moments.arrays())
