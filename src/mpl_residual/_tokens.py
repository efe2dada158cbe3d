"""Token labels from a tokenizer: the strings of a sequence and where its special tokens are."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

__all__: list[str] = []


def label_tokens(tokenizer: Any, ids: Sequence[int]) -> tuple[tuple[str, ...], tuple[int, ...]]:
    """
    Each token of *ids* as the tokenizer spells it alone, and the indices of the special
    ones (``[CLS]``, ``[SEP]``, ``<s>``, ``<|endoftext|>``), its unknown-word token aside:
    that one stands for a word.
    """
    ids = [int(i) for i in ids]
    specials = special_ids(tokenizer)
    tokens = tuple(tokenizer.decode([i]) for i in ids)
    return tokens, tuple(i for i, token_id in enumerate(ids) if token_id in specials)


def special_ids(tokenizer: Any) -> set[int]:
    """The ids of the tokenizer's special tokens, its unknown-word token aside."""
    ids = set(getattr(tokenizer, "all_special_ids", ()) or ())
    ids.discard(getattr(tokenizer, "unk_token_id", None))
    return ids
