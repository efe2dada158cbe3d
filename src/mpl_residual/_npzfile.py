"""Reading ``.npz`` and ``.npy`` files that may come from anywhere, cheaply and safely."""

from __future__ import annotations

import math
import zipfile
import zlib
from pathlib import Path
from typing import IO, Any

import numpy as np

__all__: list[str] = []

#: Largest array a file may declare, in bytes, before anything is decompressed.
MAX_BYTES = 4 * 2**30

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


def _check_size(shape: tuple[int, ...], dtype: np.dtype, where: str, max_bytes: int) -> None:
    size = math.prod(shape) * dtype.itemsize
    if size > max_bytes:
        raise UnreadableFile(
            f"{where} declares a {' x '.join(map(str, shape))} {dtype} array of "
            f"{size / 2**30:.3g} GiB, more than max_bytes={max_bytes} allows"
        )


def _reason(err: BaseException) -> str:
    return " ".join(str(err).split()) or type(err).__name__


def read_npz(path: Path, *, max_bytes: int = MAX_BYTES) -> dict[str, np.ndarray]:
    """
    Every array of a ``.npz`` file, each checked from its header (and the zip
    directory's declared size) against *max_bytes* before it is decompressed.

    Raises
    ------
    UnreadableFile
        (a ValueError) for a truncated, empty or corrupt file, a bad CRC, Python
        objects, or an array larger than *max_bytes*; the message names *path*.
    """
    where = repr(str(path))
    try:
        with zipfile.ZipFile(path) as archive:
            arrays = {}
            for info in archive.infolist():
                name = info.filename.removesuffix(".npy")
                member = f"{where} ({name!r})"
                if info.file_size > max_bytes + 2**16:  # the directory's word, header aside
                    raise UnreadableFile(
                        f"{member} unpacks to {info.file_size / 2**30:.3g} GiB, more than "
                        f"max_bytes={max_bytes} allows"
                    )
                with archive.open(info) as file:
                    shape, dtype = _header(file, member)
                    _check_size(shape, dtype, member, max_bytes)
                with archive.open(info) as file:
                    arrays[name] = _FORMAT.read_array(file, allow_pickle=False)
            return arrays
    except UnreadableFile:
        raise
    except (zipfile.BadZipFile, zlib.error, EOFError, ValueError, OSError, KeyError) as err:
        if isinstance(err, OSError) and not isinstance(err, zipfile.BadZipFile):
            if err.errno is not None:  # the file system's, not the data's
                raise
        raise UnreadableFile(f"{where} is not a readable .npz file: {_reason(err)}") from None


def read_npy(path: Path, *, max_bytes: int = MAX_BYTES) -> np.ndarray:
    """The array of a ``.npy`` file, checked from its header first (see `read_npz`)."""
    where = repr(str(path))
    try:
        with open(path, "rb") as file:
            shape, dtype = _header(file, where)
            _check_size(shape, dtype, where, max_bytes)
            file.seek(0)
            return _FORMAT.read_array(file, allow_pickle=False)
    except UnreadableFile:
        raise
    except (EOFError, ValueError) as err:
        raise UnreadableFile(f"{where} is not a readable .npy file: {_reason(err)}") from None


def scalar(arrays: dict[str, Any], key: str, default: Any = None) -> Any:
    """``arrays[key]`` as a Python scalar (a 0-d array's item), or *default*."""
    if key not in arrays:
        return default
    value = arrays[key]
    if value.ndim != 0:
        raise UnreadableFile(f"{key!r} must be a single value; got shape {value.shape}")
    return value.item()
