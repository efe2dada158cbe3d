"""Which tokens of a batch are real, which one is asked for, and where they sit."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch

from .._arrays import as_index, check_index

__all__ = ["Positions", "left_padded", "mask_tensor", "position_ids"]


def mask_tensor(attention_mask: Any) -> torch.Tensor | None:
    """An attention mask (a tensor, an array or a BatchEncoding) as (batch, seq) on the CPU."""
    if attention_mask is None:
        return None
    if isinstance(attention_mask, Mapping):  # a BatchEncoding or a dict of inputs
        if "attention_mask" not in attention_mask:
            raise ValueError(
                "attention_mask was given a mapping without an 'attention_mask' entry; "
                f"keys: {sorted(attention_mask)}"
            )
        attention_mask = attention_mask["attention_mask"]
    mask = torch.as_tensor(attention_mask)
    if mask.ndim == 1:
        mask = mask[None]
    if mask.ndim != 2:
        raise ValueError(f"attention_mask must have shape (batch, seq); got {tuple(mask.shape)}")
    return mask.detach().cpu()


def left_padded(mask: torch.Tensor | None) -> bool:
    """Whether a real token follows padding in some sequence of the batch."""
    return mask is not None and bool((mask[:, 1:] > mask[:, :-1]).any())


def position_ids(mask: torch.Tensor) -> torch.Tensor:
    """
    Each real token's position among the real tokens of its sequence, as a model with
    absolute positions must be given it when the batch is padded on the left (padding
    gets 1, as transformers' ``generate`` gives it; it is never attended to).
    """
    ids = mask.long().cumsum(dim=1) - 1
    return ids.masked_fill(mask == 0, 1)


class Positions:
    """Binds ``batch_index`` and ``position`` to a (batch, seq) shape and mask."""

    def __init__(self, position: int | None, batch_index: int, mask: torch.Tensor | None):
        self.position = None if position is None else as_index(position, "position")
        self.batch_index = as_index(batch_index, "batch_index")
        self.mask = mask
        self.batch: int | None = None
        self.real: torch.Tensor | None = None  # indices of the real tokens
        self.kept: torch.Tensor | None = None  # indices kept along the sequence

    def bind(self, batch: int, seq: int) -> None:
        """Check the position and the mask against a (batch, seq) shape, and settle
        which tokens are real and which are kept."""
        self.batch = check_index(self.batch_index, batch, "batch_index", of=f"a batch of {batch}")
        if self.mask is not None:
            if tuple(self.mask.shape) != (batch, seq):
                raise ValueError(
                    f"attention_mask has shape {tuple(self.mask.shape)} but the sequences "
                    f"are (batch, seq) = ({batch}, {seq})"
                )
            self.real = torch.nonzero(self.mask[self.batch]).flatten()
        else:
            self.real = torch.arange(seq)
        if self.position is None:
            self.kept = self.real
            return
        n = len(self.real)
        where = (
            f"sequence {self.batch} with {n} real tokens (length {seq} after padding)"
            if self.mask is not None
            else f"a sequence of {seq} positions"
        )
        self.kept = self.real[check_index(self.position, n, "position", of=where)]

    @property
    def index(self) -> int | None:
        """The kept position as an index into the real tokens (None: all kept)."""
        return None if self.position is None else self.position % len(self.real)

    def take(self, hidden: torch.Tensor) -> torch.Tensor:
        """The kept vector(s) of one hidden-state tensor on the CPU: float32, or float64
        from a float64 model (so that its writes are checked to its own precision)."""
        if hidden.ndim != 3:
            raise ValueError(
                f"expected hidden states of shape (batch, seq, d_model); got {tuple(hidden.shape)}"
            )
        if self.kept is None:
            self.bind(hidden.shape[0], hidden.shape[1])
        kept = self.kept.to(hidden.device) if self.kept.ndim else self.kept
        dtype = torch.float64 if hidden.dtype == torch.float64 else torch.float32
        return hidden[self.batch, kept].detach().to("cpu", dtype, copy=True)
