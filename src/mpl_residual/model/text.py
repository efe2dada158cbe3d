"""
Text through a tokenizer: batches padded the one way that keeps positions, truncated
to what the model can read, and token labels (the strings, and which are special).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

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


def tokenized(tokenizer: Any, texts: list[str], limit: int | None = None) -> Batch:
    """
    *texts* as one batch padded on the right, whatever the tokenizer's own side: there
    every real token keeps the position it has alone (left padding shifts the absolute
    positions of GPT-2 or BERT).  A tokenizer without a pad token gets its
    end-of-sequence token.  With *limit*, each text keeps at most that many tokens
    (the tokenizer's own truncation, which keeps ``[SEP]``, then a hard cut where a
    limit below the special tokens leaves it none), and `Batch.dropped` counts the
    tokens cut off.
    """
    _pad_token(tokenizer)
    truncation = {} if limit is None else {"truncation": True, "max_length": limit}
    side = getattr(tokenizer, "padding_side", None)
    tokenizer.padding_side = "right"
    try:
        inputs = tokenizer(texts, return_tensors="pt", padding=True, **truncation)
    finally:
        tokenizer.padding_side = side
    dropped = 0
    if limit is not None:
        lengths = inputs["attention_mask"].sum(dim=1)
        for text, length in zip(texts, lengths.tolist(), strict=True):
            if length >= limit:  # perhaps cut: how long was it?
                dropped += len(tokenizer(text)["input_ids"]) - min(length, limit)
        if inputs["input_ids"].shape[1] > limit:  # a limit below the special tokens
            inputs = type(inputs)({k: v[:, :limit] for k, v in inputs.items()})
    return Batch(inputs, dropped)


def one_text(tokenizer: Any, text: str | Sequence[str]) -> Any:
    """One text (or a batch, padded as `tokenized` pads) as model inputs."""
    if isinstance(text, str):
        return tokenizer(text, return_tensors="pt")
    return tokenized(tokenizer, list(text)).inputs


def as_ids(inputs: Any) -> torch.Tensor:
    """The input ids of a BatchEncoding or dict, (batch, seq)."""
    return torch.as_tensor(inputs["input_ids"])
