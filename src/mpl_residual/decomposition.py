"""
`Decomposition`: the residual stream at one position split into what wrote it, and
`Attribution`: each dimension's share of a logit.  Both draw wherever a stream does.
"""

from __future__ import annotations

import itertools
import json
import math
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from ._arrays import _describe, as_float_array, as_index, check_index
from ._npzfile import (
    MAX_BYTES,
    MAX_INFLATION,
    load_labelled,
    write_npz,
)
from ._text import strings
from .grid import to_grid
from .labels import Labels, layer_names
from .stream import ResidualStream

__all__ = ["Attribution", "Decomposition", "chosen_dims", "names_components", "which_dims"]

#: What `Decomposition.save` writes; `Decomposition.load` reads it back.
KIND = "mpl-residual decomposition"
FORMAT = 1

#: A component's name: the embeddings, or what block *i* (counted from 0) wrote.
_NAME = re.compile(r"embeddings|block (\d+) (attn|mlp|attn bias|head \d+)")


def _block_of(name: str) -> int:
    """-1 for the embeddings, else the block (from 0) that wrote *name*; ValueError if
    *name* is neither."""
    match = _NAME.fullmatch(name) if isinstance(name, str) else None
    if match is None:
        raise ValueError(
            f"component names are 'embeddings' or 'block i attn', 'block i mlp', 'block i "
            f"head h', 'block i attn bias'; got {name!r:.60}"
        )
    return -1 if match.group(1) is None else int(match.group(1))


def names_components(names: Any) -> bool:
    """Whether *names* are a decomposition's components (embeddings, then what each
    block wrote), not a stream's layers: a sheet of them is laid out for many panels."""
    return bool(names) and all(
        isinstance(name, str) and _NAME.fullmatch(name) is not None for name in names
    ) and any(name != "embeddings" for name in names)


def chosen_dims(dims: Any) -> list[int]:
    """*dims* (one dimension or several) as a list of ints, or a clear error."""
    if isinstance(dims, (str, bytes)) or not hasattr(dims, "__iter__"):
        dims = [dims]
    found = [as_index(d, "dims", expected="a dimension (an integer) or a list of them")
             for d in dims]  # fmt: skip
    if not found:
        raise ValueError("dims must name at least one dimension")
    return found


def which_dims(dims: list[int], d_model: int | None = None) -> str:
    """``"dim 51"``, ``"sum over dims 51, 3, 10"``; none: ``"sum over all 768 dims"``."""
    if not dims:
        return f"sum over all {d_model} dims" if d_model else "sum over all dims"
    shown = ", ".join(map(str, dims[:6])) + (", ..." if len(dims) > 6 else "")
    return f"dim {shown}" if len(dims) == 1 else f"sum over dims {shown}"


@dataclass(frozen=True, eq=False)
class Attribution:
    """
    Each dimension's share of the logit of a token (minus that of another), at one
    position, as `mpl_residual.hf.logit_attribution` computes it.

    The final norm is taken as the model applied it at this position (its scale, and
    for LayerNorm its mean, are those of the actual stream), so that the logit is a sum
    over dimensions: ``values.sum() + constant == total``, the model's logit (or logit
    difference) before any soft-capping.

    Attributes
    ----------
    values : numpy.ndarray
        ``(rows, cols)`` float32, one share per dimension (NaN padding past
        ``d_model``).  `residual_grid` draws it on a diverging scale centred on 0,
        titled with the target.
    constant : float
        What no dimension writes: the norm's bias and the head's bias.
    components : dict of str to float
        Each component of the decomposition's share (its write through the same
        norm); they sum with `constant` to `total` too.
    target, versus : str
        The tokens compared (``versus`` None for the target's logit alone), and their
        ids ``target_id``, ``versus_id``.
    tokens, position, model_name, d_model
        As in `ResidualStream`.
    decomposition : Decomposition or None
        What wrote the stream it was read from (`contributions` draws it).
    capped : float or None
        Where the model soft-caps its logits (Gemma 2's ``final_logit_softcapping``):
        the capped logit (difference) the model reports, beside `total`, which is
        the logit before the cap; None where nothing is capped.

    Examples
    --------
    >>> attribution = hf.logit_attribution(model, tokenizer, text, " Paris")  # doctest: +SKIP
    >>> mr.residual_grid(attribution, colorbar=True)  # doctest: +SKIP
    >>> attribution.save("paris.npz")  # with its decomposition  # doctest: +SKIP
    """

    values: np.ndarray
    constant: float
    components: Mapping[str, float]
    target: str
    target_id: int
    versus: str | None = None
    versus_id: int | None = None
    tokens: tuple[str, ...] = ()
    position: int | None = None
    model_name: str | None = None
    d_model: int | None = None
    decomposition: Decomposition | None = field(default=None, repr=False)
    capped: float | None = None

    def __post_init__(self) -> None:
        if self.capped is not None:
            object.__setattr__(self, "capped", float(self.capped))
        values = np.asarray(as_float_array(self.values, name="values"), dtype=np.float32)
        if values.ndim != 2 or 0 in values.shape:
            raise ValueError(f"Attribution.values must be (rows, cols); got {_describe(values)}")
        components = {str(k): float(v) for k, v in dict(self.components).items()}
        object.__setattr__(self, "values", values)
        object.__setattr__(self, "constant", float(self.constant))
        object.__setattr__(self, "components", components)
        object.__setattr__(self, "tokens", strings(self.tokens, "tokens"))

    def __array__(self, dtype: Any = None, copy: bool | None = None) -> np.ndarray:
        return np.array(self.values, dtype=dtype) if copy else self.values.astype(
            dtype or self.values.dtype, copy=False
        )

    @property
    def total(self) -> float:
        """``values.sum() + constant``: the model's logit (difference), before capping."""
        return float(np.nansum(self.values, dtype=np.float64) + self.constant)

    @property
    def token(self) -> str | None:
        """The token at which the logit was read (whose next token it predicts)."""
        return self.tokens[self.position] if self.tokens and self.position is not None else None

    @property
    def heading(self) -> str:
        """What it is the share of: ``"logit ' Paris' − ' London'"``, and where the
        model soft-caps its logits, ``"... before soft-capping"``."""
        text = f"logit {self.target!r}"
        text += f" − {self.versus!r}" if self.versus is not None else ""
        return text + (" before soft-capping" if self.capped is not None else "")

    @property
    def quantity(self) -> str:
        """What a colorbar or an axis of the shares says: the quantity and its unit."""
        return "share of the logit" + (" difference" if self.versus else "") + ", in logits"

    def title(self, layer: int = 0) -> str:
        """`heading` (and the token read at) as matplotlib text, as `Labels.title` says."""
        return self.labels.title(layer)

    @property
    def labels(self) -> Labels:
        """What the values are, for the views (see `mpl_residual.labels.split`)."""
        return Labels(
            tokens=self.tokens,
            layer_names=(self.heading,),
            position=self.position,
            d_model=self.d_model,
            quantity=self.quantity,
            scale="diverging",
            titled=True,
        )

    def top(self, n: int = 10) -> list[tuple[str, float]]:
        """The *n* components with the largest ``|share|``, largest first."""
        ordered = sorted(self.components.items(), key=lambda item: -abs(item[1]))
        return ordered[:n]

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Save with the decomposition it was read from (`Decomposition.save`): one file
        that `Decomposition.load` reads back, its ``.attribution`` this one."""
        if self.decomposition is None:
            raise ValueError("this attribution has no decomposition to save it with")
        return replace(self.decomposition, attribution=self).save(path)

    def _labels(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "target_id": self.target_id,
            "versus": self.versus,
            "versus_id": self.versus_id,
            "constant": self.constant,
            "components": [[name, share] for name, share in self.components.items()],
            "capped": self.capped,
        }


def _check_attribution(attribution: Attribution, parts: Decomposition) -> None:
    """What a saved attribution promises, checked against what it holds: its grid is
    the decomposition's, its target a token's text and id, its numbers finite, its
    components the decomposition's, and shares and components add up to one total."""
    if attribution.values.shape != parts.values.shape[1:]:
        raise ValueError(
            f"its attribution is {attribution.values.shape}, its decomposition's grids "
            f"{parts.values.shape[1:]}"
        )
    for name in ("target", "versus"):
        text, number = getattr(attribution, name), getattr(attribution, f"{name}_id")
        if name == "versus" and text is None and number is None:
            continue
        if not isinstance(text, str) or isinstance(number, bool) or not isinstance(number, int):
            raise ValueError(f"its {name} must be a token's text and id; got {text!r:.40}")
    numbers = [attribution.constant, *attribution.components.values()]
    if attribution.capped is not None:
        numbers.append(attribution.capped)
    if not np.all(np.isfinite(numbers)):
        raise ValueError("its constant, components and capped logit must be finite numbers")
    if list(attribution.components) != list(parts.names):
        raise ValueError("its components are not the decomposition's")
    total = attribution.total
    summed = math.fsum(attribution.components.values()) + attribution.constant
    if not math.isclose(summed, total, rel_tol=1e-3, abs_tol=1e-3 * (1 + abs(total))):
        raise ValueError(
            f"its components add up to {summed:.6g} but its shares to {total:.6g}; an "
            "attribution's two sums are one logit"
        )


@dataclass(frozen=True, eq=False)
class Decomposition:
    """
    The residual stream at one position as the sum of what wrote it, as
    `mpl_residual.hf.decompose` (or `mpl_residual.tl.decompose`) splits it.

    It draws wherever a stream does, one panel or frame per component, titled with its
    name: ``mr.layer_sheet(decomposition)``, ``mr.animate(decomposition)``, and
    `contributions` shows which components wrote given dimensions.

    Attributes
    ----------
    values : numpy.ndarray
        ``(components, rows, cols)``, float32: what each component added to the stream.
    names : tuple of str
        ``"embeddings"``, then for each block ``i`` (counted from 0) ``"block i attn"``
        and ``"block i mlp"`` (with ``heads=True``, ``"block i head h"`` for each head,
        and ``"block i attn bias"`` where the output projection has a bias).
    tokens, position, model_name, d_model, special
        As in `ResidualStream`.
    attribution : Attribution or None
        The logit attribution computed from it, if any (kept with it in its file).

    Examples
    --------
    >>> parts = hf.decompose(model, tokenizer, "Paris is the capital of")  # doctest: +SKIP
    >>> np.allclose(parts.stream(), hf.capture(model, inputs, final="raw"))  # doctest: +SKIP
    True
    """

    values: np.ndarray
    names: tuple[str, ...]
    tokens: tuple[str, ...] = ()
    position: int | None = None
    model_name: str | None = None
    d_model: int | None = None
    special: tuple[int, ...] = ()
    attribution: Attribution | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        values = as_float_array(self.values, name="values")
        if np.ma.isMaskedArray(values):
            values = values.filled(np.nan)
        if values.ndim != 3 or 0 in values.shape:
            raise ValueError(
                f"Decomposition.values must be (components, rows, cols); got {_describe(values)}"
            )
        names = strings(self.names, "names")
        if len(names) != len(values):
            raise ValueError(f"{len(names)} names for {len(values)} components")
        blocks = [_block_of(name) for name in names]
        if blocks[0] != -1 or blocks != sorted(blocks) or blocks.count(-1) != 1:
            raise ValueError(
                "components come as 'embeddings', then each block's, in order; got "
                f"{list(names)[:4]}..."
            )
        skipped = next((b for a, b in itertools.pairwise(blocks) if b > a + 1), None)
        if skipped is not None or len(set(names)) != len(names):
            # blocks 0, 1, 2, ... each named once: nothing may stand for blocks that are
            # not there (a name's number is never a size to allocate)
            said = "a name twice"
            if skipped is not None:
                said = f"block {skipped} after block {blocks[blocks.index(skipped) - 1]}"
            raise ValueError(
                f"components name each block from 0 in turn, each component once; got {said}"
            )
        # Every other label is checked as a stream's would be.
        checked = ResidualStream(
            values[:1],
            tokens=self.tokens,
            position=self.position,
            model_name=self.model_name,
            d_model=self.d_model,
            special=self.special,
        )
        if self.attribution is not None and not isinstance(self.attribution, Attribution):
            raise TypeError(f"attribution must be an Attribution; got {self.attribution!r:.40}")
        object.__setattr__(self, "values", np.asarray(values, dtype=np.float32))
        object.__setattr__(self, "names", names)
        for name in ("tokens", "position", "d_model", "special"):
            object.__setattr__(self, name, getattr(checked, name))

    def __array__(self, dtype: Any = None, copy: bool | None = None) -> np.ndarray:
        return np.array(self.values, dtype=dtype) if copy else self.values.astype(
            dtype or self.values.dtype, copy=False
        )

    def __len__(self) -> int:
        return len(self.values)

    @property
    def shape(self) -> tuple[int, ...]:
        """Shape of `values`."""
        return self.values.shape

    @property
    def n_blocks(self) -> int:
        """Number of blocks."""
        return 1 + max(_block_of(name) for name in self.names)

    @property
    def token(self) -> str | None:
        """The token decomposed."""
        return self.tokens[self.position] if self.tokens and self.position is not None else None

    @property
    def labels(self) -> Labels:
        """What the values are, for the views: one layer per component, titled by name."""
        return Labels(
            tokens=self.tokens,
            layer_names=self.names,
            position=self.position,
            d_model=self.d_model,
            quantity="written to the stream",
            scale="diverging",
            titled=True,
        )

    def component(self, name: str) -> np.ndarray:
        """The ``(rows, cols)`` write of the component called *name*."""
        if name not in self.names:
            raise KeyError(f"no component {name!r}; components: {', '.join(self.names[:6])}, ...")
        return self.values[self.names.index(name)]

    def writes(self, dims: Any) -> np.ndarray:
        """What each component wrote to dimensions *dims*: ``(components, len(dims))``."""
        flat = self.values.reshape(len(self), -1)
        d_model = self.d_model or flat.shape[1]
        dims = np.atleast_1d(np.asarray(dims))
        if dims.dtype.kind not in "iu" or dims.ndim != 1 or not len(dims):
            raise TypeError(f"dims must be one or more dimensions (integers); got {dims!r:.60}")
        for dim in dims.tolist():
            check_index(dim, d_model, "dims", of=f"d_model={d_model}")
        return flat[:, dims % d_model].astype(np.float64)

    def stream(self) -> ResidualStream:
        """
        The running sums at each block's end: ``embeddings``, then ``block 0`` ...
        ``block L-1`` (blocks counted from 0, as the components name them), what
        ``hf.capture(..., final="raw")`` captures (summed in float64).
        """
        blocks = np.array([_block_of(name) for name in self.names])
        flat = self.values.reshape(len(self), -1).astype(np.float64)
        sums = [flat[blocks < i].sum(axis=0) for i in range(self.n_blocks + 1)]
        rows = self.values.shape[1]
        return ResidualStream(
            np.asarray(to_grid(np.stack(sums)[:, : self.d_model or None], rows, pad=True),
                       dtype=np.float32),
            tokens=self.tokens,
            layer_names=layer_names(self.n_blocks),
            position=self.position,
            model_name=self.model_name,
            d_model=self.d_model,
            special=self.special,
        )  # fmt: skip

    # -- files -------------------------------------------------------------------------

    def save(self, path: str | os.PathLike[str]) -> Path:
        """
        Save as a plain ``.npz`` that loads with ``allow_pickle=False`` (`load`): the
        values, the labels as JSON text, and the attribution if there is one.  Written
        whole or not at all.
        """
        path = Path(path)
        labels = {
            "kind": KIND,
            "format": FORMAT,
            "names": list(self.names),
            "tokens": list(self.tokens),
            "position": self.position,
            "model_name": self.model_name,
            "d_model": self.d_model,
            "special": list(self.special),
            "attribution": None if self.attribution is None else self.attribution._labels(),
        }
        arrays = {"values": self.values, "labels": np.array(json.dumps(labels))}
        if self.attribution is not None:
            arrays["attribution"] = self.attribution.values
        return write_npz(path, **arrays)

    @classmethod
    def load(
        cls,
        path: str | os.PathLike[str],
        *,
        max_bytes: int = MAX_BYTES,
        max_inflation: float = MAX_INFLATION,
    ) -> Decomposition:
        """
        Load a decomposition saved by `save`, bounded and checked as
        `ResidualStream.load` bounds and checks a stream.

        Raises
        ------
        FileNotFoundError
            No such file.
        ValueError
            Not a decomposition, or a truncated, corrupt, oversized or inconsistent
            one; the message names the file.
        """
        known = ("names", "tokens", "position", "model_name", "d_model", "special")

        def build(arrays: dict[str, np.ndarray], labels: dict[str, Any]) -> Decomposition:
            given = {key: labels[key] for key in known if labels.get(key) is not None}
            decomposition = cls(arrays["values"], **given)
            said = labels.get("attribution")
            if said is None:
                return decomposition
            attribution = Attribution(
                arrays["attribution"],
                constant=said["constant"],
                components=dict(said["components"]),
                target=said["target"],
                target_id=said["target_id"],
                versus=said["versus"],
                versus_id=said["versus_id"],
                tokens=decomposition.tokens,
                position=decomposition.position,
                model_name=decomposition.model_name,
                d_model=decomposition.d_model,
                decomposition=decomposition,
                capped=said.get("capped"),
            )
            _check_attribution(attribution, decomposition)
            return replace(decomposition, attribution=attribution)

        return load_labelled(
            path,
            kind=KIND,
            format=FORMAT,
            what="a valid decomposition",
            members=("values", "labels", "attribution"),
            known=(*known, "attribution"),
            build=build,
            max_bytes=max_bytes,
            max_inflation=max_inflation,
        )


def decomposition_of(
    vectors: Any, names: Any, *, rows: int | None = None, pad: bool = False, **labels: Any
) -> Decomposition:
    """
    A `Decomposition` of ``(components, d_model)`` *vectors* (what the model side
    collects), each folded as `to_grid` folds (*rows*, *pad*), named *names*; *labels*
    (``tokens``, ``position``, ``model_name``, ``special``) as the class takes them.
    """
    flat = np.asarray(vectors)
    folded = np.asarray(to_grid(flat, rows, pad=pad), dtype=np.float32)
    return Decomposition(folded, tuple(names), d_model=int(flat.shape[-1]), **labels)
