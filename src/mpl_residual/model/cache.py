"""TransformerLens activation caches, read by their hook names (TransformerLens itself
is never imported): the stream, and what wrote it."""


from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from .._arrays import as_index, check_index
from .._positions import find_token
from ..decomposition import Decomposition, decomposition_of
from ..grid import to_grid
from ..labels import layer_names
from ..stream import ResidualStream
from .masks import Positions, mask_tensor
from .text import label_tokens

__all__ = ["decompose", "from_cache", "hook_names"]

_BLOCK = re.compile(r"blocks\.(\d+)\.hook_resid_pre")
_FILTER = 'names_filter=lambda name: "hook_resid" in name'


def _keys(cache: Any) -> list[str]:
    keys = getattr(cache, "keys", None)
    if not callable(keys):
        raise TypeError(
            "cache must be a TransformerLens ActivationCache (or a dict of hook name to "
            f"tensor), as model.run_with_cache(tokens) returns; got {type(cache).__name__}"
        )
    return [str(key) for key in keys()]


def _n_layers(cache: Any, keys: Sequence[str]) -> int:
    cfg = getattr(getattr(cache, "model", None), "cfg", None)
    n = getattr(cfg, "n_layers", None)
    if isinstance(n, int) and n > 0:
        return n
    found = [int(m.group(1)) for key in keys if (m := _BLOCK.fullmatch(key))]
    if not found:
        raise ValueError(
            "the cache holds no blocks.{i}.hook_resid_pre: run the model with its residual "
            f"hooks cached, e.g. model.run_with_cache(tokens, {_FILTER})"
        )
    return max(found) + 1


def hook_names(n_layers: int) -> list[str]:
    """
    The hook read for each layer of a model with *n_layers* blocks.

    >>> hook_names(2)
    ['blocks.0.hook_resid_pre', 'blocks.1.hook_resid_pre', 'blocks.1.hook_resid_post']
    """
    return [f"blocks.{i}.hook_resid_pre" for i in range(n_layers)] + [
        f"blocks.{n_layers - 1}.hook_resid_post"
    ]


def _token_strings(tokens: Any, cache: Any) -> tuple[tuple[str, ...], tuple[int, ...]]:
    """Token strings and special positions from ids (decoded) or strings (as given)."""
    if tokens is None:
        return (), ()
    if isinstance(tokens, str):
        raise TypeError(
            "tokens must be the token ids the model ran on, or their strings "
            "(model.to_str_tokens(text)); got one str"
        )
    if isinstance(tokens, Sequence) and all(isinstance(t, str) for t in tokens):
        return tuple(tokens), ()
    ids = torch.as_tensor(tokens)
    if ids.ndim == 2:
        raise ValueError("tokens of a batch: pass the row of the sequence shown, tokens[i]")
    tokenizer = getattr(getattr(cache, "model", None), "tokenizer", None)
    if tokenizer is None:
        raise ValueError(
            "tokens are ids, but the cache's model has no tokenizer to spell them; pass "
            "their strings instead (model.to_str_tokens(text))"
        )
    return label_tokens(tokenizer, ids.flatten().tolist())


def _batchless(cache: Any) -> bool:
    """Whether ``remove_batch_dim()`` was called: the residuals are (pos, d_model)."""
    return cache["blocks.0.hook_resid_pre"].ndim == 2


def _batched(hidden: torch.Tensor, batchless: bool) -> torch.Tensor:
    """A cached activation with its batch dimension, as every cache has it."""
    return hidden[None] if batchless else hidden


def _where(
    cache: Any,
    first: torch.Tensor,
    batch_index: int,
    position: Any,
    tokens: Any,
    attention_mask: Any = None,
) -> tuple[int, int | slice, tuple[str, ...], tuple[int, ...]]:
    """The sequence and position of a cache asked for, and the texts of its tokens; with
    *attention_mask*, an integer *position* counts the real tokens of its sequence."""
    if first.ndim != 3:
        raise ValueError(
            f"expected cached residuals of shape (batch, pos, d_model); got {tuple(first.shape)}"
        )
    batch, seq = first.shape[:2]
    b = check_index(batch_index, batch, "batch_index", of=f"a batch of {batch}")
    texts, special = _token_strings(tokens, cache)
    if texts and len(texts) != seq:
        raise ValueError(f"{len(texts)} tokens for a cache of {seq} positions")
    if isinstance(position, str):
        if not texts:
            raise ValueError(f"position={position!r} names a token; pass tokens= to read them")
        return b, find_token(position, texts), texts, special
    if position is None:
        return b, slice(None), texts, special
    if attention_mask is not None:  # counted over the real tokens of the sequence
        positions = Positions(position, b, mask_tensor(attention_mask))
        positions.bind(batch, seq)
        return b, int(positions.kept), texts, special
    index = check_index(as_index(position, "position"), seq, "position", of=f"{seq} positions")
    return b, index, texts, special


def _model_name(cache: Any) -> str | None:
    name = getattr(getattr(getattr(cache, "model", None), "cfg", None), "model_name", None)
    return name if isinstance(name, str) and name else None


def from_cache(
    cache: Any,
    *,
    position: int | str | None = -1,
    batch_index: int = 0,
    rows: int | None = None,
    pad: bool = False,
    tokens: Any = None,
) -> ResidualStream:
    """
    The residual stream at one position, from a TransformerLens activation cache.

    The layers and their names are those of ``hf.capture(..., final="raw")``:
    ``"embeddings"`` (``blocks.0.hook_resid_pre``), then ``"block 0"`` ...
    ``"block L-1"`` (the stream after ``blocks.{i}``; the last is
    ``blocks.{L-1}.hook_resid_post``, before
    ``ln_final``), so that a HookedTransformer and its Hugging Face twin give the same
    picture.  See the table in the module docstring.

    Parameters
    ----------
    cache : ActivationCache
        From ``model.run_with_cache(tokens)`` of a ``HookedTransformer`` or a
        ``TransformerBridge``; with a batch dimension or without (``remove_batch_dim``).
    position : int, str or None, default: -1
        Which token, counted over the sequence as cached (padding included: the cache
        does not know the mask; a negative index counts from its end).  A string names
        a token by its text, as in `mpl_residual.hf.residual_stream`, and needs
        *tokens*.  None keeps every position.
    batch_index : int, default: 0
        Which sequence of the batch.
    rows, pad
        Grid rows, and NaN padding where *rows* does not divide ``d_model`` (`to_grid`).
    tokens : tensor or list, optional
        The token ids of the sequence the model ran on (decoded with the cache's model's
        tokenizer), or their strings (``model.to_str_tokens(text)``): labels for titles.

    Returns
    -------
    ResidualStream
        float32, ``(layers, rows, cols)`` (``(layers, tokens, rows, cols)`` with
        ``position=None``).

    Examples
    --------
    >>> logits, cache = model.run_with_cache(tokens)  # doctest: +SKIP
    >>> stream = tl.from_cache(cache, tokens=tokens[0])  # doctest: +SKIP
    >>> mr.residual_grid(stream, layer=-1, title=stream.title)  # doctest: +SKIP
    """
    keys = _keys(cache)
    n_layers = _n_layers(cache, keys)
    names = hook_names(n_layers)
    missing = [name for name in names if name not in keys]
    if missing:
        raise ValueError(
            f"the cache lacks {', '.join(missing[:3])}{' ...' if len(missing) > 3 else ''}: "
            f"cache every residual hook, e.g. model.run_with_cache(tokens, {_FILTER})"
        )
    batchless = _batchless(cache)
    hidden = [_batched(cache[name], batchless) for name in names]
    b, index, texts, special = _where(cache, hidden[0], batch_index, position, tokens)
    vectors = torch.stack([h[b, index].detach().to("cpu", torch.float32) for h in hidden])
    d_model = int(vectors.shape[-1])
    return ResidualStream(
        np.ascontiguousarray(to_grid(vectors.numpy(), rows, pad=pad)),
        tokens=texts,
        layer_names=layer_names(n_layers),
        position=None if position is None else index,
        model_name=_model_name(cache),
        d_model=d_model,
        special=special,
    )


def _needed(keys: Sequence[str], names: Sequence[str], example: str) -> None:
    missing = [name for name in names if name not in keys]
    if missing:
        raise ValueError(
            f"the cache lacks {', '.join(missing[:3])}{' ...' if len(missing) > 3 else ''}: "
            f"cache them, e.g. {example}"
        )


def _head_weights(cache: Any, block: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``W_O`` (heads, d_head, d_model) and ``b_O`` of a block's attention."""
    attention = getattr(getattr(cache, "model", None), "blocks", [None] * (block + 1))[block]
    attention = getattr(attention, "attn", None)
    weight, bias = getattr(attention, "W_O", None), getattr(attention, "b_O", None)
    if not isinstance(weight, torch.Tensor):
        raise ValueError(
            "heads=True splits hook_z by head through the model's W_O: the cache's model "
            "has none (a cache made by HookedTransformer.run_with_cache has)"
        )
    zero = torch.zeros(weight.shape[-1], dtype=weight.dtype)
    return weight.detach(), zero if bias is None else bias.detach()


def decompose(
    cache: Any,
    *,
    position: int | str = -1,
    heads: bool = False,
    rows: int | None = None,
    pad: bool = False,
    batch_index: int = 0,
    tokens: Any = None,
    attention_mask: Any = None,
) -> Decomposition:
    """
    The residual stream at one position split into what wrote it, from a
    TransformerLens activation cache: the same `Decomposition` that
    `mpl_residual.hf.decompose` makes of the same weights.

    ``"embeddings"`` is ``blocks.0.hook_resid_pre``; ``"block i attn"`` and ``"block i
    mlp"`` are ``blocks.{i}.hook_attn_out`` and ``blocks.{i}.hook_mlp_out``.  With
    ``heads=True``, ``"block i head h"`` is ``blocks.{i}.attn.hook_z`` of head *h*
    through its slice of ``W_O`` (what ``cache.stack_head_results`` gives), and
    ``"block i attn bias"`` is ``b_O`` where it is not zero.

    It equals `mpl_residual.hf.decompose` of the Hugging Face model whose weights the
    HookedTransformer holds **unprocessed**: loaded with
    ``HookedTransformer.from_pretrained_no_processing`` (or ``fold_ln=False,
    center_writing_weights=False, center_unembed=False, fold_value_biases=False``).
    TransformerLens's default processing changes the components, not their sum: it
    folds the value biases into ``b_O`` (so ``"block i attn bias"`` holds what the
    heads' value biases wrote, and the heads hold less), and centres every write
    (each component loses its mean over ``d_model``, which the next LayerNorm removes
    anyway).

    Parameters
    ----------
    cache : ActivationCache
        From ``model.run_with_cache(tokens)``.
    position : int or str, default: -1
        Which token, as in `from_cache`.
    heads : bool, default: False
        Split each attention block by head (needs ``hook_z`` and the cache's model).
    rows, pad
        How the components fold into grids (`to_grid`).
    batch_index, tokens
        As in `from_cache`.
    attention_mask : tensor or array, optional
        ``(batch, pos)``, 1 for real tokens, as the tokenizer gives it for a padded
        batch: an integer *position* then counts the real tokens of the sequence
        (``-1`` is its last real token, wherever the padding is).  A batch of more
        than one sequence needs it: the cache alone cannot tell padding from text.

    Returns
    -------
    Decomposition

    Examples
    --------
    >>> logits, cache = model.run_with_cache(tokens)  # doctest: +SKIP
    >>> parts = tl.decompose(cache, heads=True, tokens=tokens[0])  # doctest: +SKIP
    """
    keys = _keys(cache)
    n_layers = _n_layers(cache, keys)
    half = ("attn.hook_z",) if heads else ("hook_attn_out",)
    names = ["blocks.0.hook_resid_pre"] + [
        f"blocks.{i}.{hook}" for i in range(n_layers) for hook in (*half, "hook_mlp_out")
    ]
    kept = "z" if heads else "attn_out"
    _needed(keys, names, f'model.run_with_cache(tokens, names_filter=lambda n: "{kept}" in n '
            'or "mlp_out" in n or "resid_pre" in n)')  # fmt: skip
    if position is None:
        raise ValueError("a decomposition reads one position; give one (position=-1)")
    batchless = _batchless(cache)
    first = _batched(cache[names[0]], batchless)
    if attention_mask is None and first.shape[0] > 1:
        raise ValueError(
            f"the cache holds a batch of {first.shape[0]} sequences, which may be padded: "
            "pass attention_mask= (the tokenizer's) so that position counts real tokens"
        )
    b, index, texts, special = _where(
        cache, first, batch_index, position, tokens, attention_mask
    )
    at = lambda name: _batched(cache[name], batchless)[b, index].detach().double().cpu()  # noqa: E731
    components, vectors = ["embeddings"], [at(names[0])]
    for i in range(n_layers):
        if heads:
            weight, bias = _head_weights(cache, i)
            z = at(f"blocks.{i}.attn.hook_z")  # (heads, d_head)
            writes = torch.einsum("hd,hdm->hm", z, weight.double().cpu())
            components += [f"block {i} head {h}" for h in range(len(writes))]
            vectors += list(writes)
            if bool(bias.ne(0).any()):
                components.append(f"block {i} attn bias")
                vectors.append(bias.double().cpu())
        else:
            components.append(f"block {i} attn")
            vectors.append(at(f"blocks.{i}.hook_attn_out"))
        components.append(f"block {i} mlp")
        vectors.append(at(f"blocks.{i}.hook_mlp_out"))
    return decomposition_of(
        torch.stack(vectors).numpy(),
        components,
        rows=rows,
        pad=pad,
        tokens=texts,
        position=index,
        model_name=_model_name(cache),
        special=special,
    )
