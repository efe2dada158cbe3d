"""`layer_slider`: a matplotlib Slider that scrubs through the layers."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from matplotlib.widgets import Slider

from ._layout.panels import panel_below
from .artist import ResidualStreamArtist
from .heatmap import residual_grid

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["layer_slider"]


def layer_slider(
    artist_or_stream: ResidualStreamArtist | Any,
    *,
    ax: Axes | None = None,
    slider_ax: Axes | None = None,
    label: str = "layer",
    **grid_kwargs: Any,
) -> Slider:
    """
    A `matplotlib.widgets.Slider` that shows the layer it is set to.

    It works in any interactive backend (Qt, Tk, macOS, ipympl in notebooks) and in
    scripts: moving the slider calls `~ResidualStreamArtist.set_layer` on one artist and
    redraws; nothing is rebuilt.  The slider follows the artist too: a layer set by
    code (or by `animate` playing the same grid) moves it.  Keep a reference to the
    returned slider, as for any matplotlib widget, or it stops responding.

    Parameters
    ----------
    artist_or_stream : ResidualStreamArtist or array-like
        An artist from `residual_grid`, or a stream to draw first.
    ax : `~matplotlib.axes.Axes`, optional
        With a stream: the Axes to draw it in (default: the current Axes).
    slider_ax : `~matplotlib.axes.Axes`, optional
        Axes for the slider; default: a thin one added below the grid's Axes.
    label : str, default: "layer"
        The slider's label.
    **grid_kwargs
        With a stream: passed to `residual_grid`.

    Returns
    -------
    `~matplotlib.widgets.Slider`

    Examples
    --------
    >>> import numpy as np
    >>> import matplotlib.pyplot as plt
    >>> import mpl_residual as mr
    >>> artist = mr.residual_grid(np.random.randn(13, 16, 48), title="layer {}".format)
    >>> slider = mr.layer_slider(artist)
    >>> slider.set_val(7)
    >>> artist.layer
    7
    >>> plt.show()  # doctest: +SKIP
    """
    if isinstance(artist_or_stream, ResidualStreamArtist):
        if ax is not None or grid_kwargs:
            raise TypeError("ax= and drawing options are for a stream; this is an artist already")
        artist = artist_or_stream
    else:
        artist = residual_grid(artist_or_stream, ax=ax, **grid_kwargs)
    if artist.axes is None:
        raise ValueError("the artist must be on an Axes (residual_grid places it)")
    grid_ax = artist.axes
    fig = grid_ax.figure
    if slider_ax is None:  # under the grid, kept on the figure with its label and value
        slider_ax = panel_below(grid_ax, height=0.0, minimum=0.16, gap=8.0)
    slider = Slider(
        slider_ax,
        label,
        0,
        artist.n_layers - 1,
        valinit=artist.layer,
        valstep=1,
        valfmt="%d",
    )

    def on_changed(value: float) -> None:
        artist.set_layer(int(value))
        fig.canvas.draw_idle()

    def follow(changed: ResidualStreamArtist) -> None:
        if slider.val != changed.layer:  # not when the slider itself set it
            slider.set_val(changed.layer)

    slider.on_changed(on_changed)
    artist.add_callback(follow)
    return slider
