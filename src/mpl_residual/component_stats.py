"""`ComponentStats`: what every component writes to every dimension, over a corpus."""

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
from ._npzfile import MAX_BYTES, MAX_INFLATION, load_labelled
from ._text import printable, strings
from .decomposition import Decomposition
from .grid import to_grid
from .stream import ResidualStream

__all__ = ["FIELDS", "FIELD_LABELS", "ComponentMoments", "ComponentStats"]

#: The drawable fields of `ComponentStats`, each ``(components, rows, cols)``.
FIELDS = ("count", "mean", "mean_abs", "std", "absmax", "share")

#: What each field is, as a colorbar says it.
FIELD_LABELS = {
    "count": "tokens",
    "mean": "mean write to the stream",
    "mean_abs": "mean |write|",
    "std": "standard deviation of the write",
    "absmax": "largest |write|",
    "share": "share of the stream's mean square",
}

#: The signed fields: drawn on a diverging scale centred on 0 (the others from 0).
SIGNED = ("mean", "share")

#: What `ComponentStats.save` writes; `load` reads it back.
KIND = "mpl-residual component stats"
FORMAT = 1

_WHERE = ("where_text", "where_position", "where_token")
_ARRAYS = ("count", "mean", "m2", "sum_abs", "absmax", *_WHERE, "cross", "energy")
_FLOATS = ("mean", "m2", "sum_abs", "absmax", "cross", "energy")


@dataclass(frozen=True)
class ComponentMoments:
    """
    Running sums of what each component wrote to each dimension, mergeable exactly.

    ``count`` is ``(components,)`` (every token counts for every component), ``energy``
    ``(d_model,)``, every other array ``(components, d_model)``: ``mean`` and ``m2``
    (the sum of squared deviations from it, merged as `DimensionStats` merges them),
    ``sum_abs`` (of ``|write|``), ``absmax`` (the largest ``|write|``) and where it was
    (``where_text``, ``where_position``, ``where_token``; of equal maxima the earliest
    text's), ``cross`` (the sum over tokens of the write times the stream it ends in)
    and ``energy`` (the sum of that stream squared).
    """

    count: np.ndarray
    mean: np.ndarray
    m2: np.ndarray
    sum_abs: np.ndarray
    absmax: np.ndarray
    where_text: np.ndarray
    where_position: np.ndarray
    where_token: np.ndarray
    cross: np.ndarray
    energy: np.ndarray

    def __post_init__(self) -> None:
        shape = np.shape(self.mean)
        if len(shape) != 2 or np.shape(self.count) != shape[:1]:
            raise ValueError(
                f"moments must be (components, d_model) with one count per component; got "
                f"mean {shape} and count {np.shape(self.count)}"
            )
        for name in _ARRAYS[1:-1]:
            if np.shape(getattr(self, name)) != shape:
                raise ValueError(
                    f"moments {name} is {np.shape(getattr(self, name))}; expected {shape}"
                )
        if np.shape(self.energy) != shape[1:]:
            raise ValueError(f"moments energy is {np.shape(self.energy)}; expected {shape[1:]}")

    def check(self, n_texts: int, n_tokens: int | None) -> None:
        """Raise ValueError unless the moments could have been counted (as
        `~mpl_residual.stats.Moments.check` says)."""
        check_counts(self.count, "component")
        for name in _FLOATS:
            if np.asarray(getattr(self, name)).dtype.kind != "f":
                raise ValueError(f"moments {name} must be floating point")
        for name in ("m2", "sum_abs", "absmax", "energy"):
            if np.any(getattr(self, name) < 0):  # NaN (a model that made one) passes
                raise ValueError(f"moments {name} holds negative values; it cannot")
        check_locations(self.arrays(), _WHERE, n_texts=n_texts, n_tokens=n_tokens)

    def merge(self, other: ComponentMoments) -> ComponentMoments:
        """The moments of both sets of tokens."""
        mean, m2 = merged_moments(
            (self.count[:, None], other.count[:, None]),
            (self.mean, other.mean),
            (self.m2, other.m2),
        )
        wins = later(self.absmax, other.absmax, self.where_text, other.where_text)
        picked = {
            name: np.where(wins, getattr(other, name), getattr(self, name))
            for name in ("absmax", *_WHERE)
        }
        return ComponentMoments(
            count=self.count + other.count,
            mean=mean,
            m2=m2,
            sum_abs=self.sum_abs + other.sum_abs,
            cross=self.cross + other.cross,
            energy=self.energy + other.energy,
            **picked,
        )

    def arrays(self) -> dict[str, np.ndarray]:
        return {name: getattr(self, name) for name in _ARRAYS}

    def renumbered(self, texts: int, tokens: np.ndarray | None) -> ComponentMoments:
        """These moments with every text index moved on by *texts* and every token
        index mapped through *tokens* (None: kept)."""
        moved = {"where_text": self.where_text + texts}
        if tokens is not None:
            moved["where_token"] = tokens[self.where_token]
        return replace(self, **moved)


def _names(value: Any) -> tuple[str, ...]:
    """Component names as a decomposition checks them (embeddings, blocks from 0)."""
    names = strings(value, "names")
    Decomposition(np.zeros((len(names) or 1, 1, 1), np.float32), names)  # or a clear error
    return names


@dataclass(frozen=True, eq=False)
class ComponentStats:
    """
    What every component (as `mpl_residual.hf.decompose` names them) wrote to every
    dimension, over the real tokens of a corpus, as
    `mpl_residual.hf.component_stats` gathers them.

    The fields are float64 ``(components, rows, cols)`` arrays, folded like a stream:
    `count` (tokens seen, the same everywhere), `mean` (the signed mean write),
    `mean_abs` (the mean ``|write|``), `std` (``ddof=0``), `absmax` (the largest
    ``|write|``, located by `where`) and `share` (each component's share of the
    stream's mean square in each dimension, see `share`).  `stream` makes any of them
    drawable by `residual_grid` and `layer_sheet` (one panel per component);
    `contributions` and `head_grid` read them directly.

    Beside them, how they were made, so that only statistics made alike merge:
    ``names`` (the components), ``n_texts``, ``model_name``, ``special``,
    ``max_length``, ``dropped_tokens``, ``rows`` and ``pad`` (the fold), the token
    spellings of the locations (``tokens``), and the running ``moments`` they come
    from, which merge exactly with those of other texts (`merge`).

    Examples
    --------
    >>> stats = hf.component_stats(model, tokenizer, texts, heads=True)  # doctest: +SKIP
    >>> mr.contributions(stats, 447)  # who writes dimension 447, on average  # doctest: +SKIP
    >>> stats.where("block 0 mlp", 447)  # doctest: +SKIP
    (12, 0, 'The')
    """

    moments: ComponentMoments
    names: tuple[str, ...] = ()
    n_texts: int | None = None
    model_name: str | None = None
    tokens: tuple[str, ...] = field(default=(), repr=False)
    rows: int | None = None
    pad: bool = False
    special: bool = False
    max_length: int | None = None
    dropped_tokens: int = 0

    def __post_init__(self) -> None:
        if not isinstance(self.moments, ComponentMoments):
            raise TypeError(f"moments must be ComponentMoments; got {type(self.moments).__name__}")
        n_components, d_model = self.moments.mean.shape
        names = _names(self.names)
        if len(names) != n_components:
            raise ValueError(f"{len(names)} component names for {n_components} components")
        check_counts(self.moments.count, "component")  # before "none counted" is said
        fewest = 1 + int(self.moments.where_text.max())
        checked = {"names": names, **checked_labels(self, fewest)}
        for name, value in checked.items():
            object.__setattr__(self, name, value)

    # -- sizes -------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self.names)

    @property
    def d_model(self) -> int:
        """Width of the hidden states."""
        return int(self.moments.mean.shape[1])

    @property
    def n_tokens(self) -> int:
        """Tokens counted (the same for every component)."""
        return int(self.moments.count[0])

    @property
    def heads(self) -> bool:
        """Whether attention is split by head (``"block i head h"``)."""
        return any(" head " in name for name in self.names)

    # -- the fields, folded ------------------------------------------------------------

    def _fold(self, flat: np.ndarray) -> np.ndarray:
        return to_grid(flat, self.rows, pad=self.pad)

    def _flat(self, name: str) -> np.ndarray:
        m = self.moments
        n = m.count[:, None].astype(np.float64)
        if name == "count":
            return np.broadcast_to(n, m.mean.shape).copy()
        if name == "mean":
            return m.mean
        if name == "mean_abs":
            return m.sum_abs / n
        if name == "std":
            return np.sqrt(np.maximum(m.m2, 0.0) / n)
        if name == "absmax":
            return m.absmax
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(m.energy > 0, m.cross / m.energy, np.nan)

    @property
    def count(self) -> np.ndarray:
        """Tokens seen, ``(components, rows, cols)``."""
        return self._fold(self._flat("count"))

    @property
    def mean(self) -> np.ndarray:
        """Mean write of each component to each dimension (signed), ``(components,
        rows, cols)``."""
        return self._fold(self._flat("mean"))

    @property
    def mean_abs(self) -> np.ndarray:
        """Mean ``|write|``, ``(components, rows, cols)``."""
        return self._fold(self._flat("mean_abs"))

    @property
    def std(self) -> np.ndarray:
        """Standard deviation of the write (``ddof=0``), ``(components, rows, cols)``."""
        return self._fold(self._flat("std"))

    @property
    def absmax(self) -> np.ndarray:
        """Largest ``|write|``, ``(components, rows, cols)``; `where` says where."""
        return self._fold(self._flat("absmax"))

    @property
    def share(self) -> np.ndarray:
        r"""
        Each component's share of the stream's mean square in each dimension,
        ``(components, rows, cols)``:
        :math:`\sum_t w_c[t, d]\, x[t, d] / \sum_t x[t, d]^2`, with :math:`x` the
        stream the writes add up to (the last block's output, before any final norm)
        and :math:`t` every token counted.  The shares of all components sum to 1 in
        every dimension; a negative share took magnitude away.  It is defined wherever
        the stream was not 0 at every token (NaN where it was).
        """
        return self._fold(self._flat("share"))

    def field(self, name: str) -> np.ndarray:
        """One of `FIELDS` by name."""
        if name not in FIELDS:
            raise ValueError(f"field must be one of {', '.join(FIELDS)}; got {name!r:.40}")
        return getattr(self, name)

    def writes(self, dims: Any, *, field: str = "mean") -> np.ndarray:
        """*field* of each component at dimensions *dims*: ``(components, len(dims))``."""
        if field not in FIELDS:
            raise ValueError(f"field must be one of {', '.join(FIELDS)}; got {field!r:.40}")
        dims = np.atleast_1d(np.asarray(dims))
        if dims.dtype.kind not in "iu" or dims.ndim != 1 or not len(dims):
            raise TypeError(f"dims must be one or more dimensions (integers); got {dims!r:.60}")
        for dim in dims.tolist():
            check_index(dim, self.d_model, "dims", of=f"d_model={self.d_model}")
        return self._flat(field)[:, dims % self.d_model]

    def stream(self, name: str = "mean") -> ResidualStream:
        """
        A field as a `ResidualStream` of one layer per component, ready for
        `residual_grid` (``layer=`` picks the component), `layer_sheet` (a panel each)
        and `animate`: titled with the component names, its colorbar labelled with
        the field (`FIELD_LABELS`), signed fields on a diverging scale centred on 0,
        the others from 0.
        """
        return ResidualStream(
            self.field(name),
            layer_names=self.names,
            model_name=self.model_name,
            d_model=self.d_model,
            quantity=FIELD_LABELS[name],
            scale="diverging" if name in SIGNED else "nonnegative",
        )

    def where(self, component: str | int, dim: int) -> tuple[int, int, str | None]:
        """
        Where *component*'s largest ``|write|`` to *dim* was: ``(text, position,
        token)``, the text's index in the corpus, the token's position among the real
        tokens of that text, and the token (None where the spellings are unknown).

        Examples
        --------
        >>> stats.where("block 0 mlp", 447)  # doctest: +SKIP
        (12, 0, 'The')
        """
        if isinstance(component, str):
            if component not in self.names:
                raise KeyError(
                    f"no component {printable(repr(component)):.60}; components: "
                    f"{', '.join(self.names[:6])}, ..."
                )
            index = self.names.index(component)
        else:
            index = check_index(component, len(self), "component", of=f"{len(self)} components")
        dim = check_index(dim, self.d_model, "dim", of=f"d_model={self.d_model}")
        text, position, token = (getattr(self.moments, n)[index, dim] for n in _WHERE)
        return int(text), int(position), self.tokens[token] if self.tokens else None

    # -- merging -----------------------------------------------------------------------

    def settings(self) -> dict[str, Any]:
        """How these statistics were made: what must agree for two of them to merge."""
        keys = ("names", "model_name", "special", "max_length", "rows", "pad")
        return {key: getattr(self, key) for key in keys}

    def merge(self, other: ComponentStats) -> ComponentStats:
        """
        The statistics of both corpora, exactly as if one run had read *other*'s texts
        after these (text numbers of *other* move on by `n_texts`).  Statistics of
        other components, width, model or settings (`settings`) are refused.  Merging
        is associative: ``a.merge(b).merge(c)`` equals ``a.merge(b.merge(c))``.

        Examples
        --------
        >>> first = ComponentStats.load("a.npz")  # doctest: +SKIP
        >>> both = first.merge(ComponentStats.load("b.npz"))  # doctest: +SKIP
        """
        if not isinstance(other, ComponentStats):
            raise TypeError(f"other must be ComponentStats; got {type(other).__name__}")
        if other.d_model != self.d_model:
            raise ValueError(
                f"cannot merge statistics of d_model={other.d_model} into d_model={self.d_model}"
            )
        return merged(self, other)

    def refold(self, rows: int | None, *, pad: bool = False) -> ComponentStats:
        """The same statistics folded into another grid."""
        return replace(self, rows=rows, pad=pad)

    # -- files -------------------------------------------------------------------------

    def save(self, path: str | os.PathLike[str]) -> Path:
        """
        Save as a plain ``.npz`` that loads with ``allow_pickle=False`` (`load`): the
        running moments (so that files merge later) and the names and settings as JSON
        text.  Written whole or not at all.
        """
        return saved(self, path, kind=KIND, format=FORMAT)

    @classmethod
    def load(
        cls,
        path: str | os.PathLike[str],
        *,
        max_bytes: int = MAX_BYTES,
        max_inflation: float = MAX_INFLATION,
    ) -> ComponentStats:
        """
        Load statistics saved by `save`: only their arrays are read, bounded before
        anything is inflated (as `ResidualStream.load` bounds a stream), nothing is
        unpickled, and every count, shape, name and location is checked, so that a
        file whose labels lie is refused, never merged.

        Raises
        ------
        FileNotFoundError
            No such file.
        ValueError
            Not a file of component statistics, or a truncated, corrupt, oversized or
            inconsistent one: one line that names the file.
        """
        known = [item.name for item in fields(cls) if item.name != "moments"]

        def build(arrays: dict[str, np.ndarray], labels: dict[str, Any]) -> ComponentStats:
            absent = [name for name in _ARRAYS if name not in arrays]
            if absent:
                raise ValueError(f"it lacks the arrays {', '.join(absent)}")
            moments = ComponentMoments(**{name: arrays[name] for name in _ARRAYS})
            return cls(moments, **labels)

        return load_labelled(
            path,
            kind=KIND,
            format=FORMAT,
            what="valid component statistics",
            members=(*_ARRAYS, "labels"),
            known=known,
            build=build,
            max_bytes=max_bytes,
            max_inflation=max_inflation,
        )
