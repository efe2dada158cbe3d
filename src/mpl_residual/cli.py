"""The ``mpl-residual`` command: a prompt or a saved stream to a picture or an animation."""

from __future__ import annotations

import argparse
import math
import sys
import textwrap
from collections.abc import Sequence
from contextlib import nullcontext
from dataclasses import replace
from pathlib import Path
from typing import Any

from ._atomic import atomic_path, check_folder
from ._layers import frame_layers
from ._layout import MAX_PIXELS, check_pixels
from ._text import percent
from .animation import build_animation
from .artist import ResidualStreamArtist
from .compare import compare
from .export import SUPPORTED_SUFFIXES, check_fps, save_animation
from .markers import mark_dims
from .normalize import normalize
from .normalize import unit as unit_of
from .profile import layer_profile
from .sample import load_sample
from .sheet import layer_sheet, sheet_layout
from .stats import FIELDS, DimensionStats
from .stream import ResidualStream
from .styles import STYLES, style_context
from .tokens import token_sheet

__all__ = ["main"]

ANIMATIONS = SUPPORTED_SUFFIXES

PICTURES = (".png", ".pdf", ".svg")
INPUTS = (".npz", ".npy")


class UsageError(Exception):
    """Something the user can fix on the command line: exit status 2."""


class CommandError(Exception):
    """A runtime failure with a message that says it all: exit status 1."""


# -- the parser ---------------------------------------------------------------------------

_FORMATTER = argparse.RawDescriptionHelpFormatter

RENDER_HELP = """\
Draw a residual stream: every layer of it, as an animation (.gif, .mp4, .html) or as a
sheet of small multiples (.png, .pdf, .svg), chosen by the suffix of OUT.

The stream comes from one of three places:
  - a model and a prompt (--model, --prompt): the model runs once on the CPU or GPU;
  - a saved stream (--input), made by `mpl-residual capture` or numpy (.npz, .npy);
  - nothing: a sample of real all-MiniLM-L6-v2 activations shipped in the package.
"""

RENDER_EXAMPLES = """\
examples:
  mpl-residual render --normalize rms --mark top:5 -o residual.gif
      the sample, each layer on its own RMS, its 5 largest dimensions outlined
  mpl-residual render --input clean.npz --compare patched.npz -o diff.html
      two runs on one scale, and their difference, layer by layer
  mpl-residual render -o residual.gif
      the shipped sample as an animated GIF
  mpl-residual render --model gpt2 --prompt "Paris is the capital of" -o paris.mp4
      GPT-2's stream at the last token, as an MP4
  mpl-residual render --input stream.npz --style paper -o layers.pdf
      a saved stream as a sheet for a paper
  mpl-residual render --input stream.npz --layers 0:13:4 --vmin -3 --vmax 3 -o s.html
      every 4th layer (and the last), fixed colour limits, as a web page
"""

CAPTURE_HELP = """\
Run a model once on a prompt and save its residual stream as a plain .npz file (values,
token strings, layer names, model name, d_model) that loads with numpy's
allow_pickle=False and renders anywhere with `mpl-residual render --input`.

Only the requested position is kept while the model runs (forward hooks), so long
prompts and large models need little memory beyond the forward pass itself.
"""

CAPTURE_EXAMPLES = """\
examples:
  mpl-residual capture --model gpt2 --prompt "Paris is the capital of" -o paris.npz
  mpl-residual capture --model meta-llama/Llama-3.2-1B --device cuda --dtype bfloat16 \\
      --prompt "The Eiffel Tower is in" --all-positions -o eiffel.npz
  # then, on a laptop:
  mpl-residual render --input eiffel.npz --position -1 -o eiffel.gif
"""

STATS_HELP = """\
Run a model over a corpus and save the statistics of every dimension at every layer
(count, mean, std, mean |x|, largest |x| and where it occurred) as a plain .npz file.
Padding and special tokens are never counted (--special counts the latter); memory does
not grow with the corpus. Under torchrun or accelerate launch, each process takes its
share of the batches and the first writes the merged result.
"""

STATS_EXAMPLES = """\
examples:
  mpl-residual stats --model gpt2 --texts corpus.txt -o stats.npz
  cat corpus.txt | mpl-residual stats --model gpt2 --texts - -o stats.npz
  torchrun --nproc_per_node 8 -m mpl_residual stats --model meta-llama/Llama-3.1-8B \\
      --dtype bfloat16 --texts corpus.txt --batch-size 16 --max-length 512 -o stats.npz
  # then draw a field:
  mpl-residual render --input stats.npz --field absmax --mark factor:100 -o absmax.png
"""

MAIN_HELP = """\
Look inside a transformer: draw its residual stream (the hidden state after every
layer), folded into a grid, as an animation or a sheet of small multiples.
"""

MAIN_EPILOG = """\
exit status:
  0  success
  1  a runtime failure (the model could not be loaded or run, a file could not be written)
  2  a usage error (bad option, unknown suffix, missing input file)

Run `mpl-residual COMMAND --help` for the options of each command.
"""


def _number(text: str) -> float:
    """A finite number (argparse reports a ValueError as a usage error)."""
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(text)
    return value


_number.__name__ = "finite number"  # what argparse says was expected


def _positive(text: str) -> float:
    value = _number(text)
    if not value > 0:
        raise ValueError(text)
    return value


_positive.__name__ = "positive number"


def _count(text: str) -> int:
    value = int(text)
    if value < 1:
        raise ValueError(text)
    return value


_count.__name__ = "positive integer"


def _colormap(name: str) -> str:
    import difflib

    import matplotlib

    if name in matplotlib.colormaps:
        return name
    close = difflib.get_close_matches(name, list(matplotlib.colormaps), n=3)
    known = close or ["viridis", "magma", "cividis", "RdBu_r", "coolwarm", "twilight"]
    raise argparse.ArgumentTypeError(
        f"unknown colormap {name!r}; {'did you mean' if close else 'try'} "
        + ", ".join(known)
        + " (all: python -c 'import matplotlib; print(list(matplotlib.colormaps))')"
    )


def _model_options(
    parser: argparse.ArgumentParser, *, required: bool, prompt: bool = True
) -> None:
    group = parser.add_argument_group("model")
    group.add_argument(
        "--model",
        metavar="NAME_OR_PATH",
        required=required,
        help="a Hugging Face model name or a local folder",
    )
    if prompt:
        group.add_argument("--prompt", metavar="TEXT", help="the text to run the model on")
    group.add_argument(
        "--device",
        choices=("auto", "cpu", "cuda"),
        default="auto",
        help="where to run the model (default: auto, the GPU if there is one)",
    )
    group.add_argument(
        "--dtype",
        choices=("float32", "bfloat16", "float16"),
        default="float32",
        help="the model's dtype (default: float32)",
    )
    group.add_argument(
        "--trust-remote-code",
        action="store_true",
        help="allow a model's own code from the Hub to run (off by default)",
    )
    if not prompt:
        return
    group.add_argument(
        "--lens",
        metavar="K",
        type=_count,
        nargs="?",
        const=5,
        help="read the logit lens: each layer's K most likely next tokens (default K: 5) "
        "through the model's own final norm and head; titles show the first",
    )


def _position_options(group: Any, *, default: int | None, text: str) -> Any:
    choice = group.add_mutually_exclusive_group()
    choice.add_argument("--position", type=int, default=default, help=text)
    choice.add_argument(
        "--token",
        metavar="WORD",
        help="the token that reads WORD (its last one; case, spaces and the markers "
        "Ġ ▁ ## aside), instead of --position",
    )
    return choice


def _fold_options(group: Any) -> None:
    group.add_argument(
        "--rows", type=_count, help="grid rows (default: the most nearly square grid)"
    )
    group.add_argument(
        "--pad",
        action="store_true",
        help="allow --rows that do not divide d_model: the last row is padded with NaN "
        "(drawn grey)",
    )


def build_parser() -> argparse.ArgumentParser:
    from . import __version__

    parser = argparse.ArgumentParser(
        prog="mpl-residual",
        description=MAIN_HELP,
        epilog=MAIN_EPILOG,
        formatter_class=_FORMATTER,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(
        dest="command", metavar="COMMAND", required=True, title="commands"
    )

    render = commands.add_parser(
        "render",
        help="draw a stream (a model's, a saved one, or the shipped sample)",
        description=RENDER_HELP,
        epilog=RENDER_EXAMPLES,
        formatter_class=_FORMATTER,
    )
    render.add_argument(
        "-o",
        "--output",
        metavar="OUT",
        default="residual.gif",
        help="where to write; the suffix picks the output: "
        f"{', '.join(ANIMATIONS + PICTURES)} (default: residual.gif)",
    )
    source = render.add_argument_group("input (default: the shipped sample)")
    source.add_argument(
        "--input", metavar="FILE", help="a saved stream: .npz from `mpl-residual capture`, or .npy"
    )
    _model_options(render, required=False)
    what = render.add_argument_group("what to draw")
    _position_options(
        what,
        default=None,
        text="the token, counted over real tokens; negative counts back from the last "
        "that is not a special token such as [SEP] (default: -1, the last word)",
    )
    _fold_options(what)
    what.add_argument(
        "--layers",
        metavar="SPEC",
        help="a subset: START:STOP:STEP (the last layer is kept when "
        "stepping) or a list like 0,6,12",
    )
    what.add_argument(
        "--field",
        choices=FIELDS,
        help="with an --input made by `mpl-residual stats`: which statistic to draw "
        "(default: absmax)",
    )
    views = render.add_argument_group("analysis")
    views.add_argument(
        "--normalize",
        choices=("rms", "ln"),
        help="each layer divided by its RMS (rms), or as LayerNorm sees it (ln)",
    )
    views.add_argument(
        "--mark",
        metavar="SPEC",
        help="outline dimensions: top:5 (the largest |x| of each layer), factor:100 "
        "(over 100x the layer's median |x|), or a list like 447,138",
    )
    views.add_argument(
        "--compare",
        metavar="FILE",
        help="a second saved stream: draw both on one scale and their difference "
        "(pictures show the last of --layers)",
    )
    views.add_argument(
        "--profile",
        choices=("rms", "norm", "absmax"),
        help="a panel of each layer's size under the grid(s), its marker following",
    )
    views.add_argument(
        "--tokens",
        action="store_true",
        help="every position (a stream captured with --all-positions): one row of grids "
        "per token, one column per layer (a picture)",
    )
    look = render.add_argument_group("look")
    look.add_argument(
        "--style",
        choices=STYLES,
        help="a style preset (default: matplotlib's rcParams)",
    )
    look.add_argument("--cmap", type=_colormap, help="a matplotlib colormap name")
    look.add_argument(
        "--robust",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="limits from the 98th percentile of |x| (default) or, with "
        "--no-robust, from the largest |x|",
    )
    look.add_argument("--vmin", type=_number, help="lower colour limit")
    look.add_argument("--vmax", type=_number, help="upper colour limit")
    look.add_argument(
        "--fps",
        type=_positive,
        help="frames per second, 1/60 to 1000 (GIF: 50) (default: 5)",
    )
    look.add_argument(
        "--dpi",
        type=_positive,
        help=f"resolution (default: the style's); at most {MAX_PIXELS:,} pixels a picture",
    )
    render.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    render.set_defaults(run=_render)

    capture = commands.add_parser(
        "capture",
        help="run a model once and save its stream as .npz",
        description=CAPTURE_HELP,
        epilog=CAPTURE_EXAMPLES,
        formatter_class=_FORMATTER,
    )
    capture.add_argument(
        "-o", "--output", metavar="OUT", required=True, help="the .npz file to write"
    )
    _model_options(capture, required=True)
    where = capture.add_argument_group("what to keep")
    choice = _position_options(
        where,
        default=-1,
        text="the token to keep, counted over real tokens; negative counts back from the "
        "last that is not a special token (default: -1, the last word)",
    )
    choice.add_argument(
        "--all-positions",
        action="store_true",
        help="keep every token; pick one later with render --position",
    )
    _fold_options(where)
    where.add_argument(
        "--final",
        choices=("normed", "raw"),
        default="normed",
        help="the last layer after the model's final norm (default, as in "
        "hidden_states) or the raw last block output",
    )
    capture.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    capture.set_defaults(run=_capture)

    stats = commands.add_parser(
        "stats",
        help="statistics of every dimension over a corpus, saved as .npz",
        description=STATS_HELP,
        epilog=STATS_EXAMPLES,
        formatter_class=_FORMATTER,
    )
    stats.add_argument(
        "-o", "--output", metavar="OUT", required=True, help="the .npz file to write"
    )
    _model_options(stats, required=True, prompt=False)
    corpus = stats.add_argument_group("corpus")
    corpus.add_argument(
        "--texts",
        metavar="FILE",
        required=True,
        help="one text per line (blank lines skipped); - reads standard input",
    )
    corpus.add_argument(
        "--batch-size",
        metavar="N",
        type=_count,
        default=8,
        help="texts per forward pass (default: 8)",
    )
    corpus.add_argument(
        "--max-length", metavar="N", type=_count, help="truncate each text to N tokens"
    )
    corpus.add_argument(
        "--special", action="store_true", help="count special tokens ([CLS], <s>) too"
    )
    corpus.add_argument(
        "--final",
        choices=("normed", "raw"),
        default="normed",
        help="the last layer after the model's final norm (default) or before it",
    )
    _fold_options(corpus)
    stats.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    stats.set_defaults(run=_stats)
    return parser


# -- shared steps --------------------------------------------------------------------------


def _parse_layers(spec: str | None) -> Any:
    if spec is None:
        return None
    try:
        if ":" in spec:
            parts = [int(p) if p.strip() else None for p in spec.split(":")]
            if len(parts) > 3:
                raise ValueError
            return slice(*parts)
        return [int(p) for p in spec.split(",")]
    except ValueError:
        raise UsageError(
            f"--layers {spec!r}: expected START:STOP:STEP (e.g. 0:13:4) or a list (e.g. 0,6,12)"
        ) from None


def _wanted(args: argparse.Namespace) -> int | str | None:
    """The token asked for: --token WORD, else --position N (None: not given)."""
    return args.token if args.token is not None else args.position


def _option(args: argparse.Namespace) -> str:
    """How the token was asked for, for messages: ``--token 'x'`` or ``--position -1``."""
    return f"--token {args.token!r}" if args.token is not None else f"--position {args.position}"


def _model_stream(args: argparse.Namespace, *, position: int | str | None) -> ResidualStream:
    if not args.prompt:
        raise UsageError("--model needs --prompt TEXT")
    try:
        from . import hf
    except ImportError:
        raise CommandError(
            "--model needs torch and transformers: pip install 'mpl-residual[hf]'"
        ) from None
    model, tokenizer = hf.load_model(
        args.model,
        device=args.device,
        dtype=args.dtype,
        trust_remote_code=args.trust_remote_code,
    )
    try:
        stream = hf.residual_stream(
            model,
            tokenizer,
            args.prompt,
            position=position,
            rows=args.rows,
            pad=args.pad,
            final=getattr(args, "final", "normed"),
            lens=args.lens,
        )
    except IndexError as err:  # a position the prompt does not have
        raise UsageError(f"{_option(args)}: {err}") from None
    except ValueError as err:
        if args.rows is not None and "rows=" in str(err):
            raise UsageError(_rows_error(args.rows, err)) from None
        if "no token reads" in str(err):
            raise UsageError(f"--token: {err}") from None
        if args.lens is not None and "output embedding" in str(err):
            raise UsageError(f"--lens: {err}") from None
        raise
    return replace(stream, model_name=args.model)


def _refold(stream: ResidualStream, rows: int, pad: bool) -> ResidualStream:
    try:
        return stream.refold(rows, pad=pad)
    except ValueError as err:
        raise UsageError(_rows_error(rows, err)) from None


def _rows_error(rows: int, err: Exception) -> str:
    return f"--rows {rows}: {str(err).replace('pass pad=True', 'pass --pad')}"


def _check_output_folder(out: Path) -> None:
    try:
        check_folder(out)
    except FileNotFoundError as err:
        raise UsageError(str(err)) from None


def _size(path: Path) -> str:
    size = path.stat().st_size
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return ""


# -- commands ------------------------------------------------------------------------------


def _input_stream(args: argparse.Namespace) -> ResidualStream:
    """The stream to draw: from --input, --model or the shipped sample, at --position."""
    try:
        if args.input:
            path = Path(args.input)
            if not path.is_file():
                raise UsageError(f"--input {str(path)!r}: no such file")
            if path.suffix.lower() not in INPUTS:
                raise UsageError(f"--input {str(path)!r}: expected a .npz or .npy file")
            if DimensionStats.is_file(path):
                return _stats_stream(args, path)
            if args.field is not None:
                raise UsageError(
                    f"--field: {str(path)!r} holds a stream, not the statistics that "
                    "`mpl-residual stats` writes"
                )
            stream = ResidualStream.load(path)
            if args.tokens:
                if stream.values.ndim != 4:
                    raise UsageError(
                        f"--tokens: {str(path)!r} holds one position; capture with "
                        "--all-positions to draw every token"
                    )
                return stream
            if stream.values.ndim == 4:
                return stream.at(-1 if _wanted(args) is None else _wanted(args))
            if _wanted(args) is not None:
                raise UsageError(
                    f"{_option(args)}: {str(path)!r} holds one position already; capture "
                    "with --all-positions to choose later"
                )
            return stream
        if args.tokens:
            return _model_stream(args, position=None) if args.model else load_sample(position=None)
        if args.model:
            return _model_stream(args, position=-1 if _wanted(args) is None else _wanted(args))
        return load_sample() if _wanted(args) is None else load_sample(position=_wanted(args))
    except IndexError as err:  # the position, whatever the source
        raise UsageError(f"{_option(args)}: {err}") from None
    except ValueError as err:  # a word that no token reads
        if args.token is None or "no token reads" not in str(err):
            raise
        raise UsageError(f"--token: {err}") from None


#: Fields of `DimensionStats` that are never negative: drawn from 0, on a sequential map.
NON_NEGATIVE = ("count", "std", "mean_abs", "absmax")
FIELD_LABELS = {
    "count": "tokens",
    "mean": "mean",
    "std": "standard deviation",
    "mean_abs": "mean |x|",
    "absmax": "largest |x|",
}


def _stats_stream(args: argparse.Namespace, path: Path) -> ResidualStream:
    """One field of a statistics file, as a stream."""
    for option in ("position", "token", "tokens", "compare"):
        if getattr(args, option) not in (None, False):
            raise UsageError(f"--{option}: {str(path)!r} holds statistics over every token")
    stats = DimensionStats.load(path)
    return stats.stream(args.field or "absmax")


def _parse_mark(spec: str | None) -> dict[str, Any]:
    """``top:5``, ``factor:100`` or ``447,138`` as `mark_dims` options ({} for none)."""
    if spec is None:
        return {}
    rule, _, value = spec.partition(":")
    try:
        if rule == "top" and value:
            return {"top": int(value)}
        if rule == "factor" and value:
            return {"factor": float(value)}
        if not value:
            return {"dims": [int(d) for d in spec.split(",")]}
    except ValueError:
        pass
    raise UsageError(
        f"--mark {spec!r}: expected top:N, factor:X or a list of dimensions (447,138)"
    )


def _compared(args: argparse.Namespace, stream: ResidualStream) -> ResidualStream | None:
    """The stream of --compare, at the same position and in the same grid as *stream*."""
    if args.compare is None:
        return None
    path = Path(args.compare)
    if not path.is_file():
        raise UsageError(f"--compare {str(path)!r}: no such file")
    other = ResidualStream.load(path)
    if other.values.ndim == 4:
        try:
            other = other.at(-1 if _wanted(args) is None else _wanted(args))
        except (IndexError, ValueError) as err:
            raise UsageError(f"--compare {str(path)!r}: {err}") from None
    if args.rows is not None:
        other = _refold(other, args.rows, args.pad)
    if other.shape != stream.shape:
        raise UsageError(
            f"--compare {str(path)!r} holds a {'x'.join(map(str, other.shape))} stream; "
            f"the first is {'x'.join(map(str, stream.shape))}: compare streams of one shape"
        )
    return other


def _drawn(
    args: argparse.Namespace,
    stream: ResidualStream,
    other: ResidualStream | None,
    shown: list[int],
    suffix: str,
) -> tuple[Any, Any]:
    """The animation (None for a picture) and the figure of a render."""
    grid = {"robust": args.robust, "vmin": args.vmin, "vmax": args.vmax, "cmap": args.cmap}
    colorbar: bool | dict = True
    if args.input and DimensionStats.is_file(args.input):
        field = args.field or "absmax"
        label = FIELD_LABELS[field]
        colorbar = {"label": f"{label}, {unit_of(args.normalize)}" if args.normalize else label}
        if field in NON_NEGATIVE:
            grid["vmin"] = 0.0 if args.vmin is None else args.vmin
            grid["cmap"] = args.cmap or "viridis"
    layers = _parse_layers(args.layers)
    if args.tokens:
        return None, token_sheet(stream, layers=layers, normalize=args.normalize, **grid)
    if other is not None:
        pair = [stream, other]
        if args.normalize:
            pair = [normalize(s, args.normalize) for s in pair]
        labels = (_label(args.input, "input"), _label(args.compare, "compare"))
        layer = shown[-1] if suffix not in ANIMATIONS else shown[0]
        artists = compare(*pair, labels=labels, layer=layer, **grid)
        fig = artists[0].get_figure(root=True)
        if suffix not in ANIMATIONS:
            return None, fig
        anim = build_animation(artists, pyplot=False, layers=layers, profile=args.profile)
    elif suffix in ANIMATIONS:
        anim = build_animation(
            stream,
            pyplot=False,
            layers=layers,
            colorbar=colorbar,
            normalize=args.normalize,
            profile=args.profile,
            **grid,
        )
    else:
        return None, _sheet(stream, layers, args, grid, colorbar)
    anim.mark_rendered()  # saved by the caller, or given up with a usage error
    return anim, anim.figure


def _sheet(
    stream: ResidualStream,
    layers: Any,
    args: argparse.Namespace,
    grid: dict,
    colorbar: bool | dict = True,
) -> Any:
    """A layer sheet, with a profile panel under it for --profile."""
    if args.profile is None:
        return layer_sheet(
            stream, layers=layers, normalize=args.normalize, colorbar=colorbar, **grid
        )
    import matplotlib.pyplot as plt

    n_panels = len(frame_layers(len(stream), layers))
    ncols, (width, height) = sheet_layout(n_panels, *stream.shape[-2:])
    panel = max(1.4, 0.3 * height)  # the profile's height, in inches
    fig = plt.figure(figsize=(width, height + panel), layout="constrained")
    top, bottom = fig.subfigures(2, 1, height_ratios=[height, panel])
    layer_sheet(
        stream,
        layers=layers,
        normalize=args.normalize,
        fig=top,
        ncols=ncols,
        colorbar=colorbar,
        **grid,
    )
    layer_profile(stream, ax=bottom.add_subplot(), stat=args.profile)
    return fig


def _label(path: str | None, fallback: str) -> str:
    return Path(path).stem if path else fallback


def _render(args: argparse.Namespace) -> str:
    out = Path(args.output)
    suffix = out.suffix.lower()
    if suffix not in ANIMATIONS + PICTURES:
        raise UsageError(
            f"cannot tell what to write from the suffix of {str(out)!r}; use one of "
            + ", ".join(ANIMATIONS + PICTURES)
        )
    if args.input and args.model:
        raise UsageError("pass either --input FILE or --model NAME, not both")
    if args.prompt and not args.model:
        raise UsageError("--prompt needs --model NAME_OR_PATH")
    if args.lens is not None and not args.model:
        raise UsageError(
            "--lens reads the model's own head: it needs --model NAME_OR_PATH (a stream "
            "captured with --lens shows its predictions by itself)"
        )
    if args.vmin is not None and args.vmax is not None and args.vmin > args.vmax:
        raise UsageError(f"--vmin {args.vmin:g} is above --vmax {args.vmax:g}")
    if args.tokens:
        if suffix in ANIMATIONS:
            raise UsageError(f"--tokens draws a picture; use {', '.join(PICTURES)}")
        for option in ("compare", "profile", "position", "token", "mark", "lens"):
            if getattr(args, option) is not None:
                raise UsageError(f"--tokens draws every position; drop --{option}")
    fps = 5.0 if args.fps is None else args.fps
    if suffix in ANIMATIONS:
        try:
            check_fps(fps, suffix)
        except ValueError as err:
            raise UsageError(f"--fps: {err}") from None
    _check_output_folder(out)
    layers = _parse_layers(args.layers)
    stream = _input_stream(args)
    if args.rows is not None and not args.model:
        stream = _refold(stream, args.rows, args.pad)
    try:
        shown = frame_layers(len(stream), layers)
    except (IndexError, ValueError) as err:
        raise UsageError(f"--layers {args.layers}: {err}") from None

    marks = _parse_mark(args.mark)
    other = _compared(args, stream)

    import matplotlib

    matplotlib.use("Agg")
    with style_context(args.style) if args.style else nullcontext():
        anim, fig = _drawn(args, stream, other, shown, suffix)
        for artist in fig.findobj(ResidualStreamArtist) if marks else ():
            try:
                mark_dims(artist, **marks)
            except ValueError as err:
                raise UsageError(f"--mark {args.mark}: {err}") from None
        dpi = args.dpi or matplotlib.rcParams["savefig.dpi"]
        try:
            check_pixels(fig, fig.dpi if dpi == "figure" else dpi)
        except ValueError as err:
            raise UsageError(f"--dpi: {err}") from None
        if anim is not None:
            save_animation(anim, out, fps=fps, dpi=args.dpi)
        else:
            with atomic_path(out) as temporary:
                fig.savefig(temporary, dpi=args.dpi, format=suffix[1:])
    count = f"{len(shown)} {'frames' if suffix in ANIMATIONS else 'layers'}"
    if other is not None:
        count += f" of {stream.shape[0]}" if suffix in ANIMATIONS else ""
        count = count if suffix in ANIMATIONS else f"layer {shown[-1]}"
        count += f", compared with {Path(args.compare).name}"
    rows, cols = stream.shape[-2:]
    what = stream.model_name or "stream"
    return f"wrote {out} ({count}, {rows}x{cols} grid, {_size(out)}) from {what}{_reads(stream)}"


def _capture(args: argparse.Namespace) -> str:
    out = Path(args.output)
    if out.suffix.lower() != ".npz":
        raise UsageError(f"capture writes .npz; got {str(out)!r}")
    _check_output_folder(out)
    if args.lens is not None and args.all_positions:
        raise UsageError("--lens reads one position; drop --all-positions")
    stream = _model_stream(args, position=None if args.all_positions else _wanted(args))
    stream.save(out)
    shape = "x".join(map(str, stream.shape))
    where = "every position" if stream.position is None else repr(stream.token)
    lens = f", logit lens top {len(stream.predictions[-1])}" if stream.predictions else ""
    return (
        f"wrote {out} ({shape} {stream.dtype}, {where}{lens}, {_size(out)}) "
        f"from {args.model}{_reads(stream, at=False)}"
    )


def _texts(spec: str) -> Any:
    """The lines of --texts (a file, or - for standard input), read lazily."""
    if spec == "-":
        return _lines(sys.stdin)
    path = Path(spec)
    if not path.is_file():
        raise UsageError(f"--texts {spec!r}: no such file")
    return _lines(open(path, encoding="utf-8"))  # noqa: SIM115 - closed by _lines


def _lines(lines: Any) -> Any:
    """Each line without its line break, blank ones skipped; the file closed at the end."""
    try:
        for line in lines:
            text = line.rstrip("\r\n")
            if text.strip():
                yield text
    finally:
        if lines is not sys.stdin:
            lines.close()


def _stats(args: argparse.Namespace) -> str:
    import os

    out = Path(args.output)
    if out.suffix.lower() != ".npz":
        raise UsageError(f"stats writes .npz; got {str(out)!r}")
    _check_output_folder(out)
    texts = _texts(args.texts)
    try:
        from . import hf
    except ImportError:
        raise CommandError(
            "--model needs torch and transformers: pip install 'mpl-residual[hf]'"
        ) from None
    model, tokenizer = hf.load_model(  # under a launcher, each process on its own GPU
        args.model, device=args.device, dtype=args.dtype, trust_remote_code=args.trust_remote_code
    )
    try:
        stats = hf.dimension_stats(
            model,
            tokenizer,
            texts,
            batch_size=args.batch_size,
            max_length=args.max_length,
            progress=sys.stderr.isatty(),
            special=args.special,
            final=args.final,
            rows=args.rows,
            pad=args.pad,
        )
    except ValueError as err:
        if args.rows is not None and "rows=" in str(err):
            raise UsageError(_rows_error(args.rows, err)) from None
        raise
    if int(os.environ.get("RANK", "0")) != 0:
        return ""  # the first process writes and reports
    stats = replace(stats, model_name=args.model)
    stats.save(out)
    outliers = stats.outliers(100.0)
    found = ", ".join(map(str, outliers[:8])) + (" ..." if len(outliers) > 8 else "")
    return (
        f"wrote {out} ({stats.n_layers} layers x {stats.d_model} dims over "
        f"{stats.n_tokens:,} tokens of {stats.n_texts:,} texts; dims over 100x the median "
        f"|x|: {found or 'none'}; {_size(out)}) from {args.model}"
    )


def _reads(stream: ResidualStream, *, at: bool = True) -> str:
    """`` at ' is'`` and, with the logit lens, `` → ' Paris' 31% at the last layer``."""
    text = f" at {stream.token!r}" if at and stream.token is not None else ""
    if stream.predictions:
        token, probability = stream.predictions[-1][0]
        text += f" → {token!r} {percent(probability)} at the last layer"
    return text


def _one_line(err: BaseException) -> str:
    text = " ".join(str(err).split()) or type(err).__name__
    if isinstance(err, MemoryError):
        text = f"out of memory ({text})"
    return textwrap.shorten(text, 600)


# -- entry point ---------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        message = args.run(args)
    except UsageError as err:
        parser.exit(2, f"mpl-residual {args.command}: error: {err}\n")
    except Exception as err:  # every failure is one line, unless --debug asks for more
        if args.debug:
            raise
        sys.stderr.write(f"mpl-residual {args.command}: error: {_one_line(err)}\n")
        return 1
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        return 130
    if message:
        print(message)
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
