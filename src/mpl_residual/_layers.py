"""Which layers: one index checked, or the layers an animation or a sheet shows."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ._arrays import check_index

__all__: list[str] = []

#: What ``layers=`` takes: a slice, a range or a sequence of layer indices.
LayerSelection = slice | range | Sequence[int] | None


def check_layer(layer: Any, n_layers: int) -> int:
    """*layer* as a non-negative index into *n_layers* layers, with a clear error."""
    plural = "s" if n_layers != 1 else ""
    return check_index(layer, n_layers, "layer", of=f"a stream of {n_layers} layer{plural}")


def frame_layers(n_layers: int, layers: LayerSelection) -> list[int]:
    """
    The layers an animation or a sheet shows, as non-negative indices.

    A slice or range with a step keeps the last layer even when the step skips it, so
    that ``slice(None, None, 4)`` always ends on the model's output.

    >>> frame_layers(14, slice(None, None, 4))
    [0, 4, 8, 12, 13]
    """
    if layers is None:
        return list(range(n_layers))
    if isinstance(layers, range):
        layers = slice(layers.start, layers.stop, layers.step)
    if isinstance(layers, slice):
        picked = list(range(n_layers))[layers]
        stepping = (layers.step or 1) > 1
        reaches_end = layers.stop is None or layers.stop >= n_layers
        if picked and stepping and reaches_end and picked[-1] != n_layers - 1:
            picked.append(n_layers - 1)
    elif isinstance(layers, Sequence) and not isinstance(layers, str):
        picked = [check_layer(i, n_layers) for i in layers]
    else:
        raise TypeError(
            "layers must be None, a slice, a range or a sequence of layer indices; "
            f"got {type(layers).__name__} {layers!r}"
        )
    if not picked:
        raise ValueError(f"layers={layers!r} selects no layer of a stream of {n_layers} layers")
    return picked
