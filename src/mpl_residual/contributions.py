"""`contributions`: which components wrote chosen dimensions, as horizontal bars."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import matplotlib as mpl
import numpy as np

from ._arrays import as_index
from ._layout import keep_inside
from ._text import literal
from .decomposition import Attribution, Decomposition
from .heatmap import DIVERGING_CMAP

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.container import BarContainer

__all__ = ["contributions"]


def _dims(dims: Any) -> list[int]:
    if isinstance(dims, (str, bytes)) or not hasattr(dims, "__iter__"):
        dims = [dims]
    found = [as_index(d, "dims", expected="a dimension (an integer) or a list of them")
             for d in dims]  # fmt: skip
    if not found:
        raise ValueError("dims must name at least one dimension")
    return found


def _which(dims: list[int]) -> str:
    shown = ", ".join(map(str, dims[:6])) + (", ..." if len(dims) > 6 else "")
    return f"dim {shown}" if len(dims) == 1 else f"dims {shown}"


def contributions(
    decomposition: Decomposition | Attribution,
    dims: int | Sequence[int] | None = None,
    *,
    ax: Axes | None = None,
    top: int = 10,
) -> BarContainer:
    """
    Which components wrote *dims*: one horizontal bar a component, largest ``|write|``
    first, in a warm colour where it added and a cool one where it took away, labelled
    with the component's name.

    With a decomposition's massive dimension this is the picture "block 0 mlp wrote
    447".  Several *dims* are summed: each bar is what a component wrote into all of
    them.  Given an `Attribution` and no *dims*, the bars are each component's share
    of the logit instead.

    Parameters
    ----------
    decomposition : Decomposition or Attribution
        From `mpl_residual.hf.decompose` (or ``tl.decompose``), or an attribution.
    dims : int or sequence of int, optional
        The dimensions (flat indices into ``d_model``); required for a decomposition.
    ax : `~matplotlib.axes.Axes`, optional
        Where to draw; default: the current Axes.
    top : int, default: 10
        How many components to show (the rest are left out, and the title says so).

    Returns
    -------
    `~matplotlib.container.BarContainer`

    Examples
    --------
    >>> import numpy as np
    >>> import mpl_residual as mr
    >>> from mpl_residual.decomposition import Decomposition
    >>> values = np.zeros((3, 2, 2), np.float32)
    >>> values[2, 1, 1] = 5.0  # block 0's MLP wrote dimension 3
    >>> parts = Decomposition(values, ("embeddings", "block 0 attn", "block 0 mlp"))
    >>> bars = mr.contributions(parts, 3)
    >>> [t.get_text() for t in bars[0].axes.get_yticklabels()][-1]  # the top bar
    'block 0 mlp'
    """
    top = as_index(top, "top", expected="a positive integer")
    if top < 1:
        raise ValueError(f"top must be at least 1; got top={top}")
    if isinstance(decomposition, Attribution) and dims is None:
        names = list(decomposition.components)
        values = np.array([decomposition.components[n] for n in names])
        what = f"share of the {literal(decomposition.heading)}"
    elif isinstance(decomposition, (Decomposition, Attribution)):
        parts = (
            decomposition.decomposition
            if isinstance(decomposition, Attribution)
            else decomposition
        )
        if parts is None or dims is None:
            raise TypeError("contributions needs a decomposition and dims=")
        chosen = _dims(dims)
        names, values = list(parts.names), parts.writes(chosen).sum(axis=1)
        what = f"written to {_which(chosen)}"
    else:
        raise TypeError(
            "contributions needs a Decomposition (hf.decompose) or an Attribution; got "
            f"{type(decomposition).__name__}"
        )
    order = np.argsort(-np.abs(np.nan_to_num(values)), kind="stable")[:top]
    if ax is None:
        import matplotlib.pyplot as plt

        ax = plt.gca()
    cmap = mpl.colormaps[DIVERGING_CMAP]
    shown = values[order][::-1]  # the largest at the top
    colors = [cmap(0.85) if v >= 0 else cmap(0.15) for v in shown]
    bars = ax.barh(np.arange(len(order)), shown, color=colors)
    ax.set_yticks(np.arange(len(order)), [literal(names[i]) for i in order[::-1]])
    ax.axvline(0, color=mpl.rcParams["axes.edgecolor"], linewidth=0.8)
    ax.set_xlabel(what)
    left_out = len(values) - len(order)
    token = getattr(decomposition, "token", None)
    title = literal(repr(token)) if token is not None else ""
    if left_out:
        title += f"{' · ' if title else ''}top {len(order)} of {len(values)}"
    if title:
        ax.set_title(title)
    keep_inside(ax)  # long component names stay on the figure
    return bars
