"""Statistics of every dimension at every layer over a corpus, data-parallel if launched so."""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from typing import Any, Literal, Protocol

import numpy as np
import torch
from torch import nn

from ..errors import EmptyCorpus
from ..labels import layer_names
from ..outliers import magnitudes, median_ratio, ratios_to, row_medians
from ..stats import DimensionStats, Moments
from .anatomy import Anatomy
from .capture import on_device, tokenizer_of
from .hooks import check_final, run
from .lens import check_k
from .text import model_limit, special_ids, tokenized

__all__ = [
    "TruncationWarning",
    "dimension_stats",
    "distributed",
    "over_corpus",
    "spelled",
]


class TruncationWarning(UserWarning):
    """Texts longer than the model reads were cut to its limit."""


def magnitude_ratios(magnitude: torch.Tensor) -> torch.Tensor:
    """
    `mpl_residual.outliers.median_ratio` of (tokens, d_model) magnitudes, on their
    device: float64, each over the median of its own row, computed as numpy does (the
    mean of the two middle values for an even width), 0 where the median is 0.  Rows
    with NaN or infinities go through `median_ratio` itself, which leaves them out of
    the median.
    """
    if not bool(torch.isfinite(magnitude).all()):
        ratios = median_ratio(magnitude.double().cpu().numpy())
        return torch.from_numpy(ratios).to(magnitude.device)
    # The two middle values without sorting (a sort was a fifth of a MiniLM forward):
    # the smaller half and one, unsorted; its largest is the upper middle value, its
    # second largest the lower one (the same for an odd width).
    n = magnitude.shape[-1]
    half = magnitude.topk(n // 2 + 1, dim=-1, largest=False, sorted=False).values
    top = half.topk(min(2, n), dim=-1).values.double()
    upper = top[..., :1]
    median = upper if n % 2 else (top[..., 1:2] + upper) / 2  # in float64, as numpy
    ratios = magnitude.double() / median
    return torch.where(median > 0, ratios, torch.zeros_like(ratios))


class Scratch:
    """
    Arrays that the CPU reductions reuse from hook to hook and batch to batch, each
    grown to the largest batch seen.  Fresh arrays of a few hundred kB can come from
    the system at every hook (glibc maps blocks that size and gives them back when
    they are freed), and then their page faults cost more than the arithmetic: hooks
    of 160 tokens by 384 alone, 1.5 ms each against 0.43 ms with the arrays kept;
    inside MiniLM's forward, 0.75 ms against 0.70.
    """

    def __init__(self) -> None:
        self._kept: dict[str, np.ndarray] = {}

    def __call__(self, name: str, shape: tuple[int, int], dtype: Any) -> np.ndarray:
        """An uninitialised array *name* of *shape* and *dtype*, kept for the next call."""
        size = shape[0] * shape[1]
        kept = self._kept.get(name)
        if kept is None or kept.size < size or kept.dtype != dtype:
            kept = self._kept[name] = np.empty(size, dtype)
        return kept[:size].reshape(shape)


def cpu_moments(x: np.ndarray, scratch: Scratch | None = None) -> tuple[np.ndarray, ...]:
    """
    What `BatchMoments` keeps of the counted tokens *x* (tokens, d_model), float32 or
    float64, in numpy: on the CPU a dozen reductions of a few hundred tokens take half
    the time they take as torch's kernels (each starts its thread pool), and numpy's
    sort finds the medians in a third of the time of torch's ``topk``.  The same
    results, as float64, and each maximum's token (the first where there are ties).
    The work arrays come from *scratch* (the returned ones are new).
    """
    scratch = Scratch() if scratch is None else scratch
    n, width = x.shape
    # Each dimension's tokens in a row: reductions over tokens run along memory (an
    # argmax down the columns took 90 us, along rows 12).
    exact = scratch("exact", (width, n), np.float64)
    np.copyto(exact, x.T)
    work = scratch("work", (width, n), np.float64)
    with np.errstate(invalid="ignore", over="ignore"):  # inf in, NaN out, as torch's
        mean = exact.mean(axis=1)
        deviation = np.subtract(exact, mean[:, None], out=work)  # two passes: exact where
        m2 = np.einsum("ij,ij->i", deviation, deviation)  # sum(x**2) - n mean**2 cancels
    magnitude = np.abs(x.T, out=scratch("magnitude", (width, n), x.dtype))
    dims = np.arange(width)
    at = magnitude.argmax(axis=1)  # NaN first, as torch's max
    # the rule of `median_ratio`, each token's median from its own row, the ratios in
    # the columns' order; a column with NaN or inf has no finite mean (the fast path
    # needs none: a mean that overflows only sends its batch the long way)
    if np.isfinite(mean).all():
        median = row_medians(np.abs(x, out=scratch("rows", (n, width), x.dtype)), overwrite=True)
        ratios = ratios_to(np.abs(exact, out=work), median, overwrite=True)
    else:
        ratios = ratios_to(magnitudes(exact), row_medians(magnitudes(x, x.dtype)))
    ratio_at = ratios.argmax(axis=1)
    return (
        mean,
        m2,
        magnitude.sum(axis=1, dtype=np.float64),
        magnitude[dims, at],
        at,
        ratios[dims, ratio_at],
        ratio_at,
    )


class BatchMoments:
    """
    What the hooks keep of one batch: for each layer, the reductions of the tokens it
    counts, left on the layer's device until the batch is done (`moments`), so that a
    hook costs a handful of kernels and no transfer.
    """

    def __init__(
        self,
        keep: torch.Tensor,
        text: torch.Tensor,
        position: torch.Tensor,
        ids: torch.Tensor,
        *,
        scratch: Scratch | None = None,
    ) -> None:
        self.scratch = Scratch() if scratch is None else scratch  # the CPU's work arrays
        # the tokens counted, as indices into the flattened (batch * seq) hidden states
        self.flat = torch.flatten(keep).nonzero().squeeze(1)
        # per counted token: its text's index in the corpus, its position among the real
        # tokens of that text, its id
        self.where = torch.stack([text, position, ids], dim=1)
        self.on: dict[torch.device, torch.Tensor] = {}

    def __call__(self, hidden: torch.Tensor) -> tuple[torch.Tensor, ...]:
        device = hidden.device
        if device not in self.on:
            self.on[device] = self.flat.to(device)
        x = hidden.reshape(-1, hidden.shape[-1]).index_select(0, self.on[device])
        if device.type == "cpu":
            floats = x.detach() if x.dtype in (torch.float32, torch.float64) else x.float()
            return tuple(map(torch.from_numpy, cpu_moments(floats.numpy(), self.scratch)))
        # Two passes in float64 (the mean, then the squares of the deviations from it):
        # exact where sum(x**2) - n * mean**2 would cancel, and twice as fast as var_mean.
        exact = x.double()
        mean = exact.mean(dim=0)
        m2 = (exact - mean).square_().sum(dim=0)
        magnitude = x.abs()
        absmax, at = magnitude.max(dim=0)  # exact in the model's dtype
        ratio, ratio_at = magnitude_ratios(magnitude).max(dim=0)
        return mean, m2, magnitude.double().sum(dim=0), absmax, at, ratio, ratio_at

    def moments(self, layers: list[tuple[torch.Tensor, ...]]) -> Moments:
        """The moments of every layer of the batch, on the CPU."""
        first = layers[0][0].device  # a model split by device_map has layers elsewhere
        whole = (torch.long if i in (4, 6) else torch.float64 for i in range(7))
        mean, m2, sum_abs, absmax, at, ratio, ratio_at = (
            torch.stack([layer[i].to(first) for layer in layers]).to("cpu", dtype).numpy()
            for i, dtype in enumerate(whole)
        )
        where = self.where.numpy()
        counts = np.full(len(layers), len(self.where), dtype=np.int64)
        return Moments(
            counts,
            mean,
            m2,
            sum_abs,
            absmax,
            *np.moveaxis(where[at], -1, 0),
            ratio,
            *np.moveaxis(where[ratio_at], -1, 0),
        )


def batches(texts: Iterable[str], size: int) -> Iterable[list[str]]:
    batch: list[str] = []
    for text in texts:
        if not isinstance(text, str):
            raise TypeError(f"texts must hold str only; got {type(text).__name__} {text!r:.60}")
        batch.append(text)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def distributed() -> tuple[int, int]:
    """
    ``(rank, world size)``: those of torch.distributed, which is started from the
    environment that torchrun and accelerate launch set where nobody started it yet.
    """
    import torch.distributed as dist

    world = int(os.environ.get("WORLD_SIZE", "1"))
    if not dist.is_available() or (world < 2 and not dist.is_initialized()):
        return 0, 1
    if not dist.is_initialized():
        cuda = torch.cuda.is_available()
        if cuda:
            torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
        dist.init_process_group("nccl" if cuda else "gloo")
    return dist.get_rank(), dist.get_world_size()


def gathered(mine: Any, world: int) -> list[Any]:
    """Every process's *mine*, in rank order (over gloo, whatever the main backend)."""
    if world == 1:
        return [mine]
    import torch.distributed as dist

    group = dist.new_group(backend="gloo")
    try:
        everyone: list[Any] = [None] * world
        dist.all_gather_object(everyone, mine, group=group)
    finally:
        dist.destroy_process_group(group)
    return everyone


def progress_bar(texts: Any, batch_size: int, *, enabled: bool, desc: str) -> Any:
    if not enabled:
        return None
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return None
    total = -(-len(texts) // batch_size) if hasattr(texts, "__len__") else None
    return tqdm(total=total, unit="batch", desc=desc, leave=False)


class Reduced(Protocol):
    """What a pass over a corpus makes of each batch: sums that merge exactly."""

    def merge(self, other: Any) -> Any: ...


def over_corpus(
    anatomy: Anatomy,
    tokenizer: Any,
    texts: Iterable[str],
    reduce: Callable[[Any, torch.Tensor, torch.Tensor], Reduced],
    *,
    batch_size: int,
    max_length: int | None,
    special: bool,
    progress: bool,
    desc: str,
) -> tuple[Any, int, int]:
    """
    One pass over *texts* in batches, each reduced by ``reduce(inputs, keep, where)``
    and merged in order: ``keep`` marks the tokens counted (real, and not special
    unless *special*), ``where`` says each one's ``(text, position, token id)``, the
    text numbered in the whole corpus and the position among its text's real tokens.
    Under torchrun or accelerate each process reduces every n-th batch and the parts
    merge (in rank order) on every process.  Returns the merged sums, the texts read,
    and the tokens cut off by truncation (said in a `TruncationWarning` where only the
    model's own limit cut them); `EmptyCorpus` where no token was counted.
    """
    batch_size = check_k(batch_size, "batch_size")
    if max_length is not None:
        max_length = check_k(max_length, "max_length")
    if isinstance(texts, str):
        raise TypeError("texts must be an iterable of texts; got one str (wrap it in a list)")
    readable = model_limit(anatomy.module, tokenizer)
    limit = min(v for v in (max_length, readable, 10**12) if v is not None)
    rank, world = distributed()
    specials = torch.tensor(sorted(special_ids(tokenizer)), dtype=torch.long)
    total: Reduced | None = None
    n_texts = dropped = 0
    bar = progress_bar(texts, batch_size, enabled=progress and rank == 0, desc=desc)
    try:
        for index, batch in enumerate(batches(texts, batch_size)):
            start, n_texts = n_texts, n_texts + len(batch)
            if bar is not None:
                bar.update(1)
            if index % world != rank:
                continue
            tokens = tokenized(tokenizer, batch, limit)
            dropped += tokens.dropped
            inputs = tokens.inputs
            ids, mask = inputs["input_ids"], inputs["attention_mask"].bool()
            keep = mask if special else mask & ~torch.isin(ids, specials)
            texts_at, columns_at = torch.nonzero(keep, as_tuple=True)
            if not len(texts_at):
                continue  # texts with no token to count
            position = (mask.long().cumsum(dim=1) - 1)[texts_at, columns_at]
            where = torch.stack([start + texts_at, position, ids[texts_at, columns_at]], dim=1)
            part = reduce(inputs, keep, where)
            total = part if total is None else total.merge(part)
    finally:
        if bar is not None:
            bar.close()
    everyone = gathered((total, dropped), world)
    parts = [part for part, _ in everyone if part is not None]
    dropped = sum(cut for _, cut in everyone)
    if not parts:
        raise EmptyCorpus(n_texts, special)
    total = parts[0]
    for part in parts[1:]:
        total = total.merge(part)
    if dropped and (max_length is None or max_length > limit):
        warnings.warn(
            f"texts longer than the {limit} tokens {type(anatomy.module).__name__} reads "
            f"were cut to it: {dropped:,} tokens dropped",
            TruncationWarning,
            stacklevel=3,
        )
    return total, n_texts, dropped


def dimension_stats(
    model: nn.Module,
    tokenizer: Any,
    texts: Iterable[str],
    *,
    batch_size: int = 8,
    max_length: int | None = None,
    progress: bool = True,
    special: bool = False,
    final: Literal["normed", "raw"] = "normed",
    rows: int | None = None,
    pad: bool = False,
    blocks: Sequence[nn.Module] | None = None,
) -> DimensionStats:
    """
    Statistics of every dimension at every layer, over every real token of a corpus.

    The model runs on batches of *texts* with hooks, as in `capture`: each layer's
    hidden states are reduced to their moments as they go by (no
    ``output_hidden_states``), and the moments of all batches merge exactly in
    float64 (Chan et al.), so memory is ``O(layers x d_model)`` whatever the size of the
    corpus.  Padding is never counted; special tokens (``[CLS]``, ``<s>``) are not
    unless *special*.  Each text is cut to at most *max_length* tokens, and always to
    what the model reads (its position table): texts longer than that are said once,
    in a `TruncationWarning` with the tokens dropped (`DimensionStats.dropped_tokens`).

    Under ``accelerate launch`` or ``torchrun``, each process takes every n-th batch
    and the processes merge their moments at the end, so the result (on every
    process) equals a single-process run; put each process's model on its own device
    (``model.to(accelerate.PartialState().device)``).

    Parameters
    ----------
    model, tokenizer
        A transformers model (or nnsight wrapper) and its tokenizer.
    texts : iterable of str
        A list, a generator, a ``datasets.Dataset`` column...: read once, in order.
    batch_size : int, default: 8
        Texts per forward pass.
    max_length : int, optional
        Truncate each text to this many tokens (special tokens included).
    progress : bool, default: True
        A progress bar (tqdm, where installed; on the main process only).
    special : bool, default: False
        Count the tokenizer's special tokens too.
    final : {"normed", "raw"}, default: "normed"
        The last layer, as in `capture`.
    rows, pad
        How the fields fold into grids (`to_grid`).
    blocks : ModuleList, optional
        As in `capture`.

    Returns
    -------
    DimensionStats
        ``count``, ``mean``, ``std``, ``mean_abs``, ``absmax`` and ``max_ratio``, each
        ``(layers, rows, cols)``; `~DimensionStats.where` tells the token of each
        ``absmax`` and ``max_ratio``, `~DimensionStats.outliers` the massive dimensions.

    Examples
    --------
    >>> stats = hf.dimension_stats(model, tokenizer, open("corpus.txt"))  # doctest: +SKIP
    >>> stats.outliers(factor=100)  # doctest: +SKIP
    array([138, 447])
    """
    tokenizer = tokenizer_of(model, tokenizer)
    anatomy = Anatomy.of(model, blocks)  # once for the whole corpus
    final = check_final(final)
    scratch = Scratch()  # one set of work arrays for every batch

    def reduced(inputs: Any, keep: torch.Tensor, where: torch.Tensor) -> Moments:
        take = BatchMoments(keep, *where.unbind(dim=1), scratch=scratch)
        recorder = run(anatomy, on_device(anatomy.module, inputs), take=take)
        return take.moments(recorder.stack(final))

    total, n_texts, dropped = over_corpus(
        anatomy, tokenizer, texts, reduced, batch_size=batch_size, max_length=max_length,
        special=special, progress=progress, desc="dimension stats",
    )  # fmt: skip
    normed_last = final == "normed" and anatomy.final_norm is not None
    tokens, (where_token, ratio_token) = spelled(tokenizer, total.where_token, total.ratio_token)
    return DimensionStats(
        replace(total, where_token=where_token, ratio_token=ratio_token),
        layer_names=layer_names(total.mean.shape[0] - 1, final_norm=normed_last),
        n_texts=n_texts,
        model_name=anatomy.name,
        tokens=tokens,
        rows=rows,
        pad=pad,
        special=special,
        final=final,
        max_length=max_length,
        dropped_tokens=dropped,
    )


def spelled(tokenizer: Any, *located: np.ndarray) -> tuple[tuple[str, ...], list[np.ndarray]]:
    """
    The spelling of every token id that the *located* arrays hold, and those arrays
    with each id replaced by its index into the spellings (of the ids found, sorted).
    """
    ids = sorted(set(np.concatenate([a.ravel() for a in located]).tolist()))
    lookup = {token_id: i for i, token_id in enumerate(ids)}
    index = np.vectorize(lookup.get, otypes=[np.int64])
    return tuple(tokenizer.decode([i]) for i in ids), [index(a) for a in located]
