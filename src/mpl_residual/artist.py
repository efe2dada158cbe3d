"""The artist: a QuadMesh that holds a whole residual stream and shows one layer."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from matplotlib.artist import Artist, allow_rasterization
from matplotlib.collections import QuadMesh
from matplotlib.text import Text

from ._arrays import _describe, as_float_array, as_index
from ._layers import check_layer
from ._layout.engine import fit_titles, measuring_renderer
from ._layout.titles import TitleFit
from ._raster import CellRaster

__all__ = ["ResidualStreamArtist"]

#: Cells smaller than this (in points) get no lines between them with
#: ``linewidth="auto"``: a line of 6% of such a cell is under 0.3 pt, a faint seam rather
#: than a gap at screen resolution, and it costs three times the drawing time.
MIN_LINED_CELL = 5.0


def _padding_start(stream: np.ma.MaskedArray) -> int:
    """
    Where NaN padding from ``to_grid(..., pad=True)`` begins, as a flat cell index:
    the trailing run of cells that are NaN in every layer, if it is shorter than a
    row count allows (padding fills less than one column's worth of rows).  The
    number of cells when there is none.
    """
    rows = stream.shape[1]
    flat = np.isnan(np.ma.getdata(stream)).reshape(len(stream), -1).all(axis=0)
    n = flat.size
    if flat.all() or not flat[-1]:
        return n
    run = int(np.argmin(flat[::-1]))
    return n - run if run < rows else n


def _cell_edges(rows: int, cols: int) -> np.ndarray:
    """Corner coordinates with cell centres on integers, as ``imshow`` places pixels."""
    x = np.arange(cols + 1) - 0.5
    y = np.arange(rows + 1) - 0.5
    return np.stack(np.meshgrid(x, y), axis=-1)


class ResidualStreamArtist(QuadMesh):
    """
    A `~matplotlib.collections.QuadMesh` holding a ``(layers, rows, cols)`` stream.

    One layer is shown at a time; `set_layer` swaps the data in place, so animations and
    sliders never rebuild the artist.  All layers share one norm: if the norm has no
    limits they are taken from the whole stream, never from the layer on show, so
    frames are comparable.  NaN and inf cells are masked and drawn in the colormap's
    "bad" colour.  Cell ``(row, col)`` is centred on ``x=col, y=row``, so with the
    y axis inverted (as `residual_grid` leaves it) dimension 0 is the top-left cell.

    Hovering a cell in an interactive window reads out its dimension, position and
    value, e.g. ``dim 447 (row 9, col 15) = 187.1``.

    Most users get one from `residual_grid`; build one directly to place it yourself
    with ``ax.add_collection``.

    Parameters
    ----------
    stream : array-like, shape (layers, rows, cols) or (rows, cols)
        The folded stream (see `to_grid`); it is copied, except a read-only masked
        array with NaN and inf masked, such as another artist's `stream`, which is
        shared (small multiples of one stream then hold it once).
    layer : int, default: 0
        The layer shown first; negative values count from the end.
    d_model : int, optional
        The width of the vectors before folding: cells past it are NaN padding (see
        ``to_grid(..., pad=True)``), and the cursor read-out says so.  Default: the
        trailing cells that are NaN in every layer, if fewer than the rows.
    layer_names : sequence of str, optional
        One name per layer (``"embeddings"``, ``"block 0"``, ...), for whatever names
        the layer on show: the player's frame names, an animation's labels.
    **kwargs
        Passed to `~matplotlib.collections.QuadMesh` (``cmap``, ``norm``,
        ``edgecolors``, ``linewidths``, ``rasterized``, ...).

    Examples
    --------
    >>> import numpy as np
    >>> from matplotlib.figure import Figure
    >>> ax = Figure().add_subplot()
    >>> artist = ResidualStreamArtist(np.random.randn(13, 16, 48))
    >>> _ = ax.add_collection(artist)
    >>> artist.set_layer(-1)
    >>> artist.layer, artist.n_layers
    (12, 13)
    """

    def __init__(
        self,
        stream: Any,
        *,
        layer: int = 0,
        d_model: int | None = None,
        layer_names: Sequence[str] = (),
        **kwargs: Any,
    ) -> None:
        data = as_float_array(stream, name="stream")
        if data.ndim == 2:
            data = data[np.newaxis]
        if data.ndim != 3 or 0 in data.shape:
            raise ValueError(
                "ResidualStreamArtist expects a stream of shape (layers, rows, cols) or "
                f"(rows, cols), none of them empty; got {_describe(data)}"
            )
        if isinstance(data, np.ma.MaskedArray) and not data.flags.writeable:
            self._stream = data  # another artist's stream: share it, NaN/inf already masked
        else:
            self._stream = np.ma.masked_invalid(data)
        self._layer = check_layer(layer, len(data))
        n_cells = data.shape[1] * data.shape[2]
        if d_model is None:
            self._d_model = _padding_start(self._stream)
        else:
            self._d_model = as_index(d_model, "d_model")
            if not 0 < self._d_model <= n_cells:
                raise ValueError(
                    f"d_model={self._d_model} does not fit a grid of {n_cells} cells "
                    f"({data.shape[1]} x {data.shape[2]})"
                )
        self._layer_names = tuple(str(name) for name in layer_names)
        if self._layer_names and len(self._layer_names) != len(data):
            raise ValueError(
                f"{len(self._layer_names)} layer names for a stream of {len(data)} layers"
            )
        self._title: Text | None = None
        self._title_format: Callable[[int], str] | None = None
        self._title_fit: TitleFit | None = None
        self._followers: list[Artist] = []
        self._raster = CellRaster()
        kwargs.setdefault("shading", "flat")
        # Antialiasing follows the lines between cells unless it is asked for: off without
        # lines (as in pcolormesh: no seams between cells), on with them (smooth gaps).
        asked = [kwargs.pop(k) for k in ("antialiased", "antialiaseds", "aa") if k in kwargs]
        if asked:
            antialiased = bool(np.atleast_1d(asked[-1])[0])
        else:  # a guess, checked when drawn: lines unless none are asked for
            edges = kwargs.get("edgecolors", "none")
            antialiased = not (isinstance(edges, str) and edges.lower() == "none")
            antialiased &= not (np.ndim(kwargs.get("linewidths")) == 0 and
                                kwargs.get("linewidths") == 0)  # fmt: skip
        # QuadMesh takes its antialiasing once, when made; the other is drawn by a twin.
        self._built_antialiased = antialiased
        self._twin: QuadMesh | None = None
        self._auto_linewidth = False
        super().__init__(_cell_edges(*data.shape[1:]), antialiased=antialiased, **kwargs)
        super().set_antialiased(antialiased)
        self._auto_antialiased = not asked  # (after Collection's own set_antialiased)
        self.autoscale_None()  # before any layer is set, so no single layer sets the limits
        self.set_array(self._stream[self._layer])
        self.set_mouseover(True)

    # -- the stream ---------------------------------------------------------------

    @property
    def layer(self) -> int:
        """Index of the layer on show (never negative)."""
        return self._layer

    @property
    def n_layers(self) -> int:
        """Number of layers in the stream."""
        return len(self._stream)

    @property
    def d_model(self) -> int:
        """Number of real dimensions; cells from this flat index on are padding."""
        return self._d_model

    @property
    def layer_names(self) -> tuple[str, ...]:
        """One name per layer, if the stream had them (else empty)."""
        return self._layer_names

    def layer_name(self, layer: int | None = None) -> str:
        """The name of *layer* (default: the one on show): its own, or ``"layer 5"``."""
        layer = self._layer if layer is None else check_layer(layer, self.n_layers)
        return self._layer_names[layer] if self._layer_names else f"layer {layer}"

    @property
    def stream(self) -> np.ma.MaskedArray:
        """The whole stream, ``(layers, rows, cols)``, NaN and inf masked (read-only)."""
        view = self._stream.view()
        view.flags.writeable = False
        return view

    def set_layer(self, layer: int) -> None:
        """
        Show *layer* (negative values count from the end).

        The data is swapped in place and the artist marked stale; the norm, colormap and
        every other property are kept.  A title linked with `link_title` follows, and
        so does anything listening through matplotlib's own mechanism,
        ``artist.add_callback(func)``: `set_layer` calls `pchanged`.

        Raises
        ------
        IndexError
            If *layer* is outside ``-n_layers .. n_layers - 1``.

        Examples
        --------
        >>> import numpy as np
        >>> artist = ResidualStreamArtist(np.zeros((3, 2, 2)))
        >>> heard = []
        >>> _ = artist.add_callback(lambda a: heard.append(a.layer))
        >>> artist.set_layer(2)
        >>> heard
        [2]
        """
        self._layer = check_layer(layer, self.n_layers)
        self.set_array(self._stream[self._layer])
        self.stale = True
        if self._title_fit is not None and self._title_format is not None:
            self._title_fit.show(self._title_format(self._layer))  # as fitted: no measuring
        self.pchanged()

    def link_title(
        self,
        text: Text | None,
        fmt: Callable[[int], str] | None = None,
        *,
        group: list | None = None,
    ) -> None:
        """
        Keep *text* showing ``fmt(layer)``: `set_layer` updates it.

        *text* is usually the Axes title (``ax.title``).  With *fmt* ``None`` the text is
        remembered (see `title`) but not updated.  Either way it is kept inside its
        panel and figure (`fit_title`): a title too long breaks, then shrinks (titles
        that share a *group* list, such as a sheet's, do so alike).
        """
        if self._title is not None and self._title in self._followers:
            self._followers.remove(self._title)
        self._title, self._title_format = text, fmt
        self._title_fit = None
        if text is None:
            return
        shown: list[str] = []
        if fmt is not None:
            text.set_text(fmt(self._layer))
            shown = [fmt(layer) for layer in range(self.n_layers)]
            self.add_follower(text)
        self._title_fit = TitleFit(text, group, shown)
        if self.axes is not None:
            fit_titles(self.axes.get_figure(root=True))

    @property
    def title(self) -> Text | None:
        """The Text linked with `link_title`, if any."""
        return self._title

    @property
    def followers(self) -> tuple[Artist, ...]:
        """
        The artists that change with the layer on show: a title linked with
        `link_title`, `mark_dims` outlines, a `layer_profile` marker, and whatever
        `add_follower` added.  Exporters draw them again with every frame.
        """
        return tuple(a for a in self._followers if a.get_figure(root=False) is not None)

    def add_follower(self, artist: Artist) -> None:
        """
        Declare that *artist* changes when this artist's layer does (it listens with
        ``add_callback``), so that exports draw it again with every frame.
        """
        if artist not in self._followers:
            self._followers.append(artist)

    # -- one norm for every layer ---------------------------------------------------

    def autoscale(self) -> None:
        """Set the norm's limits from the whole stream (all layers), NaN and inf ignored."""
        self.norm.autoscale(self._stream.reshape(-1))

    def autoscale_None(self) -> None:
        """Fill in unset norm limits from the whole stream (all layers)."""
        self.norm.autoscale_None(self._stream.reshape(-1))

    # -- lines between cells sized to the cells ------------------------------------------

    def set_linewidth(self, lw: Any) -> None:
        """
        Set the width of the lines between cells, in points.

        ``"auto"`` sizes them to the cells each time the artist is drawn: 6% of the cell
        side, at most 0.6 pt, and none once cells are smaller than 5 pt, so that a
        large grid in a small Axes is not drowned in its own gaps.
        """
        self._auto_linewidth = isinstance(lw, str) and lw == "auto"
        super().set_linewidth(0.0 if self._auto_linewidth else lw)

    def set_antialiased(self, aa: Any) -> None:
        """Set whether cells and the lines between them are antialiased (from then on
        as asked, not as the lines between cells would have it)."""
        self._auto_antialiased = False
        super().set_antialiased(aa)
        self.stale = True

    def _drawn_as_asked(self) -> QuadMesh:
        """
        What draws the cells with the antialiasing asked for: this artist if it was
        made with it, else a twin QuadMesh made with it (QuadMesh's own flag is set
        only by its constructor; ``set_antialiased`` does not reach it).
        """
        if bool(self.get_antialiased()[0]) == self._built_antialiased:
            return self
        if self._twin is None:
            self._twin = QuadMesh(
                self.get_coordinates(), antialiased=not self._built_antialiased
            )
        twin = self._twin
        twin.update_from(self)  # colours, lines, data, norm, clip, transform
        twin.set_figure(self.get_figure(root=False))
        twin.set_snap(self.get_snap())
        twin.set_gid(self.get_gid())
        twin.set_agg_filter(self.get_agg_filter())
        return twin

    def __getstate__(self) -> dict:
        state = super().__getstate__()
        state["_twin"] = None  # made again when drawn
        return state

    def _fitted_linewidth(self) -> float:
        corners = self.get_transform().transform([[0.0, 0.0], [1.0, 1.0]])
        side = np.abs(corners[1] - corners[0]).min() * 72.0 / self.figure.dpi
        return 0.0 if side < MIN_LINED_CELL else min(0.6, 0.06 * float(side))

    def fit_title(self, renderer: Any = None) -> None:
        """
        Keep the linked title (`link_title`) inside its panel and figure: broken where
        it reads best, then shrunk, as the room it has needs, for every layer's title
        at once (so that titles keep one size through an animation).

        Called once per layout, never when drawn: between the passes of a figure laid
        out by mpl-residual (or of any constrained layout, which `residual_grid` turns
        into that), and when the title is linked in a figure without a layout engine.
        Call it again after resizing such a figure by hand.  *renderer*: what to
        measure with (default: the figure canvas's).
        """
        if self._title_fit is None or self.axes is None:
            return
        if renderer is None:
            renderer = measuring_renderer(self.axes.get_figure(root=True))
        self._title_fit.fit(renderer)

    def _fit_lines(self) -> None:
        """The lines between cells fitted to the cells' size where it is drawn now
        (when their width is automatic), antialiased when they are drawn.  Frame
        renderers that paint the cells themselves call it at the grid's turn."""
        if self._auto_linewidth and self.figure is not None:
            width = self._fitted_linewidth()
            if width != self.get_linewidth()[0]:
                super().set_linewidth(width)
        if self._auto_antialiased:
            drawn = self.get_linewidth()[0] > 0 and self.get_edgecolor().size > 0
            if drawn != self.get_antialiased()[0]:
                super().set_antialiased(drawn)

    @allow_rasterization
    def draw(self, renderer: Any) -> None:
        self._fit_lines()
        place = self._raster.applies(self, renderer) if self.get_visible() else None
        if place is not None:
            # Drawn again where it was: the same pixels as a quad mesh, written as such.
            self._raster.draw(self, renderer, place)
            self.stale = False
            return
        drawn = self._drawn_as_asked()
        if drawn is self:
            super().draw(renderer)
        else:
            drawn.draw(renderer)
            self.stale = False

    # -- hover read-out, O(1) per event -------------------------------------------------

    def _cell_at(self, event: Any) -> tuple[int, int] | None:
        if event.x is None or event.y is None:
            return None
        x, y = self.get_transform().inverted().transform((event.x, event.y))
        if not (math.isfinite(x) and math.isfinite(y)):
            return None
        row, col = math.floor(y + 0.5), math.floor(x + 0.5)
        n_rows, n_cols = self._stream.shape[1:]
        if 0 <= row < n_rows and 0 <= col < n_cols:
            return row, col
        return None

    def contains(self, mouseevent: Any) -> tuple[bool, dict[str, Any]]:
        figure = self.figure
        if figure is None or mouseevent.canvas is not figure.canvas:
            return False, {}
        cell = self._cell_at(mouseevent)
        if cell is None:
            return False, {}
        return True, {"ind": [cell[0] * self._stream.shape[2] + cell[1]]}

    def get_cursor_data(self, event: Any) -> tuple[int | None, int, int, float] | None:
        """
        ``(dim, row, col, value)`` of the cell under *event*, or None off the grid;
        *dim* is None for a padding cell (past `d_model`).
        """
        cell = self._cell_at(event)
        if cell is None:
            return None
        row, col = cell
        dim = row * self._stream.shape[2] + col
        value = float(self._stream.data[self._layer, row, col])
        return (dim if dim < self._d_model else None), row, col, value

    def format_cursor_data(self, data: Any) -> str:
        """
        Format `get_cursor_data` as ``dim 447 (row 9, col 15) = 187.1``, or
        ``padding (row 15, col 23), past d_model = 380``.
        """
        if data is None:
            return ""
        dim, row, col, value = data
        if dim is None:
            return f"padding (row {row}, col {col}), past d_model = {self._d_model}"
        return f"dim {dim} (row {row}, col {col}) = {value:.4g}"
