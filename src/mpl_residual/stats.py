"""`DimensionStats`: statistics of every dimension at every layer, over a corpus."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import numpy as np

from ._arrays import check_index
from ._moments import (
    check_counts,
    check_locations,
    checked_labels,
    later,
    merged,
    merged_moments,
    saved,
)
from ._npzfile import (
    MAX_BYTES,
    MAX_INFLATION,
    load_labelled,
)
from ._text import printable, strings
from .grid import to_grid
from .labels import counted_from_zero
from .outliers import check_factor
from .stream import ResidualStream

__all__ = ["FIELDS", "FIELD_LABELS", "NON_NEGATIVE", "DimensionStats"]

#: The drawable fields of `DimensionStats`, each ``(layers, rows, cols)``.
FIELDS = ("count", "mean", "std", "mean_abs", "absmax", "max_ratio")

#: What each field is, as a colorbar says it.
FIELD_LABELS = {
    "count": "tokens",
    "mean": "mean",
    "std": "standard deviation",
    "mean_abs": "mean |x|",
    "absmax": "largest |x|",
    "max_ratio": "largest |x| / median |x| of its vector",
}

#: The fields that are never negative: drawn from 0, on a sequential colormap.
NON_NEGATIVE = ("count", "std", "mean_abs", "absmax", "max_ratio")

#: What `DimensionStats.save` writes; `load` reads it back.
KIND = "mpl-residual dimension stats"
FORMAT = 2

#: The largest values of each dimension, and where they occurred: ``field -> (text,
#: position, token)`` arrays.
_LOCATED = {
    "absmax": ("where_text", "where_position", "where_token"),
    "max_ratio": ("ratio_text", "ratio_position", "ratio_token"),
}
_ARRAYS = (
    "count",
    "mean",
    "m2",
    "sum_abs",
    "absmax",
    "where_text",
    "where_position",
    "where_token",
    "max_ratio",
    "ratio_text",
    "ratio_position",
    "ratio_token",
)
_FLOATS = ("mean", "m2", "sum_abs", "absmax", "max_ratio")


@dataclass(frozen=True)
class Moments:
    """
    Running moments of each dimension of each layer, mergeable exactly.

    All arrays are ``(layers, d_model)`` but ``count``, ``(layers,)``: every token adds
    to every dimension.  ``m2`` is the sum of squared deviations from the mean; two
    sets merge with the update of Chan, Golub and LeVeque (1979), which stays accurate
    where the naive ``sum(x**2) - n * mean**2`` cancels.  ``max_ratio`` is the largest
    ``|x| / median |x|`` of the token's own vector (`median_ratio`).  The locations of
    each ``absmax`` and ``max_ratio`` are ``(text, position, token id)``; of equal maxima
    the earliest text wins, so that the result does not depend on how the corpus was
    split.
    """

    count: np.ndarray
    mean: np.ndarray
    m2: np.ndarray
    sum_abs: np.ndarray
    absmax: np.ndarray
    where_text: np.ndarray
    where_position: np.ndarray
    where_token: np.ndarray
    max_ratio: np.ndarray
    ratio_text: np.ndarray
    ratio_position: np.ndarray
    ratio_token: np.ndarray

    @classmethod
    def empty(cls, n_layers: int, d_model: int) -> Moments:
        """The moments of no token: merging them changes nothing."""
        zeros = np.zeros((n_layers, d_model))
        unset = np.full((n_layers, d_model), -1, dtype=np.int64)
        lowest = np.full((n_layers, d_model), -np.inf)
        return cls(
            np.zeros(n_layers, dtype=np.int64),
            zeros,
            zeros.copy(),
            zeros.copy(),
            lowest,
            *(unset.copy() for _ in range(3)),
            lowest.copy(),
            *(unset.copy() for _ in range(3)),
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

    def check(self, n_texts: int, n_tokens: int | None) -> None:
        """
        Raise ValueError unless the moments could have been counted: whole, equal,
        non-negative counts (every token adds to every layer), float statistics that
        are not negative where they cannot be, and locations inside *n_texts* texts
        and *n_tokens* token spellings (None: token ids, unchecked above).
        """
        check_counts(self.count, "layer")
        for name in _FLOATS:
            if np.asarray(getattr(self, name)).dtype.kind != "f":
                raise ValueError(f"moments {name} must be floating point")
        for name in ("m2", "sum_abs", "absmax", "max_ratio"):
            if np.any(getattr(self, name) < 0):  # NaN (a model that made one) passes
                raise ValueError(f"moments {name} holds negative values; it cannot")
        for located in _LOCATED.values():
            check_locations(self.arrays(), located, n_texts=n_texts, n_tokens=n_tokens)

    def merge(self, other: Moments) -> Moments:
        """The moments of both sets of tokens."""
        mean, m2 = merged_moments(
            (self.count[:, None], other.count[:, None]),
            (self.mean, other.mean),
            (self.m2, other.m2),
        )
        picked = {}
        for largest, located in _LOCATED.items():
            wins = later(
                getattr(self, largest),
                getattr(other, largest),
                getattr(self, located[0]),
                getattr(other, located[0]),
            )
            for name in (largest, *located):
                picked[name] = np.where(wins, getattr(other, name), getattr(self, name))
        return Moments(
            count=self.count + other.count,
            mean=mean,
            m2=m2,
            sum_abs=self.sum_abs + other.sum_abs,
            **picked,
        )

    def arrays(self) -> dict[str, np.ndarray]:
        return {name: getattr(self, name) for name in _ARRAYS}

    def renumbered(self, texts: int, tokens: np.ndarray | None) -> Moments:
        """These moments with every text index moved on by *texts* and every token
        index mapped through *tokens* (None: kept)."""
        moved = {}
        for text, _, token in _LOCATED.values():
            moved[text] = getattr(self, text) + texts
            if tokens is not None:
                moved[token] = tokens[getattr(self, token)]
        return replace(self, **moved)


@dataclass(frozen=True, eq=False)
class DimensionStats:
    """
    Statistics of every dimension at every layer over the real tokens of a corpus,
    as `mpl_residual.hf.dimension_stats` gathers them.

    The fields `count` (tokens seen, the same for every dimension of a layer), `mean`,
    `std` (over all tokens, ``ddof=0``), `mean_abs` (the mean of ``|x|``), `absmax`
    (the largest ``|x|``) and `max_ratio` (the largest ``|x| / median |x|`` of the
    token's own vector: how massive the dimension ever got) are float64 ``(layers,
    rows, cols)`` arrays, folded like a stream, so that `residual_grid`, `animate` and
    `layer_sheet` draw them directly; `stream` adds the layer names, a colorbar label
    naming the field, and a scale from 0 for the fields that cannot be negative.

    Beside them, how they were made, so that only statistics made alike merge:
    ``layer_names`` (as in `ResidualStream`), ``n_texts`` (texts read; if not given,
    the fewest that the recorded locations point into),
    ``model_name``, ``special`` (special tokens counted), ``final`` (the last layer
    ``"normed"`` or ``"raw"``), ``max_length`` (the truncation asked for),
    ``dropped_tokens`` (tokens cut off by truncation), ``rows`` and ``pad`` (the fold),
    and the running ``moments`` they come from, which merge exactly with those of
    other texts.

    Examples
    --------
    >>> stats = hf.dimension_stats(model, tokenizer, texts)  # doctest: +SKIP
    >>> mr.layer_sheet(stats.stream("absmax"))  # from 0, labelled "largest |x|"  # doctest: +SKIP
    >>> stats.outliers(factor=100)  # doctest: +SKIP
    array([138, 447])
    """

    moments: Moments
    layer_names: tuple[str, ...] = ()
    n_texts: int | None = None
    model_name: str | None = None
    tokens: tuple[str, ...] = field(default=(), repr=False)
    rows: int | None = None
    pad: bool = False
    special: bool = False
    final: str = "normed"
    max_length: int | None = None
    dropped_tokens: int = 0

    def __post_init__(self) -> None:
        n_layers, d_model = self.moments.mean.shape
        names = strings(self.layer_names, "layer_names")
        if names and len(names) != n_layers:
            raise ValueError(f"{len(names)} layer names for {n_layers} layers")
        if self.final not in ("normed", "raw"):
            raise ValueError(f"final must be 'normed' or 'raw'; got {self.final!r:.40}")
        located = (getattr(self.moments, t).max() for t, _, _ in _LOCATED.values())
        checked = {"layer_names": names, **checked_labels(self, 1 + int(max(located)))}
        for name, value in checked.items():
            object.__setattr__(self, name, value)

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

    @property
    def max_ratio(self) -> np.ndarray:
        """
        Largest ``|x| / median |x|`` of the token's own layer vector over every token
        counted, ``(layers, rows, cols)``: above *factor*, the dimension was massive
        on some token (see `outliers`).
        """
        return self._fold(self.moments.max_ratio)

    def field(self, name: str) -> np.ndarray:
        """One of `FIELDS` by name."""
        if name not in FIELDS:
            raise ValueError(f"field must be one of {', '.join(FIELDS)}; got {name!r}")
        return getattr(self, name)

    def stream(self, name: str = "absmax") -> ResidualStream:
        """
        A field as a `ResidualStream`, ready for `residual_grid`, `animate`,
        `layer_sheet` and the other views: titled with the layer names, its colorbar
        labelled with the field (`FIELD_LABELS`), and, for the fields that cannot be
        negative (`NON_NEGATIVE`), drawn from 0 on a sequential colormap.
        """
        return ResidualStream(
            self.field(name),
            layer_names=self.layer_names,
            model_name=self.model_name,
            d_model=self.d_model,
            quantity=FIELD_LABELS[name],
            scale="nonnegative" if name in NON_NEGATIVE else "signed",
        )

    def where(self, layer: int, dim: int, *, field: str = "absmax") -> tuple[int, int, str | None]:
        """
        Where the largest value of *field* (``"absmax"`` or ``"max_ratio"``) of *dim*
        at *layer* occurred: ``(text, position, token)``, the text's index in the
        corpus, the token's position among the real tokens of that text, and the token.
        """
        if field not in _LOCATED:
            raise ValueError(f"field must be 'absmax' or 'max_ratio'; got {field!r}")
        layer = check_index(layer, self.n_layers, "layer", of=f"{self.n_layers} layers")
        dim = check_index(dim, self.d_model, "dim", of=f"d_model={self.d_model}")
        text, position, token = (getattr(self.moments, n)[layer, dim] for n in _LOCATED[field])
        return int(text), int(position), self.tokens[token] if self.tokens else None

    def outliers(self, factor: float = 100.0) -> np.ndarray:
        """
        The massive dimensions: sorted, those whose `max_ratio` exceeds *factor* in any
        layer, that is, those that `outlier_dims` finds on some token of the corpus
        (``|x| > factor x`` the median ``|x|`` of the same token's layer vector; see
        `mpl_residual.outlier_dims` for the rule).  Unlike a comparison of an extreme
        with an average, it does not grow with the corpus.

        Examples
        --------
        >>> stats.outliers(100.0)  # doctest: +SKIP
        array([138, 447])
        """
        factor = check_factor(factor)
        return np.flatnonzero((self.moments.max_ratio > factor).any(axis=0))

    def settings(self) -> dict[str, Any]:
        """How these statistics were made: what must agree for two of them to merge."""
        names = ("model_name", "special", "final", "max_length", "rows", "pad")
        return {name: getattr(self, name) for name in names}

    def merge(self, other: DimensionStats) -> DimensionStats:
        """
        The statistics of both corpora, exactly as if one run had read *other*'s texts
        after these: for runs on separate machines or days, saved and merged later.
        Statistics of another shape, model, or made with other settings (`settings`)
        are refused.

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
        if other.model_name != self.model_name:
            raise ValueError(
                f"cannot merge statistics of {printable(repr(other.model_name))} into "
                f"{printable(repr(self.model_name))}"
            )
        return merged(self, other)

    def refold(self, rows: int | None, *, pad: bool = False) -> DimensionStats:
        """The same statistics folded into another grid."""
        return replace(self, rows=rows, pad=pad)

    # -- files -----------------------------------------------------------------------

    def save(self, path: str | os.PathLike[str]) -> Path:
        """
        Save as a plain ``.npz`` that loads with ``allow_pickle=False``: the running
        moments (so that files can be merged later, with `merge`) and the labels and
        settings as JSON text.  Written whole or not at all.
        """
        return saved(self, path, kind=KIND, format=FORMAT, blocks_from=0)

    @staticmethod
    def is_file(path: str | os.PathLike[str]) -> bool:
        """Whether *path* is a file that `save` wrote (and not a stream)."""
        import zipfile

        try:
            with zipfile.ZipFile(path) as archive:
                return {"labels.npy", "count.npy", "absmax.npy"} <= set(archive.namelist())
        except (OSError, zipfile.BadZipFile, ValueError):
            return False

    @classmethod
    def load(
        cls,
        path: str | os.PathLike[str],
        *,
        max_bytes: int = MAX_BYTES,
        max_inflation: float = MAX_INFLATION,
    ) -> DimensionStats:
        """
        Load statistics saved by `save`.  Only the arrays statistics hold are read,
        each checked from its header and the zip directory before it is inflated
        (*max_bytes* in all, none inflating more than *max_inflation* times; see
        `ResidualStream.load`), nothing is unpickled, and every label and count is
        checked: a file whose labels lie is refused, never merged.

        Raises
        ------
        FileNotFoundError
            No such file.
        ValueError
            Not a statistics file, or one that is truncated, corrupt, oversized or
            inconsistent; the message names the file.
        """
        known = [item.name for item in fields(cls) if item.name != "moments"]

        def build(arrays: dict[str, np.ndarray], labels: dict[str, Any]) -> DimensionStats:
            absent = [name for name in _ARRAYS if name not in arrays]
            if absent:
                raise ValueError(
                    f"it lacks the arrays {', '.join(absent)} (an older mpl-residual wrote "
                    "it?); run `mpl-residual stats` again"
                )
            older = labels.pop("blocks_from", None) != 0  # they named blocks from 1
            if older and isinstance(labels.get("layer_names"), list):
                labels["layer_names"] = counted_from_zero(tuple(map(str, labels["layer_names"])))
            return cls(Moments(**{name: arrays[name] for name in _ARRAYS}), **labels)

        return load_labelled(
            path,
            kind=KIND,
            format=FORMAT,
            what="valid statistics",
            members=(*_ARRAYS, "labels"),
            known=[*known, "blocks_from"],
            build=build,
            max_bytes=max_bytes,
            max_inflation=max_inflation,
        )
