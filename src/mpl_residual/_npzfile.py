"""
Reading ``.npz`` and ``.npy`` files that may come from anywhere, cheaply and safely,
and writing them whole or not at all.

A file is bounded before anything is inflated: only the members its kind uses are
read, the zip directory's sizes are checked against a budget for all of them together
and against how much each may inflate (a compressed file of zeros is a bomb: 2 MB that
unpacks to 2 GiB), and each array's header against the bytes its member holds.  A
refusal costs a look at the directory and the headers: no memory, no time.  Whatever
else a corrupt file makes the readers raise becomes one `UnreadableFile` naming it.
"""

from __future__ import annotations

import json
import math
import os
import zipfile
from collections.abc import Callable, Collection
from pathlib import Path
from typing import IO, Any

import numpy as np

from ._atomic import atomic_path
from ._text import printable

__all__: list[str] = []

#: Largest total a file's arrays may declare, in bytes, before anything is inflated.
MAX_BYTES = 4 * 2**30
#: Largest ratio of a member's inflated size to its compressed size.  Float data
#: compresses to about 0.9 of its size; 50 is far above anything real and far below a
#: bomb (zeros compress about 1000 times).
MAX_INFLATION = 50.0
#: Members up to this size inflate as much as they like: labels and small arrays
#: compress well and cost nothing.
SMALL_MEMBER = 2**20

_FORMAT = np.lib.format


class UnreadableFile(ValueError):
    """A file that is not what it claims to be (truncated, corrupt, too large)."""


def _header(file: IO[bytes], where: str) -> tuple[tuple[int, ...], np.dtype]:
    """The shape and dtype a ``.npy`` stream declares, read from its header alone."""
    version = _FORMAT.read_magic(file)
    if version == (1, 0):
        shape, _fortran, dtype = _FORMAT.read_array_header_1_0(file)
    else:
        shape, _fortran, dtype = _FORMAT.read_array_header_2_0(file)
    if dtype.hasobject:
        raise UnreadableFile(f"{where} holds Python objects, which are never loaded")
    return shape, dtype


def _declared(shape: tuple[int, ...], dtype: np.dtype) -> int:
    return math.prod(shape) * dtype.itemsize


def _converted(shape: tuple[int, ...], dtype: np.dtype) -> int:
    """What an array costs once the readers make floats of it: booleans and integers
    become float64 (8 times the bytes of a boolean), half floats float32."""
    if dtype.kind in "biu":
        return math.prod(shape) * 8
    if dtype.kind == "f" and dtype.itemsize < 4:
        return math.prod(shape) * 4
    return _declared(shape, dtype)


def _gib(size: float) -> str:
    return f"{size / 2**30:.3g} GiB"


def _array(shape: tuple[int, ...], dtype: np.dtype) -> str:
    return f"{' x '.join(map(str, shape))} {dtype} array"


def _reason(err: BaseException) -> str:
    return printable(" ".join(str(err).split()) or type(err).__name__)


def _bounded(
    archive: zipfile.ZipFile,
    where: str,
    members: Collection[str] | None,
    max_bytes: int,
    max_inflation: float,
) -> dict[str, zipfile.ZipInfo]:
    """The members to read, by array name, once their declared sizes are checked."""
    chosen: dict[str, zipfile.ZipInfo] = {}
    for info in archive.infolist():
        name = info.filename.removesuffix(".npy")
        if members is not None and name not in members:
            continue  # never inflated
        if name in chosen:
            raise UnreadableFile(f"{where} holds the array {name!r} twice")
        chosen[name] = info
    total = sum(info.file_size for info in chosen.values())
    if total > max_bytes + 2**16 * len(chosen):  # headers aside
        raise UnreadableFile(
            f"{where} unpacks to {_gib(total)}, more than max_bytes={max_bytes} allows"
        )
    for name, info in chosen.items():
        ratio = info.file_size / max(info.compress_size, 1)
        if info.file_size > SMALL_MEMBER and ratio > max_inflation:
            raise UnreadableFile(
                f"{where} ({printable(repr(name))}) inflates {ratio:.0f} times, from "
                f"{info.compress_size:,} to {info.file_size:,} bytes, more than "
                f"max_inflation={max_inflation:g} allows: a compressed file of one value "
                "repeated, not of activations (raise max_inflation to read it anyway)"
            )
    return chosen


def read_npz(
    path: Path,
    *,
    members: Collection[str] | None = None,
    max_bytes: int = MAX_BYTES,
    max_inflation: float = MAX_INFLATION,
) -> dict[str, np.ndarray]:
    """
    The arrays of a ``.npz`` file named in *members* (None: every one), bounded before
    anything is inflated: together at most *max_bytes*, each inflating at most
    *max_inflation* times, each array's header within its member.  Other members are
    never read.

    Raises
    ------
    UnreadableFile
        (a ValueError) for a truncated, empty, corrupt or oversized file, a bad CRC,
        Python objects, or anything else a corrupt file makes the readers raise; the
        message names *path*.
    OSError
        The file cannot be opened (permissions, a folder): the file system's error.
    """
    where = printable(repr(str(path)))
    with open(path, "rb") as file:  # errors here are the file system's, raised as they are
        try:
            with zipfile.ZipFile(file) as archive:
                chosen = _bounded(archive, where, members, max_bytes, max_inflation)
                declared = 0
                for name, info in chosen.items():  # every header before any array
                    member = f"{where} ({printable(repr(name))})"
                    with archive.open(info) as data:
                        shape, dtype = _header(data, member)
                    size = _declared(shape, dtype)
                    if size > info.file_size:
                        raise UnreadableFile(
                            f"{member} declares a {_array(shape, dtype)} of {_gib(size)}, "
                            f"more than the {info.file_size:,} bytes it holds"
                        )
                    cost = _converted(shape, dtype)  # what reading it as floats takes
                    ratio = cost / max(info.compress_size, 1)
                    if cost > SMALL_MEMBER and ratio > max_inflation:
                        raise UnreadableFile(
                            f"{member}, a {_array(shape, dtype)}, would take {_gib(cost)} "
                            f"as floats, {ratio:.0f} times the {info.compress_size:,} "
                            f"bytes it is stored in, more than max_inflation="
                            f"{max_inflation:g} allows"
                        )
                    declared += cost
                if declared > max_bytes:
                    raise UnreadableFile(
                        f"{where} declares arrays of {_gib(declared)}, more than "
                        f"max_bytes={max_bytes} allows"
                    )
                arrays = {}
                for name, info in chosen.items():
                    with archive.open(info) as data:
                        arrays[name] = _FORMAT.read_array(data, allow_pickle=False)
                return arrays
        except UnreadableFile:
            raise
        except Exception as err:  # noqa: BLE001 - a corrupt file makes readers raise anything
            raise UnreadableFile(f"{where} is not a readable .npz file: {_reason(err)}") from None


def read_npy(path: Path, *, max_bytes: int = MAX_BYTES) -> np.ndarray:
    """The array of a ``.npy`` file, checked from its header first (see `read_npz`)."""
    where = printable(repr(str(path)))
    with open(path, "rb") as file:
        try:
            shape, dtype = _header(file, where)
            declared = _declared(shape, dtype)
            if _converted(shape, dtype) > max_bytes:  # as the floats it is read as
                raise UnreadableFile(
                    f"{where} declares a {_array(shape, dtype)} of {_gib(declared)}, "
                    f"{_gib(_converted(shape, dtype))} as floats, more than "
                    f"max_bytes={max_bytes} allows"
                )
            held = Path(path).stat().st_size - file.tell()
            if declared > held:
                raise UnreadableFile(
                    f"{where} is not a readable .npy file: it declares a "
                    f"{_array(shape, dtype)} of {declared:,} bytes but holds {held:,}"
                )
            file.seek(0)
            return _FORMAT.read_array(file, allow_pickle=False)
        except UnreadableFile:
            raise
        except Exception as err:  # noqa: BLE001 - as in read_npz
            raise UnreadableFile(f"{where} is not a readable .npy file: {_reason(err)}") from None


def scalar(arrays: dict[str, Any], key: str, default: Any = None) -> Any:
    """``arrays[key]`` as a Python scalar (a 0-d array's item), or *default*."""
    if key not in arrays:
        return default
    value = arrays[key]
    if value.ndim != 0:
        raise UnreadableFile(f"{key!r} must be a single value; got shape {value.shape}")
    return value.item()


#: The most text a file's JSON labels may hold, and how deep they may nest: far above
#: any real stream's (tokens, names, predictions), far below what costs memory or the
#: parser's recursion.
MAX_LABELS = 64 * 2**20
MAX_DEPTH = 32


def _depth(text: str) -> int:
    """How deep the brackets of a JSON text nest, strings aside (without parsing it)."""
    depth = deepest = 0
    inside = escaped = False
    for char in text:
        if inside:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                inside = False
        elif char == '"':
            inside = True
        elif char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
    return deepest


def json_labels(arrays: dict[str, Any], key: str = "labels", **options: Any) -> Any:
    """
    The JSON text ``arrays[key]`` parsed, bounded first in size (`MAX_LABELS`) and in
    depth (`MAX_DEPTH`); anything wrong with it is one `UnreadableFile`.
    """
    text = scalar(arrays, key)
    if not isinstance(text, str):
        raise UnreadableFile(f"{key!r} must be JSON text; got {type(text).__name__}")
    if len(text) > MAX_LABELS:
        raise UnreadableFile(f"its {key} are {len(text):,} characters, over {MAX_LABELS:,}")
    if _depth(text) > MAX_DEPTH:
        raise UnreadableFile(f"its {key} nest deeper than {MAX_DEPTH} levels")
    try:
        return json.loads(text, **options)
    except (ValueError, RecursionError) as err:
        raise UnreadableFile(f"its {key} are not valid JSON: {printable(str(err))}") from None


def no_constant(name: str) -> float:
    """For ``json.loads(parse_constant=...)``: JSON's non-standard ``NaN`` and
    ``Infinity`` are no count, setting or share a file of this package holds."""
    raise ValueError(f"the labels hold {name}, which no count, setting or share can be")


def write_npz(path: Path, **arrays: Any) -> Path:
    """
    Write *arrays* to *path* as a compressed ``.npz`` that loads without pickles,
    whole or not at all (`atomic_path`).
    """
    with atomic_path(path) as temporary, open(temporary, "wb") as file:
        np.savez_compressed(file, **arrays)
    return path


def load_labelled(
    path: str | os.PathLike[str],
    *,
    kind: str,
    format: int,
    what: str,
    members: Collection[str],
    known: Collection[str],
    build: Callable[[dict[str, np.ndarray], dict[str, Any]], Any],
    max_bytes: int = MAX_BYTES,
    max_inflation: float = MAX_INFLATION,
) -> Any:
    """
    The one way a file of this package is read: *path* bounded (`read_npz`, only
    *members*), its JSON labels bounded and parsed (no NaN or Infinity), its *kind* and
    *format* checked, its labels all *known*, and then ``build(arrays, labels)`` (the
    labels without ``kind`` and ``format``).  Whatever is wrong is one ValueError that
    names the file and says it does not hold *what* ("valid statistics", "a valid
    decomposition"); FileNotFoundError where there is no file.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no such file: {printable(repr(str(path)))}")
    arrays = read_npz(path, members=members, max_bytes=max_bytes, max_inflation=max_inflation)
    return from_labelled(path, arrays, kind=kind, format=format, what=what, known=known,
                         build=build)  # fmt: skip


def from_labelled(
    path: Path,
    arrays: dict[str, np.ndarray],
    *,
    kind: str,
    format: int,
    what: str,
    known: Collection[str],
    build: Callable[[dict[str, np.ndarray], dict[str, Any]], Any],
) -> Any:
    """The checks of `load_labelled` on the *arrays* already read from *path*."""
    where = printable(repr(str(path)))
    try:
        labels = json_labels(arrays, parse_constant=no_constant)
        found = labels.pop("kind", None) if isinstance(labels, dict) else None
        if found != kind:
            held = found.removeprefix("mpl-residual ") if isinstance(found, str) else None
            raise ValueError(
                f"it is not a file of {kind.removeprefix('mpl-residual ')} (its labels say "
                f"{printable(repr(held)):.60}; files of this package say what they hold, "
                "older streams nothing)"
            )
        said = labels.pop("format", None)
        if said != format:
            raise ValueError(
                f"it is format {printable(repr(said))}, from another version of mpl-residual "
                f"(this one reads {format})"
            )
        unknown = sorted(set(labels) - set(known))
        if unknown:
            raise ValueError(f"unknown labels {printable(str(unknown)):.200}")
        return build(arrays, labels)
    except (UnreadableFile, ValueError, TypeError, KeyError, IndexError) as err:
        raise ValueError(f"{where} does not hold {what}: {printable(str(err))}") from None
