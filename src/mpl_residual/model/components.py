"""What every component writes to every dimension over a corpus: `component_stats`."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from ..component_stats import ComponentMoments, ComponentStats
from .anatomy import Anatomy
from .capture import on_device, tokenizer_of
from .corpus import over_corpus, spelled
from .decompose import WriteHooks, component_writes
from .hooks import run
from .writers import head_count

__all__ = ["component_stats"]


class _Counted:
    """
    The tokens a batch counts, taken out of any (batch, seq, width) hidden states on
    their own device, in the model's dtype: what the hooks keep (`WriteHooks` calls it
    ``take``, as it calls a position's).
    """

    def __init__(self, keep: torch.Tensor) -> None:
        self.flat = torch.flatten(keep).nonzero().squeeze(1)
        self.on: dict[torch.device, torch.Tensor] = {}

    def take(self, hidden: torch.Tensor) -> torch.Tensor:
        device = hidden.device
        if device not in self.on:
            self.on[device] = self.flat.to(device)
        return hidden.reshape(-1, hidden.shape[-1]).index_select(0, self.on[device])


#: The most numbers a group of writes holds at a time (4 MiB of float64): a batch is
#: taken that many tokens at a time (`_chunk`), so that every large tensor of its
#: reduction has the same, small size: it stays in the cache for the passes that read
#: it, and the allocator reuses it instead of holding ever more (GPT-2 small with heads
#: took 0.9 to 1.7 GB of resident memory in 256-token chunks, 0.9 GB flat in 64).
ELEMENTS = 2**19


def _chunk(group: int, d_model: int) -> int:
    """Tokens a chunk: `ELEMENTS` over the largest group's (heads') numbers a token, at
    least 16 (a small model's batch is one chunk: its cost is kernel launches)."""
    return max(16, ELEMENTS // (group * d_model))


def _reduced(writes: torch.Tensor, stream: torch.Tensor) -> list[torch.Tensor]:
    """
    The sums of one group of writes ``(k, tokens, d_model)`` float64 over its tokens:
    mean, squared deviations (two passes: exact where ``sum(x**2) - n * mean**2``
    cancels, and faster than ``var_mean`` across the middle axis), sum of ``|write|``,
    largest ``|write|`` and its token (the first of equals), and the sum of the write
    times the *stream* it ends in (``(tokens, d_model)``, float64, on the same device).
    """
    mean = writes.mean(dim=1)
    m2 = (writes - mean[:, None]).square_().sum(dim=1)
    magnitude = writes.abs()
    largest, at = magnitude.max(dim=1)
    return [mean, m2, magnitude.sum(dim=1), largest, at, (writes * stream).sum(dim=1)]


def _merged(total: list[torch.Tensor], part: list[torch.Tensor], count: int, n: int) -> None:
    """*part*'s sums (*n* tokens, later ones) merged into *total*'s (*count* tokens), as
    the moments of two sets merge (Chan et al.); of equal maxima the earlier stays, NaN
    wins."""
    delta = part[0] - total[0]
    share = n / (count + n)
    total[1] = total[1] + part[1] + delta.square() * (count * share)
    total[0] = total[0] + delta * share
    total[2] = total[2] + part[2]
    wins = (part[3] > total[3]) | (part[3].isnan() & ~total[3].isnan())
    total[3] = torch.where(wins, part[3], total[3])
    total[4] = torch.where(wins, part[4], total[4])
    total[5] = total[5] + part[5]


def _batch_moments(
    anatomy: Anatomy,
    inputs: Any,
    keep: torch.Tensor,
    where: torch.Tensor,
    *,
    heads: bool,
    check: bool,
) -> tuple[list[str], ComponentMoments]:
    """One forward over a batch, and the moments of what each component wrote to the
    tokens *keep* marks (*where*: their ``(text, position, token id)``), on the CPU;
    with *check*, the writes are checked against the stream (`component_writes`)."""
    counted = _Counted(keep)
    shape = tuple(inputs["input_ids"].shape)
    kept = WriteHooks(anatomy, heads=heads, shape=shape)
    recorder = run(
        anatomy,
        on_device(anatomy.module, inputs),
        take=counted.take,
        more=lambda _: kept.install(counted),  # every token counted, not one position
    )
    whole_stream = [*recorder.layers, recorder.raw]
    whole_values = kept.values
    final = recorder.raw.double()
    first = final.device  # a model split by device_map reduces each block where it is
    energy = final.square().sum(dim=0)
    names: list[str] = []
    total: list[torch.Tensor] = []
    n_tokens = len(where)
    chunk = _chunk(head_count(anatomy) if heads else 1, final.shape[-1])
    for start in range(0, n_tokens, chunk):
        taken = slice(start, start + chunk)
        kept.values = {key: value[taken] for key, value in whole_values.items()}
        stream = [layer[taken] for layer in whole_stream]
        on: dict[torch.device, torch.Tensor] = {}
        parts, names = [], []
        found = component_writes(anatomy, kept, stream, heads=heads, check=check and not start)
        for group, writes in found:
            if writes.device not in on:
                on[writes.device] = final[taken].to(writes.device)
            names += group
            parts.append(_reduced(writes, on[writes.device]))
        part = [torch.cat([p[i].to(first) for p in parts]) for i in range(6)]
        part[4] = part[4] + start
        if not total:
            total = part
        else:
            _merged(total, part, start, min(chunk, n_tokens - start))
    mean, m2, sum_abs, absmax, at, cross = (t.cpu() for t in total)
    located = where.numpy()[at.numpy()]  # (components, d_model, 3)
    return names, ComponentMoments(
        count=np.full(len(names), n_tokens, dtype=np.int64),
        mean=mean.numpy(),
        m2=m2.numpy(),
        sum_abs=sum_abs.numpy(),
        absmax=absmax.numpy(),
        where_text=located[..., 0],
        where_position=located[..., 1],
        where_token=located[..., 2],
        cross=cross.numpy(),
        energy=energy.cpu().numpy(),
    )


@dataclass(frozen=True)
class _Named:
    """The moments of some batches and the names of their components."""

    names: list[str]
    moments: ComponentMoments

    def merge(self, other: _Named) -> _Named:
        if other.names != self.names:  # the same model on every process: never
            raise RuntimeError("the processes found other components in the same model")
        return _Named(self.names, self.moments.merge(other.moments))


def component_stats(
    model: nn.Module,
    tokenizer: Any,
    texts: Iterable[str],
    *,
    heads: bool = False,
    batch_size: int = 8,
    max_length: int | None = None,
    progress: bool = True,
    special: bool = False,
    rows: int | None = None,
    pad: bool = False,
) -> ComponentStats:
    """
    What every component writes to every dimension, over every real token of a corpus.

    The components are those of `decompose` (same names, same order, blocks counted
    from 0): the embeddings, and each block's attention (or, with *heads*, each head,
    from the output projection's input at every token, and the projection's bias) and
    MLP.  The model runs on batches of *texts* with hooks (no
    ``output_hidden_states``); each batch's writes at the tokens counted are reduced on
    the model's device in float64 and moved to the CPU once, and the sums of all
    batches merge exactly (`ComponentStats.merge`), so memory is one batch of
    activations whatever the size of the corpus.  Padding is never counted; special
    tokens (``<s>``, ``[CLS]``) are not unless *special*.  Texts are cut to
    *max_length* tokens and always to what the model reads (a `TruncationWarning`
    says how many tokens were dropped).

    Per component and dimension it keeps ``count``, ``mean`` (signed), ``mean_abs``,
    ``std``, ``absmax`` and where that was (`ComponentStats.where`), and ``share``:
    the component's share of the stream's mean square in that dimension,
    ``sum_t write * x / sum_t x**2`` with ``x`` the stream the writes add up to (the
    last block's output, before the final norm), so that the shares of all components
    sum to 1; it is defined wherever that stream is not 0 at every token (NaN there),
    unlike a per-token ratio ``write / x``, which is not where ``x`` passes 0.

    Under ``torchrun`` or ``accelerate launch`` each process takes every n-th batch and
    the processes merge their sums at the end (text numbers stay those of the whole
    corpus), so the result, on every process, equals a one-process run.

    Parameters
    ----------
    model, tokenizer
        A pre-norm transformers model (as `decompose` takes) and its tokenizer.
    texts : iterable of str
        A list, a generator, a ``datasets.Dataset`` column...: read once, in order.
    heads : bool, default: False
        Split each attention block by head.
    batch_size : int, default: 8
        Texts per forward pass.
    max_length : int, optional
        Truncate each text to this many tokens (special tokens included).
    progress : bool, default: True
        A progress bar (tqdm, where installed; on the main process only).
    special : bool, default: False
        Count the tokenizer's special tokens too.
    rows, pad
        How the fields fold into grids (`to_grid`).

    Returns
    -------
    ComponentStats

    Raises
    ------
    NotDecomposable
        As `decompose`: a post-norm model, or one whose blocks the rules do not cover.
    EmptyCorpus
        No token to count.

    Examples
    --------
    >>> stats = hf.component_stats(model, tokenizer, texts, heads=True)  # doctest: +SKIP
    >>> mr.head_grid(stats, 447)  # each head's mean write to dimension 447  # doctest: +SKIP
    """
    tokenizer = tokenizer_of(model, tokenizer)
    anatomy = Anatomy.of(model)
    heads = bool(heads)

    checked = []  # the first batch checks that the writes add up to the stream

    def reduced(inputs: Any, keep: torch.Tensor, where: torch.Tensor) -> _Named:
        found = _batch_moments(anatomy, inputs, keep, where, heads=heads, check=not checked)
        checked.append(True)
        return _Named(*found)

    named, n_texts, dropped = over_corpus(
        anatomy, tokenizer, texts, reduced, batch_size=batch_size, max_length=max_length,
        special=special, progress=progress, desc="component stats",
    )  # fmt: skip
    total, names = named.moments, named.names
    vocabulary, (where_token,) = spelled(tokenizer, total.where_token)
    return ComponentStats(
        ComponentMoments(**{**total.arrays(), "where_token": where_token}),
        names=tuple(names),
        n_texts=n_texts,
        model_name=anatomy.name,
        tokens=vocabulary,
        rows=rows,
        pad=pad,
        special=special,
        max_length=max_length,
        dropped_tokens=dropped,
    )
