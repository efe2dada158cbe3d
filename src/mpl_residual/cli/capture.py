"""``mpl-residual capture``: a model run once on a prompt, its stream saved as ``.npz``."""

from __future__ import annotations

import argparse
from typing import Any

from .._text import printable
from ..errors import FoldError, TokenNotFound
from ._inputs import model_stream
from ._shared import (
    FORMATTER,
    UsageError,
    checked_output,
    count,
    debug_option,
    fold_options,
    model_name,
    model_options,
    option,
    output_option,
    position_options,
    rows_error,
    size_of,
    wanted,
)
from .render import reads

__all__ = ["add_parser"]

HELP = """\
Run a model once on a prompt and save its residual stream as a plain .npz file (values,
token strings, layer names, model name, d_model) that loads with numpy's
allow_pickle=False and renders anywhere with `mpl-residual render --input`.

Only the requested position is kept while the model runs (forward hooks), so long
prompts and large models need little memory beyond the forward pass itself.
"""

EXAMPLES = """\
examples:
  mpl-residual capture -o toy.npz           # the shipped toy model on its own prompt
  mpl-residual capture --model gpt2 --prompt "Paris is the capital of" -o paris.npz
  mpl-residual capture --model meta-llama/Llama-3.2-1B --device cuda --dtype bfloat16 \\
      --prompt "The Eiffel Tower is in" --all-positions -o eiffel.npz
  # then, on a laptop:
  mpl-residual info eiffel.npz             # its tokens, layers, model
  mpl-residual render --input eiffel.npz --position -1 -o eiffel.gif
"""


def add_parser(commands: Any) -> None:
    capture = commands.add_parser(
        "capture",
        help="run a model once and save its stream as .npz",
        description=HELP,
        epilog=EXAMPLES,
        formatter_class=FORMATTER,
    )
    output_option(capture, "the .npz file to write", required=True)
    model_options(capture, sample=True)
    where = capture.add_argument_group("what to keep")
    choice = position_options(
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
    fold_options(where)
    where.add_argument(
        "--max-length",
        metavar="N",
        type=count,
        help="cut the prompt to N tokens, special tokens included (a prompt longer than "
        "the model reads is an error that says how long it is)",
    )
    where.add_argument(
        "--final",
        choices=("normed", "raw"),
        default="normed",
        help="the last layer after the model's final norm (default, as in "
        "hidden_states) or the raw last block output",
    )
    debug_option(capture)
    capture.set_defaults(run=run)


def run(args: argparse.Namespace) -> str:
    out = checked_output(args, (".npz",), "capture")
    if args.lens is not None and args.all_positions:
        raise UsageError("--lens reads one position; drop --all-positions")
    try:
        stream = model_stream(args, position=None if args.all_positions else wanted(args))
    except IndexError as err:
        raise UsageError(f"{option(args)}: {err}") from None
    except TokenNotFound as err:
        raise UsageError(f"--token: {err}") from None
    except FoldError as err:
        raise rows_error(err) from None
    stream.save(out)
    shape = "x".join(map(str, stream.shape))
    where = "every position" if stream.position is None else printable(repr(stream.token))
    lens = f", logit lens top {len(stream.predictions[-1])}" if stream.predictions else ""
    return (
        f"wrote {printable(str(out))} ({shape} {stream.dtype}, {where}{lens}, "
        f"{size_of(out)}) from {printable(model_name(args))}{reads(stream, at=False)}"
    )
