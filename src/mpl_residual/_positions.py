"""Which token: a position given as an index or as a word, against a sequence's tokens."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

from ._arrays import as_index, check_index
from .errors import TokenNotFound

__all__: list[str] = []

#: What tokenizers put in front of a token's text: byte-level BPE's ``Ġ`` (a space),
#: SentencePiece's ``▁`` (a space) and WordPiece's ``##`` (a word continued).
MARKERS = ("Ġ", "▁", "##")

_SHOWN = 40  # tokens listed in an error


def bare(token: str) -> str:
    """
    A token's text without tokenizer markers, surrounding space and case.

    >>> [bare(t) for t in ("ĠParis", "▁paris", "##is", " Paris ")]
    ['paris', 'paris', 'is', 'paris']
    """
    text = token.strip()
    for marker in MARKERS:
        if text.startswith(marker):
            text = text[len(marker) :].strip()
            break
    return text.casefold()


def find_token(word: str, tokens: Sequence[str]) -> int:
    """
    The index of the last token that reads *word* (see `bare`).

    >>> find_token("paris", ["[CLS]", "paris", "is", "nice", "[SEP]"])
    1
    """
    target = bare(word)
    if not target:
        raise TokenNotFound(
            f"position={word!r} names no word; give a token's text, e.g. 'paris'", word=word
        )
    for index in range(len(tokens) - 1, -1, -1):
        if bare(tokens[index]) == target:
            return index
    shown = ", ".join(map(repr, tokens[:_SHOWN]))
    more = f", ... ({len(tokens)} in all)" if len(tokens) > _SHOWN else ""
    raise TokenNotFound(
        f"no token reads {word!r}; the tokens are {shown}{more}. A word the tokenizer "
        "splits into several tokens is found by one of them",
        word=word,
        tokens=tokens,
    )


def last_word(tokens: Sequence[str], special: Collection[int]) -> int:
    """The index of the last token that is not special (-1 if all are)."""
    return next((i for i in range(len(tokens) - 1, -1, -1) if i not in special), -1)


def resolve(position: Any, tokens: Sequence[str], special: Collection[int] = ()) -> int:
    """
    *position* as a non-negative index into *tokens*.

    A string names a token (`find_token`); a non-negative integer is an index; a
    negative one counts back from the last token that is not special, so that ``-1``
    is the last word of ``[CLS] ... [SEP]`` (with no special tokens: from the end).

    >>> tokens = ["[CLS]", "the", "city", "of", "paris", "[SEP]"]
    >>> resolve(-1, tokens, {0, 5}), resolve(-1, tokens), resolve("City", tokens)
    (4, 5, 2)
    """
    if isinstance(position, str):
        return find_token(position, tokens)
    index = as_index(position, "position", expected="an integer or a token's text")
    n = len(tokens)
    if index >= 0 or not special:
        return check_index(index, n, "position", of=f"{n} tokens")
    last = last_word(tokens, special)
    if last < 0:
        raise IndexError(f"position={index}: all {n} tokens are special tokens")
    return check_index(
        index,
        last + 1,
        "position",
        of=f"{n} tokens counted back from the last that is not special ({tokens[last]!r})",
    )
