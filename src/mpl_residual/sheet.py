"""`layer_sheet`: every layer of a stream as small multiples with one colorbar."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

import matplotlib as mpl
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.textpath import TextPath

from ._colorbar import PLACEMENT, add_colorbar, colorbar_options, with_unit
from ._layers import frame_layers
from ._layout.engine import FittedLayout, lay_out
from ._layout.figures import fitted_size
from ._text import literal
from .decomposition import Decomposition, names_components
from .errors import TooManyPanels
from .heatmap import Prepared, prepared, residual_grid
from .profile import layer_profile
from .scaling import WideNormalize, limits_of

__all__ = ["layer_sheet"]


def sheet_layout(
    n_panels: int, n_rows: int, n_cols: int, *, colorbar: bool = True
) -> tuple[int, tuple[float, float]]:
    """
    How `layer_sheet` lays out *n_panels* grids of *n_rows* x *n_cols* on a figure of
    its own: the panels per row, and the figure's size in inches.
    """
    ncols = _best_ncols(n_panels, n_rows, n_cols)
    nrows = math.ceil(n_panels / ncols)
    return ncols, fitted_size(n_rows, n_cols, nrows=nrows, ncols=ncols, colorbar=colorbar)


def _best_ncols(n_panels: int, n_rows: int, n_cols: int, target: float = 4 / 3) -> int:
    """Columns of panels that bring the sheet's aspect closest to *target*."""

    def mismatch(ncols: int) -> float:
        nrows = math.ceil(n_panels / ncols)
        # each panel's title takes about 15% of its height
        return abs(math.log((ncols * n_cols) / (nrows * n_rows * 1.15) / target))

    return min(range(1, n_panels + 1), key=mismatch)


#: The smallest side of a panel of a sheet of components, in pixels at the figure's dpi.
MIN_PANEL_PX = 40
#: The largest title size of a sheet of components, in points.
COMPONENT_TITLE_PT = 9.0


def component_title(name: str) -> str:
    r"""A component's name on two lines, the block over what in it wrote: titles of
    169 panels side by side then stay narrower than their panels.

    >>> component_title("block 11 head 7")
    'block 11\nhead 7'
    >>> component_title("embeddings")
    'embeddings'
    """
    words = name.split(" ")
    if len(words) > 2 and words[0] == "block":
        return f"{' '.join(words[:2])}\n{' '.join(words[2:])}"
    return name


def _text_width(lines: list[str], size: float) -> float:
    """The width of the widest of *lines* at *size* points, in inches."""
    prop = FontProperties(size=size)
    return max(TextPath((0, 0), line, prop=prop).get_extents().width for line in lines) / 72


@dataclass(frozen=True)
class ComponentsLayout:
    """Where a sheet of components puts everything, computed once: no layout engine
    needs to run over its hundreds of panels (`components_layout`)."""

    ncols: int
    figsize: tuple[float, float]
    title_size: float
    margins: dict[str, float]  # for Figure.subplots_adjust, in figure fractions
    colorbar: tuple[float, float, float, float] | None  # its Axes' rectangle


def components_layout(
    names: list[str], n_rows: int, n_cols: int, *, colorbar: bool, lines: int = 2
) -> ComponentsLayout:
    """
    How a sheet of components is laid out so that it reads at any number of them.
    Every panel is at least `MIN_PANEL_PX` a side at the figure's dpi and as wide as
    its title (*lines* lines at most `COMPONENT_TITLE_PT`), titles sit in the room left
    for them between the rows, and the colorbar in a column of its own on the right.
    """
    dpi = mpl.rcParams["figure.dpi"]
    size = min(FontProperties(size=mpl.rcParams["axes.titlesize"]).get_size_in_points(),
               COMPONENT_TITLE_PT)  # fmt: skip
    words = [line for name in names for line in component_title(name).split("\n")]
    side = MIN_PANEL_PX / dpi
    width = max(side * max(1.0, n_cols / n_rows), _text_width(words, size) * 1.1)
    height = max(width * n_rows / n_cols, side)
    width = height * n_cols / n_rows
    title = lines * size * 1.35 / 72 + 0.06
    ncols = max(1, min(_best_ncols(len(names), n_rows, n_cols, 4 / 3), len(names)))
    nrows = math.ceil(len(names) / ncols)
    pad, edge, top, bar = 0.12, 0.2, 0.45, (1.2 if colorbar else 0.0)
    figwidth = edge + ncols * width + (ncols - 1) * pad + edge + bar
    figheight = top + title + nrows * height + (nrows - 1) * (title + pad) + edge
    margins = {
        "left": edge / figwidth,
        "right": 1 - (edge + bar) / figwidth,
        "bottom": edge / figheight,
        "top": 1 - (top + title) / figheight,
        "wspace": pad / width,
        "hspace": (title + pad) / height,
    }
    rectangle = None
    if colorbar:
        span = min(figheight - top - title - edge, 4.0)  # at most 4 in tall, centred
        low = edge + (figheight - top - title - edge - span) / 2
        rectangle = ((figwidth - bar) / figwidth + 0.15 / figwidth, low / figheight,
                     0.15 / figwidth, span / figheight)  # fmt: skip
    return ComponentsLayout(ncols, (figwidth, figheight), size, margins, rectangle)


#: The most panels a sheet draws: beyond that they are too small to read, and laying
#: them out takes minutes.  Pick layers with ``layers=`` (``--layers``).
MAX_PANELS = 256


def check_panels(n_panels: int) -> None:
    """Refuse a sheet of more than `MAX_PANELS` panels, saying how to pick fewer."""
    if n_panels > MAX_PANELS:
        raise TooManyPanels(n_panels, MAX_PANELS)


def layer_sheet(
    stream: Any,
    *,
    ncols: int | None = None,
    layers: Any = None,
    fig: Figure | None = None,
    figsize: tuple[float, float] | None = None,
    colorbar: bool | dict = True,
    normalize: str | None = None,
    profile: str | None = None,
    scale: Literal["shared", "each"] = "shared",
    **grid_kwargs: Any,
) -> Figure:
    """
    Every layer of a stream in one figure, on one colour scale with one colorbar.

    The print version of `animate`: small multiples that read left to right, top to
    bottom, each titled with its layer's name (and token, for a `ResidualStream`:
    ``"block 5 · ' capital'"``).  Vector output (PDF, SVG) works well; pass
    ``rasterized=True`` for very large grids.

    A decomposition (`mpl_residual.hf.decompose`) gets a figure sized for its
    components, however many (169 for GPT-2 small with heads): each panel at least 40
    pixels a side at the figure's dpi and as wide as its title, the component's name on
    two lines (``block 11`` over ``head 7``), the token in the figure's title.

    Parameters
    ----------
    stream : array-like or ResidualStream
        ``(layers, rows, cols)``, or anything `residual_grid` takes (a statistics field,
        a decomposition: one panel per component).
    ncols : int, optional
        Panels per row; default: whatever brings the sheet closest to the figure's
        shape (4:3 for a new figure without *figsize*).
    layers : slice, range or sequence of int, optional
        Which layers, as in `animate` (default: all; at most 256 panels).
    fig : `~matplotlib.figure.Figure` or `~matplotlib.figure.SubFigure`, optional
        Where to draw; default: a new pyplot figure with constrained layout, as wide as
        ``rcParams["figure.figsize"]`` (so the ``paper`` style gives a column width).
        A figure of your own without a layout engine gets constrained layout, so
        that titles and colorbar stay on it.
    figsize : (float, float), optional
        Size of the new figure.
    colorbar : bool or dict, default: True
        One colorbar for all panels; a dict goes to `~matplotlib.figure.Figure.colorbar`.
    normalize : {None, "rms", "ln"}, optional
        Show each layer normalized (see `normalize`), on one scale; the colorbar says
        the unit.
    profile : {"rms", "norm", "absmax"}, optional
        A `layer_profile` panel under the sheet (of the raw values).
    scale : {"shared", "each"}, default: "shared"
        One colour scale for every panel (with one colorbar), or each panel on its own
        scale, symmetric about 0 (for signed values), its limit written under its
        title (``±3.2``) and no colorbar: what a decomposition needs, whose MLPs write
        a hundred times what a head does.
    **grid_kwargs
        Passed to `residual_grid` for every panel (``cmap``, ``vmin``, ``robust``, ...);
        ``title`` may be a callable of the layer index.

    Returns
    -------
    `~matplotlib.figure.Figure`
        The figure, with one `ResidualStreamArtist` per panel.

    Examples
    --------
    >>> import numpy as np
    >>> import mpl_residual as mr
    >>> fig = mr.layer_sheet(np.random.randn(13, 16, 48), profile="rms")
    >>> fig.savefig("layers.pdf")  # doctest: +SKIP
    >>> each = mr.layer_sheet(np.random.randn(6, 8, 16) * np.arange(1, 7)[:, None, None],
    ...                       scale="each")  # six panels, six scales
    """
    for name in ("ax", "layer"):
        if name in grid_kwargs:
            raise TypeError(f"layer_sheet() draws every layer on axes of its own; drop {name}=")
    if scale not in ("shared", "each"):
        raise ValueError(f"scale must be 'shared' or 'each'; got scale={scale!r}")
    if scale == "each" and any(grid_kwargs.get(k) is not None for k in ("norm", "vmin", "vmax")):
        raise ValueError("scale='each' sets each panel's limits; drop norm, vmin and vmax")
    rows = grid_kwargs.pop("rows", None)
    data, labels = prepared(stream, rows=rows, normalize=normalize)
    picked = frame_layers(len(data), layers)
    check_panels(len(picked))
    options = colorbar_options(colorbar) if scale == "shared" else None
    n_rows, n_cols = data.shape[1:]
    parts = isinstance(stream, Decomposition) or names_components(labels.layer_names)
    placed = None  # a sheet of components of its own, laid out here once
    if parts and fig is None and figsize is None and profile is None and ncols is None:
        names = [labels.name(i) for i in picked]
        lines = 3 if scale == "each" else 2
        placed = components_layout(names, n_rows, n_cols, colorbar=options is not None,
                                   lines=lines)  # fmt: skip
        ncols, figsize = placed.ncols, placed.figsize
    title_size = None if placed is None else placed.title_size
    if ncols is None:
        target = 4 / 3
        if figsize is not None or fig is not None:
            width, height = figsize if figsize is not None else fig.bbox.size
            target = width / height * (0.85 if colorbar else 1.0)
            if profile is not None:
                target *= 1.4  # the profile takes a part of the height
        ncols = _best_ncols(len(picked), n_rows, n_cols, target)
    elif not isinstance(ncols, int) or isinstance(ncols, bool) or ncols < 1:
        raise ValueError(f"ncols must be a positive integer; got ncols={ncols!r}")
    nrows = math.ceil(len(picked) / ncols)
    if fig is None:
        import matplotlib.pyplot as plt

        if figsize is None:
            figsize = fitted_size(
                n_rows, n_cols, nrows=nrows, ncols=ncols, colorbar=bool(colorbar)
            )
            if profile is not None:
                figsize = (figsize[0], figsize[1] + max(1.4, 0.3 * figsize[1]))
        fig = plt.figure(figsize=figsize, layout="none" if placed else FittedLayout())
    else:
        lay_out(fig)
    sheet = fig
    if profile is not None:
        height = fig.get_figheight() if fig.get_figure(root=True) is fig else 4.0
        panel = max(0.3 * height, min(1.2, 0.45 * height))
        sheet, under = fig.subfigures(2, 1, height_ratios=[max(height - panel, 1.0), panel])
    title = grid_kwargs.pop("title", None)
    if title is None and parts:  # the name alone; the token once, for the figure
        title = lambda layer: component_title(literal(labels.name(layer)))  # noqa: E731
        if labels.token is not None:
            said = f"what wrote the stream at {literal(repr(labels.token))}"
            if placed is not None:  # in the room left for it above the first titles
                fig.suptitle(said, y=1 - 0.08 / placed.figsize[1], va="top")
            else:
                fig.suptitle(said)
    title = title or labels.title
    axes = sheet.subplots(nrows, ncols, squeeze=False).ravel()
    if placed is not None:
        fig.subplots_adjust(**placed.margins)
    norm = grid_kwargs.pop("norm", None)
    first = None
    group: list = []  # the titles break and shrink alike, to fit the smallest panel
    for ax, layer in zip(axes, picked, strict=False):
        if scale == "each":  # its own limits, symmetric about 0
            low, high = limits_of(data[layer], robust=grid_kwargs.get("robust", True))
            norm = WideNormalize(vmin=0.0 if labels.scale == "nonnegative" else low, vmax=high)
        artist = residual_grid(
            Prepared(data, labels), ax=ax, layer=layer, norm=norm, **grid_kwargs
        )
        if first is None:  # every panel shares the first one's stream (and norm)
            first, data = artist, artist.stream
            norm = artist.norm if scale == "shared" else None
            grid_kwargs = {k: v for k, v in grid_kwargs.items() if k not in ("vmin", "vmax")}
        ax.set_xticks([])
        ax.set_yticks([])
        text = title(layer) if callable(title) else title
        if scale == "each":
            text = f"{text}\n±{artist.norm.vmax:.2g}"
        ax.set_title(text, fontsize=title_size)
        if not parts:  # a sheet of components is sized for its titles: none to fit
            artist.link_title(ax.title, group=group)
    for ax in axes[len(picked) :]:
        ax.set_visible(False)
    if options is not None:
        options = with_unit(options, labels.quantity or "")
        if placed is not None and not PLACEMENT & options.keys():  # its own column
            options["cax"] = fig.add_axes(placed.colorbar)
        add_colorbar(first, data[picked], options, ax=list(axes[: len(picked)]))
    if profile is not None:
        raw = stream if labels.layer_names else prepared(stream, rows=rows)[0]
        layer_profile(raw, ax=under.add_subplot(), stat=profile)
    return fig
