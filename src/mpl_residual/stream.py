"""`ResidualStream`: a captured stream with the labels that say what it is."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from ._arrays import _describe, as_float_array, as_index, check_index
from ._npzfile import (
    MAX_BYTES,
    MAX_INFLATION,
    UnreadableFile,
    from_labelled,
    json_labels,
    read_npy,
    read_npz,
    scalar,
    write_npz,
)
from ._positions import resolve
from ._text import printable, strings
from .grid import to_grid
from .labels import SCALES, Labels, Predictions, Scale, counted_from_zero

__all__ = ["ResidualStream"]

#: The arrays a saved stream may hold (the rest of a file is never read): formats 2
#: and 3's, then format 1's.
_MEMBERS = ("values", "labels", "format", "tokens", "layer_names", "position",
            "all_positions", "model_name", "d_model")  # fmt: skip

#: Version of the ``.npz`` layout `ResidualStream.save` writes.  Version 1 (no
#: ``format`` entry) kept labels in unicode arrays, which drop trailing NULs; version 2
#: JSON labels that did not say what the file holds; version 3 says it in its labels
#: (`KIND`), and is read as every file of this package is (`from_labelled`).
FORMAT = 3
#: What a stream's labels say it holds.
KIND = "mpl-residual stream"


def _count(things: Any, noun: str) -> str:
    """``"1 token"``, ``"13 tokens"``."""
    return f"{len(things)} {noun}{'' if len(things) == 1 else 's'}"





def _sequence(value: Any, name: str, what: str) -> tuple:
    if isinstance(value, (str, bytes)) or not hasattr(value, "__iter__"):
        raise TypeError(f"{name} must be a sequence of {what}; got {type(value).__name__}")
    return tuple(value)


def _special(value: Any, tokens: tuple[str, ...]) -> tuple[int, ...]:
    items = _sequence(value, "special", "token indices")
    indices = tuple(sorted({as_index(i, "special", expected="token indices") for i in items}))
    if indices and not tokens:
        raise ValueError("special names positions among tokens, but there are no tokens")
    if indices and not (0 <= indices[0] and indices[-1] < len(tokens)):
        raise IndexError(
            f"special must hold indices into the {_count(tokens, 'token')}; got {list(indices)}"
        )
    return indices


def _predictions(value: Any, n_layers: int) -> tuple[Predictions, ...]:
    layers = _sequence(value, "predictions", "one tuple of (token, probability) per layer")
    if layers and len(layers) != n_layers:
        raise ValueError(
            f"predictions for {len(layers)} layers of {_count(range(n_layers), 'layer')}; "
            "give one tuple of (token, probability) per layer"
        )
    checked = []
    for layer, pairs in enumerate(layers):
        row = []
        for pair in _sequence(pairs, f"predictions[{layer}]", "(token, probability) pairs"):
            try:
                token, probability = pair
            except (TypeError, ValueError):
                raise TypeError(
                    f"predictions[{layer}] must hold (token, probability) pairs; got {pair!r:.60}"
                ) from None
            if not isinstance(token, str):
                raise TypeError(
                    f"predictions[{layer}] has a token of type {type(token).__name__}; "
                    "tokens are str"
                )
            try:
                p = float(probability)
            except (TypeError, ValueError):
                raise TypeError(
                    f"predictions[{layer}] gives {token!r} the probability {probability!r}; "
                    "expected a number"
                ) from None
            if not 0.0 <= p <= 1.0:  # NaN fails too
                raise ValueError(
                    f"predictions[{layer}] gives {token!r} the probability {p!r}; expected 0 to 1"
                )
            row.append((token, p))
        checked.append(tuple(row))
    return tuple(checked)


@dataclass(frozen=True, eq=False)
class ResidualStream:
    """
    A residual stream together with its token and layer labels.

    It works wherever an array is expected (``np.asarray(stream)``, `residual_grid`,
    `to_grid`), and `title` makes plot titles such as ``"block 5 · ' capital'"``.
    The fields are checked against each other when it is made (and when it is
    loaded): one name per layer, one token per position, a *position* among the
    tokens, a *d_model* that fits the grid.

    Attributes
    ----------
    values : numpy.ndarray
        ``(layers, rows, cols)`` for one position, ``(layers, tokens, rows, cols)`` for
        every position; floating point (float32 from `mpl_residual.hf`).
    tokens : tuple of str
        The token strings of the sequence, as the tokenizer spells them.
    layer_names : tuple of str
        One name per layer: ``"embeddings"``, then ``"block 0"`` ... ``"block N-1"``
        (the stream after each block, counted from 0 as the model counts them); the
        last says ``"+ final norm"`` when the model's final norm was applied.
    position : int or None
        Index into *tokens* of the token shown, or None when every position is kept.
        It may be given as the text of a token (``"paris"``, see `at`) or as a
        negative index, which counts back from the last token that is not *special*;
        it is stored as the non-negative index.
    model_name : str, optional
        Where the model came from (its ``name_or_path``), if known.
    d_model : int, optional
        Width of the hidden states before folding (the grid may hold NaN padding).
    special : tuple of int
        Indices into *tokens* of the tokenizer's special tokens (``[CLS]``, ``[SEP]``,
        ``<s>``), so that position ``-1`` is the last word rather than ``[SEP]``.
    predictions : tuple
        The logit lens, if it was read (`mpl_residual.hf.logit_lens`): one tuple of
        ``(token, probability)`` pairs per layer, most likely first; `title` then
        shows the first.
    quantity : str, optional
        What the values are, if not the residual stream itself: the colorbar's label
        (``"largest |x|"`` for `DimensionStats.stream`).
    scale : {"signed", "diverging", "nonnegative"}, default: "signed"
        How the views colour the values by default: symmetric about zero on the
        style's colormap, the same on a diverging map, or from zero on a sequential
        map (values that are never negative).

    Examples
    --------
    >>> import numpy as np
    >>> s = ResidualStream(np.zeros((3, 2, 2), np.float32), tokens=("Hello", " world"),
    ...                    layer_names=("embeddings", "block 0", "block 1"), position=1)
    >>> s.shape, s.token
    ((3, 2, 2), ' world')
    >>> s.title(2)
    "block 1 · ' world'"
    """

    values: np.ndarray
    tokens: tuple[str, ...] = ()
    layer_names: tuple[str, ...] = ()
    position: int | None = None
    model_name: str | None = None
    d_model: int | None = None
    special: tuple[int, ...] = ()
    predictions: tuple[Predictions, ...] = ()
    quantity: str | None = None
    scale: Scale = "signed"

    def __post_init__(self) -> None:
        values = as_float_array(self.values, name="values")
        if np.ma.isMaskedArray(values):
            values = values.filled(np.nan)
        if values.ndim not in (3, 4) or 0 in values.shape:
            raise ValueError(
                "ResidualStream.values must be (layers, rows, cols) or "
                f"(layers, tokens, rows, cols), none of them empty; got {_describe(values)}"
            )
        tokens = strings(self.tokens, "tokens")
        names = strings(self.layer_names, "layer_names")
        special = _special(self.special, tokens)
        predictions = _predictions(self.predictions, len(values))
        if names and len(names) != len(values):
            raise ValueError(
                f"{len(names)} layer names for {len(values)} layers; give one name per layer"
            )
        position = self.position
        if values.ndim == 4:
            if position is not None:
                raise ValueError(
                    "position must be None for values that keep every position "
                    f"{_describe(values)}; pick one with .at({position})"
                )
            if tokens and len(tokens) != values.shape[1]:
                raise ValueError(
                    f"{len(tokens)} tokens for values with {values.shape[1]} positions "
                    f"{_describe(values)}; give one token per position"
                )
            if predictions:
                raise ValueError(
                    "predictions belong to one position; these values keep every position "
                    f"{_describe(values)}"
                )
        elif position is not None:
            if tokens:
                position = resolve(position, tokens, special)
            else:
                position = as_index(position, "position")
                if position < 0:
                    raise ValueError(
                        f"position={position} counts from the end of tokens, but there are "
                        "no tokens; give tokens or a non-negative position"
                    )
        d_model = self.d_model
        if d_model is not None:
            d_model = as_index(d_model, "d_model")
            rows, cols = values.shape[-2:]
            if d_model < 1 or -(-d_model // rows) != cols:  # padding fills less than a row
                raise ValueError(
                    f"d_model={d_model} does not fit the {rows} x {cols} grid of the values: "
                    f"{rows} rows of d_model={d_model} need {-(-d_model // rows)} columns"
                )
        for name in ("model_name", "quantity"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, str):
                raise TypeError(f"{name} must be a str or None; got {type(value).__name__}")
        if self.scale not in SCALES:
            raise ValueError(
                f"scale must be one of {', '.join(map(repr, SCALES))}; got {self.scale!r}"
            )
        object.__setattr__(self, "values", values)
        object.__setattr__(self, "tokens", tokens)
        object.__setattr__(self, "layer_names", names)
        object.__setattr__(self, "position", position)
        object.__setattr__(self, "d_model", d_model)
        object.__setattr__(self, "special", special)
        object.__setattr__(self, "predictions", predictions)

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
        return self.labels.token

    @property
    def labels(self) -> Labels:
        """Everything but the values (see `split`)."""
        return Labels(
            tokens=self.tokens,
            layer_names=self.layer_names,
            position=self.position,
            d_model=self.d_model,
            predictions=self.predictions,
            quantity=self.quantity,
            scale=self.scale,
        )

    @property
    def _layers_text(self) -> str:
        return f"a stream of {_count(self.values, 'layer')}"

    def at(self, position: int | str) -> ResidualStream:
        """
        The stream at one token, from a stream that keeps every position.

        Parameters
        ----------
        position : int or str
            An index into `tokens`; a negative one counts back from the last token
            that is not special, so ``-1`` is the last word even where the tokenizer
            ends with ``[SEP]``.  Or a token's text: the last token that reads so,
            ignoring case, spaces and tokenizer markers (``Ġ``, ``▁``, ``##``).

        Raises
        ------
        IndexError
            An index out of range.
        ValueError
            A text that no token reads; the message lists the tokens.

        Examples
        --------
        >>> import numpy as np
        >>> every = ResidualStream(np.zeros((3, 4, 2, 2)), tokens=("[CLS]", "b", "c", "[SEP]"),
        ...                        special=(0, 3))
        >>> every.at(-1).token, every.at("B").token, every.at(3).token
        ('c', 'b', '[SEP]')
        """
        if self.values.ndim != 4:
            raise ValueError(
                "this stream holds one position already "
                f"({self.token!r}); at() picks one of every position"
            )
        n = self.values.shape[1]
        if self.tokens:
            index = resolve(position, self.tokens, self.special)
        elif isinstance(position, str):
            raise ValueError(f"position={position!r} names a token, but this stream has no tokens")
        else:
            index = check_index(position, n, "position", of=_count(range(n), "position"))
        return replace(self, values=self.values[:, index], position=index)

    def refold(self, rows: int | None, *, pad: bool = False) -> ResidualStream:
        """
        The same stream folded into another grid, labels kept.

        NaN padding of the old grid (cells past `d_model`) is dropped first, so
        refolding never piles padding up.

        Parameters
        ----------
        rows : int or None
            Rows of the new grid; None: the most nearly square (see `to_grid`).
        pad : bool, default: False
            Allow *rows* that do not divide ``d_model`` (the last row is padded with NaN).

        Examples
        --------
        >>> import numpy as np
        >>> s = ResidualStream(np.zeros((3, 16, 24), np.float32))
        >>> s.refold(8).shape
        (3, 8, 48)
        """
        flat = self.values.reshape(*self.values.shape[:-2], -1)
        d_model = self.d_model or flat.shape[-1]
        return replace(self, values=to_grid(flat[..., :d_model], rows, pad=pad), d_model=d_model)

    # -- files -------------------------------------------------------------------------

    def save(self, path: str | os.PathLike[str]) -> Path:
        """
        Save as a plain ``.npz`` that loads with ``allow_pickle=False``.

        The file holds ``values`` (float32, or float64 when the values are: nothing is
        rounded into inf) and ``labels``, a JSON text with the tokens, layer names,
        position, model name and d_model, every character kept (NUL included).  It
        is written whole or not at all.

        Examples
        --------
        >>> stream.save("stream.npz")  # doctest: +SKIP
        >>> ResidualStream.load("stream.npz")  # doctest: +SKIP
        """
        path = Path(path)
        dtype = np.float64 if self.values.dtype == np.float64 else np.float32
        labels = {
            "tokens": list(self.tokens),
            "layer_names": list(self.layer_names),
            "position": self.position,
            "model_name": self.model_name,
            "d_model": self.d_model,
            "special": list(self.special),
            "predictions": [[list(pair) for pair in layer] for layer in self.predictions],
            "quantity": self.quantity,
            "scale": self.scale,
            "blocks_from": 0,  # layer names count blocks from 0 (files before: from 1)
            "kind": KIND,
            "format": FORMAT,
        }
        return write_npz(
            path,
            values=np.asarray(self.values, dtype=dtype),
            labels=np.array(json.dumps(labels)),
            format=np.array(FORMAT),
        )

    @classmethod
    def load(
        cls,
        path: str | os.PathLike[str],
        *,
        max_bytes: int = MAX_BYTES,
        max_inflation: float = MAX_INFLATION,
    ) -> ResidualStream:
        """
        Load a stream saved by `save` (``.npz``), or a bare array (``.npy``).

        A ``.npy`` file must hold ``(layers, rows, cols)`` or
        ``(layers, tokens, rows, cols)`` values; it has no labels.  Files may come from
        anywhere: only the arrays a stream holds are read, each bounded from the zip
        directory and its header before anything is inflated, nothing is unpickled,
        and the labels are checked against the values.  A refusal costs no memory and
        no time.

        Parameters
        ----------
        path : str or path-like
            A ``.npz`` or ``.npy`` file.
        max_bytes : int, default: 4 GiB
            Refuse files whose arrays declare more bytes than this in all (a small
            compressed file can declare a huge array).
        max_inflation : float, default: 50
            Refuse an array (over 1 MiB) that inflates more than this many times its
            compressed size: float activations barely compress, a file of one value
            repeated is a bomb.

        Raises
        ------
        FileNotFoundError
            If there is no such file.
        ValueError
            For a truncated, corrupt or oversized file, an unknown suffix, or labels that
            do not match the values; the message names the file.
        """
        path = Path(path)
        where = printable(repr(str(path)))
        if not path.is_file():
            raise FileNotFoundError(f"no such file: {where}")
        suffix = path.suffix.lower()
        if suffix == ".npy":
            return cls._checked(path, read_npy(path, max_bytes=max_bytes))
        if suffix != ".npz":
            raise ValueError(
                f"cannot read {where}: expected a .npz saved by mpl-residual or a .npy array"
            )
        arrays = read_npz(
            path, members=_MEMBERS, max_bytes=max_bytes, max_inflation=max_inflation
        )
        if "values" not in arrays:
            raise ValueError(f"{where} has no 'values' array; it is not a saved stream")
        try:
            version = scalar(arrays, "format", 1)
        except (UnreadableFile, ValueError, TypeError) as err:
            raise ValueError(f"{where} has an unreadable format: {printable(str(err))}") from None
        if version == FORMAT:  # said in its labels too: read as every file of this package

            def build(arrays: dict[str, np.ndarray], labels: dict[str, Any]) -> ResidualStream:
                return cls(arrays["values"], **_known(labels))

            return from_labelled(path, arrays, kind=KIND, format=FORMAT, what="a valid stream",
                                 known=(*_LABELS, "blocks_from"), build=build)  # fmt: skip
        try:
            labels = _labels(arrays)
        except (UnreadableFile, ValueError, TypeError, KeyError) as err:
            raise ValueError(f"{where} has unreadable labels: {printable(str(err))}") from None
        return cls._checked(path, arrays["values"], **labels)

    @classmethod
    def _checked(cls, path: Path, values: np.ndarray, **labels: Any) -> ResidualStream:
        try:
            return cls(values, **labels)
        except (ValueError, TypeError, IndexError) as err:
            raise ValueError(
                f"{printable(repr(str(path)))} does not hold a valid stream: "
                f"{printable(str(err))}"
            ) from None

    def title(self, layer: int) -> str:
        r"""
        A title for *layer*: its name and the token, ``"block 5 · ' capital'"`` (the
        token in repr quotes so that leading spaces and control characters show), and
        with the logit lens read, that layer's most likely next token: ``"block 7 ·
        ' capital' → ' Paris' 31%"``.  A layer after the model's final norm says so
        (``"block 11 + final norm · ' of'"``); a stream without layer names says
        ``"layer 5"``.  Pass it as ``residual_grid(..., title=s.title)``.

        It is matplotlib text: a ``$`` in the token is escaped (``\$``) so that it is
        drawn as it is, never as mathtext.
        """
        index = check_index(layer, self.n_layers, "layer", of=self._layers_text)
        return self.labels.title(index)


#: What a stream's JSON labels hold (and `ResidualStream` takes).
_LABELS = (
    "tokens",
    "layer_names",
    "position",
    "model_name",
    "d_model",
    "special",
    "predictions",
    "quantity",
    "scale",
)


def _known(labels: dict[str, Any]) -> dict[str, Any]:
    """The fields of JSON *labels*, layer names counted from 0 (files before said from 1)."""
    found = {key: labels[key] for key in _LABELS if labels.get(key) is not None}
    if labels.get("blocks_from") != 0 and isinstance(found.get("layer_names"), list):
        found["layer_names"] = counted_from_zero(tuple(map(str, found["layer_names"])))
    return found


def _labels(arrays: dict[str, np.ndarray]) -> dict[str, Any]:
    """The label fields of a stream saved by an older mpl-residual (formats 1 and 2)."""
    version = scalar(arrays, "format", 1)
    if version == 2:  # JSON labels that do not say what the file holds
        labels = json_labels(arrays)
        if not isinstance(labels, dict):
            raise ValueError(f"labels must be a JSON object; got {type(labels).__name__}")
        return _known(labels)
    if version != 1:
        raise ValueError(f"unknown format {version!r}; this mpl-residual reads 1 to {FORMAT}")
    # Version 1: unicode arrays; position -1 or all_positions for "every position".
    position = scalar(arrays, "position")
    every = bool(scalar(arrays, "all_positions", False))
    labels = {
        "tokens": tuple(str(t) for t in arrays.get("tokens", ())),
        "layer_names": counted_from_zero(tuple(str(n) for n in arrays.get("layer_names", ()))),
        "position": None if every or position is None or int(position) < 0 else int(position),
        "model_name": str(scalar(arrays, "model_name", "")) or None,
        "d_model": int(scalar(arrays, "d_model", 0)) or None,
    }
    return labels
