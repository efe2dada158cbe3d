"""What every command of ``mpl-residual`` shares: its errors, option types and groups,
output checks, and writing to a terminal that may be closed or unable to spell."""

from __future__ import annotations

import argparse
import math
import os
import sys
import textwrap
from pathlib import Path
from typing import Any

from .._atomic import check_output
from .._text import printable
from ..errors import FoldError, NotRegularFile
from ..sample import SAMPLE_MODEL, SAMPLE_PROMPT
from ..stream import ResidualStream

__all__: list[str] = []

FORMATTER = argparse.RawDescriptionHelpFormatter


class UsageError(Exception):
    """Something the user can fix on the command line: exit status 2."""


class CommandError(Exception):
    """A runtime failure with a message that says it all: exit status 1."""


# -- option types: argparse reports a ValueError as a usage error, naming the type ----------


def _named(name: str):
    def name_it(function):
        function.__name__ = name
        return function

    return name_it


@_named("finite number")
def number(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(text)
    return value


@_named("positive number")
def positive(text: str) -> float:
    value = number(text)
    if not value > 0:
        raise ValueError(text)
    return value


def count_up_to(most: int):
    """A type: a whole number from 1 to *most*."""

    @_named("positive integer")  # (argparse says "invalid positive integer value: '0'")
    def count(text: str) -> int:
        value = int(text)
        if not 1 <= value <= most:
            raise ValueError(text)
        return value

    return count


#: Grid rows, batch sizes, token counts: far beyond any real use, far below overflow.
count = count_up_to(2**24)


@_named("colormap")
def colormap(name: str) -> str:
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


# -- option groups -------------------------------------------------------------------------


def output_option(parser: argparse.ArgumentParser, what: str, **kwargs: Any) -> None:
    parser.add_argument("-o", "--output", metavar="OUT", help=what, **kwargs)


def debug_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")


#: What --model means when it is not given (capture, stats, attribute): the toy LM.
SAMPLE_HELP = (
    "a Hugging Face model name or a local folder (default: the toy GPT-2 shipped in the "
    "package, hf.sample_model(): trained on sentences about cities for the examples, "
    "not a real language model)"
)


@_named("memory map")
def memory_map(text: str) -> dict[int | str, str]:
    """``--max-memory 0=70GiB,cpu=200GiB``: each device (a GPU's index, cpu, mps) and
    the most it may hold."""
    found: dict[int | str, str] = {}
    for item in text.split(","):
        device, equals, size = (part.strip() for part in item.partition("="))
        digits = size.rstrip("BbIiKkMmGgTt").strip()
        unit = size[len(digits):].strip().upper()
        known = unit in ("B", "KB", "MB", "GB", "TB", "KIB", "MIB", "GIB", "TIB")
        if not (equals and device and digits and known) or not _positive_number(digits):
            raise argparse.ArgumentTypeError(
                "expected DEVICE=SIZE[,DEVICE=SIZE...], a device (a GPU's index, cpu, mps) "
                f"and a size with its unit, e.g. 0=70GiB,cpu=200GiB; got {text!r}"
            )
        found[int(device) if device.isdigit() else device.lower()] = f"{digits}{unit}"
    return found


def _positive_number(text: str) -> bool:
    try:
        value = float(text)
    except ValueError:
        return False
    return math.isfinite(value) and value > 0


def model_options(
    parser: argparse.ArgumentParser,
    *,
    sample: bool,
    prompt: bool = True,
    lens: bool = True,
) -> Any:
    """The options that load and run a model; with *sample*, no --model means the toy
    model shipped in the package (and its prompt)."""
    group = parser.add_argument_group("model")
    group.add_argument(
        "--model",
        metavar="NAME_OR_PATH",
        help=SAMPLE_HELP if sample else "a Hugging Face model name or a local folder",
    )
    if prompt:
        group.add_argument(
            "--prompt",
            metavar="TEXT",
            help="the text to run the model on"
            + (f" (default without --model: {SAMPLE_PROMPT!r})" if sample else ""),
        )
    group.add_argument(
        "--device",
        choices=("auto", "cpu", "cuda"),
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
    big = parser.add_argument_group(
        "models that do not fit one device (accelerate's big-model dispatch)"
    )
    big.add_argument(
        "--device-map",
        choices=("auto", "balanced", "sequential"),
        help="spread the model over the GPUs, then the CPU, then the disk; the numbers "
        "are the same as in memory (instead of --device)",
    )
    big.add_argument(
        "--max-memory",
        metavar="DEVICE=SIZE[,...]",
        type=memory_map,
        help="with --device-map: the most each device may hold, e.g. 0=70GiB,cpu=200GiB",
    )
    big.add_argument(
        "--offload-folder",
        metavar="DIR",
        help="with --device-map: where weights that fit no device are kept",
    )
    if prompt and lens:
        group.add_argument(
            "--lens",
            metavar="K",
            type=count_up_to(1000),
            nargs="?",
            const=5,
            help="read the logit lens: each layer's K most likely next tokens (default K: "
            "5) through the model's own final norm and head; titles show the first",
        )
    return group


def position_options(group: Any, *, default: int | None, text: str) -> Any:
    choice = group.add_mutually_exclusive_group()
    choice.add_argument("--position", type=int, default=default, help=text)
    choice.add_argument(
        "--token",
        metavar="WORD",
        help="the token that reads WORD (its last one; case, spaces and the markers "
        "Ġ ▁ ## aside), instead of --position",
    )
    return choice


def fold_options(group: Any) -> None:
    group.add_argument(
        "--rows", type=count, help="grid rows (default: the most nearly square grid)"
    )
    group.add_argument(
        "--pad",
        action="store_true",
        help="allow --rows that do not divide d_model: the last row is padded with NaN "
        "(drawn grey)",
    )


# -- what the options say ----------------------------------------------------------------------


def wanted(args: argparse.Namespace) -> int | str | None:
    """The token asked for: --token WORD, else --position N (None: not given)."""
    return args.token if args.token is not None else args.position


def option(args: argparse.Namespace) -> str:
    """How the token was asked for, for messages: ``--token 'x'`` or ``--position -1``."""
    return f"--token {args.token!r}" if args.token is not None else f"--position {args.position}"


def rows_error(err: FoldError) -> UsageError:
    return UsageError(f"--rows {err.rows}: {err.describe('pass --pad')}")


def refold(stream: ResidualStream, rows: int, pad: bool) -> ResidualStream:
    try:
        return stream.refold(rows, pad=pad)
    except FoldError as err:
        raise rows_error(err) from None


def checked_output(
    args: argparse.Namespace, suffixes: tuple[str, ...], command: str, *, place: bool = True
) -> Path:
    """``-o``: a suffix the command writes, in a folder that exists, not a device
    (*place* False: the caller checks the place itself, with the rest of an export)."""
    out = Path(args.output)
    if out.suffix.lower() not in suffixes:
        if len(suffixes) == 1:
            raise UsageError(f"{command} writes {suffixes[0]}; got {shown(str(out))}")
        raise UsageError(
            f"cannot tell what to write from the suffix of {shown(str(out))}; use one of "
            + ", ".join(suffixes)
        )
    return checked_place(out) if place else out


def checked_place(out: Path) -> Path:
    """*out* in a folder that exists, not a device; else a usage error."""
    try:
        check_output(out)
    except (FileNotFoundError, NotRegularFile) as err:
        raise UsageError(printable(str(err))) from None
    return out


def _dispatch(args: argparse.Namespace) -> dict[str, Any]:
    """--device-map, --max-memory and --offload-folder, checked against each other."""
    given = {
        "--device-map": args.device_map,
        "--max-memory": args.max_memory,
        "--offload-folder": args.offload_folder,
    }
    if args.device_map is None:
        extra = [name for name, value in given.items() if value is not None]
        if extra:
            raise UsageError(f"{extra[0]} goes with --device-map (e.g. --device-map auto)")
        return {}
    if args.device not in (None, "auto"):
        raise UsageError(f"--device {args.device} and --device-map both place the model; pass one")
    if args.model is None:
        raise UsageError("--device-map needs --model: the shipped toy model fits anywhere")
    if args.offload_folder is not None and Path(args.offload_folder).exists():
        if not Path(args.offload_folder).is_dir():
            raise UsageError(f"--offload-folder {shown(args.offload_folder)}: not a folder")
    return {
        "device_map": args.device_map,
        "max_memory": args.max_memory,
        "offload_folder": args.offload_folder,
    }


def prompt_of(args: argparse.Namespace) -> str:
    """--prompt, or without --model the toy model's own prompt."""
    if args.prompt:
        return args.prompt
    if args.model is None:
        return SAMPLE_PROMPT
    raise UsageError("--model needs --prompt TEXT")


def model_name(args: argparse.Namespace) -> str:
    """What the model is called in messages and files: --model, or the toy's name."""
    return SAMPLE_MODEL if args.model is None else args.model


def load_model(args: argparse.Namespace) -> tuple[Any, Any]:
    """``--model`` loaded (under a launcher, each process on its own GPU), or without
    one, the toy model shipped in the package."""
    dispatch = _dispatch(args)
    try:
        from .. import hf
    except ImportError:
        raise CommandError(
            "running a model needs torch and transformers: pip install 'mpl-residual[hf]'"
        ) from None
    if args.model is None:
        from ..model.loading import placed

        model, tokenizer = hf.sample_model()
        return placed(model, device=args.device, dtype=args.dtype), tokenizer
    return hf.load_model(
        args.model,
        device=args.device,
        dtype=args.dtype,
        trust_remote_code=args.trust_remote_code,
        **dispatch,
    )


# -- what the commands print -------------------------------------------------------------------


def shown(text: str) -> str:
    """*text* from a file or a model, quoted and safe on a terminal."""
    return printable(repr(text))


def size_of(path: Path) -> str:
    size = path.stat().st_size
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return ""


def one_line(err: BaseException) -> str:
    text = " ".join(str(err).split()) or type(err).__name__
    if isinstance(err, MemoryError):
        text = f"out of memory ({text})"
    return printable(textwrap.shorten(text, 600))


def spell_anything() -> None:
    """Let stdout and stderr write any text: what their encoding cannot spell is
    escaped (``\\xe9``) rather than raised, so a name never ends a run in a traceback."""
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if callable(reconfigure):
            try:
                reconfigure(errors="backslashreplace")
            except (ValueError, OSError):  # a closed or detached stream
                pass


def say(text: str) -> None:
    """Print *text* (a success message); a reader that went away is no failure, a
    standard output that cannot take it (a full disk) is: OSError."""
    try:
        print(text, flush=True)
    except BrokenPipeError:
        # The reader closed the pipe: what was asked is done.  Point stdout at the null
        # device so that the interpreter's last flush does not fail again.
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, sys.stdout.fileno())
        os.close(null)
    except ValueError:  # stdout closed
        pass
