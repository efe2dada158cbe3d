"""`token_sheet`: every token's stream at every layer, one row of small grids a token."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import matplotlib as mpl
import numpy as np

from ._arrays import _describe, as_float_array
from ._colorbar import add_colorbar, colorbar_options, with_unit
from ._layers import LayerSelection, frame_layers
from ._layout.engine import FittedLayout, lay_out
from ._text import literal
from .errors import TooMany, TooManyPanels
from .heatmap import Prepared, residual_grid
from .labels import split
from .normalize import normalize as normalized
from .normalize import relabelled
from .scaling import stream_norm
from .sheet import MAX_PANELS

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["token_sheet"]

#: Width of a page's text column, in inches: what a sheet of many panels aims at.
PAGE_WIDTH = 7.5


def _sheet_size(n_tokens: int, n_layers: int, rows: int, cols: int) -> tuple[float, float]:
    """A figure size for *n_tokens* x *n_layers* panels of rows x cols grids."""
    font = mpl.rcParams["font.size"] / 72
    label, bar = 9 * font, 0.7  # token labels on the left, the colorbar on the right
    width = max(mpl.rcParams["figure.figsize"][0], min(PAGE_WIDTH, 1.0 + 0.6 * n_layers))
    panel = (width - label - bar) / n_layers
    height = n_tokens * (panel * rows / cols + 0.08) + 3 * font + 0.3
    return width, max(height, 1.5)


def token_sheet(
    stream: Any,
    *,
    layers: LayerSelection = None,
    positions: LayerSelection = None,
    fig: Figure | None = None,
    colorbar: bool | dict = True,
    normalize: str | None = None,
    **grid_kwargs: Any,
) -> Figure:
    """
    Every position of a stream at every layer: one row of small grids per token, one
    column per layer, one colour scale and one colorbar.

    The view for "how does each token's stream evolve": the rows are labelled with the
    tokens (as the tokenizer spells them, in quotes so that spaces show), the columns
    with the layer names.  Sized for a page: 12 tokens x 13 layers of a 768-wide model
    stay readable at 7.5 inches.

    Parameters
    ----------
    stream : array-like or ResidualStream
        ``(layers, tokens, rows, cols)``: a `ResidualStream` from
        ``hf.residual_stream(..., position=None)`` or ``mpl-residual capture
        --all-positions``, or an array.
    layers, positions : slice, range or sequence of int, optional
        Which layers (columns) and tokens (rows), as in `animate` (default: all).
    fig : `~matplotlib.figure.Figure` or `~matplotlib.figure.SubFigure`, optional
        Where to draw; default: a new pyplot figure sized for a page.
    colorbar : bool or dict, default: True
        One colorbar for every panel; a dict goes to `~matplotlib.figure.Figure.colorbar`.
    normalize : {None, "rms", "ln"}, optional
        Each layer at each position on its own scale (see `normalize`); the colorbar
        says the unit.
    **grid_kwargs
        Passed to `residual_grid` for every panel (``cmap``, ``vmin``, ``robust``, ...).

    Returns
    -------
    `~matplotlib.figure.Figure`

    Examples
    --------
    >>> import mpl_residual as mr
    >>> every = mr.load_sample(position=None)  # 7 layers x 13 tokens
    >>> fig = mr.token_sheet(every, positions=slice(1, -1))  # without [CLS] and [SEP]
    >>> fig.savefig("tokens.png")  # doctest: +SKIP
    """
    for name in ("ax", "layer", "title", "rows"):
        if name in grid_kwargs:
            raise TypeError(f"token_sheet() draws every panel itself; drop {name}=")
    values, labels = split(stream)
    data = as_float_array(values, name="stream")
    if data.ndim != 4 or data.size == 0:
        raise ValueError(
            "token_sheet expects every position: (layers, tokens, rows, cols); got "
            + _describe(data)
            + ("; capture with position=None (or --all-positions)" if data.ndim == 3 else "")
        )
    if normalize is not None:
        data, labels = normalized(data, normalize), relabelled(labels, normalize)
    colorbar = with_unit(colorbar, labels.quantity or "")
    n_layers, n_tokens, n_rows, n_cols = data.shape
    picked_layers = frame_layers(n_layers, layers)
    try:
        picked_tokens = frame_layers(n_tokens, positions)
    except (IndexError, ValueError) as err:
        raise type(err)(str(err).replace("layer", "position")) from None
    if len(picked_layers) * len(picked_tokens) > MAX_PANELS:  # layers to pick, for these tokens
        most = MAX_PANELS // len(picked_tokens)
        if most == 0:
            raise TooManyPanels(len(picked_tokens) * len(picked_layers), MAX_PANELS)
        raise TooMany(what=f"layers for {len(picked_tokens)} tokens", count=len(picked_layers),
                      most=most)  # fmt: skip
    tokens = labels.tokens
    options = colorbar_options(colorbar)
    chosen = data[np.ix_(picked_layers, picked_tokens)]
    norm = stream_norm(  # one scale for every panel shown
        chosen,
        norm=grid_kwargs.pop("norm", None),
        vmin=grid_kwargs.pop("vmin", None),
        vmax=grid_kwargs.pop("vmax", None),
        robust=grid_kwargs.get("robust", True),
        nonnegative=labels.scale == "nonnegative",
    )
    if fig is None:
        import matplotlib.pyplot as plt

        fig = plt.figure(
            figsize=_sheet_size(len(picked_tokens), len(picked_layers), n_rows, n_cols),
            layout=FittedLayout(),
        )
        fig.get_layout_engine().set(w_pad=0.05, h_pad=0.03, wspace=0.02, hspace=0.02)
    else:
        lay_out(fig)
    axes = fig.subplots(len(picked_tokens), len(picked_layers), squeeze=False)
    first = None
    small = mpl.rcParams["font.size"] * 0.8
    for i, position in enumerate(picked_tokens):
        shared = data[:, position]
        for j, layer in enumerate(picked_layers):
            ax = axes[i, j]
            artist = residual_grid(
                Prepared(shared, labels), ax=ax, layer=layer, norm=norm, **grid_kwargs
            )
            shared = artist.stream  # the row's panels share one copy of the stream
            first = first or artist
            ax.set_xticks([])
            ax.set_yticks([])
            if i == 0:
                ax.set_title(literal(labels.name(layer)), fontsize=small)
            if j == 0:
                token = repr(tokens[position]) if tokens else f"position {position}"
                # A text of the Axes rather than its y label: constrained layout makes
                # room for the whole of it (it counts a y label's width as nothing).
                ax.text(
                    -0.04, 0.5, literal(token), transform=ax.transAxes,
                    ha="right", va="center", fontsize=small,
                )  # fmt: skip
    if options is not None:
        add_colorbar(first, chosen, options, ax=list(axes.ravel()))
    return fig
