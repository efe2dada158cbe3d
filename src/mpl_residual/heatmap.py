"""`residual_grid`: one layer of a residual stream as a heatmap on any Axes."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Literal, NamedTuple

import matplotlib as mpl
import numpy as np
from matplotlib.colors import Colormap, Normalize, to_rgba
from matplotlib.ticker import AutoLocator, MaxNLocator

from ._colorbar import add_colorbar, check_limits, colorbar_options, with_unit
from ._colors import BAD_COLOR, N_COLORS, marked_cmap
from .artist import ResidualStreamArtist
from .grid import as_stream
from .labels import NO_LABELS, Labels, split
from .normalize import normalize as normalized
from .normalize import relabelled
from .scaling import stream_norm

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["BAD_COLOR", "N_COLORS", "Prepared", "residual_grid", "prepared"]

#: The default colormaps of values that are never negative (counts, magnitudes) and of
#: values whose sign means for or against (an attribution, a difference): a sequential
#: map from zero, a diverging one centred on it.  Other values take the style's own.
SEQUENTIAL_CMAP = "viridis"
DIVERGING_CMAP = "RdBu_r"


class Prepared(NamedTuple):
    """
    A stream `prepared` has checked, and its labels: the views convert and check their
    input once, then draw it with `residual_grid`, which takes it as it is.  *labels*
    say what the values are: their width before folding (see `ResidualStreamArtist`),
    layer names, colorbar label, scale and default title.
    """

    data: np.ndarray
    labels: Labels = NO_LABELS


def prepared(
    stream: Any, *, rows: int | None = None, normalize: str | None = None
) -> Prepared:
    """
    What every view draws: *stream* as a checked ``(layers, rows, cols)`` float array
    (`as_stream`), normalized if asked, and its labels (`split`; the quantity then says
    the unit of the normalization).  A `Prepared` stream is taken as it is.
    """
    if isinstance(stream, Prepared):
        data, labels = stream
    else:
        values, labels = split(stream)
        data = as_stream(values, rows=rows)
    if normalize is not None:
        data, labels = normalized(data, normalize), relabelled(labels, normalize)
    return Prepared(data, labels)


def default_cmap(labels: Labels) -> str | None:
    """The colormap for values of this *labels*' scale (None: the style's)."""
    return {"nonnegative": SEQUENTIAL_CMAP, "diverging": DIVERGING_CMAP}.get(labels.scale)


def _background(ax: Axes) -> tuple[float, ...] | None:
    """The colour behind the grid: the Axes', or the figure's where the Axes is clear."""
    for patch in (ax.patch, ax.get_figure(root=True).patch):
        color = to_rgba(patch.get_facecolor())
        if color[3] > 0:
            return color
    return None


def _add_to_axes(ax: Axes, artist: ResidualStreamArtist, origin: str) -> None:
    """Place *artist* on *ax* following the steps of ``Axes.pcolormesh``."""
    n_rows, n_cols = artist.stream.shape[1:]
    corners = np.array([[-0.5, -0.5], [n_cols - 0.5, n_rows - 0.5]])
    ax.add_collection(artist, autolim=False)
    transform = artist.get_transform()
    if any(transform.contains_branch_seperately(ax.transData)):
        corners = (transform - ax.transData).transform(corners)
    artist.sticky_edges.x[:] = sorted(corners[:, 0])
    artist.sticky_edges.y[:] = sorted(corners[:, 1])
    ax.update_datalim(corners)
    for axis in (ax.xaxis, ax.yaxis):  # rows and columns are counted in whole cells
        if type(axis.get_major_locator()) is AutoLocator:
            axis.set_major_locator(MaxNLocator("auto", integer=True, steps=[1, 2, 5, 10]))
    ax.set_aspect(mpl.rcParams["image.aspect"])
    ax.autoscale_view()
    if ax.yaxis_inverted() != (origin == "upper"):  # "upper": row 0 on top, like text
        ax.invert_yaxis()


def residual_grid(
    stream: Any,
    *,
    ax: Axes | None = None,
    layer: int = 0,
    rows: int | None = None,
    cmap: str | Colormap | None = None,
    norm: Normalize | str | None = None,
    vmin: float | None = None,
    vmax: float | None = None,
    robust: bool = True,
    edgecolor: Any = None,
    linewidth: float | str | None = None,
    colorbar: bool | Mapping[str, Any] = False,
    title: str | Callable[[int], str] | None = None,
    origin: Literal["upper", "lower"] = "upper",
    normalize: Literal["rms", "ln"] | None = None,
    **kwargs: Any,
) -> ResidualStreamArtist:
    """
    Draw one layer of a residual stream as a grid of cells.

    Dimension 0 is the top-left cell and the grid reads row by row, like text
    (``origin="lower"`` puts it bottom-left instead, as ``pcolormesh`` does).  Every
    layer of *stream* is kept in the returned artist, so ``artist.set_layer(i)`` shows
    another layer on the same colour scale.

    Parameters
    ----------
    stream : array-like or torch.Tensor
        ``(layers, rows, cols)``, ``(rows, cols)`` (one layer) or ``(d_model,)`` (one
        vector, folded with *rows*; see `to_grid`).
    ax : `~matplotlib.axes.Axes`, optional
        Where to draw; default: the current Axes.
    layer : int, default: 0
        Layer shown first; negative values count from the end.
    rows : int, optional
        Rows to fold a ``(d_model,)`` vector into (default: most nearly square).
    cmap : str or `~matplotlib.colors.Colormap`, optional
        Default: ``rcParams["image.cmap"]`` (set by the style presets).  A colormap given
        by name gets over/under colours that mark clipped cells and a grey for NaN/inf,
        and is resampled to 252 steps (so cells, clipped and bad colours and the
        background fit one 256-colour palette for GIF and HTML export); a Colormap
        object is used exactly as given.
    norm : `~matplotlib.colors.Normalize` or str, optional
        Overrides the default scaling; unset limits come from the whole stream.
    vmin, vmax : float, optional
        Explicit colour limits; they always win.  One of them alone keeps the other
        from the default scaling.
    robust : bool, default: True
        Default limits are ``(-m, m)`` with ``m`` the 98th percentile of ``|x|`` over
        the whole stream (see `robust_limits`), so a few huge dimensions do not wash
        out the rest.  ``False`` uses the largest ``|x|``.
    edgecolor : color, optional
        Colour of the lines between cells.  Default: the Axes' face colour, so cells
        are separated by thin gaps of background.  ``"none"`` for no lines.
    linewidth : float or "auto", optional
        Width of those lines in points.  Default ``"auto"``: sized to the cells when
        drawn (6% of a cell, at most 0.6 pt, none for cells under 5 pt).
    colorbar : bool or dict, default: False
        Add a colorbar (then ``artist.colorbar``).  A dict is passed to
        `~matplotlib.figure.Figure.colorbar`; ``extend`` defaults to arrows on the
        sides where values are clipped.
    title : str or callable, optional
        Axes title; a callable gets the layer index and is called again on every
        `~ResidualStreamArtist.set_layer`, e.g. ``title=lambda i: f"layer {i}"``.
    origin : {"upper", "lower"}, default: "upper"
        Where row 0 goes, as in `~matplotlib.axes.Axes.imshow`: ``"upper"`` puts
        dimension 0 top-left, so the grid reads like text and like a printed matrix;
        ``"lower"`` puts it bottom-left, the layout of a plain
        ``ax.pcolormesh(grid)`` (the seed notebook's figure).  The two are mirror
        images top to bottom; the y axis is inverted for ``"upper"``.
    **kwargs
        Passed to `ResidualStreamArtist` (a `~matplotlib.collections.QuadMesh`), e.g.
        ``rasterized=True`` to keep PDFs small, ``alpha``, ``zorder``.

    Returns
    -------
    ResidualStreamArtist

    Examples
    --------
    >>> import numpy as np
    >>> import matplotlib.pyplot as plt
    >>> import mpl_residual as mr
    >>> stream = mr.to_grid(np.random.default_rng(0).standard_normal((13, 768)))
    >>> fig, ax = plt.subplots()
    >>> artist = mr.residual_grid(stream, ax=ax, layer=-1, colorbar=True)
    >>> artist.set_layer(6)
    """
    data, labels = prepared(stream, rows=rows, normalize=normalize)
    if origin not in ("upper", "lower"):
        raise ValueError(f"origin must be 'upper' or 'lower'; got origin={origin!r}")
    colorbar = colorbar_options(with_unit(colorbar, labels.quantity or ""))
    nonnegative = labels.scale == "nonnegative"
    norm = stream_norm(
        data, norm=norm, vmin=vmin, vmax=vmax, robust=robust, nonnegative=nonnegative
    )
    if cmap is None:
        cmap = default_cmap(labels)
    if title is None and labels.titled:
        title = labels.title
    if colorbar is not None and isinstance(norm, Normalize):
        check_limits(norm)  # before anything is drawn
    if ax is None:
        import matplotlib.pyplot as plt

        ax = plt.gca()
    if edgecolor is None:
        edgecolor = kwargs.pop("edgecolors", None)
    if linewidth is None:
        linewidth = kwargs.pop("linewidths", None)
    if edgecolor is None:
        face = to_rgba(ax.get_facecolor())
        edgecolor = face if face[3] > 0 else "none"
    background = _background(ax)
    if linewidth is None:
        linewidth = "auto"
    artist = ResidualStreamArtist(
        data,
        layer=layer,
        d_model=labels.d_model,
        layer_names=labels.layer_names,
        cmap=marked_cmap(cmap, background),
        norm=norm,
        edgecolors=edgecolor,
        linewidths=linewidth,
        **kwargs,
    )
    _add_to_axes(ax, artist, origin)
    if colorbar is not None:  # first: titles are fitted to the room the colorbar leaves
        add_colorbar(artist, data, colorbar, ax=ax)
    if title is not None:
        if callable(title):
            artist.link_title(ax.title, title)
        else:
            ax.set_title(title)
            artist.link_title(ax.title)
    return artist
