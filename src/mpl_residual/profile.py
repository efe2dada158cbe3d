"""`layer_profile`: how big the stream is at each layer, a line with a marker that follows."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from matplotlib.ticker import MaxNLocator

from ._text import literal
from .artist import ResidualStreamArtist
from .labels import split
from .outliers import LAYER_STATS, LayerStat, layer_stat

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.lines import Line2D

__all__ = ["LayerProfile", "layer_profile"]

#: Values spanning more than this ratio get a logarithmic axis.
LOG_SPAN = 100.0
#: Layer names label the ticks up to this many layers (beyond, they would overlap).
MAX_NAMED_TICKS = 25


@dataclass(eq=False)
class LayerProfile:
    """
    What `layer_profile` drew.

    Attributes
    ----------
    line : `~matplotlib.lines.Line2D`
        One point per layer.
    marker : `~matplotlib.lines.Line2D` or None
        The point of the layer shown by the followed artist, if any.
    values : numpy.ndarray
        The statistic of each layer (float64).
    stat : str
        ``"rms"``, ``"norm"`` or ``"absmax"``.

    Examples
    --------
    >>> import mpl_residual as mr
    >>> profile = mr.layer_profile(mr.load_sample(), stat="norm")
    >>> len(profile.values), profile.marker is None
    (7, True)
    """

    line: Line2D
    marker: Line2D | None
    values: np.ndarray
    stat: str

    @property
    def ax(self) -> Axes:
        """The Axes drawn on."""
        return self.line.axes


def layer_profile(
    stream: Any,
    *,
    ax: Axes | None = None,
    stat: LayerStat = "rms",
    follow: ResidualStreamArtist | None = None,
) -> LayerProfile:
    """
    One number per layer as a line: how the stream's size changes with depth.

    In GPT-2 the residual stream's norm grows by orders of magnitude from the
    embeddings to the last block; this panel shows it next to the grid (and says why
    one colour scale over raw values leaves early layers flat: see `normalize`).

    Parameters
    ----------
    stream : array-like or ResidualStream
        ``(layers, rows, cols)``; a `ResidualStream`'s layer names label the ticks.
    ax : `~matplotlib.axes.Axes`, optional
        Where to draw; default: the current Axes.
    stat : {"rms", "norm", "absmax"}, default: "rms"
        Root mean square over ``d_model``, L2 norm, or largest ``|x|`` (NaN padding
        and inf ignored).  Values that span more than two decades get a log axis.
    follow : ResidualStreamArtist, optional
        A marker sits at this artist's layer and moves with every
        `~ResidualStreamArtist.set_layer` (it listens with ``add_callback``, and
        exports redraw it with each frame).

    Returns
    -------
    LayerProfile
        With ``.line``, ``.marker`` and ``.values``.

    Examples
    --------
    >>> import numpy as np
    >>> import matplotlib.pyplot as plt
    >>> import mpl_residual as mr
    >>> stream = mr.load_sample()
    >>> fig, (top, bottom) = plt.subplots(2, 1, height_ratios=[3, 1])
    >>> artist = mr.residual_grid(stream, ax=top)
    >>> profile = mr.layer_profile(stream, ax=bottom, follow=artist)
    >>> artist.set_layer(4)
    >>> list(profile.marker.get_xdata())
    [4]
    """
    values = layer_stat(stream, stat)
    n = len(values)
    if follow is not None:
        if not isinstance(follow, ResidualStreamArtist):
            raise TypeError(
                "follow must be a ResidualStreamArtist (from residual_grid); "
                f"got {type(follow).__name__}"
            )
        if follow.n_layers != n:
            raise ValueError(
                f"follow shows a stream of {follow.n_layers} layers; this profile has {n}"
            )
    if ax is None:
        import matplotlib.pyplot as plt

        ax = plt.gca()
    layers = np.arange(n)
    (line,) = ax.plot(layers, values, marker="o", markersize=3, linewidth=1.2)
    ax.set_xlabel("layer")
    ax.set_ylabel(LAYER_STATS[stat])
    ax.set_xlim(-0.5, n - 0.5)
    finite = values[np.isfinite(values) & (values > 0)]
    if finite.size and finite.max() / finite.min() > LOG_SPAN:
        ax.set_yscale("log")
    names = split(stream)[1].layer_names
    if names and n <= MAX_NAMED_TICKS:
        ax.set_xticks(layers, [literal(name) for name in names])
        for label in ax.get_xticklabels():
            label.set(rotation=30, ha="right", rotation_mode="anchor")
        ax.set_xlabel("")
    else:
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    marker = None
    if follow is not None:
        (marker,) = ax.plot(
            [follow.layer],
            [values[follow.layer]],
            linestyle="none",
            marker="o",
            markersize=9,
            markerfacecolor="none",
            markeredgewidth=2,
            color=line.get_color(),
            zorder=line.get_zorder() + 1,
        )

        def move(artist: Any) -> None:
            marker.set_data([artist.layer], [values[artist.layer]])

        follow.add_callback(move)
        follow.add_follower(marker)
    return LayerProfile(line=line, marker=marker, values=values, stat=stat)
