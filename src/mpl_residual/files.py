"""
The files mpl-residual writes, told apart: a stream (`ResidualStream.save`, or a bare
``.npy``), statistics (`DimensionStats.save`), a decomposition (`Decomposition.save`,
with its attribution if it has one) or component statistics (`ComponentStats.save`),
each loaded as what it is.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

from ._npzfile import UnreadableFile, json_labels, read_npz
from ._text import printable
from .component_stats import KIND as COMPONENTS
from .component_stats import ComponentStats
from .decomposition import KIND as DECOMPOSITION
from .decomposition import Decomposition
from .stats import KIND as STATISTICS
from .stats import DimensionStats
from .stream import ResidualStream

__all__ = ["file_kind", "load_drawable"]

FileKind = Literal["stream", "statistics", "decomposition", "components"]


def file_kind(path: str | os.PathLike[str]) -> FileKind:
    """
    What a file mpl-residual wrote holds, read from its labels alone (nothing else is
    inflated): ``"stream"``, ``"statistics"``, ``"decomposition"`` or
    ``"components"``.  A ``.npy`` is a stream; a file that says nothing is taken for
    one (and checked as one on loading).

    Raises
    ------
    FileNotFoundError
        No such file.
    ValueError
        A file that is not a readable ``.npz``, or whose labels are not JSON.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no such file: {printable(repr(str(path)))}")
    if path.suffix.lower() == ".npy":
        return "stream"
    arrays = read_npz(path, members=("labels",))
    if "labels" not in arrays:
        return "stream"
    try:
        labels = json_labels(arrays)
    except (UnreadableFile, ValueError, TypeError) as err:
        raise ValueError(
            f"{printable(repr(str(path)))} has unreadable labels: {printable(str(err))}"
        ) from None
    kind = labels.get("kind") if isinstance(labels, dict) else None
    kinds = {STATISTICS: "statistics", DECOMPOSITION: "decomposition", COMPONENTS: "components"}
    return kinds.get(kind, "stream")


def load_drawable(path: str | os.PathLike[str], *, field: str | None = None) -> Any:
    """
    A file as something every view draws: a `ResidualStream`, a statistics file's
    *field* (`DimensionStats.stream`, default ``"absmax"``), a component statistics
    file's (`ComponentStats.stream`, default ``"mean"``: one layer per component), or
    a `Decomposition` (one layer per component).
    """
    kind = file_kind(path)
    if kind == "statistics":
        return DimensionStats.load(path).stream(field or "absmax")
    if kind == "components":
        return ComponentStats.load(path).stream(field or "mean")
    if kind == "decomposition":
        return Decomposition.load(path)
    return ResidualStream.load(path)


def load_any(
    path: str | os.PathLike[str],
) -> ResidualStream | DimensionStats | Decomposition | ComponentStats:
    """A file as what it holds, whole."""
    kind = file_kind(path)
    loader = {
        "statistics": DimensionStats.load,
        "components": ComponentStats.load,
        "decomposition": Decomposition.load,
        "stream": ResidualStream.load,
    }[kind]
    return loader(path)
