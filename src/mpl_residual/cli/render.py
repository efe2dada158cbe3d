"""``mpl-residual render``: a stream drawn as an animation or a sheet of small multiples."""

from __future__ import annotations

import argparse
from contextlib import nullcontext
from pathlib import Path
from typing import Any

from .._atomic import atomic_path
from .._colorbar import LARGEST_LIMIT
from .._layers import frame_layers
from .._layout.figures import MAX_PIXELS, check_pixels, offscreen
from .._text import percent, printable
from ..animation import animate
from ..artist import ResidualStreamArtist
from ..compare import compare
from ..component_stats import FIELDS as COMPONENT_FIELDS
from ..errors import BadResolution, LimitsTooLarge, NotRegularFile, TooMany, TooManyCells
from ..export import SUPPORTED_SUFFIXES, Request, check_request, write_animation
from ..markers import mark_dims
from ..normalize import normalize
from ..sheet import layer_sheet
from ..stats import FIELDS
from ..stream import ResidualStream
from ..styles import STYLES, style_context
from ..tokens import token_sheet
from ._inputs import compared, input_stream
from ._shared import (
    FORMATTER,
    UsageError,
    checked_output,
    checked_place,
    colormap,
    debug_option,
    fold_options,
    model_options,
    number,
    output_option,
    position_options,
    positive,
    shown,
    size_of,
)

__all__ = ["add_parser"]

ANIMATIONS = SUPPORTED_SUFFIXES
PICTURES = (".png", ".pdf", ".svg")

HELP = """\
Draw a residual stream: every layer of it, as an animation (.gif, .mp4, .html) or as a
sheet of small multiples (.png, .pdf, .svg), chosen by the suffix of OUT.

The stream comes from one of three places:
  - a model and a prompt (--model, --prompt): the model runs once on the CPU or GPU;
  - a saved file (--input): a stream from `mpl-residual capture` or numpy (.npz, .npy),
    statistics from `mpl-residual stats`, a decomposition from `mpl-residual attribute`
    (one frame or panel per component); `mpl-residual info FILE` says what a file holds;
  - nothing: a sample of real all-MiniLM-L6-v2 activations shipped in the package.
"""

EXAMPLES = """\
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


def add_parser(commands: Any) -> None:
    render = commands.add_parser(
        "render",
        help="draw a stream (a model's, a saved one, or the shipped sample)",
        description=HELP,
        epilog=EXAMPLES,
        formatter_class=FORMATTER,
    )
    output_option(
        render,
        "where to write; the suffix picks the output: "
        f"{', '.join(ANIMATIONS + PICTURES)} (default: residual.gif)",
        default="residual.gif",
    )
    source = render.add_argument_group("input (default: the shipped sample)")
    source.add_argument(
        "--input",
        metavar="FILE",
        help="a saved file: a stream (.npz from `mpl-residual capture`, or .npy), "
        "statistics, or a decomposition",
    )
    model_options(render, sample=False)
    what = render.add_argument_group("what to draw")
    position_options(
        what,
        default=None,
        text="the token, counted over real tokens; negative counts back from the last "
        "that is not a special token such as [SEP] (default: -1, the last word; "
        "`mpl-residual info FILE` lists a file's tokens)",
    )
    fold_options(what)
    what.add_argument(
        "--layers",
        metavar="SPEC",
        help="a subset: START:STOP:STEP (the last layer is kept when "
        "stepping) or a list like 0,6,12",
    )
    what.add_argument(
        "--field",
        choices=tuple(dict.fromkeys(FIELDS + COMPONENT_FIELDS)),
        help="with an --input made by `mpl-residual stats`: which statistic to draw "
        "(default: absmax; for --components statistics: mean, one panel per component)",
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
        "(over 100x the median |x| of the layer's vector), or a list like 447,138",
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
    look.add_argument("--style", choices=STYLES, help="a style preset (default: matplotlib's)")
    look.add_argument("--cmap", type=colormap, help="a matplotlib colormap name")
    look.add_argument(
        "--robust",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="limits from the 98th percentile of |x| (default) or, with "
        "--no-robust, from the largest |x|",
    )
    look.add_argument("--vmin", type=number, help="lower colour limit")
    look.add_argument("--vmax", type=number, help="upper colour limit")
    look.add_argument(
        "--fps", type=positive, help="frames per second, 1/60 to 1000 (GIF: 50) (default: 5)"
    )
    look.add_argument(
        "--dpi",
        type=positive,
        help=f"resolution (default: the style's); at least 1 and at most {MAX_PIXELS:,} "
        "pixels a picture",
    )
    debug_option(render)
    render.set_defaults(run=run)


def parse_layers(spec: str | None) -> Any:
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
            f"--layers {shown(spec)}: expected START:STOP:STEP (e.g. 0:13:4) or a list "
            "(e.g. 0,6,12)"
        ) from None


def parse_mark(spec: str | None) -> dict[str, Any]:
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
        f"--mark {shown(spec)}: expected top:N, factor:X or a list of dimensions (447,138)"
    )


def _label(path: str | None, fallback: str) -> str:
    return Path(path).stem if path else fallback


def _drawn(
    args: argparse.Namespace,
    stream: ResidualStream,
    other: ResidualStream | None,
    shown_layers: list[int],
    suffix: str,
) -> tuple[Any, Any]:
    """The animation (None for a picture) and the figure of a render."""
    grid = {"robust": args.robust, "vmin": args.vmin, "vmax": args.vmax, "cmap": args.cmap}
    layers = parse_layers(args.layers)
    if args.tokens:
        return None, token_sheet(stream, layers=layers, normalize=args.normalize, **grid)
    if other is not None:
        pair = [stream, other]
        if args.normalize:
            pair = [normalize(s, args.normalize) for s in pair]
        labels = (_label(args.input, "input"), _label(args.compare, "compare"))
        layer = shown_layers[-1] if suffix not in ANIMATIONS else shown_layers[0]
        artists = compare(*pair, labels=labels, layer=layer, **grid)
        fig = artists[0].get_figure(root=True)
        if suffix not in ANIMATIONS:
            return None, fig
        with offscreen():
            anim = animate(artists, layers=layers, profile=args.profile)
    elif suffix in ANIMATIONS:
        with offscreen():
            anim = animate(
                stream,
                layers=layers,
                colorbar=True,
                normalize=args.normalize,
                profile=args.profile,
                **grid,
            )
    else:
        import matplotlib.pyplot as plt

        fig = layer_sheet(
            stream, layers=layers, normalize=args.normalize, profile=args.profile, **grid
        )
        plt.close(fig)  # saved here, never shown
        return None, fig
    return anim, anim.figure


def _request(args: argparse.Namespace, out: Path) -> Request:
    """The export of an animation, checked once (format, fps, dpi, the place)."""
    try:
        return check_request(out, 5.0 if args.fps is None else args.fps, args.dpi)
    except (FileNotFoundError, NotRegularFile, RuntimeError) as err:
        raise UsageError(printable(str(err))) from None
    except ValueError as err:
        raise UsageError(f"--fps: {err}") from None


def _check_options(args: argparse.Namespace, suffix: str) -> None:
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
    for name in ("vmin", "vmax"):
        value = getattr(args, name)
        if value is not None and abs(value) > LARGEST_LIMIT:
            raise UsageError(
                f"--{name} {value:g}: colour limits go to ±{LARGEST_LIMIT:.2g} at most "
                "(matplotlib's colorbar overflows beyond)"
            )
    if args.tokens:
        if suffix in ANIMATIONS:
            raise UsageError(f"--tokens draws a picture; use {', '.join(PICTURES)}")
        for name in ("compare", "profile", "position", "token", "mark", "lens"):
            if getattr(args, name) is not None:
                raise UsageError(f"--tokens draws every position; drop --{name}")


def reads(stream: Any, *, at: bool = True) -> str:
    """`` at ' is'`` and, with the logit lens, `` → ' Paris' 31% at the last layer``."""
    text = f" at {shown(stream.token)}" if at and stream.token is not None else ""
    predictions = getattr(stream, "predictions", ())  # a decomposition has none
    if predictions:
        token, probability = predictions[-1][0]
        text += f" → {shown(token)} {percent(probability)} at the last layer"
    return text


def _fewer(err: TooMany, n_layers: int) -> str:
    """*err* with a --layers step over all *n_layers* layers that fits (the same advice
    whatever --layers was already given: it never goes round in circles)."""
    step = -(-n_layers // err.most)
    return err.describe(f"--layers ::{step}")


def _saved(
    args: argparse.Namespace,
    stream: ResidualStream,
    other: ResidualStream | None,
    shown_layers: list[int],
    marks: dict,
    request: Request | Path,
) -> tuple[Any, Any]:
    """Draw the render and write it where *request* (an animation's, checked) or the
    picture's path says; the animation (None for a picture) and the figure."""
    import matplotlib

    out = request.path if isinstance(request, Request) else request
    suffix = out.suffix.lower()
    try:
        anim, fig = _drawn(args, stream, other, shown_layers, suffix)
    except TooMany as err:
        raise UsageError(_fewer(err, len(stream))) from None
    except TooManyCells as err:
        raise UsageError(str(err)) from None
    except LimitsTooLarge:
        raise UsageError(
            f"the values reach beyond ±{LARGEST_LIMIT:.2g}, more than a colorbar can "
            "show: draw them with --normalize rms (or ln), or rescale the stream"
        ) from None
    try:
        for artist in fig.findobj(ResidualStreamArtist) if marks else ():
            try:
                mark_dims(artist, **marks)
            except (ValueError, TypeError) as err:
                raise UsageError(f"--mark {args.mark}: {err}") from None
        if anim is not None:
            write_animation(anim, request)  # its pixels checked there, once
        else:
            resolution = args.dpi or matplotlib.rcParams["savefig.dpi"]
            check_pixels(fig, fig.dpi if resolution == "figure" else resolution)
            with atomic_path(out, checked=True) as temporary:
                fig.savefig(temporary, dpi=args.dpi, format=suffix[1:])
    except BaseException as err:
        if anim is not None:  # given up: no "deleted without rendering" warning
            anim.mark_rendered()
        if isinstance(err, TooMany):
            raise UsageError(_fewer(err, len(stream))) from None
        if isinstance(err, BadResolution):
            raise UsageError(f"--dpi: {err}") from None
        raise
    return anim, fig


def run(args: argparse.Namespace) -> str:
    out = checked_output(args, ANIMATIONS + PICTURES, "render", place=False)
    suffix = out.suffix.lower()
    _check_options(args, suffix)
    request = _request(args, out) if suffix in ANIMATIONS else checked_place(out)
    layers = parse_layers(args.layers)
    stream = input_stream(args)
    try:
        shown_layers = frame_layers(len(stream), layers)
    except (IndexError, ValueError) as err:
        raise UsageError(f"--layers {args.layers}: {err}") from None
    marks = parse_mark(args.mark)
    other = compared(args, stream)

    import matplotlib

    matplotlib.use("Agg")
    with style_context(args.style) if args.style else nullcontext():
        _saved(args, stream, other, shown_layers, marks, request)
    count = f"{len(shown_layers)} {'frames' if suffix in ANIMATIONS else 'layers'}"
    if other is not None:
        count += f" of {stream.shape[0]}" if suffix in ANIMATIONS else ""
        count = count if suffix in ANIMATIONS else f"layer {shown_layers[-1]}"
        count += f", compared with {printable(Path(args.compare).name)}"
    rows, cols = stream.shape[-2:]
    what = printable(stream.model_name) if stream.model_name else "stream"
    said = f"{count}, {rows}x{cols} grid, {size_of(out)}"
    return f"wrote {printable(str(out))} ({said}) from {what}{reads(stream)}"
