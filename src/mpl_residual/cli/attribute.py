"""``mpl-residual attribute``: what wrote the stream, and each dimension's share of a logit."""

from __future__ import annotations

import argparse
from contextlib import nullcontext
from typing import Any

import numpy as np

from .._layout.figures import check_pixels
from .._text import literal, printable
from ..contributions import contributions
from ..errors import FoldError, LensError, NotOneToken, TokenNotFound, TooLong
from ..heatmap import residual_grid
from ..markers import mark_dims
from ..sample import SAMPLE_TARGET
from ..styles import STYLES, style_context
from ._shared import (
    FORMATTER,
    UsageError,
    checked_output,
    debug_option,
    load_model,
    model_name,
    model_options,
    option,
    output_option,
    position_options,
    positive,
    prompt_of,
    rows_error,
    shown,
    size_of,
    wanted,
)

__all__ = ["add_parser"]

PICTURES = (".png", ".pdf", ".svg")

HELP = """\
Run a model once on a prompt and split the residual stream at one token into what wrote
it (the embeddings, each block's attention or heads, each MLP), then each dimension's
share of the logit of --target (minus --versus's) through the final norm, as the model
scaled this token. A picture shows the shares on the grid, the components that pushed
the logit most, and who wrote the dimension with the largest share; .npz keeps the
decomposition and the attribution for `render --input` and `info`.
"""

EXAMPLES = """\
examples:
  mpl-residual attribute -o toy.png   # the shipped toy model: ' Paris' after its prompt
  mpl-residual attribute --model gpt2 --prompt "The capital of France is" \\
      --target " Paris" --versus " London" -o paris.png
  mpl-residual attribute --model gpt2 --prompt "The capital of France is" \\
      --target " Paris" --heads -o paris.npz
  mpl-residual render --input paris.npz -o writers.gif   # one frame a component
"""


def add_parser(commands: Any) -> None:
    attribute = commands.add_parser(
        "attribute",
        help="what wrote the stream at one token, and each dimension's share of a logit",
        description=HELP,
        epilog=EXAMPLES,
        formatter_class=FORMATTER,
    )
    output_option(
        attribute, "where to write: .png, .pdf, .svg (a figure) or .npz", required=True
    )
    model_options(attribute, sample=True, lens=False)
    what = attribute.add_argument_group("what to attribute")
    what.add_argument(
        "--target",
        metavar="TOKEN",
        help="the token whose logit to split: its text, exactly one token (mind a leading "
        f"space, ' Paris'), or its id (default without --model: {SAMPLE_TARGET!r})",
    )
    what.add_argument(
        "--versus", metavar="TOKEN", help="a second token: split the logit difference"
    )
    what.add_argument(
        "--heads", action="store_true", help="split each attention block by head"
    )
    position_options(
        what,
        default=None,
        text="the token whose prediction to split (default: -1, the last word)",
    )
    look = attribute.add_argument_group("look")
    look.add_argument("--style", choices=STYLES, help="a style preset (default: matplotlib's)")
    look.add_argument("--dpi", type=positive, help="resolution (default: the style's)")
    debug_option(attribute)
    attribute.set_defaults(run=run)


def _token(text: str) -> int | str:
    """--target as given: a whole number is a token id, anything else a token's text."""
    return int(text) if text.strip().isdigit() else text


def figure(attribution: Any) -> Any:
    """
    The attribution on the grid, the components' shares (adding up to the total), and
    the writers of the dimension with the largest share: each panel titled with what
    it is, so that none reads as another's.
    """
    import matplotlib.pyplot as plt

    fig, (grid, shares, writers) = plt.subplots(
        1, 3, figsize=(12, 4.2), layout="constrained", width_ratios=[1.2, 1, 1]
    )
    at = f" at {literal(repr(attribution.token))}" if attribution.token is not None else ""
    fig.suptitle(f"{literal(attribution.heading)}{at} = {attribution.total:+.2f}")
    artist = residual_grid(attribution, ax=grid, colorbar=True, title="each dimension's share")
    flat = np.nan_to_num(attribution.values.ravel()[: attribution.d_model])
    top = np.argsort(-np.abs(flat), kind="stable")[:5]
    mark_dims(artist, dims=top.tolist())
    contributions(attribution, ax=shares, top=10)
    shares.set_title("each component's share")
    contributions(attribution.decomposition, [int(top[0])], ax=writers, top=10)
    writers.set_title(f"who wrote dim {int(top[0])}")
    return fig


def run(args: argparse.Namespace) -> str:
    out = checked_output(args, (*PICTURES, ".npz"), "attribute")
    prompt = prompt_of(args)
    if args.target is None and args.model is not None:
        raise UsageError("--model needs --target TOKEN: the token whose logit to split")
    target = SAMPLE_TARGET if args.target is None else args.target
    from .. import hf

    model, tokenizer = load_model(args)
    position = -1 if wanted(args) is None else wanted(args)
    try:
        attribution = hf.logit_attribution(
            model,
            tokenizer,
            prompt,
            _token(target),
            versus=None if args.versus is None else _token(args.versus),
            position=position,
            heads=args.heads,
        )
    except NotOneToken as err:
        said = "target" if err.text == target else "versus"
        raise UsageError(f"--{said}: {err}") from None
    except TokenNotFound as err:
        raise UsageError(f"--token: {err}") from None
    except IndexError as err:
        asked = option(args) if wanted(args) is not None else "--position -1"
        raise UsageError(f"{asked}: {err}") from None
    except LensError as err:
        raise UsageError(f"--model: {err}") from None
    except FoldError as err:
        raise rows_error(err) from None
    except TooLong as err:
        raise UsageError("--prompt: " + err.describe("a shorter --prompt")) from None
    if out.suffix.lower() == ".npz":
        attribution.save(out)
    else:
        import matplotlib

        matplotlib.use("Agg")
        from .._atomic import atomic_path

        with style_context(args.style) if args.style else nullcontext():
            fig = figure(attribution)
            resolution = args.dpi or matplotlib.rcParams["savefig.dpi"]
            try:  # the one check of size and dpi every command that draws makes
                check_pixels(fig, fig.dpi if resolution == "figure" else resolution)
            except ValueError as err:
                raise UsageError(f"--dpi: {err}") from None
            with atomic_path(out) as temporary:
                fig.savefig(temporary, dpi=args.dpi, format=out.suffix[1:])
    name, share = attribution.top(1)[0]
    return (
        f"wrote {printable(str(out))} ({printable(attribution.heading)} = "
        f"{attribution.total:.4g} at {shown(attribution.token or '')}; largest share: "
        f"{printable(name)} {share:+.3g}; {size_of(out)}) from {printable(model_name(args))}"
    )
