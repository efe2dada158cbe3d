"""`DimensionStats`: statistics of every dimension at every layer, over a corpus."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from ._arrays import as_real, check_index
from ._atomic import atomic_path
from ._npzfile import MAX_BYTES, UnreadableFile, read_npz, scalar
from .grid import to_grid
from .stream import ResidualStream

__all__ = ["FIELDS", "DimensionStats"]

#: The drawable fields of `DimensionStats`, each ``(layers, rows, cols)``.
FIELDS = ("count", "mean", "std", "mean_abs", "absmax")

#: What `DimensionStats.save` writes; `load` reads it back.
KIND = "mpl-residual dimension stats"
FORMAT = 1

_ARRAYS = (
    "count",
    "mean",
    "m2",
    "sum_abs",
    "absmax",
    "where_text",
    "where_position",
    "where_token",
)


@dataclass(frozen=True)
class Moments:
    """
    Running moments of each dimension of each layer, mergeable exactly.

    All arrays are ``(layers, d_model)`` but ``count``, ``(layers,)``: every token adds
    to every dimension.  ``m2`` is the sum of squared deviations from the mean; two
    sets merge with the update of Chan, Golub and LeVeque (1979), which stays accurate
    where the naive ``sum(x**2) - n * mean**2`` cancels.  The location of each ``absmax``
    is ``(text, position, token id)``; of equal maxima the earliest text wins, so that
    the result does not depend on how the corpus was split.
    """

    count: np.ndarray
    mean: np.ndarray
    m2: np.ndarray
    sum_abs: np.ndarray
    absmax: np.ndarray
    where_text: np.ndarray
    where_position: np.ndarray
    where_token: np.ndarray

    @classmethod
    def empty(cls, n_layers: int, d_model: int) -> Moments:
        zeros = np.zeros((n_layers, d_model))
        index = np.full((n_layers, d_model), -1, dtype=np.int64)
        return cls(
            np.zeros(n_layers, dtype=np.int64),
            zeros,
            zeros.copy(),
            zeros.copy(),
            np.full((n_layers, d_model), -np.inf),
            index,
            index.copy(),
            index.copy(),
        )

    def __post_init__(self) -> None:
        shape = np.shape(self.mean)
        if len(shape) != 2 or np.shape(self.count) != shape[:1]:
            raise ValueError(
                f"moments must be (layers, d_model) with one count per layer; got mean "
                f"{shape} and count {np.shape(self.count)}"
            )
        for name in _ARRAYS[1:]:
            if np.shape(getattr(self, name)) != shape:
                raise ValueError(
                    f"moments {name} is {np.shape(getattr(self, name))}; expected {shape}"
                )

    def merge(self, other: Moments) -> Moments:
        """The moments of both sets of tokens."""
        na = self.count[:, None].astype(np.float64)
        nb = other.count[:, None].astype(np.float64)
        n = na + nb
        with np.errstate(invalid="ignore", divide="ignore"):
            weight = np.where(n > 0, nb / n, 0.0)
            delta = other.mean - self.mean
            mean = self.mean + delta * weight
            m2 = self.m2 + other.m2 + delta**2 * na * weight
        # NaN counts as the largest (so that it shows), and of equal maxima the earliest
        # text wins, so that the result does not depend on how the corpus was split.
        mine, theirs = np.isnan(self.absmax), np.isnan(other.absmax)
        later = (other.absmax > self.absmax) | (theirs & ~mine)
        later |= ((other.absmax == self.absmax) | (theirs & mine)) & (
            other.where_text < self.where_text
        )
        later &= other.where_text >= 0
        pick = lambda a, b: np.where(later, b, a)  # noqa: E731
        return Moments(
            self.count + other.count,
            np.where(n > 0, mean, 0.0),
            np.where(n > 0, m2, 0.0),
            self.sum_abs + other.sum_abs,
            pick(self.absmax, other.absmax),
            pick(self.where_text, other.where_text),
            pick(self.where_position, other.where_position),
            pick(self.where_token, other.where_token),
        )

    def arrays(self) -> dict[str, np.ndarray]:
        return {name: getattr(self, name) for name in _ARRAYS}


@dataclass(frozen=True, eq=False)
class DimensionStats:
    """
    Statistics of every dimension at every layer over the real tokens of a corpus,
    as `mpl_residual.hf.dimension_stats` gathers them.

    The fields `count` (tokens seen, the same for every dimension of a layer), `mean`,
    `std` (over all tokens, ``ddof=0``), `mean_abs` (the mean of ``|x|``) and `absmax`
    (the largest ``|x|``) are float64 ``(layers, rows, cols)`` arrays, folded like a
    stream, so that `residual_grid`, `animate` and `layer_sheet` draw them directly
    (`stream` adds the layer names for titles).  Beside them: ``layer_names`` (as in
    `ResidualStream`), ``n_texts`` (texts read), ``model_name``, and the running
    ``moments`` they come from, which merge exactly with those of other texts.

    Examples
    --------
    >>> stats = hf.dimension_stats(model, tokenizer, texts)  # doctest: +SKIP
    >>> mr.layer_sheet(stats.stream("absmax"), cmap="magma", vmin=0)  # doctest: +SKIP
    >>> stats.outliers(factor=100)  # doctest: +SKIP
    array([138, 447])
    """

    moments: Moments
    layer_names: tuple[str, ...] = ()
    n_texts: int = 0
    model_name: str | None = None
    tokens: tuple[str, ...] = field(default=(), repr=False)
    rows: int | None = None
    pad: bool = False

    def __post_init__(self) -> None:
        n_layers, d_model = self.moments.mean.shape
        if self.layer_names and len(self.layer_names) != n_layers:
            raise ValueError(f"{len(self.layer_names)} layer names for {n_layers} layers")
        if not np.all(self.moments.count > 0):
            raise ValueError("no tokens were counted; the statistics of nothing are undefined")
        to_grid(np.zeros(d_model), self.rows, pad=self.pad)  # a grid that fits, or a clear error
        spelled = self.moments.where_token
        if self.tokens and (spelled.min() < 0 or spelled.max() >= len(self.tokens)):
            raise ValueError("the absmax token indices do not match the tokens")
        object.__setattr__(self, "layer_names", tuple(self.layer_names))
        object.__setattr__(self, "tokens", tuple(self.tokens))

    # -- the fields, folded --------------------------------------------------------

    def _fold(self, flat: np.ndarray) -> np.ndarray:
        return to_grid(flat, self.rows, pad=self.pad)

    @property
    def d_model(self) -> int:
        """Width of the hidden states."""
        return int(self.moments.mean.shape[1])

    @property
    def n_layers(self) -> int:
        """Number of layers (embeddings included)."""
        return int(self.moments.mean.shape[0])

    @property
    def n_tokens(self) -> int:
        """Tokens counted (per layer; the same in every layer)."""
        return int(self.moments.count[0])

    @property
    def count(self) -> np.ndarray:
        """Tokens seen, ``(layers, rows, cols)``."""
        m = self.moments
        return self._fold(np.broadcast_to(m.count[:, None], m.mean.shape).astype(np.float64))

    @property
    def mean(self) -> np.ndarray:
        """Mean of each dimension, ``(layers, rows, cols)``."""
        return self._fold(self.moments.mean)

    @property
    def std(self) -> np.ndarray:
        """Standard deviation (``ddof=0``), ``(layers, rows, cols)``."""
        m = self.moments
        return self._fold(np.sqrt(np.maximum(m.m2, 0.0) / m.count[:, None]))

    @property
    def mean_abs(self) -> np.ndarray:
        """Mean of ``|x|``, ``(layers, rows, cols)``."""
        m = self.moments
        return self._fold(m.sum_abs / m.count[:, None])

    @property
    def absmax(self) -> np.ndarray:
        """Largest ``|x|``, ``(layers, rows, cols)``."""
        return self._fold(self.moments.absmax)

    def field(self, name: str) -> np.ndarray:
        """One of `FIELDS` by name."""
        if name not in FIELDS:
            raise ValueError(f"field must be one of {', '.join(FIELDS)}; got {name!r}")
        return getattr(self, name)

    def stream(self, name: str = "absmax") -> ResidualStream:
        """
        A field as a `ResidualStream`, with the layer names and model name, ready for
        `animate`, `layer_sheet` and the other views.
        """
        return ResidualStream(
            self.field(name),
            layer_names=self.layer_names,
            model_name=self.model_name,
            d_model=self.d_model,
        )

    def where(self, layer: int, dim: int) -> tuple[int, int, str | None]:
        """
        Where the largest ``|x|`` of *dim* at *layer* occurred: ``(text, position,
        token)``, the text's index in the corpus, the token's position among its real
        tokens, and the token.
        """
        layer = check_index(layer, self.n_layers, "layer", of=f"{self.n_layers} layers")
        dim = check_index(dim, self.d_model, "dim", of=f"d_model={self.d_model}")
        m = self.moments
        token = self.tokens[m.where_token[layer, dim]] if self.tokens else None
        return int(m.where_text[layer, dim]), int(m.where_position[layer, dim]), token

    def outliers(self, factor: float = 100.0) -> np.ndarray:
        """
        The massive dimensions: sorted, those whose `absmax` exceeds *factor* times the
        median `mean_abs` of the same layer, in any layer.

        Examples
        --------
        >>> stats.outliers(100.0)  # doctest: +SKIP
        array([138, 447])
        """
        factor = as_real(factor, "factor")
        if not factor > 0:
            raise ValueError(f"factor must be positive; got factor={factor:g}")
        m = self.moments
        typical = np.median(m.sum_abs / m.count[:, None], axis=1, keepdims=True)
        return np.flatnonzero(((m.absmax > factor * typical) & (typical > 0)).any(axis=0))

    def merge(self, other: DimensionStats) -> DimensionStats:
        """
        The statistics of both corpora, exactly as if one run had read *other*'s texts
        after these: for runs on separate machines or days, saved and merged later.

        Examples
        --------
        >>> first = DimensionStats.load("part1.npz")  # doctest: +SKIP
        >>> both = first.merge(DimensionStats.load("part2.npz"))  # doctest: +SKIP
        """
        if not isinstance(other, DimensionStats):
            raise TypeError(f"other must be DimensionStats; got {type(other).__name__}")
        shape, theirs = self.moments.mean.shape, other.moments.mean.shape
        if shape != theirs:
            raise ValueError(
                f"cannot merge statistics of {theirs[0]} layers x d_model={theirs[1]} into "
                f"{shape[0]} layers x d_model={shape[1]}"
            )
        if other.model_name != self.model_name and None not in (self.model_name, other.model_name):
            raise ValueError(
                f"cannot merge statistics of {other.model_name!r} into {self.model_name!r}"
            )
        tokens, where_token = self.tokens, other.moments.where_token
        if not (self.tokens and other.tokens):
            tokens = ()  # the spellings of one side are unknown: none are told
        else:  # other's spellings, appended where they are new
            index = {token: i for i, token in enumerate(tokens)}
            for token in other.tokens:
                index.setdefault(token, len(index))
            tokens = tuple(index)
            where_token = np.array([index[t] for t in other.tokens], dtype=np.int64)[where_token]
        later = replace(
            other.moments,
            where_text=other.moments.where_text + self.n_texts,
            where_token=where_token,
        )
        return replace(
            self,
            moments=self.moments.merge(later),
            n_texts=self.n_texts + other.n_texts,
            model_name=self.model_name or other.model_name,
            tokens=tokens,
        )

    def refold(self, rows: int | None, *, pad: bool = False) -> DimensionStats:
        """The same statistics folded into another grid."""
        return replace(self, rows=rows, pad=pad)

    # -- files -----------------------------------------------------------------------

    def save(self, path: str | os.PathLike[str]) -> Path:
        """
        Save as a plain ``.npz`` that loads with ``allow_pickle=False``: the running
        moments (so that files can be merged later, with `merge`) and the labels as JSON
        text.  Written whole or not at all.
        """
        path = Path(path)
        labels = {
            "kind": KIND,
            "format": FORMAT,
            "layer_names": list(self.layer_names),
            "n_texts": self.n_texts,
            "model_name": self.model_name,
            "tokens": list(self.tokens),
            "rows": self.rows,
            "pad": self.pad,
        }
        with atomic_path(path) as temporary, open(temporary, "wb") as file:
            np.savez_compressed(file, labels=np.array(json.dumps(labels)), **self.moments.arrays())
        return path

    @staticmethod
    def is_file(path: str | os.PathLike[str]) -> bool:
        """Whether *path* is a file that `save` wrote (and not a stream)."""
        import zipfile

        try:
            with zipfile.ZipFile(path) as archive:
                return {f"{name}.npy" for name in _ARRAYS} <= set(archive.namelist())
        except (OSError, zipfile.BadZipFile):
            return False

    @classmethod
    def load(cls, path: str | os.PathLike[str], *, max_bytes: int = MAX_BYTES) -> DimensionStats:
        """
        Load statistics saved by `save`; every array is checked from its header first
        and nothing is unpickled.

        Raises
        ------
        FileNotFoundError
            No such file.
        ValueError
            Not a statistics file, or one that is truncated, corrupt or inconsistent.
        """
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"no such file: {str(path)!r}")
        arrays = read_npz(path, max_bytes=max_bytes)
        missing = [name for name in (*_ARRAYS, "labels") if name not in arrays]
        if missing:
            raise ValueError(
                f"{str(path)!r} is not a file of dimension statistics (it lacks "
                f"{', '.join(missing)}); save one with DimensionStats.save"
            )
        try:
            labels = json.loads(scalar(arrays, "labels"))
            if not isinstance(labels, dict) or labels.get("kind") != KIND:
                raise ValueError("the labels do not say it holds dimension statistics")
            moments = Moments(**{name: arrays[name] for name in _ARRAYS})
            return cls(
                moments,
                layer_names=tuple(labels.get("layer_names") or ()),
                n_texts=int(labels.get("n_texts") or 0),
                model_name=labels.get("model_name"),
                tokens=tuple(labels.get("tokens") or ()),
                rows=labels.get("rows"),
                pad=bool(labels.get("pad")),
            )
        except (UnreadableFile, ValueError, TypeError, KeyError, IndexError) as err:
            raise ValueError(f"{str(path)!r} does not hold valid statistics: {err}") from None
