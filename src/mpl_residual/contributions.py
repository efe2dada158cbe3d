"""`contributions`: which components wrote chosen dimensions, as horizontal bars."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import matplotlib as mpl
import numpy as np

from ._arrays import as_index
from ._layout.panels import keep_inside
from ._text import literal, wrapped
from .component_stats import ComponentStats
from .decomposition import Attribution, Decomposition, chosen_dims, which_dims
from .heatmap import DIVERGING_CMAP

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.container import BarContainer

__all__ = ["contributions"]


def contributions(
    source: Decomposition | Attribution | ComponentStats,
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
    them, and the axis says so ("sum over dims 51, 3, 10").  Given an `Attribution`
    and no *dims*, the bars are each component's share of the logit instead, followed
    by what makes them add up, each value written: the components left out (summed),
    the constant (the biases no dimension writes) and the total, the model's logit.
    Given `ComponentStats` (`mpl_residual.hf.component_stats`), the bars are each
    component's mean write to *dims* over the corpus, ordered by the mean ``|write|``,
    which stands behind each bar as an outline (for one dim): a component that writes
    large values of both signs has a long outline and a short bar.

    Parameters
    ----------
    source : Decomposition, Attribution or ComponentStats
        From `mpl_residual.hf.decompose` (or ``tl.decompose``), an attribution, or
        statistics over a corpus.
    dims : int or sequence of int, optional
        The dimensions (flat indices into ``d_model``); required for a decomposition
        and for statistics.
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
    sums: list[tuple[str, float]] = []  # rows that make what is drawn add up
    outline = None  # the mean |write| behind each bar, for statistics of one dim
    if isinstance(source, ComponentStats):
        if dims is None:
            raise TypeError("contributions needs dims= for component statistics")
        chosen = chosen_dims(dims)
        names, values = list(source.names), source.writes(chosen).sum(axis=1)
        if len(chosen) == 1:
            outline = source.writes(chosen, field="mean_abs")[:, 0]
        what = f"mean write over {source.n_tokens:,} tokens, {which_dims(chosen)}"
    elif isinstance(source, Attribution) and dims is None:
        names = list(source.components)
        values = np.array([source.components[n] for n in names])
        what = source.quantity
    elif isinstance(source, (Decomposition, Attribution)):
        parts = (
            source.decomposition
            if isinstance(source, Attribution)
            else source
        )
        if parts is None or dims is None:
            raise TypeError("contributions needs a decomposition and dims=")
        chosen = chosen_dims(dims)
        names, values = list(parts.names), parts.writes(chosen).sum(axis=1)
        what = f"written to the stream, {which_dims(chosen)}"
    else:
        raise TypeError(
            "contributions needs a Decomposition (hf.decompose), an Attribution or "
            f"ComponentStats (hf.component_stats); got {type(source).__name__}"
        )
    size = values if outline is None else outline
    order = np.argsort(-np.abs(np.nan_to_num(size)), kind="stable")[:top]
    left_out = len(values) - len(order)
    if isinstance(source, Attribution) and dims is None:
        if left_out:
            rest = float(np.nansum(np.delete(values, order)))
            sums.append((f"{left_out} others", rest))
        sums += [("constant (biases)", source.constant), ("total", source.total)]
    if ax is None:
        import matplotlib.pyplot as plt

        ax = plt.gca()
    cmap = mpl.colormaps[DIVERGING_CMAP]
    labels = [literal(names[i]) for i in order] + [name for name, _ in sums]
    said = np.array([*values[order], *(v for _, v in sums)], dtype=float)
    # NaN and inf are said beside the name, their bar left at 0: shown, never let
    # loose on the axis limits
    labels = [f"{label} ({'NaN' if np.isnan(v) else f'{v:+}'})" if not np.isfinite(v) else label
              for label, v in zip(labels, said, strict=True)]  # fmt: skip
    shown = np.where(np.isfinite(said), said, 0.0)
    if outline is not None:
        outline = np.where(np.isfinite(outline), outline, 0.0)
    colors = [cmap(0.85) if v >= 0 else cmap(0.15) for v in shown]
    if sums:  # the sums in the text colour, apart from the components
        ink = mpl.rcParams["text.color"]
        colors[-len(sums) :] = [mpl.colors.to_rgba(ink, 0.35)] * (len(sums) - 1) + [ink]
    positions = np.arange(len(shown))[::-1] + np.array(
        [0.0] * len(order) + [-0.5] * len(sums)  # a gap before the sums
    )
    if outline is not None:  # behind the bars: how much it writes, whatever the sign
        ax.barh(positions, outline[order], fill=False, linewidth=0.8,
                edgecolor=mpl.colors.to_rgba(mpl.rcParams["text.color"], 0.6),
                label="mean |write|")  # fmt: skip
    bars = ax.barh(positions, shown, color=colors)
    ax.set_yticks(positions[::-1], labels[::-1])  # from the bottom up
    ax.tick_params(left=True, labelleft=True, bottom=True, labelbottom=True)  # whatever the style
    ax.axvline(0, color=mpl.rcParams["axes.edgecolor"], linewidth=0.8)
    if sums:  # each value written, so that the sum can be read off
        ax.bar_label(bars, labels=[f"{v:+.2f}" for v in said], padding=2, fontsize="small")
        low, high = min(0.0, *shown), max(0.0, *shown)
        span = (high - low) or 1.0  # room for the values written beside the bars
        ax.set_xlim(low - (0.45 * span if low < 0 else 0.05 * span),
                    high + (0.45 * span if high > 0 else 0.05 * span))  # fmt: skip
    ax.set_xlabel(what if len(what) <= 28 else wrapped(what, 24))  # after "stream,"
    token = getattr(source, "token", None)
    title = literal(repr(token)) if token is not None else ""
    if left_out:
        title += f"{' · ' if title else ''}top {len(order)} of {len(values)}"
    if outline is not None:
        title += f"{chr(10) if title else ''}outline: mean |write|"  # its own line
    if title:
        ax.set_title(title)
    keep_inside(ax)  # long component names stay on the figure
    return bars
