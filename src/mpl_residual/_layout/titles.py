"""`TitleFit`: a title broken, then shrunk, to the room its panel has."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .engine import FittedLayout

__all__: list[str] = []


#: The smallest text the library shrinks a title or a label to, in points.
SMALLEST_TEXT = 7.0
#: Where a long title may break, in turn: before the logit lens's prediction, then between
#: the layer and its token, then between the two runs a difference compares.
BREAKS = ((" → ", "\n→ "), (" · ", "\n"), (" − ", " −\n"))


#: The texts of a title that follows the layer that are measured when it is fitted: the
#: longest (in characters) of all the layers' titles.
MEASURED = 3


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
        self.placed: tuple | None = None  # the group as it stood when last fitted

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
        if self.placed == _placed(members, renderer):
            return  # fitted as the group now stands (when another member was)
        rooms = [(m, m._room(renderer)) for m in members]
        key = tuple((m.asked, tuple(round(v) for v in room)) for m, room in rooms)
        if key != self.key or any(
            (m.text.get_text(), m.text.get_fontsize()) != m.fitted for m in members
        ):
            style = _style(rooms, renderer)
            for member in members:
                member.key, member.style = key, style
                member._apply(*style)
        placed = _placed(members, renderer)
        for member in members:
            member.placed = placed


def _placed(members: list, renderer: Any) -> tuple:
    """
    What the rooms of a group's *members* depend on, cheaply: the renderer, the
    figure's size and layout engine, each member's cell and its title as asked and as
    shown.  A group is fitted once a layout pass, not once for each member that asks:
    measuring every member's room for each (169 panels) took 12 s.
    """
    figure = members[0].text.axes.get_figure(root=True)
    return (
        id(renderer),
        tuple(figure.bbox.size),
        type(figure.get_layout_engine()),
        tuple(
            (m.text.axes.get_position(original=True).bounds, m.asked, m.text.get_text(),
             m.text.get_fontsize())
            for m in members
        ),
    )  # fmt: skip


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
