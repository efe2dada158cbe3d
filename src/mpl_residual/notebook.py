"""`interact`: a notebook slider and play button (ipywidgets) for a residual stream."""

from __future__ import annotations

import io
from typing import Any

__all__ = ["interact"]


def interact(
    stream: Any, *, interval: float = 200, dpi: float | None = None, **grid_kwargs: Any
) -> Any:
    """
    A notebook widget to scrub and play through the layers of a stream.

    A slider and a play button drive one `ResidualStreamArtist` on one figure: each
    move calls `~ResidualStreamArtist.set_layer` and re-renders that figure into the
    widget's image, so nothing is rebuilt and no figure piles up.  It needs only
    ipywidgets (``pip install 'mpl-residual[notebook]'``), with any matplotlib backend.

    Parameters
    ----------
    stream : array-like, ResidualStream, or grids already drawn
        ``(layers, rows, cols)``, or anything `animate` takes (artists, a figure).
    interval : float, default: 200
        Milliseconds between frames when playing.
    dpi : float, optional
        Resolution of the image; default: the figure's.
    **grid_kwargs
        As for `animate`: ``layers``, ``fig``/``ax``, ``profile``, ``normalize``, and
        `residual_grid` options (``cmap``, ``colorbar``, ``title``, ...).

    Returns
    -------
    ipywidgets.VBox
        The image above a play button and a slider.  ``widget.artist`` is the artist,
        ``widget.slider`` the `~ipywidgets.IntSlider` (its value is the position in the
        layers shown).

    Examples
    --------
    >>> import numpy as np
    >>> import mpl_residual as mr
    >>> mr.interact(np.random.randn(13, 16, 48), colorbar=True)  # doctest: +SKIP
    """
    try:
        import ipywidgets as widgets
    except ImportError:
        raise ImportError(
            "interact() needs ipywidgets: pip install 'mpl-residual[notebook]'"
        ) from None
    from ._layout.figures import offscreen
    from .animation import animate

    with offscreen():
        anim = animate(stream, **grid_kwargs)
    anim.mark_rendered()  # the widget shows it, not the animation's own timer
    fig, artists, layers = anim.figure, anim.artists, anim.layers

    def render() -> bytes:
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png", dpi=dpi)
        return buffer.getvalue()

    image = widgets.Image(value=render(), format="png")
    slider = widgets.IntSlider(
        value=0,
        min=0,
        max=len(layers) - 1,
        step=1,
        description="layer",
        readout=False,
        continuous_update=True,
    )
    readout = widgets.Label(value=str(layers[0]))
    play = widgets.Play(value=0, min=0, max=len(layers) - 1, step=1, interval=interval)
    widgets.jslink((play, "value"), (slider, "value"))

    def on_change(change: dict) -> None:
        layer = layers[change["new"]]
        for artist in artists:
            artist.set_layer(layer)
        readout.value = str(layer)
        image.value = render()

    slider.observe(on_change, names="value")
    box = widgets.VBox([image, widgets.HBox([play, slider, readout])])
    box.artist, box.slider, box.figure = artists[0], slider, fig
    return box
