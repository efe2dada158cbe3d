"""``mpl-residual stats``: statistics of every dimension over a corpus, saved as ``.npz``."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from .._text import printable
from ..errors import EmptyCorpus, FoldError, NotDecomposable
from ..sample import sample_corpus
from ._shared import (
    FORMATTER,
    UsageError,
    checked_output,
    count,
    debug_option,
    fold_options,
    load_model,
    model_name,
    model_options,
    output_option,
    shown,
    size_of,
)

__all__ = ["add_parser"]

HELP = """\
Run a model over a corpus and save the statistics of every dimension at every layer
(count, mean, std, mean |x|, largest |x|, largest |x| over its vector's median, and
where each occurred) as a plain .npz file. Padding and special tokens are never counted
(--special counts the latter); texts longer than the model reads are cut to its limit;
memory does not grow with the corpus. Under torchrun or accelerate launch, each process
takes its share of the batches and the first writes the merged result.

With --components, the statistics are of what each component (the embeddings, each
block's attention, or each head with --heads, and its MLP, as `attribute` names them)
wrote to every dimension: count, mean, mean |write|, std, largest |write| and where,
and each component's share of the stream's mean square. The model must be pre-norm.
"""

EXAMPLES = """\
examples:
  mpl-residual stats -o toy.npz     # the shipped toy model over the sentences it learnt
  mpl-residual stats --model gpt2 --texts corpus.txt -o stats.npz
  cat corpus.txt | mpl-residual stats --model gpt2 --texts - -o stats.npz
  torchrun --nproc_per_node 8 -m mpl_residual stats --model meta-llama/Llama-3.1-8B \\
      --dtype bfloat16 --texts corpus.txt --batch-size 16 --max-length 512 -o stats.npz
  # then draw a field:
  mpl-residual render --input stats.npz --field max_ratio --mark factor:100 -o ratio.png
  # who writes each dimension, on average:
  mpl-residual stats --components --heads -o writers.npz
  mpl-residual render --input writers.npz --field mean --layers 0:5 -o writers.png
"""


def add_parser(commands: Any) -> None:
    stats = commands.add_parser(
        "stats",
        help="statistics of every dimension over a corpus, saved as .npz",
        description=HELP,
        epilog=EXAMPLES,
        formatter_class=FORMATTER,
    )
    output_option(stats, "the .npz file to write", required=True)
    model_options(stats, sample=True, prompt=False)
    corpus = stats.add_argument_group("corpus")
    corpus.add_argument(
        "--texts",
        metavar="FILE",
        help="one text per line, UTF-8 (blank lines skipped); - reads standard input "
        "(default without --model: the sentences the toy model was trained on)",
    )
    corpus.add_argument(
        "--batch-size",
        metavar="N",
        type=count,
        default=8,
        help="texts per forward pass (default: 8)",
    )
    corpus.add_argument(
        "--max-length",
        metavar="N",
        type=count,
        help="cut each text to N tokens, special tokens included (always: to what the "
        "model reads)",
    )
    corpus.add_argument(
        "--special", action="store_true", help="count special tokens ([CLS], <s>) too"
    )
    corpus.add_argument(
        "--final",
        choices=("normed", "raw"),
        default=None,
        help="the last layer after the model's final norm (default) or before it",
    )
    corpus.add_argument(
        "--components",
        action="store_true",
        help="statistics of what each component wrote (hf.component_stats), not of the "
        "stream at each layer",
    )
    corpus.add_argument(
        "--heads", action="store_true", help="with --components: split attention by head"
    )
    fold_options(corpus)
    debug_option(stats)
    stats.set_defaults(run=run)


#: The longest line of a corpus, in bytes: memory never grows past it, whatever is read.
MAX_LINE = 64 * 2**20


def _texts(spec: str) -> Iterator[str]:
    """The lines of --texts (a file, or - for standard input), checked and read lazily."""
    if spec == "-":
        stdin = getattr(sys.stdin, "buffer", None)
        if sys.stdin is None or stdin is None or sys.stdin.closed:
            raise UsageError("--texts -: standard input is closed; pipe the texts in")
        return _lines(stdin, "standard input", close=False)
    path = Path(spec)
    if path.exists() and not path.is_file():
        raise UsageError(
            f"--texts {shown(spec)}: not a regular file (a folder, a FIFO or a device); "
            "pipe a stream of texts in with --texts - instead"
        )
    if not path.is_file():
        raise UsageError(f"--texts {shown(spec)}: no such file")
    return _lines(open(path, "rb"), shown(spec), close=True)  # noqa: SIM115 - closed by _lines


def _lines(source: BinaryIO, name: str, *, close: bool) -> Iterator[str]:
    """Each line as UTF-8 text without its line break, blank ones skipped."""
    try:
        for number, line in enumerate(iter(lambda: source.readline(MAX_LINE + 1), b""), 1):
            if len(line) > MAX_LINE:  # /dev/zero, or a file of no line breaks
                raise UsageError(
                    f"--texts: line {number} of {name} is longer than {MAX_LINE:,} bytes; "
                    "one text a line"
                )
            try:
                text = line.decode("utf-8").rstrip("\r\n")
            except UnicodeDecodeError as err:
                raise UsageError(
                    f"--texts: line {number} of {name} is not UTF-8 text (byte "
                    f"{err.start + 1}: {line[err.start : err.start + 1]!r})"
                ) from None
            if text.strip():
                yield text
    finally:
        if close:
            source.close()


def run(args: argparse.Namespace) -> str:
    out = checked_output(args, (".npz",), "stats")
    if args.texts is None and args.model is not None:
        raise UsageError("--model needs --texts FILE (one text a line; - reads standard input)")
    texts = sample_corpus() if args.texts is None else _texts(args.texts)
    if args.heads and not args.components:
        raise UsageError("--heads splits the components of --components; add --components")
    if args.components and args.final is not None:
        raise UsageError("--final chooses a layer of the stream; --components has none")
    from .. import hf

    model, tokenizer = load_model(args)
    options = {
        "batch_size": args.batch_size,
        "max_length": args.max_length,
        "progress": sys.stderr.isatty(),
        "special": args.special,
        "rows": args.rows,
        "pad": args.pad,
    }
    try:
        if args.components:
            stats = hf.component_stats(model, tokenizer, texts, heads=args.heads, **options)
        else:
            stats = hf.dimension_stats(
                model, tokenizer, texts, final=args.final or "normed", **options
            )
    except FoldError as err:
        raise UsageError(f"--rows {err.rows}: {err.describe('pass --pad')}") from None
    except EmptyCorpus as err:
        raise UsageError(f"--texts: {err.describe('--special')}") from None
    except NotDecomposable as err:
        raise UsageError(f"--components: {printable(str(err))}") from None
    if int(os.environ.get("RANK", "0")) != 0:
        return ""  # the first process writes and reports
    stats = replace(stats, model_name=model_name(args))
    stats.save(out)
    cut = f"; {stats.dropped_tokens:,} tokens cut off" if stats.dropped_tokens else ""
    counted = f"{stats.n_tokens:,} tokens of {stats.n_texts:,} texts{cut}"
    source = f"{size_of(out)}) from {printable(model_name(args))}"
    if args.components:
        largest = np.unravel_index(np.argmax(np.nan_to_num(np.abs(stats.moments.mean))),
                                   stats.moments.mean.shape)  # fmt: skip
        said = f"{stats.names[largest[0]]} to dim {largest[1]}"
        return (
            f"wrote {printable(str(out))} ({len(stats)} components x {stats.d_model} dims "
            f"over {counted}; largest mean write: {said}; {source}"
        )
    outliers = stats.outliers(100.0)
    found = ", ".join(map(str, outliers[:8])) + (" ..." if len(outliers) > 8 else "")
    return (
        f"wrote {printable(str(out))} ({stats.n_layers} layers x {stats.d_model} dims over "
        f"{counted}; dims over 100x the median |x| of their vector: {found or 'none'}; "
        f"{source}"
    )
