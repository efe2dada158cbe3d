"""`compare`: two streams side by side on one scale, and their difference on its own."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import numpy as np

from ._colorbar import add_colorbar
from ._layout.engine import FittedLayout, lay_out
from ._layout.figures import fitted_size
from ._text import literal
from .heatmap import DIVERGING_CMAP, Prepared, prepared, residual_grid
from .labels import Labels
from .scaling import stream_norm

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from .artist import ResidualStreamArtist

__all__ = ["compare"]

#: The colormap of the difference: diverging, centred on zero.
DIFF_CMAP = DIVERGING_CMAP


def _titles(label: str, described: Labels) -> Any:
    """``"clean · block 3"``: the label and the layer's name, for every layer."""
    text = literal(label)
    return lambda layer: f"{text} · {literal(described.name(layer))}"


def compare(
    a: Any,
    b: Any,
    *,
    labels: Sequence[str] = ("a", "b"),
    diff: bool = True,
    fig: Figure | None = None,
    layer: int = 0,
    **grid_kwargs: Any,
) -> list[ResidualStreamArtist]:
    """
    Two streams side by side on one colour scale, and their difference on its own.

    For two prompts, or a clean and a patched run: *a* and *b* share one norm (robust
    limits over both, so equal colours mean equal values), and ``a − b`` gets its own
    scale, symmetric about zero, in a diverging colormap.  Each grid is titled with
    its label and the layer, and follows `~ResidualStreamArtist.set_layer`;
    ``animate(compare(a, b))`` animates all three together.

    Parameters
    ----------
    a, b : array-like or ResidualStream
        Streams of the same shape, ``(layers, rows, cols)`` (or anything
        `residual_grid` takes).
    labels : (str, str), default: ("a", "b")
        What to call them in the titles; drawn as they are (a ``$`` is not mathtext).
    diff : bool, default: True
        Add the third grid, ``a − b``.
    fig : `~matplotlib.figure.Figure` or `~matplotlib.figure.SubFigure`, optional
        Where to draw; default: a new pyplot figure with constrained layout.  Wide
        grids are stacked, square ones placed side by side.
    layer : int, default: 0
        The layer shown first.
    **grid_kwargs
        Passed to `residual_grid` for *a* and *b* (``cmap``, ``vmin``, ``robust``,
        ``rows``, ...); the difference keeps its own scale and colormap.

    Returns
    -------
    list of ResidualStreamArtist
        ``[a, b]``, or ``[a, b, a − b]``.

    Examples
    --------
    >>> import numpy as np
    >>> import mpl_residual as mr
    >>> rng = np.random.default_rng(0)
    >>> clean = rng.standard_normal((13, 16, 48))
    >>> patched = clean + 0.1 * rng.standard_normal((13, 16, 48))
    >>> artists = mr.compare(clean, patched, labels=("clean", "patched"), layer=-1)
    >>> anim = mr.animate(artists)  # the three change layer together
    """
    labels = tuple(labels)
    if len(labels) != 2 or not all(isinstance(label, str) for label in labels):
        raise TypeError(f"labels must be two strings; got {labels!r:.80}")
    for name in ("ax", "title", "colorbar"):
        if name in grid_kwargs:
            raise TypeError(f"compare() makes its own Axes, titles and colorbars; drop {name}=")
    rows = grid_kwargs.pop("rows", None)
    (first, described), (second, _) = prepared(a, rows=rows), prepared(b, rows=rows)
    if first.shape != second.shape:
        raise ValueError(
            f"a and b must have the same shape to compare; got {first.shape} and {second.shape}"
        )
    n_layers, n_rows, n_cols = first.shape
    stacked = n_cols >= 2 * n_rows  # wide grids read better one above the other
    panels = 3 if diff else 2
    if fig is None:
        import matplotlib.pyplot as plt

        shape = (panels, 1) if stacked else (1, panels)
        fig = plt.figure(
            figsize=fitted_size(n_rows, n_cols, nrows=shape[0], ncols=shape[1], colorbar=True),
            layout=FittedLayout(),
        )
    else:
        lay_out(fig)
    axes = list(fig.subplots(panels, 1) if stacked else fig.subplots(1, panels))
    both = np.concatenate([first, second])  # one scale for both: limits over both
    norm = stream_norm(
        both,
        norm=grid_kwargs.pop("norm", None),
        vmin=grid_kwargs.pop("vmin", None),
        vmax=grid_kwargs.pop("vmax", None),
        robust=grid_kwargs.get("robust", True),
        nonnegative=described.scale == "nonnegative",
    )
    artists = [
        residual_grid(
            Prepared(data, described),
            ax=ax,
            layer=layer,
            norm=norm,
            title=_titles(label, described),
            **grid_kwargs,
        )
        for data, ax, label in zip((first, second), axes, labels, strict=False)
    ]
    add_colorbar(artists[0], both, {}, ax=axes[:2])
    if diff:
        difference = (first.astype(np.float64) - second).astype(np.result_type(first, np.float32))
        diff_kwargs = {k: v for k, v in grid_kwargs.items() if k not in ("cmap",)}
        artist = residual_grid(
            Prepared(difference, replace(described, quantity=None, scale="diverging")),
            ax=axes[2],
            layer=layer,
            cmap=DIFF_CMAP,
            title=_titles(f"{labels[0]} − {labels[1]}", described),
            colorbar=True,  # (its title says what it is)
            **diff_kwargs,
        )
        artists.append(artist)
    group: list = []  # the titles break and shrink alike
    for artist, label in zip(artists, [*labels, f"{labels[0]} − {labels[1]}"], strict=False):
        artist.link_title(artist.axes.title, _titles(label, described), group=group)
    return artists
