"""`ResidualStream`: a captured stream with the labels that say what it is."""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from ._arrays import as_index
from ._atomic import atomic_path

__all__ = ["ResidualStream"]


@dataclass(frozen=True, eq=False)
class ResidualStream:
    """
    A residual stream together with its token and layer labels.

    It works wherever an array is expected (``np.asarray(stream)``, `residual_grid`,
    `to_grid`), and `title` makes plot titles such as ``"layer 5 · ' capital'"``.

    Attributes
    ----------
    values : numpy.ndarray
        ``(layers, rows, cols)`` for one position, ``(layers, tokens, rows, cols)`` for
        every position; float32.
    tokens : tuple of str
        The token strings of the sequence, as the tokenizer spells them.
    layer_names : tuple of str
        One name per layer: ``"embeddings"``, then ``"block 1"`` ... ``"block N"``; the
        last says ``"+ final norm"`` when the model's final norm was applied.
    position : int or None
        Index into *tokens* of the token shown, or None when every position is kept.
    model_name : str, optional
        Where the model came from (its ``name_or_path``), if known.
    d_model : int, optional
        Width of the hidden states before folding (the grid may hold NaN padding).

    Examples
    --------
    >>> import numpy as np
    >>> s = ResidualStream(np.zeros((3, 2, 2), np.float32), tokens=("Hello", " world"),
    ...                    layer_names=("embeddings", "block 1", "block 2"), position=1)
    >>> s.shape, s.token
    ((3, 2, 2), ' world')
    >>> s.title(2)
    "layer 2 · ' world'"
    """

    values: np.ndarray
    tokens: tuple[str, ...] = ()
    layer_names: tuple[str, ...] = ()
    position: int | None = None
    model_name: str | None = None
    d_model: int | None = None

    def __post_init__(self) -> None:
        values = np.asarray(self.values)
        if values.ndim not in (3, 4):
            raise ValueError(
                "ResidualStream.values must be (layers, rows, cols) or "
                f"(layers, tokens, rows, cols); got shape {values.shape}"
            )
        if self.layer_names and len(self.layer_names) != len(values):
            raise ValueError(f"{len(self.layer_names)} layer names for {len(values)} layers")
        object.__setattr__(self, "values", values)
        object.__setattr__(self, "tokens", tuple(self.tokens))
        object.__setattr__(self, "layer_names", tuple(self.layer_names))

    def __array__(self, dtype: Any = None, copy: bool | None = None) -> np.ndarray:
        if copy:
            return np.array(self.values, dtype=dtype)
        return self.values if dtype is None else self.values.astype(dtype, copy=False)

    def __len__(self) -> int:
        return len(self.values)

    @property
    def shape(self) -> tuple[int, ...]:
        """Shape of `values`."""
        return self.values.shape

    @property
    def dtype(self) -> np.dtype:
        """dtype of `values`."""
        return self.values.dtype

    @property
    def n_layers(self) -> int:
        """Number of layers (embeddings included)."""
        return len(self.values)

    @property
    def token(self) -> str | None:
        """The token shown, or None when every position is kept."""
        if self.position is None or not self.tokens:
            return None
        return self.tokens[self.position]

    def at(self, position: int) -> ResidualStream:
        """
        The stream at one token, from a stream that keeps every position.

        Examples
        --------
        >>> import numpy as np
        >>> every = ResidualStream(np.zeros((3, 4, 2, 2)), tokens=("a", "b", "c", "d"))
        >>> every.at(-1).shape, every.at(-1).token
        ((3, 2, 2), 'd')
        """
        if self.values.ndim != 4:
            raise ValueError(
                "this stream holds one position already "
                f"({self.token!r}); at() picks one of every position"
            )
        n = self.values.shape[1]
        position = as_index(position, "position")
        if not -n <= position < n:
            raise IndexError(
                f"position={position} is out of range for {n} tokens; valid: {-n} to {n - 1}"
            )
        return replace(self, values=self.values[:, position], position=int(position) % n)

    # -- files -------------------------------------------------------------------------

    def save(self, path: str | os.PathLike[str]) -> Path:
        """
        Save as a plain ``.npz`` that loads with ``allow_pickle=False``.

        The file holds ``values`` (float32), ``tokens`` and ``layer_names`` (unicode
        arrays), ``position`` (-1 when every position is kept... no: see `load`),
        ``model_name`` and ``d_model``.  It is written whole or not at all.

        Examples
        --------
        >>> stream.save("stream.npz")  # doctest: +SKIP
        >>> ResidualStream.load("stream.npz")  # doctest: +SKIP
        """
        path = Path(path)
        fields = {
            "values": np.asarray(self.values, dtype=np.float32),
            "tokens": np.array(self.tokens, dtype=str),
            "layer_names": np.array(self.layer_names, dtype=str),
            "position": np.array(-1 if self.position is None else self.position),
            "all_positions": np.array(self.position is None and self.values.ndim == 4),
            "model_name": np.array(self.model_name or ""),
            "d_model": np.array(self.d_model or 0),
        }
        with atomic_path(path) as temporary, open(temporary, "wb") as file:
            np.savez_compressed(file, **fields)
        return path

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> ResidualStream:
        """
        Load a stream saved by `save` (``.npz``), or a bare array (``.npy``).

        A ``.npy`` file must hold ``(layers, rows, cols)`` or
        ``(layers, tokens, rows, cols)`` values; it has no labels.
        """
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"no such file: {str(path)!r}")
        suffix = path.suffix.lower()
        if suffix == ".npy":
            return cls(np.load(path, allow_pickle=False))
        if suffix != ".npz":
            raise ValueError(
                f"cannot read {str(path)!r}: expected a .npz saved by mpl-residual or a .npy array"
            )
        with np.load(path, allow_pickle=False) as data:
            if "values" not in data:
                raise ValueError(
                    f"{str(path)!r} has no 'values' array; its arrays: {sorted(data.files)}"
                )

            def get(key: str, default: Any = None) -> Any:
                return data[key] if key in data else default

            position = get("position")
            every = bool(get("all_positions", False))
            name = str(get("model_name", ""))
            d_model = int(get("d_model", 0))
            return cls(
                data["values"],
                tokens=tuple(str(t) for t in get("tokens", ())),
                layer_names=tuple(str(n) for n in get("layer_names", ())),
                position=None if every or position is None or int(position) < 0 else int(position),
                model_name=name or None,
                d_model=d_model or None,
            )

    def title(self, layer: int) -> str:
        """
        A title for *layer*: ``"layer 5 · ' capital'"`` (the token in repr quotes so
        that leading spaces show).  Pass it as ``residual_grid(..., title=s.title)``.
        """
        index = range(self.n_layers)[layer]
        token = self.token
        return f"layer {index}" + (f" · {token!r}" if token is not None else "")
