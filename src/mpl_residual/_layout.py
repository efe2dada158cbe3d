"""Figure sizes that fit a grid, so a stream drawn without a figure of its own looks right."""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator, Sequence
from typing import Any

import matplotlib as mpl
from matplotlib.figure import Figure
from matplotlib.layout_engine import ConstrainedLayoutEngine
from matplotlib.transforms import Bbox

from .errors import BadResolution

__all__: list[str] = []

#: Largest picture the library renders: 2^28 pixels (a 1 GiB RGBA buffer), no side
#: over 2^16.  Beyond that Agg fails with a bare ``std::bad_alloc`` or worse.
MAX_PIXELS = 2**28
MAX_SIDE = 2**16
#: The lowest resolution text is drawn at: 6 pt text is a pixel high at 12 dpi.
MIN_DPI = 12


def fitted_size(
    n_rows: int,
    n_cols: int,
    *,
    nrows: int = 1,
    ncols: int = 1,
    colorbar: bool = False,
    width: float | None = None,
    extra: float = 0.0,
) -> tuple[float, float]:
    """
    ``(width, height)`` in inches for *nrows* x *ncols* panels of square-celled grids.

    The width is ``rcParams["figure.figsize"][0]`` (so style presets set it); the height
    follows the grids' aspect, plus room for titles, plus *extra* times the panels'
    height (room for a panel under them).
    """
    width = mpl.rcParams["figure.figsize"][0] if width is None else width
    font = mpl.rcParams["font.size"] / 72  # one line of text, in inches
    usable = width * (0.85 if colorbar else 0.95) - 0.1 * ncols
    panel_height = usable / ncols * n_rows / n_cols
    height = nrows * (panel_height * (1 + extra) + 2.2 * font) + 0.2 + (4 * font if extra else 0)
    return width, min(max(height, 1.2), 3 * width)


#: Whether the views make their figures without pyplot (`offscreen`).
_OFFSCREEN: contextvars.ContextVar[bool] = contextvars.ContextVar("offscreen", default=False)


@contextlib.contextmanager
def offscreen() -> Iterator[None]:
    """
    In this block, the figures the views make for themselves are not pyplot's: no
    window opens and none is left for pyplot to close (for exports and widgets).
    """
    token = _OFFSCREEN.set(True)
    try:
        yield
    finally:
        _OFFSCREEN.reset(token)


def fitted_figure(
    n_rows: int, n_cols: int, *, colorbar: bool = False, extra: float = 0.0
) -> Figure:
    """A figure sized for one grid, laid out by `FittedLayout`: pyplot's, unless made
    `offscreen`."""
    size = fitted_size(n_rows, n_cols, colorbar=colorbar, extra=extra)
    if not _OFFSCREEN.get():
        import matplotlib.pyplot as plt

        return plt.figure(figsize=size, layout=FittedLayout())
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    return FigureCanvasAgg(Figure(figsize=size, layout=FittedLayout())).figure


def check_pixels(fig: Figure, dpi: float, *, name: str = "dpi") -> None:
    """
    Raise `BadResolution` (a ValueError), naming *name*, if *fig* at *dpi* is too large
    a picture to render (or too low a resolution to draw text at).
    """
    if not dpi >= MIN_DPI:  # FreeType cannot draw text of under a pixel ("invalid ppem")
        raise BadResolution(f"{name}={dpi:g} is too low to draw text at; at least {MIN_DPI}")
    width, height = (float(v) * dpi for v in fig.get_size_inches())  # inf for 1e308
    if min(width, height) < 1 or not (
        width <= MAX_SIDE and height <= MAX_SIDE and width * height <= MAX_PIXELS
    ):
        made = " x ".join(f"{v:.0f}" if v < 1e15 else f"{v:.3g}" for v in (width, height))
        raise BadResolution(
            f"{name}={dpi:g} makes {made} pixel pictures of this "
            f"{fig.get_figwidth():g} x {fig.get_figheight():g} inch figure; at least 1 and "
            f"at most {MAX_SIDE} pixels a side, {MAX_PIXELS:,} in all"
        )


class _Locator:
    """
    An axes locator that adjusts the box another locator (*then*) gives, or the Axes'
    own: measuring the Axes asks its locator for the box again, and is given it as is.
    """

    then: Any = None
    _busy = False

    def __call__(self, ax: Any, renderer: Any) -> Bbox:
        box = self.then(ax, renderer) if self.then else ax.get_position(original=True)
        if renderer is None or self._busy:
            return box
        self._busy = True
        try:
            return self._adjusted(ax, box, renderer)
        finally:
            self._busy = False

    def _adjusted(self, ax: Any, box: Bbox, renderer: Any) -> Bbox:
        raise NotImplementedError


class BelowGrid:
    """
    An axes locator: a panel as wide as the grid's drawn box (after its aspect is
    applied; at least 60% of the grid's cell of the layout, centred under it, when
    the grid is drawn much narrower), *gap* points under the grid's tick labels,
    *height* times the grid's height (at least *minimum* inches).
    """

    def __init__(
        self, ax: Any, *, height: float = 0.33, gap: float = 10.0, minimum: float = 0.8
    ) -> None:
        self.ax, self.height, self.gap, self.minimum = ax, height, gap, minimum

    def __call__(self, panel: Any, renderer: Any) -> Bbox:
        ax = self.ax  # not *panel*: matplotlib also calls locators with the parent
        locator = ax.get_axes_locator()
        ax.apply_aspect(locator(ax, renderer) if locator else None)
        box = ax.get_position(original=False)
        figure = ax.get_figure(root=False)
        to_fraction = figure.transSubfigure.inverted()
        bottom = box.y0
        if renderer is not None:
            ticks = ax.xaxis.get_tightbbox(renderer)
            if ticks is not None and ticks.height > 0:
                bottom = min(bottom, to_fraction.transform((0, ticks.y0))[1])
        dpi = ax.get_figure(root=True).dpi
        gap = self.gap * dpi / 72 / figure.bbox.height
        height = max(self.height * box.height, self.minimum * dpi / figure.bbox.height)
        width = max(box.width, 0.6 * ax.get_position(original=True).width)
        left = box.x0 + (box.width - width) / 2
        return Bbox.from_bounds(left, bottom - gap - height, width, height)


class RoomBelow(_Locator):
    """
    An axes locator for a grid with a panel under it (`BelowGrid`: a profile, a
    slider): the grid's box, raised where the panel and what it draws under itself
    would run past the figure's bottom edge.  A grid with room to spare is left where
    it is.  *then*, another locator of the grid's, places the box first.
    """

    def __init__(self, panel: Any, below: BelowGrid, then: Any = None, edge: float = 3.0):
        self.panel, self.below, self.then, self.edge = panel, below, then, edge

    def _under(self, artist: Any, renderer: Any) -> float:
        """Pixels *artist* (an Axes, or an Axis) draws below its Axes' box."""
        try:
            if hasattr(artist, "get_tightbbox") and hasattr(artist, "bbox"):
                tight = artist.get_tightbbox(renderer, call_axes_locator=False)
                return 0.0 if tight is None else max(0.0, artist.bbox.y0 - tight.y0)
            tight = artist.get_tightbbox(renderer)
            return 0.0 if tight is None else max(0.0, artist.axes.bbox.y0 - tight.y0)
        except (RuntimeError, ValueError):
            return 0.0

    def _adjusted(self, ax: Any, box: Bbox, renderer: Any) -> Bbox:
        figure = ax.get_figure(root=False)
        height = figure.bbox.height
        dpi = ax.get_figure(root=True).dpi
        # measured where each is now: heights of text, not of places
        fixed = (
            self._under(self.panel, renderer)
            + self._under(ax.xaxis, renderer)
            + (self.below.gap + self.edge) * dpi / 72
        )

        def over(bottom: float) -> float:
            """Pixels the panel would reach below the figure with the box's bottom here."""
            ax.apply_aspect(Bbox.from_extents(box.x0, bottom, box.x1, box.y1))
            drawn = ax.get_position(original=False)
            panel = max(self.below.height * drawn.height * height, self.below.minimum * dpi)
            return fixed + panel - drawn.y0 * height

        if over(box.y0) <= 0.5:
            return box
        low, high = box.y0, box.y1 - 0.1 * (box.y1 - box.y0)  # the lowest bottom that fits
        for _ in range(12):
            middle = (low + high) / 2
            low, high = (low, middle) if over(middle) <= 0.5 else (middle, high)
        return Bbox.from_extents(box.x0, high, box.x1, box.y1)


def panel_below(ax: Any, *, height: float = 0.33, minimum: float = 0.5, gap: float = 10.0):
    """
    A new Axes under the grid of *ax*, as wide as its drawn box (`BelowGrid`), kept on
    the figure: the grid rises to make room for it (`RoomBelow`), and it narrows for
    what it draws beside itself (`InsideFigure`).
    """
    panel = ax.inset_axes([0.0, -0.5, 1.0, 0.33])
    below = BelowGrid(ax, height=height, minimum=minimum, gap=gap)
    panel.set_axes_locator(InsideFigure(below))
    ax.set_axes_locator(RoomBelow(panel, below, then=ax.get_axes_locator()))
    return panel


#: The smallest text the library shrinks a title or a label to, in points.
SMALLEST_TEXT = 7.0
#: Where a long title may break, in turn: before the logit lens's prediction, then between
#: the layer and its token, then between the two runs a difference compares.
BREAKS = ((" → ", "\n→ "), (" · ", "\n"), (" − ", " −\n"))


#: The texts of a title that follows the layer that are measured when it is fitted: the
#: longest (in characters) of all the layers' titles.
MEASURED = 3


def measuring_renderer(fig: Any) -> Any:
    """
    A renderer to measure *fig*'s text with: its canvas's own where the canvas has one
    (every Agg-based canvas), else an Agg renderer at the figure's resolution.
    """
    get = getattr(fig.canvas, "get_renderer", None)
    if callable(get):
        return get()
    from matplotlib.backends.backend_agg import RendererAgg

    width, height = fig.get_figure(root=True).bbox.size
    return RendererAgg(max(int(width), 1), max(int(height), 1), fig.dpi)


class TitleFit:
    """
    A title that stays inside its panel and its figure: too long for the width it has
    (its grid's cell of the layout, the figure's edges), it breaks where `BREAKS` say,
    then shrinks, down to `SMALLEST_TEXT`.  Too tall for the room above, it shrinks
    rather than breaks: in a figure laid out by `FittedLayout` (whose next pass makes
    room), a third of the grid's height; in any other, the room up to the figure's top.

    It is fitted once per layout (`fit`), not when drawn: for every text it will show
    (*shown*: the longest of a title that follows the layer), so that a new layer's
    title is only broken and sized as fitted (`show`), without measuring, and titles do
    not change size from frame to frame.  It never changes a title that fits, and is
    given back its own text and size when the title is set anew.  Titles fitted
    together (the panels of a sheet, a comparison) share one *group*: they all break
    and shrink alike, as the one with least room needs.
    """

    def __init__(self, text: Any, group: list | None = None, shown: Sequence[str] = ()) -> None:
        self.text = text
        self.group = group if group is not None else []
        self.group.append(self)
        self.shown = sorted(set(shown), key=len)[-MEASURED:]
        self.asked = (text.get_text(), text.get_fontsize())  # as set, not as fitted
        self.fitted: tuple[str, float] | None = None  # as this fit last set it
        self.style = (0, 1.0)  # breaks and scale, the same across the group
        self.key: tuple | None = None  # what it was fitted to

    def _asked(self) -> tuple[str, float]:
        now = (self.text.get_text(), self.text.get_fontsize())
        if now != self.fitted:  # set anew by someone
            self.asked = now
        return self.asked

    def show(self, text: str) -> None:
        """Show *text* broken and sized as the group was last fitted (no measuring)."""
        self.asked = (text, self._asked()[1])
        self._apply(*self.style)

    def _apply(self, breaks: int, scale: float, text: str | None = None) -> None:
        plain, size = self.asked
        text = plain if text is None else text
        for mark, line in BREAKS[:breaks]:
            text = text.replace(mark, line)
        if (self.text.get_text(), self.text.get_fontsize()) != (text, size * scale):
            self.text.set_text(text)
            self.text.set_fontsize(size * scale)
        self.fitted = (text, size * scale)

    def _room(self, renderer: Any) -> tuple[float, float, float]:
        """
        Width the title may take around its centre, the highest its top may reach, and
        its tallest: in a figure laid out by `FittedLayout`, whose next pass makes room
        above, a third of the grid's height (room enough for a second line, not so
        much that the grids collapse).
        """
        ax = self.text.axes
        figure = ax.get_figure(root=False)
        box = figure.bbox
        margin = 2 * ax.get_figure(root=True).dpi / 72
        cell = ax.get_position(original=True).transformed(figure.transSubfigure)
        extent = self.text.get_window_extent(renderer)
        centre = extent.x0 + extent.width / 2
        half = min(centre - box.x0 - margin, box.x1 - margin - centre, cell.width / 2 + margin)
        engine = ax.get_figure(root=True).get_layout_engine()
        if isinstance(engine, FittedLayout):
            line = 1.5 * self._asked()[1] * ax.get_figure(root=True).dpi / 72
            return 2 * max(half, 0.0), 1e9, max(cell.height / 3, line)
        return 2 * max(half, 0.0), box.y1 - margin, 1e9

    def _over(self, breaks: int, scale: float, room: tuple, renderer: Any) -> float:
        """Pixels the widest of this title's texts overruns *room* with this style (and
        1 where one is too tall or too high); 0 where all fit."""
        width, top, height = room
        over = 0.0
        for text in {self.asked[0], *self.shown}:
            self._apply(breaks, scale, text)
            extent = self.text.get_window_extent(renderer)
            wide = extent.width - width - 0.5
            high = extent.y1 > top + 0.5 or extent.height > height
            over = max(over, wide, 1.0 if high else 0.0)
        return over

    def fit(self, renderer: Any) -> None:
        """Fit this title's group to the room it has on *renderer* (see the class)."""
        members = [m for m in self.group if m.text.axes is not None and m.text.get_visible()]
        members = [m for m in members if m._asked()[0]]
        if renderer is None or not members:
            return
        rooms = [(m, m._room(renderer)) for m in members]
        key = tuple((m.asked, tuple(round(v) for v in room)) for m, room in rooms)
        if key == self.key and all(
            (m.text.get_text(), m.text.get_fontsize()) == m.fitted for m in members
        ):
            return  # fitted to this room already
        style = _style(rooms, renderer)
        for member in members:
            member.key, member.style = key, style
            member._apply(*style)


def _style(rooms: list, renderer: Any) -> tuple[int, float]:
    """The breaks and scale that fit every title of *rooms*: the least broken, largest
    style where all fit, or at the smallest text the one that overruns least."""
    smallest = min(member.asked[1] for member, _ in rooms)
    scale = 1.0
    while True:
        overs = []
        for breaks in range(len(BREAKS) + 1):
            over = sum(member._over(breaks, scale, room, renderer) for member, room in rooms)
            if over <= 0:
                return breaks, scale
            overs.append(over)
        if smallest * scale <= SMALLEST_TEXT:  # as good as it gets
            return overs.index(min(overs)), scale
        scale = max(scale * 0.9, SMALLEST_TEXT / smallest)


class InsideFigure(_Locator):
    """
    An axes locator: the Axes' own box (its cell of the layout), narrowed or lowered
    where what it draws (tick labels, axis labels, title) would run past the figure's
    edges, so that everything stays on the figure.  An Axes with room to spare is left
    where it is.  *then*, another locator, places the box first.
    """

    def __init__(self, then: Any = None, *, edge: float = 3.0) -> None:
        self.then, self.edge = then, edge

    def _adjusted(self, ax: Any, box: Bbox, renderer: Any) -> Bbox:
        figure = ax.get_figure(root=False)
        try:  # what it draws around its original box (measured there: nothing moves)
            tight = ax.get_tightbbox(renderer, call_axes_locator=False)
        except (RuntimeError, ValueError):
            return box
        if tight is None:
            return box
        placed = ax.get_position(original=True).transformed(figure.transSubfigure)
        area = figure.bbox
        edge = self.edge * ax.get_figure(root=True).dpi / 72
        around = (  # how far it reaches past each side of the box, in pixels
            max(0.0, placed.x0 - tight.x0),
            max(0.0, placed.y0 - tight.y0),
            max(0.0, tight.x1 - placed.x1),
            max(0.0, tight.y1 - placed.y1),
        )
        wanted = box.transformed(figure.transSubfigure)
        fitted = Bbox.from_extents(
            max(wanted.x0, area.x0 + edge + around[0]),
            max(wanted.y0, area.y0 + edge + around[1]),
            min(wanted.x1, area.x1 - edge - around[2]),
            min(wanted.y1, area.y1 - edge - around[3]),
        )
        if fitted.width < 0.1 * wanted.width or fitted.height < 0.1 * wanted.height:
            return box  # no room at all: as it was
        return fitted.transformed(figure.transSubfigure.inverted())


def keep_inside(ax: Any) -> None:
    """Give *ax* an `InsideFigure` locator (around its own locator, if it has one)."""
    locator = ax.get_axes_locator()
    if not isinstance(locator, InsideFigure):
        ax.set_axes_locator(InsideFigure(locator))


class FittedLayout(ConstrainedLayoutEngine):
    """
    Constrained layout around titles that fit: the figure is laid out, every grid's
    linked title is fitted to the room it got (`TitleFit`: broken, then shrunk), and
    the figure is laid out again around the fitted titles, so that they neither run
    into each other nor off the figure.  What the views that make their own figure use
    (and `layer_sheet`, `compare`, `token_sheet` give a figure of the caller's own that
    has no layout engine).  *around*: a figure's own constrained layout, which then
    lays the figure out with its own settings (`get` and `set` are its).
    """

    def __init__(self, *, around: ConstrainedLayoutEngine | None = None, **kwargs: Any):
        self.around = None  # the settings given here are this engine's own
        super().__init__(**kwargs)
        self.around = around

    def get(self) -> dict:
        return super().get() if self.around is None else self.around.get()

    def set(  # the signature of ConstrainedLayoutEngine.set, which reads its defaults
        self,
        *,
        h_pad: float | None = None,
        w_pad: float | None = None,
        hspace: float | None = None,
        wspace: float | None = None,
        rect: tuple[float, float, float, float] | None = None,
    ) -> None:
        settings = {"h_pad": h_pad, "w_pad": w_pad, "hspace": hspace, "wspace": wspace}
        (super() if self.around is None else self.around).set(rect=rect, **settings)

    def lay_out(self, fig: Any) -> Any:
        """One pass of constrained layout, with the figure's own settings."""
        return super().execute(fig) if self.around is None else self.around.execute(fig)

    def execute(self, fig: Any) -> Any:
        result = self.lay_out(fig)
        renderer = measuring_renderer(fig)
        for _ in range(3):  # fit, lay out again, until the titles stay as they are
            titles = [(a, _said(a.title)) for a in _grids(fig)]
            for artist, _ in titles:
                artist.fit_title(renderer)
            if all(_said(a.title) == said for a, said in titles):
                break
            # around the titles as they now are: twice, as the first layout of a figure
            # (its panels' locators measure what the pass before placed)
            result = self.lay_out(fig)
            result = self.lay_out(fig)
        return result


def _said(text: Any) -> tuple | None:
    return None if text is None else (text.get_text(), text.get_fontsize())


def _grids(fig: Any) -> list:
    """The artists of *fig* whose titles fit (`ResidualStreamArtist`)."""
    return fig.findobj(lambda artist: callable(getattr(artist, "fit_title", None)))


def fit_titles(fig: Any) -> None:
    """
    See that *fig*'s titles are fitted: where its root figure is laid out by a plain
    `ConstrainedLayoutEngine`, give it a `FittedLayout` around that engine (the same
    layout, with titles fitted between its passes); where it has no layout engine,
    fit them now, to the room they have (matplotlib's default layout does not move
    them); a `FittedLayout` fits them itself.
    """
    root = fig.get_figure(root=True)
    engine = root.get_layout_engine()
    if type(engine) is ConstrainedLayoutEngine:
        root.set_layout_engine(FittedLayout(around=engine))
    elif engine is None:
        renderer = measuring_renderer(root)
        for artist in _grids(fig):
            artist.fit_title(renderer)


def lay_out(fig: Any) -> None:
    """Give a root figure without a layout engine `FittedLayout` (a SubFigure is laid
    out with its root), and one with constrained layout the same, fitting titles."""
    if fig.get_figure(root=True) is fig and fig.get_layout_engine() is None:
        fig.set_layout_engine(FittedLayout())
    fit_titles(fig)
