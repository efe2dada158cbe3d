"""The residual stream at one position split into what wrote it: `decompose`."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import torch
from torch import nn

from .._positions import resolve
from ..decomposition import Decomposition, decomposition_of
from ..errors import NotDecomposable
from .anatomy import Anatomy
from .capture import on_device, tokenizer_of
from .hooks import Recorder, first_tensor, in_this_thread, run
from .masks import Positions
from .text import label_tokens, one_text
from .writers import find_writers, head_count, project

__all__ = ["WriteHooks", "component_writes", "decompose", "decomposed"]

#: How far the writes may be from what the block added, relative to the stream: float32
#: sums in another order differ by about 1e-7; half precision by about 1e-3.
TOLERANCE = {torch.float32: 1e-4, torch.float64: 1e-9}
HALF_TOLERANCE = 3e-2


def _sequence(hidden: torch.Tensor, shape: tuple[int, int]) -> torch.Tensor:
    """*hidden* as (batch, seq, width): OPT's MLP runs on (batch * seq, width)."""
    return hidden.reshape(*shape, hidden.shape[-1]) if hidden.ndim == 2 else hidden


def _norm_like(module: nn.Module) -> bool:
    return isinstance(module, nn.LayerNorm) or "norm" in type(module).__name__.lower()


class WriteHooks:
    """The hooks of a decomposition: what each writer gave, at the position kept (or,
    for `mpl_residual.hf.component_stats`, at every token counted)."""

    def __init__(self, anatomy: Anatomy, *, heads: bool, shape: tuple[int, int]) -> None:
        try:
            self.writers, self.missing = find_writers(anatomy, heads=heads), None
        except NotDecomposable as err:  # said after the run: a post-norm model says why
            self.writers, self.missing = [], err
        self.heads, self.shape = heads, shape
        self.first_block = anatomy.blocks[0]
        self.values: dict[tuple[str, int], torch.Tensor] = {}
        self.norms: dict[str, torch.Tensor] = {}

    def install(self, positions: Positions) -> list[Any]:
        handles = []

        def keep(key: tuple[str, int]) -> Callable:
            def hook(module: nn.Module, args: tuple, output: Any) -> None:
                self.values[key] = positions.take(_sequence(first_tensor(output), self.shape))

            return in_this_thread(hook)

        def keep_input(key: tuple[str, int]) -> Callable:
            def hook(module: nn.Module, args: tuple, kwargs: dict) -> None:
                given = args[0] if args else next(iter(kwargs.values()))
                self.values[key] = positions.take(_sequence(given, self.shape))

            return in_this_thread(hook)

        for i, writers in enumerate(self.writers):
            handles.append(writers.attention.register_forward_hook(keep(("attn", i))))
            handles.append(writers.mlp.register_forward_hook(keep(("mlp", i))))
            if self.heads:
                handles.append(
                    writers.projection.register_forward_pre_hook(
                        keep_input(("z", i)), with_kwargs=True
                    )
                )
                if writers.attention is not writers.attention_out:  # a post-norm between
                    handles.append(writers.attention_out.register_forward_hook(keep(("pre", i))))
        # the norms of the first block: is its output one of theirs (a post-norm model)?
        for name, module in self.first_block.named_modules():
            if name and _norm_like(module):

                def norm_hook(module: nn.Module, args: tuple, output: Any, name=name) -> None:
                    hidden = _sequence(first_tensor(output), self.shape)
                    if hidden.ndim == 3:  # not a norm of each head's queries (Gemma 3)
                        self.norms[name] = positions.take(hidden)

                handles.append(module.register_forward_hook(in_this_thread(norm_hook)))
        return handles


def _close(a: torch.Tensor, b: torch.Tensor, tolerance: float) -> bool:
    """Whether *a* and *b* agree to *tolerance* of their scale where both are finite: a
    model that makes inf or NaN is shown doing so, not refused as undecomposable."""
    finite = torch.isfinite(a) & torch.isfinite(b)
    if not bool(finite.all()):
        a, b = a[finite], b[finite]
        if not a.numel():
            return True
    scale = max(float(a.abs().max()), float(b.abs().max()), 1e-30)
    return float((a - b).abs().max()) <= tolerance * scale


def _renormalised_by(kept: WriteHooks, output: torch.Tensor) -> str | None:
    """The norm of the first block whose output is the block's own (a post-norm model)."""
    for name, value in reversed(kept.norms.items()):
        if value.shape == output.shape and _close(value, output, 1e-6):
            return name
    return None


def _not_decomposable(model: nn.Module, kept: WriteHooks, output: torch.Tensor) -> NotDecomposable:
    """Why the writes found do not make the stream: a post-norm, or an unknown writer."""
    block = type(kept.first_block).__name__
    norm = _renormalised_by(kept, output)
    if norm is not None:
        return NotDecomposable(
            f"{type(model).__name__} is a post-norm model (BERT-style): each block "
            f"renormalises the stream after adding to it ({block}'s output is its "
            f"{norm!r}), so what the blocks write does not add up to the stream"
        )
    if kept.missing is not None:
        return kept.missing
    return NotDecomposable(
        f"what the rules find in {block} (its attention and MLP) does not add up to what "
        f"the block adds to the stream in {type(model).__name__}: it writes elsewhere "
        "too, and no rule here covers it"
    )


def component_writes(
    anatomy: Anatomy,
    kept: WriteHooks,
    stream: list[torch.Tensor],
    *,
    heads: bool,
    check: bool = True,
) -> Iterator[tuple[list[str], torch.Tensor]]:
    """
    What each component wrote, from what *kept*'s hooks kept and the *stream* (what
    each block was given, then what the last gave), as groups ``(names, writes)``:
    ``writes`` is float64 ``(len(names), ..., d_model)`` on the device of the block
    that wrote it, ``...`` one position or every token counted.  Each block's writes
    are checked against what it added to the stream (where *check*: a pass over a
    corpus checks its first batch, which settles whether the rules hold for the model).
    """
    if kept.missing is not None:
        raise _not_decomposable(anatomy.module, kept, stream[1])
    dtype = next(anatomy.module.parameters()).dtype
    tolerance = TOLERANCE.get(dtype, HALF_TOLERANCE)
    n_heads = head_count(anatomy) if heads else 0
    yield ["embeddings"], stream[0].double()[None]
    for i, writers in enumerate(kept.writers):
        attention, mlp = kept.values[("attn", i)].double(), kept.values[("mlp", i)].double()
        if check:
            before, after = stream[i].to(attention.device), stream[i + 1].to(attention.device)
            added = before.double() + attention + mlp.to(attention.device)
            if not _close(after.double(), added, tolerance):
                raise _not_decomposable(anatomy.module, kept, stream[1])
        if heads:
            writes, bias = project(writers.projection, kept.values[("z", i)], n_heads)
            writes = writes.to(attention.device)
            bias = None if bias is None else bias.to(attention.device).expand_as(attention)
            if ("pre", i) in kept.values:  # a post-norm: linear at its scale here
                before = kept.values[("pre", i)].double()
                factor = torch.where(before != 0, attention / before, torch.zeros_like(before))
                writes = writes * factor
                bias = None if bias is None else bias * factor
            total = writes.sum(dim=0) + (0 if bias is None else bias) if check else None
            if check and not _close(total, attention, tolerance):
                raise NotDecomposable(
                    f"the heads of block {i} do not add up to what its attention writes: "
                    f"{type(writers.projection).__name__} is not its last step"
                )
            yield [f"block {i} head {h}" for h in range(n_heads)], writes
            if bias is not None:
                yield [f"block {i} attn bias"], bias[None]
        else:
            yield [f"block {i} attn"], attention[None]
        yield [f"block {i} mlp"], mlp[None]


def decomposed(
    anatomy: Anatomy, inputs: Any, index: int, *, heads: bool
) -> tuple[list[str], list[torch.Tensor], Recorder]:
    """
    One forward with the hooks of a decomposition at position *index*: the names and
    float64 vectors of the components (embeddings first), on the CPU, and the recorder
    of the run (its ``raw`` is the last block's output), each write checked against
    the stream.
    """
    shape = tuple(inputs["input_ids"].shape)
    kept = WriteHooks(anatomy, heads=heads, shape=shape)
    recorder = run(anatomy, on_device(anatomy.module, inputs), position=index, more=kept.install)
    names: list[str] = []
    vectors: list[torch.Tensor] = []
    stream = [*recorder.layers, recorder.raw]
    for group, writes in component_writes(anatomy, kept, stream, heads=heads):
        names += group
        vectors += list(writes.cpu())
    return names, vectors, recorder


def decompose(
    model: nn.Module,
    tokenizer: Any,
    text: str,
    *,
    position: int | str = -1,
    heads: bool = False,
    rows: int | None = None,
    pad: bool = False,
) -> Decomposition:
    """
    The residual stream at one position split into what wrote it.

    One forward pass with hooks (no ``output_hidden_states``, no LM head) keeps, at
    the position asked for, the embeddings (the input of the first block: token and
    position embeddings, scaled, as the model adds them) and what each block's
    attention and MLP add to the stream, after any post-norm (Gemma 2 and 3 norm each
    half's output before adding it).  They add up to the stream: ``.stream()`` equals
    ``capture(..., final="raw")``.  Memory is ``O(components x d_model)``.

    With ``heads=True`` each attention block is split by head, without a second
    forward: the input of its output projection at this position, split by head,
    times that head's slice of the projection's weight (``"block i head h"``), and the
    projection's bias on its own (``"block i attn bias"``) where it has one.  Behind a
    post-norm the heads are taken at its scale at this position, which is exact for
    the sum (see the decomposition page of the documentation).

    Parameters
    ----------
    model : transformers model or nnsight LanguageModel
        A pre-norm transformer: GPT-2, GPT-J, GPT-NeoX, Phi, Llama, Mistral, Qwen2,
        Gemma, Gemma 2 and 3, OPT, Falcon and their like.
    tokenizer
        Its tokenizer (None: the wrapper's own).
    text : str
        One text.
    position : int or str, default: -1
        Which token, as in `residual_stream` (``-1``: the last word; a token's text).
    heads : bool, default: False
        Split each attention block by head.
    rows, pad
        How the components fold into grids (`to_grid`).

    Returns
    -------
    Decomposition
        ``.values`` ``(components, rows, cols)``, ``.names``, ``.tokens``,
        ``.position``, ``.model_name``; it draws wherever a stream does.

    Raises
    ------
    NotDecomposable
        (a ValueError) A post-norm model (BERT-style), whose stream is renormalised
        after each addition, or a model whose blocks the rules do not cover: one line
        that says which and why.

    Examples
    --------
    >>> text = "Paris is the capital of"
    >>> parts = hf.decompose(model, tokenizer, text, heads=True)  # doctest: +SKIP
    >>> mr.contributions(parts, [447])  # doctest: +SKIP
    """
    tokenizer = tokenizer_of(model, tokenizer)
    if not isinstance(text, str):
        raise TypeError(f"text must be one str; got {type(text).__name__}")
    anatomy = Anatomy.of(model)
    inputs = one_text(tokenizer, text, model=anatomy.module)
    tokens, special = label_tokens(tokenizer, inputs["input_ids"][0])
    index = resolve(position, tokens, special)
    names, vectors, _ = decomposed(anatomy, inputs, index, heads=heads)
    return decomposition_of(
        torch.stack(vectors).numpy(),
        names,
        rows=rows,
        pad=pad,
        tokens=tokens,
        position=index,
        model_name=anatomy.name,
        special=special,
    )
