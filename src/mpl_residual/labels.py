"""
What a stream's values are, without the values: `Labels`, and `split`, which takes
``(values, labels)`` off any input, so that every view reads its titles, colorbar
label and colour scale in one way.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from ._text import literal, percent

__all__ = [
    "Labels",
    "NO_LABELS",
    "Predictions",
    "SCALES",
    "counted_from_zero",
    "layer_names",
    "layer_titles",
    "split",
]

#: A layer's logit-lens predictions: ``(token, probability)`` pairs, most likely first.
Predictions = tuple[tuple[str, float], ...]


#: How a stream's values are coloured: ``"signed"`` (limits symmetric about zero, the
#: style's colormap), ``"diverging"`` (the same on a diverging map: signs that mean
#: for and against), ``"nonnegative"`` (from zero, on a sequential map: counts,
#: magnitudes, spreads).
Scale = Literal["signed", "diverging", "nonnegative"]
SCALES: tuple[str, ...] = ("signed", "diverging", "nonnegative")


@dataclass(frozen=True)
class Labels:
    """
    What a stream's values are, without the values: every view reads its titles,
    colorbar label and colour scale from here (`split` takes them off any input).

    Attributes
    ----------
    tokens, layer_names, position, d_model, predictions
        As in `ResidualStream`.
    quantity : str or None
        What the numbers are, for the colorbar's label (``"largest |x|"``).
    scale : {"signed", "diverging", "nonnegative"}
        How they are coloured by default (see `Scale`).
    titled : bool
        Whether a single grid of it gets its title without being asked (a
        decomposition's components and an attribution do; a stream does not).
    """

    tokens: tuple[str, ...] = ()
    layer_names: tuple[str, ...] = ()
    position: int | None = None
    d_model: int | None = None
    predictions: tuple[Predictions, ...] = ()
    quantity: str | None = None
    scale: Scale = "signed"
    titled: bool = False

    @property
    def token(self) -> str | None:
        """The token shown, or None when there is none (or every position is kept)."""
        if self.position is None or not self.tokens:
            return None
        return self.tokens[self.position]

    def name(self, layer: int) -> str:
        """The name of *layer* (``"block 5 + final norm"``), or ``"layer 6"``."""
        return self.layer_names[layer] if self.layer_names else f"layer {layer}"

    def title(self, layer: int) -> str:
        r"""
        ``"block 5 · ' capital'"``: the layer's name (``"layer 5"`` if it has none), the
        token in repr quotes (so that spaces and control characters show), and with the
        logit lens read, that layer's most likely next token (``→ ' Paris' 31%``).  It is
        matplotlib text: ``$`` is escaped, control characters are written as escapes.
        """
        title = literal(self.name(layer))
        if self.token is not None:
            title += f" · {literal(repr(self.token))}"
        if self.predictions and self.predictions[layer]:
            token, probability = self.predictions[layer][0]
            title += f" → {literal(repr(token))} {percent(probability)}"
        return title


#: The labels of a bare array: it says nothing about itself.
NO_LABELS = Labels()


def split(stream: Any) -> tuple[Any, Labels]:
    """
    ``(values, labels)`` of any input: a `ResidualStream` (or any object of this
    package that knows what its values are: statistics fields, decompositions,
    attributions) gives its own; an array, a tensor or a list gives `NO_LABELS`.

    >>> import numpy as np
    >>> from mpl_residual import ResidualStream
    >>> values, labels = split(ResidualStream(np.zeros((2, 1, 2)), layer_names=("a", "b")))
    >>> values.shape, labels.title(1)
    ((2, 1, 2), 'b')
    >>> split(np.zeros(3))[1] is NO_LABELS
    True
    """
    labels = getattr(stream, "labels", None)
    if isinstance(labels, Labels):
        return stream.values, labels
    return stream, NO_LABELS


def layer_names(n_blocks: int, *, final_norm: bool = False) -> tuple[str, ...]:
    """
    The names of the ``n_blocks + 1`` layers of a model's stream, as every adapter
    gives them: ``"embeddings"``, then ``"block 0"`` ... ``"block N-1"``, the stream
    after each block, counted from 0 as the model's modules (``model.layers[i]``),
    TransformerLens (``blocks.i``) and the components of a decomposition count them;
    the last with ``" + final norm"`` when the model's final norm was applied to it.

    >>> layer_names(2, final_norm=True)
    ('embeddings', 'block 0', 'block 1 + final norm')
    """
    names = ["embeddings", *(f"block {i}" for i in range(n_blocks))]
    if final_norm:
        names[-1] += " + final norm"
    return tuple(names)


_BLOCK = re.compile(r"block (\d{1,9})( \+ final norm)?")


def counted_from_zero(names: tuple[str, ...]) -> tuple[str, ...]:
    """
    Layer names as this version gives them: files written before blocks were counted
    from 0 named the stream after the first block ``"block 1"``; such names (the
    embeddings, then ``"block 1"``, ``"block 2"``, ... in order) are renamed, anything
    else is kept as it is.

    >>> counted_from_zero(("embeddings", "block 1", "block 2 + final norm"))
    ('embeddings', 'block 0', 'block 1 + final norm')
    >>> counted_from_zero(("embeddings", "block 0"))
    ('embeddings', 'block 0')
    """
    if len(names) < 2 or names[0] != "embeddings":
        return names
    found = [_BLOCK.fullmatch(name) for name in names[1:]]
    old = all(m is not None and int(m.group(1)) == i for i, m in enumerate(found, start=1))
    if not old:
        return names
    return (names[0], *(f"block {int(m.group(1)) - 1}{m.group(2) or ''}" for m in found))


def layer_titles(stream: Any) -> Callable[[int], str]:
    """
    The default title of each layer of *stream*: its name and token (`Labels.title`,
    ``"block 5 · ' capital'"``), ``"layer 5"`` for a bare array.

    >>> import numpy as np
    >>> layer_titles(np.zeros((3, 2, 2)))(2)
    'layer 2'
    """
    return split(stream)[1].title
