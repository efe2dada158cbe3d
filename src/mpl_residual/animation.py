"""`animate`: a FuncAnimation through the layers of a residual stream."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from matplotlib.animation import FuncAnimation

from ._layout import fitted_figure
from .artist import check_layer
from .grid import as_stream
from .heatmap import draw_grid
from .stream import ResidualStream

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure
    from matplotlib.text import Text

    from .artist import ResidualStreamArtist

__all__ = ["LayerAnimation", "animate"]


def default_title(stream: Any) -> Callable[[int], str]:
    """``"layer 5"``, or ``"layer 5 · ' capital'"`` when the stream knows its token."""
    if isinstance(stream, ResidualStream):
        return stream.title
    return "layer {}".format


def frame_layers(n_layers: int, layers: slice | range | Sequence[int] | None) -> list[int]:
    """
    The layers an animation shows, as non-negative indices.

    A slice or range with a step keeps the last layer even when the step skips it, so
    that ``slice(None, None, 4)`` always ends on the model's output.
    """
    if layers is None:
        return list(range(n_layers))
    if isinstance(layers, range):
        layers = slice(layers.start, layers.stop, layers.step)
    if isinstance(layers, slice):
        picked = list(range(n_layers))[layers]
        stepping = (layers.step or 1) > 1
        reaches_end = layers.stop is None or layers.stop >= n_layers
        if picked and stepping and reaches_end and picked[-1] != n_layers - 1:
            picked.append(n_layers - 1)
    elif isinstance(layers, Sequence) and not isinstance(layers, str):
        picked = [check_layer(i, n_layers) for i in layers]
    else:
        raise TypeError(
            "layers must be None, a slice, a range or a sequence of layer indices; "
            f"got {type(layers).__name__} {layers!r}"
        )
    if not picked:
        raise ValueError(f"layers={layers!r} selects no layer of a stream of {n_layers} layers")
    return picked


def layered_grid(
    stream: Any,
    *,
    fig: Figure | None,
    ax: Axes | None,
    layers: slice | range | Sequence[int] | None,
    blit: bool,
    colorbar: bool | dict,
    pyplot: bool,
    **grid_kwargs: Any,
) -> tuple[Figure, ResidualStreamArtist, Text, list[int]]:
    """
    What `animate` and `interact` share: the figure, the artist showing the first of
    the *layers*, the label that follows it, and the layer of each frame.
    """
    if "layer" in grid_kwargs:
        raise TypeError("every layer is shown in turn; pick some with layers=, not layer=")
    data = as_stream(stream, rows=grid_kwargs.pop("rows", None))
    if ax is None:
        if fig is None:
            fig = fitted_figure(*data.shape[1:], pyplot=pyplot, colorbar=bool(colorbar))
        ax = fig.add_subplot()
    elif fig is None:
        fig = ax.figure.figure  # the root figure, also for Axes in a subfigure
    elif ax.figure.figure is not fig:
        raise ValueError("ax does not belong to fig; pass one or the other")
    title = grid_kwargs.pop("title", None) or default_title(stream)
    title_format = title if callable(title) else (lambda _layer, text=title: text)
    d_model = getattr(stream, "d_model", None)
    artist = draw_grid(data, ax=ax, colorbar=colorbar, d_model=d_model, **grid_kwargs)
    frames = frame_layers(artist.n_layers, layers)
    if blit:  # blitting redraws inside the Axes only: keep the label there
        label = ax.text(
            0.01,
            0.99,
            "",
            transform=ax.transAxes,
            ha="left",
            va="top",
            bbox={"boxstyle": "round,pad=0.2", "facecolor": ax.get_facecolor(), "lw": 0},
        )
    else:
        label = ax.title
    artist.link_title(label, title_format)
    artist.set_layer(frames[0])
    return fig, artist, label, frames


class LayerAnimation(FuncAnimation):
    """
    The `~matplotlib.animation.FuncAnimation` that `animate` returns.

    It is an ordinary FuncAnimation (``anim.save``, ``to_jshtml``, ``plt.show`` all
    work) that also says what it animates, which lets `save_animation` draw the figure
    once and then only the grid and its label for each frame.
    """

    def __init__(
        self,
        fig: Figure,
        artist: ResidualStreamArtist,
        label: Text,
        layers: Sequence[int],
        **kwargs: Any,
    ) -> None:
        self._artist, self._label, self._layers = artist, label, tuple(layers)
        super().__init__(
            fig,
            self._show,
            frames=list(self._layers),
            init_func=self._first,
            cache_frame_data=False,
            **kwargs,
        )

    def to_html(
        self, *, readout: bool = True, dpi: float | None = None, autoplay: bool = True
    ) -> str:
        """
        The animation as mpl-residual's player: an HTML fragment for a notebook, a
        blog post or any page.

        One root element (``<div class="mr-player">``) holds its own style, script and
        every frame; ids are unique per call and nothing is fetched from the network,
        so several players sit on one page and work independently.  The controls
        (first, previous, play/pause, next, last, a slider, the frame's name) work with
        the mouse and, once the player has focus, the keyboard (←/→, Home/End, space);
        playback starts by itself unless the reader prefers reduced motion.  Hovering a
        cell shows ``dim 447 (row 9, col 15) = 187.1`` below the picture: the artist's
        own cursor read-out, with the value in the frame on show.  The root element's
        ``mrPlayer`` (``show(k)``, ``play()``, ``pause()``, ``current``, ``length``)
        drives it from script.

        The figure is drawn once without its cells; each frame is sent as one palette
        index per cell (plus its value, for the read-out) and painted by the player, so
        the page stays small in every style.  Every frame is kept, whatever
        ``rcParams["animation.embed_limit"]`` says.

        Parameters
        ----------
        readout : bool, default: True
            Keep every cell's value for the hover read-out; ``False`` leaves the
            values out of the page (about half its size).
        dpi : float, optional
            Resolution of the figure; default: ``rcParams["savefig.dpi"]``.
        autoplay : bool, default: True
            Start playing when the page loads (never for readers who prefer reduced
            motion).

        Returns
        -------
        str

        Examples
        --------
        >>> import numpy as np
        >>> import mpl_residual as mr
        >>> anim = mr.animate(np.random.randn(13, 16, 48))
        >>> html = anim.to_html()
        >>> html.startswith('<div class="mr-player"')
        True
        >>> from IPython.display import HTML  # doctest: +SKIP
        >>> HTML(anim.to_html(readout=False))  # doctest: +SKIP
        """
        from .export.player import player_fragment

        return player_fragment(self, readout=readout, dpi=dpi, autoplay=autoplay)

    def to_jshtml(
        self, fps: float | None = None, embed_frames: bool = True, default_mode: Any = None
    ) -> str:
        """
        The player of `to_html`, so that the seed notebook's
        ``HTML(anim.to_jshtml())`` shows it: every frame kept, hover read-out,
        keyboard.  *fps* sets the frame rate (default: from the interval);
        *embed_frames* must stay true and *default_mode* is accepted for matplotlib's
        signature (the player always loops).
        """
        if not embed_frames:
            raise ValueError("the player always embeds its frames; embed_frames=False")
        from .export.player import player_fragment

        return player_fragment(self, fps=fps)

    def _repr_html_(self) -> str:
        """
        The player, so that an animation that ends a notebook cell plays there.

        With the notebook's inline backend the figure is closed for pyplot first:
        the player shows it, and a still copy under it would only repeat it.
        """
        html = self.to_html()
        import sys

        pyplot = sys.modules.get("matplotlib.pyplot")
        if pyplot is not None and "inline" in pyplot.get_backend():
            pyplot.close(self._fig)
        return html

    def mark_rendered(self) -> None:
        """
        Record that the animation has been rendered (as `Animation.save` does), so that
        matplotlib does not warn "Animation was deleted without rendering anything"
        when it is let go; `save_animation` calls it, whether or not saving succeeds.
        """
        self._draw_was_started = True

    def _first(self) -> tuple:
        return self._show(self._layers[0])

    def _show(self, layer: int) -> tuple:
        self._artist.set_layer(layer)
        return self._artist, self._label

    @property
    def figure(self) -> Figure:
        """The figure animated."""
        return self._fig

    @property
    def artist(self) -> ResidualStreamArtist:
        """The one `ResidualStreamArtist` whose layer each frame sets."""
        return self._artist

    @property
    def label(self) -> Text:
        """The text that names the layer shown (the Axes title, or an in-Axes label)."""
        return self._label

    @property
    def layers(self) -> tuple[int, ...]:
        """The layer shown in each frame."""
        return self._layers


def animate(
    stream: Any,
    *,
    fig: Figure | None = None,
    ax: Axes | None = None,
    interval: float = 200,
    layers: slice | range | Sequence[int] | None = None,
    blit: bool = False,
    colorbar: bool | dict = False,
    **grid_kwargs: Any,
) -> FuncAnimation:
    """
    Animate a residual stream through its layers.

    The `ResidualStreamArtist` is made once; each frame only calls
    `~ResidualStreamArtist.set_layer`, so every frame shares one colour scale and
    nothing is rebuilt.  The title says the layer (and the token, for a
    `ResidualStream` from `mpl_residual.hf.residual_stream`).

    Parameters
    ----------
    stream : array-like or ResidualStream
        ``(layers, rows, cols)``, or anything `residual_grid` takes.
    fig : `~matplotlib.figure.Figure`, optional
        Figure to animate; default: the figure of *ax*, or a new pyplot figure sized to
        the grid (with constrained layout).
    ax : `~matplotlib.axes.Axes`, optional
        Axes to draw in; default: a new Axes on *fig*.
    interval : float, default: 200
        Delay between frames in milliseconds (`save_animation` derives its default
        frame rate from it).
    layers : slice, range or sequence of int, optional
        Which layers to show, e.g. ``slice(None, None, 4)`` for every 4th (the last
        layer is kept when stepping) or ``[0, 6, 12]``.  Default: all.
    blit : bool, default: False
        Use blitting for interactive windows.  The layer label is then drawn inside the
        Axes (top left), where blitting can update it.
    colorbar : bool or dict, default: False
        As in `residual_grid`.
    **grid_kwargs
        Passed to `residual_grid` (``rows``, ``cmap``, ``vmin``, ``title``, ...).

    Returns
    -------
    LayerAnimation
        A `~matplotlib.animation.FuncAnimation` that also knows its ``artist``,
        ``label`` and ``layers``.  Keep a reference to it while it plays; save it with
        `save_animation`.

    Examples
    --------
    >>> import numpy as np
    >>> import mpl_residual as mr
    >>> anim = mr.animate(np.random.randn(13, 16, 48), interval=150)
    >>> mr.save_animation(anim, "residual.gif")  # doctest: +SKIP
    """
    return layer_animation(
        stream,
        pyplot=True,
        fig=fig,
        ax=ax,
        interval=interval,
        layers=layers,
        blit=blit,
        colorbar=colorbar,
        **grid_kwargs,
    )


def layer_animation(
    stream: Any,
    *,
    pyplot: bool,
    fig: Figure | None = None,
    ax: Axes | None = None,
    interval: float = 200,
    layers: slice | range | Sequence[int] | None = None,
    blit: bool = False,
    colorbar: bool | dict = False,
    **grid_kwargs: Any,
) -> LayerAnimation:
    """`animate`, with the default figure made by pyplot (for display) or not (export)."""
    fig, artist, label, frames = layered_grid(
        stream,
        fig=fig,
        ax=ax,
        layers=layers,
        blit=blit,
        colorbar=colorbar,
        pyplot=pyplot,
        **grid_kwargs,
    )
    return LayerAnimation(fig, artist, label, frames, interval=interval, blit=blit)
