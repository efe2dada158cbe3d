"""`FittedLayout`: constrained layout with the grids' titles fitted between its passes."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from matplotlib.layout_engine import ConstrainedLayoutEngine

from .panels import PLACED_ALONG_GRIDS

__all__: list[str] = []


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
            # around the titles as they now are: twice where panels' locators measure
            # what the pass before placed (as on the first layout of a figure)
            result = self.lay_out(fig)
            if not _placed_in_one_pass(fig):
                result = self.lay_out(fig)
        return result


def _placed_in_one_pass(fig: Any) -> bool:
    """Whether one constrained-layout pass places every Axes of *fig*: none has a
    locator, but for colorbars along grids (`AlongGrids` measures the grids where
    they are now).  A sheet of 169 panels spent a third of its first draw in the
    second pass."""
    return all(
        ax.get_axes_locator() is None or ax in PLACED_ALONG_GRIDS
        for ax in _all_axes(fig.get_figure(root=True))
    )


def _all_axes(fig: Any) -> Iterator[Any]:
    """Every Axes of *fig*, and theirs (inset Axes)."""
    axes = list(fig.axes)
    while axes:
        ax = axes.pop()
        axes.extend(ax.child_axes)
        yield ax


def _said(text: Any) -> tuple | None:
    return None if text is None else (text.get_text(), text.get_fontsize())


def _grids(fig: Any) -> list:
    """The artists of *fig* whose titles fit (`ResidualStreamArtist`): collections of
    its Axes and theirs (inset Axes).  Not ``findobj``, which visits every tick and
    text of the figure (24 ms for one grid with a colorbar)."""
    collections = (c for ax in _all_axes(fig) for c in ax.collections)
    return [c for c in collections if callable(getattr(c, "fit_title", None))]


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
