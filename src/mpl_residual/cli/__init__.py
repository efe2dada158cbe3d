"""
The ``mpl-residual`` command: one module per command, each adding its own subparser.

- `render`: a stream (a model's, a saved one, the sample) to a picture or animation;
- `capture`: a model's stream saved as ``.npz``;
- `stats`: statistics of every dimension over a corpus;
- `attribute`: what wrote the stream, and each dimension's share of a logit;
- `info`: what a saved file holds.

Every error is one line on stderr (``--debug`` for the traceback): exit status 2 for
what the user can fix on the command line (`UsageError`), 1 for anything else.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from collections.abc import Sequence

from .._backend import IGNORED_BACKEND
from .._text import printable
from . import attribute, capture, info, render, stats
from ._shared import FORMATTER, UsageError, one_line, say, spell_anything

__all__ = ["build_parser", "main"]

COMMANDS = (render, capture, stats, attribute, info)

HELP = """\
Look inside a transformer: draw its residual stream (the hidden state after every
layer), folded into a grid, as an animation or a sheet of small multiples.
"""

EPILOG = """\
exit status:
  0  success
  1  a runtime failure (the model could not be loaded or run, a file could not be written)
  2  a usage error (bad option, unknown suffix, missing input file)

Run `mpl-residual COMMAND --help` for the options of each command.
"""


class _Parser(argparse.ArgumentParser):
    """argparse's parser, whose errors are one line like every other error here."""

    def error(self, message: str) -> None:  # argparse's documented hook; never returns
        _error(self.prog.removeprefix("mpl-residual").strip() or "", printable(message)
               + f" (see {self.prog} --help)")  # fmt: skip
        raise SystemExit(2)


def build_parser() -> argparse.ArgumentParser:
    from .. import __version__

    parser = _Parser(
        prog="mpl-residual", description=HELP, epilog=EPILOG, formatter_class=FORMATTER
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(
        dest="command", metavar="COMMAND", required=True, title="commands"
    )
    for command in COMMANDS:
        command.add_parser(commands)
    return parser


def _note(command: str, text: str) -> None:
    try:
        sys.stderr.write(f"{' '.join(('mpl-residual', command)).strip()}: note: {text}\n")
    except (ValueError, OSError):
        pass


def _error(command: str, text: str) -> None:
    try:
        sys.stderr.write(f"{' '.join(('mpl-residual', command)).strip()}: error: {text}\n")
        sys.stderr.flush()
    except (ValueError, OSError):  # stderr closed: the exit status still says it
        pass


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    spell_anything()
    if IGNORED_BACKEND is not None:  # the command line draws with Agg in any case
        _note("", f"MPLBACKEND={IGNORED_BACKEND!r} is not a matplotlib backend; ignored")
    parser = build_parser()
    args = parser.parse_args(argv)
    with warnings.catch_warnings(record=True) as said:
        warnings.simplefilter("default")
        try:
            message = args.run(args)
        except UsageError as err:
            _error(args.command, one_line(err))
            return 2
        except Exception as err:  # every failure is one line, unless --debug asks for more
            if args.debug:
                raise
            _error(args.command, one_line(err))
            return 1
        except KeyboardInterrupt:
            _error(args.command, "interrupted")
            return 130
        finally:
            for warning in said:  # one line each, as notes
                if issubclass(warning.category, ResourceWarning):
                    continue  # a file a stopped run left to the interpreter to close
                try:
                    sys.stderr.write(
                        f"mpl-residual {args.command}: note: {one_line(warning.message)}\n"
                    )
                except (ValueError, OSError):
                    pass
    if message:
        try:
            say(message)
        except OSError as err:  # > /dev/full: what was asked is done, not said
            _error(args.command, f"could not write to standard output: {one_line(err)}")
            return 1
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
