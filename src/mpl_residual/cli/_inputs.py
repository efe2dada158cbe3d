"""Where `mpl-residual render` gets its stream: a file, a model and a prompt, or the sample."""

from __future__ import annotations

import argparse
from dataclasses import replace
from pathlib import Path

from ..component_stats import FIELDS as COMPONENT_FIELDS
from ..errors import FoldError, LensError, TokenNotFound, TooLong
from ..files import file_kind, load_drawable
from ..sample import load_sample
from ..stats import FIELDS as STATS_FIELDS
from ..stream import ResidualStream
from ._shared import (
    UsageError,
    load_model,
    model_name,
    option,
    prompt_of,
    refold,
    rows_error,
    shown,
    wanted,
)

__all__: list[str] = []

INPUTS = (".npz", ".npy")


def _input_file(args: argparse.Namespace, option_name: str, value: str) -> Path:
    path = Path(value)
    if not path.is_file():
        raise UsageError(f"{option_name} {shown(value)}: no such file")
    if path.suffix.lower() not in INPUTS:
        raise UsageError(f"{option_name} {shown(value)}: expected a .npz or .npy file")
    return path


def model_stream(args: argparse.Namespace, *, position: int | str | None) -> ResidualStream:
    """The stream of ``--model`` (or the toy model) on ``--prompt``, at *position*."""
    prompt = prompt_of(args)
    from .. import hf

    model, tokenizer = load_model(args)
    try:
        stream = hf.residual_stream(
            model,
            tokenizer,
            prompt,
            position=position,
            rows=args.rows,
            pad=args.pad,
            final=getattr(args, "final", "normed"),
            lens=args.lens,
            max_length=getattr(args, "max_length", None),
        )
    except LensError as err:
        raise UsageError(f"--lens: {err}") from None
    except TooLong as err:
        how = "--max-length" if hasattr(args, "max_length") else "a shorter --prompt"
        cut = f"--max-length {err.limit}" if hasattr(args, "max_length") else how
        raise UsageError("--prompt: " + err.describe(cut).replace("the text", "it")) from None
    return replace(stream, model_name=model_name(args))


def _from_file(args: argparse.Namespace, path: Path) -> ResidualStream:
    kind = file_kind(path)
    if kind in ("statistics", "components"):
        for name in ("position", "token", "tokens", "compare"):
            if getattr(args, name) is not None and getattr(args, name) is not False:
                raise UsageError(f"--{name}: {shown(str(path))} holds statistics over every token")
        fields = STATS_FIELDS if kind == "statistics" else COMPONENT_FIELDS
        what = "dimension statistics" if kind == "statistics" else "component statistics"
        if args.field is not None and args.field not in fields:
            raise UsageError(
                f"--field {args.field}: {shown(str(path))} holds {what}, whose "
                f"fields are {', '.join(fields)}"
            )
        return load_drawable(path, field=args.field)
    if args.field is not None:
        raise UsageError(
            f"--field: {shown(str(path))} holds a {kind}, not the statistics that "
            "`mpl-residual stats` writes"
        )
    stream = load_drawable(path)
    if kind != "stream":  # a decomposition: one position, every component
        if args.tokens or wanted(args) is not None:
            raise UsageError(
                f"{'--tokens' if args.tokens else option(args)}: {shown(str(path))} holds a "
                f"{kind} of one position"
            )
        return stream
    if args.tokens:
        if stream.values.ndim != 4:
            raise UsageError(
                f"--tokens: {shown(str(path))} holds one position; capture with "
                "--all-positions to draw every token"
            )
        return stream
    if stream.values.ndim == 4:
        return stream.at(-1 if wanted(args) is None else wanted(args))
    if wanted(args) is not None:
        raise UsageError(
            f"{option(args)}: {shown(str(path))} holds one position already; capture "
            "with --all-positions to choose later"
        )
    return stream


def input_stream(args: argparse.Namespace) -> ResidualStream:
    """The stream to draw: from --input, --model or the shipped sample, at --position."""
    try:
        if args.input:
            stream = _from_file(args, _input_file(args, "--input", args.input))
        elif args.tokens and args.model:  # every position
            stream = model_stream(args, position=None)
        elif args.tokens:
            stream = load_sample(position=None)
        elif args.model:
            stream = model_stream(args, position=-1 if wanted(args) is None else wanted(args))
        else:
            stream = load_sample(position=-1 if wanted(args) is None else wanted(args))
        if args.rows is not None and not args.model:
            stream = refold(stream, args.rows, args.pad)
        return stream
    except IndexError as err:  # the position, whatever the source
        raise UsageError(f"{option(args)}: {err}") from None
    except TokenNotFound as err:
        raise UsageError(f"--token: {err}") from None
    except FoldError as err:
        raise rows_error(err) from None


def compared(args: argparse.Namespace, stream: ResidualStream) -> ResidualStream | None:
    """The stream of --compare, at the same position and in the same grid as *stream*."""
    if args.compare is None:
        return None
    path = _input_file(args, "--compare", args.compare)
    if file_kind(path) != "stream":
        raise UsageError(f"--compare {shown(args.compare)}: compare saved streams")
    other = ResidualStream.load(path)
    if other.values.ndim == 4:
        try:
            other = other.at(-1 if wanted(args) is None else wanted(args))
        except (IndexError, TokenNotFound) as err:
            raise UsageError(f"--compare {shown(args.compare)}: {err}") from None
    if args.rows is not None:
        other = refold(other, args.rows, args.pad)
    if other.shape != stream.shape:
        raise UsageError(
            f"--compare {shown(args.compare)} holds a {'x'.join(map(str, other.shape))} "
            f"stream; the first is {'x'.join(map(str, stream.shape))}: compare streams of "
            "one shape"
        )
    return other

