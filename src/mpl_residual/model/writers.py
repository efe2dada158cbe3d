"""
Where each block writes to the residual stream: its attention and its MLP (after any
post-norm, as Gemma 2 has), and the attention's output projection, found by the names
transformers gives them.  The rules are checked at run time: what they find must add
up to what the block adds (`decompose` says so when it does not).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from ..errors import NotDecomposable
from .anatomy import Anatomy, text_config
from .weights import loaded

__all__ = ["BlockWriters", "find_writers", "head_count", "project"]

#: What transformers calls a block's attention, its MLP, and an attention's output
#: projection.  OPT's MLP is no module of its own: its last layer, ``fc2``, writes.
ATTENTION = ("attn", "self_attn", "attention", "self_attention")
MLP = ("mlp", "feed_forward", "ffn", "fc2")
PROJECTION = ("c_proj", "o_proj", "out_proj", "dense")
#: Gemma 2 and 3 norm what each half writes before adding it ("sandwich" norms).
POST_NORMS = ("post_attention_layernorm", "post_feedforward_layernorm")


def _child(module: nn.Module, names: tuple[str, ...]) -> tuple[str, nn.Module] | None:
    children = dict(module.named_children())
    for name in names:
        if name in children:
            return name, children[name]
    return None


@dataclass(frozen=True)
class BlockWriters:
    """
    What writes to the stream in one block: the modules whose outputs are added to it
    (`attention`, `mlp`, or the post-norms after them), the attention's output
    projection (for heads), and the attention module itself when a post-norm stands
    between it and the stream (its output is the post-norm's input).
    """

    attention: nn.Module
    mlp: nn.Module
    projection: nn.Module | None
    attention_out: nn.Module  # the attention module (before any post-norm)


def _missing(block: nn.Module, what: str, names: tuple[str, ...], index: int) -> NotDecomposable:
    return NotDecomposable(
        f"cannot decompose {type(block).__name__}: no {what} in block {index} (looked for "
        f"{', '.join(names)}; it has {', '.join(dict(block.named_children())) or 'no children'})"
    )


def find_writers(anatomy: Anatomy, *, heads: bool) -> list[BlockWriters]:
    """The writers of every block, or `NotDecomposable` naming what was not found."""
    found = []
    for index, block in enumerate(anatomy.blocks):
        attention = _child(block, ATTENTION)
        if attention is None:
            raise _missing(block, "attention", ATTENTION, index)
        mlp = _child(block, MLP)
        if mlp is None:
            raise _missing(block, "MLP", MLP, index)
        projection = _child(attention[1], PROJECTION)
        if heads and projection is None:
            raise _missing(attention[1], "output projection", PROJECTION, index)
        writes_attention, writes_mlp = attention[1], mlp[1]
        sandwich = _child(block, ("pre_feedforward_layernorm",)) is not None  # Gemma 2, 3
        if sandwich:
            norms = [_child(block, (name,)) for name in POST_NORMS]
            if None in norms:
                raise _missing(block, "post-norm", POST_NORMS, index)
            writes_attention, writes_mlp = norms[0][1], norms[1][1]
        found.append(
            BlockWriters(
                attention=writes_attention,
                mlp=writes_mlp,
                projection=None if projection is None else projection[1],
                attention_out=attention[1],
            )
        )
    return found


def head_count(anatomy: Anatomy) -> int:
    """The number of attention heads, from the config."""
    config = text_config(anatomy.module)
    for name in ("num_attention_heads", "n_head", "num_heads"):
        value = getattr(config, name, None)
        if isinstance(value, int) and value > 0:
            return value
    raise NotDecomposable(
        f"cannot split {type(anatomy.module).__name__}'s attention by head: its config "
        "says no head count (num_attention_heads, n_head, num_heads)"
    )


def _weight(projection: nn.Module) -> torch.Tensor:
    """The projection's weight as (out = d_model, in = heads x head_dim)."""
    weight = projection.weight
    if isinstance(projection, nn.Linear):
        return weight
    if type(projection).__name__ == "Conv1D":  # GPT-2's: (in, out)
        return weight.T
    raise NotDecomposable(
        f"cannot split {type(projection).__name__} by head: an output projection is an "
        "nn.Linear or a GPT-2 Conv1D"
    )


def project(projection: nn.Module, z: torch.Tensor, n_heads: int) -> tuple[torch.Tensor, Any]:
    """
    What each head writes through the output projection, float64 on the projection's
    device: ``(heads, ..., d_model)`` from the projection's input *z* (``(...,
    heads x head_dim)``: one position, or every token counted), and the projection's
    bias (``(d_model,)`` float64), or None.
    """
    width = z.shape[-1]
    if width % n_heads:
        raise NotDecomposable(
            f"the output projection reads {width} values, not a whole head_dim for each of "
            f"{n_heads} heads"
        )
    with loaded(projection):  # offloaded weights: brought by accelerate, this module alone
        weight = _weight(projection).detach()
        leading = z.shape[:-1]  # one position, or every token counted
        per_head = z.to(weight.device, torch.float64).reshape(-1, n_heads, width // n_heads)
        slices = weight.double().reshape(weight.shape[0], n_heads, width // n_heads)
        # (h, tokens, hd) @ (h, hd, d_model): one batched product, as BLAS does it best
        writes = torch.bmm(per_head.transpose(0, 1), slices.permute(1, 2, 0))
        writes = writes.reshape(n_heads, *leading, weight.shape[0])
        bias = getattr(projection, "bias", None)
        bias = None if bias is None else bias.detach().to(weight.device, torch.float64)
    return writes, bias
