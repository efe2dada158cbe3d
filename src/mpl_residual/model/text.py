"""
Text through a tokenizer: batches padded the one way that keeps positions, truncated
to what the model can read, and token labels (the strings, and which are special).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from ..errors import TooLong
from .anatomy import text_config

__all__ = ["Batch", "label_tokens", "model_limit", "special_ids", "token_text", "tokenized"]


def special_ids(tokenizer: Any) -> set[int]:
    """The ids of the tokenizer's special tokens, its unknown-word token aside."""
    ids = set(getattr(tokenizer, "all_special_ids", ()) or ())
    ids.discard(getattr(tokenizer, "unk_token_id", None))
    return ids


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


def token_text(tokenizer: Any, token_id: int) -> str:
    """One token as the tokenizer spells it; ``"#464"`` without a tokenizer that can."""
    if tokenizer is not None:
        try:
            return tokenizer.decode([token_id])
        except (IndexError, KeyError, OverflowError, TypeError, ValueError):
            pass  # an id past the tokenizer's vocabulary (a padded output embedding)
    return f"#{token_id}"


#: Limits larger than this are tokenizers' way of saying "no limit".
_NO_LIMIT = 10**8


def model_limit(model: nn.Module, tokenizer: Any = None) -> int | None:
    """The most tokens the model reads at once (its position table), if it says."""
    config = text_config(model)
    limits = [
        getattr(config, name, None)
        for name in ("max_position_embeddings", "n_positions", "max_sequence_length")
    ]
    limits.append(getattr(tokenizer, "model_max_length", None))
    found = [v for v in limits if isinstance(v, int) and not isinstance(v, bool) and v > 0]
    found = [v for v in found if v < _NO_LIMIT]
    return min(found) if found else None


class Batch:
    """
    Texts tokenized as one batch: ``inputs`` (padded on the right, truncated to
    *limit* tokens each), and ``dropped``, the tokens truncation cut off.
    """

    def __init__(self, inputs: Any, dropped: int) -> None:
        self.inputs, self.dropped = inputs, dropped


def _pad_token(tokenizer: Any) -> None:
    if tokenizer.pad_token is None:
        if tokenizer.eos_token is None:
            raise ValueError(
                "the tokenizer has neither a pad token nor an end-of-sequence token to pad "
                "the batch with; set tokenizer.pad_token first"
            )
        tokenizer.pad_token = tokenizer.eos_token


#: The most characters a token is taken to span: a text is cut to this many times the
#: tokens kept before the tokenizer sees it, so that memory never grows with a line.
CHARS_PER_TOKEN = 64
#: Characters tokenized at a time when counting what was cut off a long text.
COUNTED = 2**16


def _count(tokenizer: Any, text: str, cut: str) -> int:
    """How many tokens *text* has (*cut* is its beginning, as tokenized): the rest is
    counted a piece at a time, so memory stays bounded (a token split between two
    pieces may count twice)."""
    total = len(tokenizer(cut)["input_ids"])
    for start in range(len(cut), len(text), COUNTED):
        piece = text[start : start + COUNTED]
        total += len(tokenizer(piece, add_special_tokens=False)["input_ids"])
    return total


def tokenized(tokenizer: Any, texts: list[str], limit: int | None = None) -> Batch:
    """
    *texts* as one batch padded on the right, whatever the tokenizer's own side: there
    every real token keeps the position it has alone (left padding shifts the absolute
    positions of GPT-2 or BERT).  A tokenizer without a pad token gets its
    end-of-sequence token.  With *limit*, each text keeps at most that many tokens
    (the tokenizer's own truncation, which keeps ``[SEP]``, then a hard cut where a
    limit below the special tokens leaves it none; the tokenizer is given no more than
    `CHARS_PER_TOKEN` characters a token kept), and `Batch.dropped` counts the tokens
    cut off.
    """
    _pad_token(tokenizer)
    truncation = {} if limit is None else {"truncation": True, "max_length": limit}
    whole = texts
    if limit is not None:  # the tokenizer never sees more than the limit can keep
        texts = [text[: limit * CHARS_PER_TOKEN] for text in texts]
    side = getattr(tokenizer, "padding_side", None)
    tokenizer.padding_side = "right"
    try:
        inputs = tokenizer(texts, return_tensors="pt", padding=True, **truncation)
    finally:
        tokenizer.padding_side = side
    dropped = 0
    if limit is not None:
        lengths = inputs["attention_mask"].sum(dim=1)
        for text, cut, length in zip(whole, texts, lengths.tolist(), strict=True):
            if length >= limit:  # perhaps cut: how long was it?
                dropped += _count(tokenizer, text, cut) - min(length, limit)
        if inputs["input_ids"].shape[1] > limit:  # a limit below the special tokens
            inputs = type(inputs)({k: v[:, :limit] for k, v in inputs.items()})
    return Batch(inputs, dropped)


def one_text(
    tokenizer: Any,
    text: str | Sequence[str],
    *,
    model: nn.Module | None = None,
    max_length: int | None = None,
) -> Any:
    """
    One text (or a batch, padded as `tokenized` pads) as model inputs, cut to
    *max_length* tokens if given; `TooLong` where it has more tokens than *model* reads.
    """
    if isinstance(text, str):
        if max_length is None:
            inputs = tokenizer(text, return_tensors="pt")
        else:
            inputs = tokenizer(text[: max_length * CHARS_PER_TOKEN], return_tensors="pt",
                               truncation=True, max_length=max_length)  # fmt: skip
    else:
        inputs = tokenized(tokenizer, list(text), max_length).inputs
    limit = None if model is None else model_limit(model, tokenizer)
    if limit is not None and inputs["input_ids"].shape[-1] > limit:
        raise TooLong(int(inputs["input_ids"].shape[-1]), limit)
    return inputs


def as_ids(inputs: Any) -> torch.Tensor:
    """The input ids of a BatchEncoding or dict, (batch, seq)."""
    return torch.as_tensor(inputs["input_ids"])
