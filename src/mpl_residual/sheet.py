"""`layer_sheet`: every layer of a stream as small multiples with one colorbar."""

from __future__ import annotations

import math
from typing import Any

from matplotlib.figure import Figure

from ._colorbar import add_colorbar, colorbar_options, with_unit
from ._layers import frame_layers
from ._layout import FittedLayout, fitted_size, lay_out
from .errors import TooManyPanels
from .heatmap import draw_grid, prepared
from .profile import layer_profile

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
    **grid_kwargs: Any,
) -> Figure:
    """
    Every layer of a stream in one figure, on one colour scale with one colorbar.

    The print version of `animate`: small multiples that read left to right, top to
    bottom, each titled with its layer's name (and token, for a `ResidualStream`:
    ``"block 5 · ' capital'"``).  Vector output (PDF, SVG) works well; pass
    ``rasterized=True`` for very large grids.

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
    """
    for name in ("ax", "layer"):
        if name in grid_kwargs:
            raise TypeError(f"layer_sheet() draws every layer on axes of its own; drop {name}=")
    rows = grid_kwargs.pop("rows", None)
    data, labels = prepared(stream, rows=rows, normalize=normalize)
    picked = frame_layers(len(data), layers)
    check_panels(len(picked))
    options = colorbar_options(colorbar)
    n_rows, n_cols = data.shape[1:]
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
        fig = plt.figure(figsize=figsize, layout=FittedLayout())
    else:
        lay_out(fig)
    sheet = fig
    if profile is not None:
        height = fig.get_figheight() if fig.get_figure(root=True) is fig else 4.0
        panel = max(0.3 * height, min(1.2, 0.45 * height))
        sheet, under = fig.subfigures(2, 1, height_ratios=[max(height - panel, 1.0), panel])
    title = grid_kwargs.pop("title", None) or labels.title
    axes = sheet.subplots(nrows, ncols, squeeze=False).ravel()
    norm = grid_kwargs.pop("norm", None)
    first = None
    group: list = []  # the titles break and shrink alike, to fit the smallest panel
    for ax, layer in zip(axes, picked, strict=False):
        artist = draw_grid(data, labels=labels, ax=ax, layer=layer, norm=norm, **grid_kwargs)
        if first is None:  # every panel shares the first one's norm and stream
            first, norm, data = artist, artist.norm, artist.stream
            grid_kwargs = {k: v for k, v in grid_kwargs.items() if k not in ("vmin", "vmax")}
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_title(title(layer) if callable(title) else title)
        artist.link_title(ax.title, group=group)
    for ax in axes[len(picked) :]:
        ax.set_visible(False)
    if options is not None:
        options = with_unit(options, labels.quantity or "")
        add_colorbar(first, data[picked], options, ax=list(axes[: len(picked)]))
    if profile is not None:
        raw = stream if labels.layer_names else prepared(stream, rows=rows)[0]
        layer_profile(raw, ax=under.add_subplot(), stat=profile)
    return fig
