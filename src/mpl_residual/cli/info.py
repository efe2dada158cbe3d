"""``mpl-residual info``: what a file holds, so that ``--position`` is never a guess."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import numpy as np

from .._text import percent, printable
from ..component_stats import FIELDS as COMPONENT_FIELDS
from ..component_stats import ComponentStats
from ..decomposition import Decomposition
from ..files import load_any
from ..labels import Labels
from ..stats import FIELDS, DimensionStats
from ..stream import ResidualStream
from ._shared import FORMATTER, UsageError, debug_option, shown

__all__ = ["add_parser"]

HELP = """\
Say what a file that mpl-residual wrote holds: a stream (from `capture`, or a .npy),
statistics (from `stats`, of the stream's layers or, with --components, of what each
component wrote) or a decomposition (from `attribute`). Its shape, d_model and
fold, each layer's index and name, each token's index and text (the position drawn and
the special tokens marked), the model, and the logit lens's predictions; for statistics
their fields and how they were made; for a decomposition its components and attribution.
"""

EXAMPLES = """\
examples:
  mpl-residual info paris.npz
  mpl-residual render --input paris.npz --position 5 -o paris.gif   # a token it listed
"""


def add_parser(commands: Any) -> None:
    info = commands.add_parser(
        "info",
        help="what a saved stream, statistics or decomposition file holds",
        description=HELP,
        epilog=EXAMPLES,
        formatter_class=FORMATTER,
    )
    info.add_argument("file", metavar="FILE", help="a .npz (or .npy) file")
    debug_option(info)
    info.set_defaults(run=run)


def _fold(shape: tuple[int, ...], d_model: int | None) -> str:
    rows, cols = shape[-2:]
    width = d_model or rows * cols
    padding = f", NaN padding past {width}" if width != rows * cols else ""
    return f"d_model {width} folded {rows} x {cols}{padding}"


def _layers(names: tuple[str, ...], n: int, title: str = "layers") -> list[str]:
    lines = [f"{title} ({n}):"]
    for i in range(n):
        lines.append(f"  {i:>4}  {printable(names[i]) if names else f'layer {i}'}")
    return lines


def _tokens(labels: Labels, special: tuple[int, ...], *, every: bool) -> list[str]:
    if not labels.tokens:
        return ["tokens: none recorded"]
    drawn = "" if every else ", > the position drawn"
    lines = [f"tokens ({len(labels.tokens)}; * special{drawn}):"]
    for i, token in enumerate(labels.tokens):
        mark = ">" if i == labels.position else " "
        star = " *" if i in special else ""
        lines.append(f"{mark} {i:>4}  {shown(token)}{star}")
    return lines


def _stream(stream: ResidualStream) -> list[str]:
    every = stream.values.ndim == 4
    shape = " x ".join(map(str, stream.shape))
    lines = [
        f"a residual stream{' of every position' if every else ''}: {shape} {stream.dtype}, "
        f"{_fold(stream.shape, stream.d_model)}",
        f"model: {shown(stream.model_name) if stream.model_name else 'not recorded'}",
    ]
    if stream.quantity:
        lines.append(f"values: {printable(stream.quantity)}")
    lines += _layers(stream.layer_names, stream.n_layers)
    lines += _tokens(stream.labels, stream.special, every=every)
    if every:
        lines.append("position: every one kept; pick one with --position N or --token WORD")
    elif stream.position is not None:
        lines.append(f"position: {stream.position} {shown(stream.token or '')}")
    if stream.predictions:
        lines.append("logit lens (each layer's most likely next token):")
        for i, pairs in enumerate(stream.predictions):
            said = ", ".join(f"{shown(t)} {percent(p)}" for t, p in pairs[:3])
            lines.append(f"  {i:>4}  {said}")
    return lines


def _made(stats: DimensionStats | ComponentStats) -> list[str]:
    """How corpus statistics were made: the model, and what was counted."""
    cut = f" at {stats.max_length}" if stats.max_length else ""
    return [
        f"model: {shown(stats.model_name) if stats.model_name else 'not recorded'}",
        f"counted: {stats.n_tokens:,} tokens of {stats.n_texts:,} texts "
        f"(special tokens {'counted' if stats.special else 'left out'}; "
        f"{stats.dropped_tokens:,} cut off by truncation{cut})",
    ]


def _statistics(stats: DimensionStats) -> list[str]:
    grid = stats.mean.shape
    outliers = stats.outliers(100.0)
    found = ", ".join(map(str, outliers[:12])) + (" ..." if len(outliers) > 12 else "")
    lines = [
        f"dimension statistics: {stats.n_layers} layers x {_fold(grid, stats.d_model)}",
        *_made(stats),
        f"last layer: {stats.final}",
        f"fields: {', '.join(FIELDS)} (render --input FILE --field NAME)",
        f"massive dimensions (max_ratio over 100): {found or 'none'}",
    ]
    return lines + _layers(stats.layer_names, stats.n_layers)


def _components(stats: ComponentStats) -> list[str]:
    grid = stats.mean.shape
    mean = np.nan_to_num(np.abs(stats.moments.mean))
    lines = [
        f"component statistics: {len(stats)} components "
        f"({'heads split' if stats.heads else 'attention whole'}) x "
        f"{_fold(grid, stats.d_model)}",
        *_made(stats),
        f"fields: {', '.join(COMPONENT_FIELDS)} (render --input FILE --field NAME)",
        "largest mean writes:",
    ]
    for flat in np.argsort(-mean, axis=None, kind="stable")[:8]:
        component, dim = np.unravel_index(flat, mean.shape)
        text, position, token = stats.where(int(component), int(dim))
        lines.append(
            f"  {stats.moments.mean[component, dim]:>+12.4g}  {printable(stats.names[component])}"
            f" to dim {dim} (largest |write| {stats.moments.absmax[component, dim]:.4g} at "
            f"text {text}, position {position}"
            + (f" {shown(token)}" if token is not None else "")
            + ")"
        )
    return lines + _layers(stats.names, len(stats), "components")


def _decomposition(parts: Decomposition) -> list[str]:
    shape = " x ".join(map(str, parts.shape))
    lines = [
        f"a decomposition: {len(parts)} components ({shape} {parts.values.dtype}), "
        f"{_fold(parts.shape, parts.d_model)}",
        f"model: {shown(parts.model_name) if parts.model_name else 'not recorded'}",
        f"position: {parts.position} {shown(parts.token or '')}",
    ]
    lines += _layers(parts.names, len(parts), "components")
    lines += _tokens(parts.labels, parts.special, every=False)
    attribution = parts.attribution
    if attribution is not None:
        lines.append(
            f"attribution: {printable(attribution.heading)} = {attribution.total:.6g} "
            f"({attribution.constant:.4g} from biases); largest shares:"
        )
        if attribution.capped is not None:
            lines.insert(
                -1,
                f"soft-capped: the model reports {attribution.capped:.6g}; the total above "
                "and the shares are before soft-capping",
            )
        for name, share in attribution.top(8):
            lines.append(f"  {share:>+12.4g}  {printable(name)}")
    return lines


def run(args: argparse.Namespace) -> str:
    path = Path(args.file)
    if not path.is_file():
        raise UsageError(f"{shown(args.file)}: no such file")
    if path.suffix.lower() not in (".npz", ".npy"):
        raise UsageError(f"{shown(args.file)}: expected a .npz or .npy file")
    held = load_any(path)
    if isinstance(held, DimensionStats):
        lines = _statistics(held)
    elif isinstance(held, ComponentStats):
        lines = _components(held)
    elif isinstance(held, Decomposition):
        lines = _decomposition(held)
    else:
        lines = _stream(held)
    return "\n".join([f"{printable(str(path))}: {lines[0]}", *lines[1:]])
