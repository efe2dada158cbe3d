"""`head_grid`: what every attention head wrote (or its share of a logit), blocks x heads."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import matplotlib as mpl
import numpy as np
from matplotlib.colors import Normalize
from matplotlib.image import AxesImage
from matplotlib.ticker import FuncFormatter, MaxNLocator

from ._colorbar import add_colorbar, colorbar_options, with_unit
from ._colors import marked_cmap
from ._layout.panels import keep_inside
from ._text import literal, wrapped
from .component_stats import FIELD_LABELS as STATS_LABELS
from .component_stats import SIGNED, ComponentStats
from .decomposition import Attribution, Decomposition, chosen_dims, which_dims
from .heatmap import DIVERGING_CMAP

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["ComponentImage", "head_grid"]

_NAME = re.compile(r"block (\d+) (?:head (\d+)|(attn bias)|(mlp)|(attn))")
#: The narrow columns beside the heads: what else each block writes.
EXTRA = ("attn bias", "mlp")
#: How far the narrow columns stand off the heads, in cells.
GAP = 0.6
_OPTIONS = ("cmap", "norm", "vmin", "vmax", "colorbar", "title")


class ComponentImage(AxesImage):
    """
    An image of components, one cell each: its array is what they wrote (or their
    share), and hovering a cell names the component, ``block 3 head 5 = +0.213``.
    """

    def __init__(self, ax: Axes, names: list[list[str | None]], **kwargs: Any) -> None:
        super().__init__(ax, **kwargs)
        self.names = names

    def get_cursor_data(self, event: Any) -> tuple[str, float] | None:
        found = super().get_cursor_data(event)
        if found is None or event.xdata is None or event.ydata is None:
            return None
        left, right, bottom, top = self.get_extent()  # origin "upper": row 0 at *top*
        rows, cols = len(self.names), len(self.names[0])
        col = math.floor((event.xdata - left) / (right - left) * cols)
        row = math.floor((event.ydata - top) / (bottom - top) * rows)
        if not (0 <= row < rows and 0 <= col < cols) or self.names[row][col] is None:
            return None
        return self.names[row][col], float(self.get_array()[row, col])

    def format_cursor_data(self, data: Any) -> str:
        if not isinstance(data, tuple):
            return super().format_cursor_data(data)
        name, value = data
        return f"{name} = {value:+.4g}" if math.isfinite(value) else f"{name} = {value}"


@dataclass(frozen=True)
class _Table:
    """Each component's number, laid out by block: heads, and the other writers."""

    heads: np.ndarray  # (blocks, heads)
    extra: np.ndarray  # (blocks, len(columns))
    columns: tuple[str, ...]
    embeddings: float | None
    quantity: str  # for the colorbar: what the colour is, and its unit
    title: str
    signed: bool = True  # drawn on a diverging scale centred on 0 (else from 0)


def _by_block(names: list[str], values: np.ndarray, made_by: str) -> _Table:
    """The numbers of components named as a decomposition names them, by block."""
    heads: dict[tuple[int, int], float] = {}
    extra: dict[tuple[int, str], float] = {}
    embeddings = None
    for name, value in zip(names, values.tolist(), strict=True):
        if name == "embeddings":
            embeddings = value
            continue
        match = _NAME.fullmatch(name)
        if match is None or match.group(5):
            continue
        block = int(match.group(1))
        if match.group(2) is not None:
            heads[block, int(match.group(2))] = value
        else:
            extra[block, match.group(3) or match.group(4)] = value
    if not heads:
        raise ValueError(
            f"head_grid needs one component a head; this {made_by} has none (its "
            f"components are {', '.join(names[:4])}, ...): make it with heads=True"
        )
    n_blocks = 1 + max(b for b, _ in heads)
    n_heads = 1 + max(h for _, h in heads)
    grid = np.full((n_blocks, n_heads), np.nan)
    for (block, head), value in heads.items():
        grid[block, head] = value
    columns = tuple(c for c in EXTRA if any(k[1] == c for k in extra))
    side = np.full((n_blocks, len(columns)), np.nan)
    for (block, column), value in extra.items():
        if block < n_blocks:
            side[block, columns.index(column)] = value
    return _Table(grid, side, columns, embeddings, "", "")


def _statistics_table(stats: ComponentStats, dims: Any, field: str) -> _Table:
    """Each component's *field* at *dims* over a corpus, by block and head."""
    if dims is None:
        raise TypeError("head_grid needs dims= for component statistics: which dimension")
    picked = chosen_dims(dims)
    if len(picked) > 1 and field != "mean":
        raise ValueError(
            f"the {field} of a write does not add over dimensions; give one dim (several "
            "are summed only for field='mean')"
        )
    values = stats.writes(picked, field=field).sum(axis=1)
    table = _by_block(list(stats.names), values, "ComponentStats")
    which = which_dims(picked, stats.d_model)
    quantity = f"{STATS_LABELS[field]}, {which}"
    title = f"{which} · {stats.n_tokens:,} tokens"
    return _Table(**{**table.__dict__, "quantity": quantity, "title": title,
                     "signed": field in SIGNED})  # fmt: skip


def _table(source: Any, dims: Any, field: str | None) -> _Table:
    """What `head_grid` draws of *source*: numbers by block and head, and their words."""
    if isinstance(source, ComponentStats):
        return _statistics_table(source, dims, field or "mean")
    if field is not None:
        raise TypeError(
            f"field= picks a field of ComponentStats; a {type(source).__name__} has none"
        )
    if isinstance(source, Attribution) and dims is None:
        names = list(source.components)
        table = _by_block(names, np.array([source.components[n] for n in names]), "attribution")
        return _Table(**{**table.__dict__, "quantity": source.quantity,
                         "title": literal(source.heading)})  # fmt: skip
    if isinstance(source, (Decomposition, Attribution)):
        parts = source.decomposition if isinstance(source, Attribution) else source
        if parts is None:
            raise TypeError("this attribution keeps no decomposition to read dims from")
        picked = [] if dims is None else chosen_dims(dims)
        flat = parts.values.reshape(len(parts), -1)[:, : parts.d_model or None]
        values = (
            np.nansum(flat.astype(np.float64), axis=1)
            if not picked
            else parts.writes(picked).sum(axis=1)
        )
        table = _by_block(list(parts.names), values, "decomposition")
        which = which_dims(picked, parts.d_model)
        token = f" at {literal(repr(parts.token))}" if parts.token is not None else ""
        return _Table(**{**table.__dict__, "quantity": f"written to the stream, {which}",
                         "title": f"{which}{token}"})  # fmt: skip
    raise TypeError(
        "head_grid needs a Decomposition, an Attribution or ComponentStats made with "
        "heads=True (hf.decompose, hf.logit_attribution, hf.component_stats); got "
        f"{type(source).__name__}"
    )


class _Counted(MaxNLocator):
    """Integer ticks from 0 to *n* - 1 (blocks, heads), as many as the axis has room
    for, and one at each of *more* (the columns beside the heads)."""

    def __init__(self, n: int, more: tuple[float, ...] = ()) -> None:
        super().__init__(nbins="auto", integer=True, steps=[1, 2, 4, 5, 10])
        self.n, self.more = n, more

    def tick_values(self, vmin: float, vmax: float) -> list[float]:
        found = super().tick_values(0, self.n - 1)
        return [t for t in found if 0 <= t <= self.n - 1] + list(self.more)


def head_grid(
    source: Decomposition | Attribution | ComponentStats,
    dims: int | list[int] | None = None,
    *,
    ax: Axes | None = None,
    field: str | None = None,
    **grid_kwargs: Any,
) -> ComponentImage:
    """
    What every attention head wrote, as a blocks x heads heatmap: the picture of
    "which head did it" that TransformerLens users draw by hand for direct logit
    attribution.

    Rows are blocks and columns heads, both counted from 0 as the model and
    TransformerLens count them (the cell of block 9, head 6 is ``L9H6``).  Beside the
    heads, narrow columns show what else each block wrote (its attention's output bias,
    where it has one, and its MLP) on the same diverging scale centred on 0; the
    embeddings' number is said under the grid.  Hovering a cell names the component
    and its value.

    Parameters
    ----------
    source : Decomposition, Attribution or ComponentStats
        Made with ``heads=True`` (`mpl_residual.hf.decompose`,
        `mpl_residual.hf.logit_attribution`, ``tl.decompose``,
        `mpl_residual.hf.component_stats`).
    dims : int or list of int, optional
        For a decomposition: each component's write to these dimensions, summed (the
        title says so); default: its write to all of them, summed with its sign.  For
        an attribution without *dims*: each component's share of the logit.  For
        component statistics (required): each head's mean write to *dims* over the
        corpus (another *field* at one dim).
    ax : `~matplotlib.axes.Axes`, optional
        Where to draw; default: the current Axes.
    field : str, optional
        For `ComponentStats` only: which field (``"mean"`` by default; ``"mean_abs"``,
        ``"std"``, ``"absmax"``, ``"share"``, ``"count"``); fields that cannot be
        negative are drawn from 0 on a sequential colormap.
    **grid_kwargs
        ``cmap`` (default a diverging map), ``norm`` or ``vmin``/``vmax`` (default:
        symmetric about 0, the largest ``|value|``), ``colorbar`` (default True: labelled
        with the quantity and its unit), ``title``.

    Returns
    -------
    ComponentImage
        The heads' image: its array is ``(blocks, heads)``, the numbers drawn.

    Examples
    --------
    >>> import numpy as np
    >>> import mpl_residual as mr
    >>> from mpl_residual.decomposition import Decomposition
    >>> names = ["embeddings"] + [f"block {b} {c}" for b in range(2)
    ...                           for c in ("head 0", "head 1", "mlp")]
    >>> parts = Decomposition(np.ones((7, 2, 2), np.float32), names)
    >>> image = mr.head_grid(parts)
    >>> image.get_array().shape  # (blocks, heads): each head's write, its 4 dims summed
    (2, 2)
    """
    unknown = sorted(set(grid_kwargs) - set(_OPTIONS))
    if unknown:
        raise TypeError(
            f"head_grid() got unexpected options {unknown}; it takes {', '.join(_OPTIONS)}"
        )
    table = _table(source, dims, field)
    if ax is None:
        import matplotlib.pyplot as plt

        ax = plt.gca()
    default_cmap = DIVERGING_CMAP if table.signed else mpl.rcParams["image.cmap"]
    cmap = marked_cmap(grid_kwargs.get("cmap") or default_cmap)
    norm = grid_kwargs.get("norm")
    together = np.concatenate([table.heads.ravel(), table.extra.ravel()])
    if norm is None:
        finite = np.abs(together[np.isfinite(together)])
        limit = float(finite.max()) if finite.size and finite.max() > 0 else 1.0
        vmin, vmax = grid_kwargs.get("vmin"), grid_kwargs.get("vmax")
        low = -limit if table.signed else 0.0
        norm = Normalize(low if vmin is None else vmin, limit if vmax is None else vmax)
    elif grid_kwargs.get("vmin") is not None or grid_kwargs.get("vmax") is not None:
        raise ValueError("pass either norm or vmin/vmax, not both")
    n_blocks, n_heads = table.heads.shape
    names = [[f"block {b} head {h}" for h in range(n_heads)] for b in range(n_blocks)]
    heads = ComponentImage(ax, names, cmap=cmap, norm=norm, origin="upper",
                           interpolation="nearest",
                           extent=(-0.5, n_heads - 0.5, n_blocks - 0.5, -0.5))  # fmt: skip
    heads.set_data(np.ma.masked_invalid(table.heads))
    ax.add_image(heads)
    right = n_heads - 0.5
    if table.columns:
        left = right + GAP
        right = left + len(table.columns)
        side = [[f"block {b} {c}" for c in table.columns] for b in range(n_blocks)]
        beside = ComponentImage(ax, side, cmap=cmap, norm=norm, origin="upper",
                                interpolation="nearest",
                                extent=(left, right, n_blocks - 0.5, -0.5))  # fmt: skip
        beside.set_data(np.ma.masked_invalid(table.extra))
        ax.add_image(beside)
    ax.set_xlim(-0.5, right)
    ax.set_ylim(n_blocks - 0.5, -0.5)
    # the numbers are the point here, whatever a style does to a grid's ticks
    ax.tick_params(bottom=True, left=True, labelbottom=True, labelleft=True)
    centres = {n_heads - 0.5 + GAP + 0.5 + i: c for i, c in enumerate(table.columns)}
    ax.xaxis.set_major_locator(_Counted(n_heads, tuple(centres)))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _: centres.get(x, f"{x:.0f}")))
    ax.yaxis.set_major_locator(_Counted(n_blocks))
    if table.columns:  # a column's name stands upright in its width, and so do the heads'
        ax.tick_params(axis="x", labelrotation=90)
    ax.set_ylabel("block")
    caption = "head"
    if table.embeddings is not None:
        caption += f" · embeddings {table.embeddings:+.3g}"
    ax.set_xlabel(caption)
    title = grid_kwargs.get("title")
    ax.set_title(table.title if title is None else title)
    unit = wrapped(table.quantity, 22)  # as tall as a grid of few blocks
    options = colorbar_options(with_unit(grid_kwargs.get("colorbar", True), unit))
    if options is not None:
        colorbar = add_colorbar(heads, together, options, ax=ax)
        if "\n" in colorbar.ax.get_ylabel():
            colorbar.ax.yaxis.label.set_fontsize("small")
    keep_inside(ax)
    return heads
