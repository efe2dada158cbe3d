"""`ResidualStream`: a captured stream with the labels that say what it is."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

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

    def title(self, layer: int) -> str:
        """
        A title for *layer*: ``"layer 5 · ' capital'"`` (the token in repr quotes so
        that leading spaces show).  Pass it as ``residual_grid(..., title=s.title)``.
        """
        index = range(self.n_layers)[layer]
        token = self.token
        return f"layer {index}" + (f" · {token!r}" if token is not None else "")
