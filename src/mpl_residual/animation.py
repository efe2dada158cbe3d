"""`animate`: a FuncAnimation through the layers of a residual stream."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from matplotlib.animation import FuncAnimation
from matplotlib.figure import Figure, FigureBase

from ._layers import LayerSelection, frame_layers
from ._layout.figures import fitted_figure
from ._layout.panels import panel_below
from .artist import ResidualStreamArtist
from .heatmap import Prepared, prepared, residual_grid
from .labels import NO_LABELS, split
from .profile import LayerProfile, layer_profile
from .stream import ResidualStream

if TYPE_CHECKING:
    from matplotlib.artist import Artist
    from matplotlib.axes import Axes
    from matplotlib.text import Text

__all__ = ["LayerAnimation", "animate"]


class LayerAnimation(FuncAnimation):
    """
    The `~matplotlib.animation.FuncAnimation` that `animate` returns.

    It is an ordinary FuncAnimation (``anim.save``, ``plt.show`` all work) that also
    says what it animates: the `ResidualStreamArtist` objects that change layer
    together, and everything that follows them (titles, `mark_dims` outlines, a
    `layer_profile` marker).  That lets `save_animation` and the player draw the figure
    once and then only what changes; `to_html` (and `_repr_html_`, and `to_jshtml`)
    give mpl-residual's player.

    Examples
    --------
    >>> import numpy as np
    >>> import mpl_residual as mr
    >>> anim = mr.animate(np.random.randn(5, 8, 8), layers=[0, 4])
    >>> anim.layers, anim.artist.layer
    ((0, 4), 0)
    """

    def __init__(
        self,
        fig: Figure,
        artists: Sequence[ResidualStreamArtist],
        layers: Sequence[int],
        **kwargs: Any,
    ) -> None:
        self._artists, self._layers = tuple(artists), tuple(layers)
        self.profile: LayerProfile | None = None
        self._figure = fig  # matplotlib keeps it under a private name only
        self._rendered = False
        super().__init__(
            fig,
            self._show,
            frames=list(self._layers),
            init_func=self._first,
            cache_frame_data=False,
            **kwargs,
        )

    def to_html(
        self,
        *,
        readout: bool = True,
        dpi: float | None = None,
        autoplay: bool = True,
        compact: bool = True,
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
        cell (or, on a touch screen, tapping it) shows ``dim 447 (row 9, col 15) =
        187.1`` below the picture: the artist's own cursor read-out, with the value in
        the frame on show.  The root element's
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
        compact : bool, default: True
            Also draw the figure for a phone's width (360 CSS pixels, its text as many
            points), shown where the player is too narrow for the figure's smallest
            text to stay 9 pixels tall; the cells are shared, so it adds only that
            picture and its labels.  Figures that read well at 360 pixels get none.

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

        self.mark_rendered()
        return player_fragment(self, readout=readout, dpi=dpi, autoplay=autoplay, compact=compact)

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

        self.mark_rendered()
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
            pyplot.close(self.figure)
        return html

    def mark_rendered(self) -> None:
        """
        Record that the animation has been rendered (as `Animation.save` does), so that
        matplotlib does not warn "Animation was deleted without rendering anything"
        when it is let go; `save_animation` calls it, whether or not saving succeeds.
        """
        self._rendered = True

    def __del__(self) -> None:
        # matplotlib's only job here is the warning above, which a render of ours,
        # unseen by matplotlib, makes wrong
        if not getattr(self, "_rendered", False):
            super().__del__()

    def show_layer(self, layer: int) -> None:
        """Show *layer* in every grid (and so in everything that follows them)."""
        for artist in self._artists:
            artist.set_layer(layer)

    def _first(self) -> tuple:
        return self._show(self._layers[0])

    def _show(self, layer: int) -> tuple:
        self.show_layer(layer)
        return (*self._artists, *self.followers)

    @property
    def figure(self) -> Figure:
        """The figure animated."""
        return self._figure

    @property
    def artists(self) -> tuple[ResidualStreamArtist, ...]:
        """The `ResidualStreamArtist` objects whose layer each frame sets."""
        return self._artists

    @property
    def artist(self) -> ResidualStreamArtist:
        """The first of `artists` (the only one, for an animated stream)."""
        return self._artists[0]

    @property
    def followers(self) -> tuple[Artist, ...]:
        """What changes with the layer besides the grids: titles, marks, markers."""
        seen: dict[int, Artist] = {}
        for artist in self._artists:
            for follower in artist.followers:
                seen.setdefault(id(follower), follower)
        return tuple(seen.values())

    @property
    def label(self) -> Text | None:
        """The text that names the layer shown (the first grid's title), if any."""
        return self.artist.title

    @property
    def layers(self) -> tuple[int, ...]:
        """The layer shown in each frame."""
        return self._layers

    @property
    def frame_names(self) -> tuple[str, ...]:
        """What each frame shows, by the layers' names (``"block 5 + final norm"``)."""
        return tuple(self.artist.layer_name(layer) for layer in self._layers)


def _grids_of(source: Any) -> list[ResidualStreamArtist] | None:
    """The grids to animate when *source* is an artist, a list of them or a figure."""
    if isinstance(source, ResidualStreamArtist):
        return [source]
    if isinstance(source, FigureBase):
        return list(source.findobj(ResidualStreamArtist))
    if isinstance(source, (list, tuple)) and source:
        if all(isinstance(a, ResidualStreamArtist) for a in source):
            return list(source)
    return None


def _label_inside(ax: Axes) -> Text:
    """A layer label inside the Axes (top left), where blitting can update it."""
    return ax.text(
        0.01,
        0.99,
        "",
        transform=ax.transAxes,
        ha="left",
        va="top",
        bbox={"boxstyle": "round,pad=0.2", "facecolor": ax.get_facecolor(), "lw": 0},
    )


def _profile_axes(ax: Axes) -> Axes:
    """An Axes under the grid of *ax* for a layer profile: as wide, a third as tall."""
    return panel_below(ax)


def _existing(
    grids: list[ResidualStreamArtist],
    *,
    fig: Figure | None,
    ax: Axes | None,
    interval: float,
    layers: LayerSelection,
    blit: bool,
    profile: str | None,
    **options: Any,
) -> LayerAnimation:
    """A `LayerAnimation` of grids already drawn: they change layer together."""
    given = sorted(k for k, v in options.items() if v not in (None, False))
    if ax is not None or given:
        raise TypeError(
            f"options {given or ['ax']} are for drawing a stream; these grids are drawn already"
        )
    roots = {g.get_figure(root=True) for g in grids}
    if None in roots:
        raise ValueError("every artist must be on a figure (residual_grid places it)")
    if len(roots) != 1:
        raise ValueError("the artists to animate together must be on one figure")
    root = roots.pop()
    if fig is not None and fig is not root:
        raise ValueError("the artists are not on fig; pass one or the other")
    n_layers = {g.n_layers for g in grids}
    if len(n_layers) != 1:
        raise ValueError(
            f"the artists show streams of different lengths {sorted(n_layers)}; "
            "animate grids of the same number of layers together"
        )
    frames = frame_layers(n_layers.pop(), layers)
    anim = LayerAnimation(root, grids, frames, interval=interval, blit=blit)
    if profile is not None:
        first = grids[0]
        named = ResidualStream(first.stream, layer_names=first.layer_names)
        anim.profile = layer_profile(
            named, ax=_profile_axes(first.axes), stat=profile, follow=first
        )
    anim.show_layer(frames[0])
    return anim


def animate(
    stream: Any,
    *,
    fig: Figure | None = None,
    ax: Axes | None = None,
    interval: float = 200,
    layers: LayerSelection = None,
    blit: bool = False,
    colorbar: bool | dict = False,
    profile: str | None = None,
    normalize: str | None = None,
    **grid_kwargs: Any,
) -> LayerAnimation:
    """
    Animate a residual stream, or grids already drawn, through their layers.

    The `ResidualStreamArtist` is made once; each frame only calls
    `~ResidualStreamArtist.set_layer`, so every frame shares one colour scale and
    nothing is rebuilt.  The title says the layer (and the token, for a
    `ResidualStream` from `mpl_residual.hf.residual_stream`).

    Parameters
    ----------
    stream : array-like, ResidualStream, ResidualStreamArtist, list of them, or Figure
        A stream to draw (``(layers, rows, cols)``, or anything `residual_grid`
        takes), or grids that are drawn already: an artist, a list of artists, or a
        figure (every `ResidualStreamArtist` in it).  Grids change layer together, so
        ``animate(compare(a, b))`` animates a comparison.
    fig : `~matplotlib.figure.Figure`, optional
        Figure to animate; default: the figure of *ax*, or a new pyplot figure sized to
        the grid (with constrained layout; not pyplot's where `save_animation` and
        `interact` make it).
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
    profile : {"rms", "norm", "absmax"}, optional
        Add a `layer_profile` panel under the grid whose marker follows the frames
        (of the raw values, also with *normalize*).
    normalize : {None, "rms", "ln"}, optional
        Draw each layer normalized (see `normalize`); the colorbar says the unit.
    **grid_kwargs
        Passed to `residual_grid` (``rows``, ``cmap``, ``vmin``, ``title``, ...).

    Returns
    -------
    LayerAnimation
        A `~matplotlib.animation.FuncAnimation` that also knows its ``artists``,
        ``followers`` and ``layers``.  Keep a reference to it while it plays; save it
        with `save_animation`; in a notebook, it plays where it ends a cell.

    Examples
    --------
    >>> import numpy as np
    >>> import mpl_residual as mr
    >>> anim = mr.animate(np.random.randn(13, 16, 48), interval=150, profile="rms")
    >>> mr.save_animation(anim, "residual.gif")  # doctest: +SKIP
    """
    if "layer" in grid_kwargs:
        raise TypeError("every layer is shown in turn; pick some with layers=, not layer=")
    grids = _grids_of(stream)
    if grids == []:
        raise ValueError("this figure holds no ResidualStreamArtist to animate")
    if grids is not None:
        return _existing(
            grids,
            fig=fig,
            ax=ax,
            interval=interval,
            layers=layers,
            blit=blit,
            colorbar=colorbar,
            profile=profile,
            normalize=normalize,
            **grid_kwargs,
        )
    rows = grid_kwargs.pop("rows", None)
    data, labels = prepared(stream, rows=rows, normalize=normalize)
    if ax is None:
        if fig is None:
            fig = fitted_figure(
                *data.shape[1:],
                colorbar=bool(colorbar),
                extra=0.45 if profile is not None else 0.0,
            )
        ax = fig.add_subplot()
    elif fig is None:
        fig = ax.get_figure(root=True)  # the root figure, also for Axes in a subfigure
    elif ax.get_figure(root=True) is not fig:
        raise ValueError("ax does not belong to fig; pass one or the other")
    title = grid_kwargs.pop("title", None) or labels.title
    title_format = title if callable(title) else (lambda _layer, text=title: text)
    artist = residual_grid(Prepared(data, labels), ax=ax, colorbar=colorbar, **grid_kwargs)
    frames = frame_layers(artist.n_layers, layers)
    artist.link_title(_label_inside(ax) if blit else ax.title, title_format)
    anim = LayerAnimation(fig, [artist], frames, interval=interval, blit=blit)
    if profile is not None:
        # of the raw values (with the stream's layer names, if it has them)
        raw = stream if split(stream)[1] is not NO_LABELS else prepared(stream, rows=rows)[0]
        anim.profile = layer_profile(raw, ax=_profile_axes(ax), stat=profile, follow=artist)
    anim.show_layer(frames[0])
    return anim
