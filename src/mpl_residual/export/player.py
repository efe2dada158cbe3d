"""
The HTML player: one fragment for notebook output, blog posts and ``.html`` pages.

An animation made by `animate` is taken apart (`render_cells`): the figure drawn once
without its cells, what lies over the grid, each frame's label, and each frame's
cells as indices into one palette (and their values, for the hover read-out).  The
player's script paints the cells on a canvas under the figure's own lines, so a page
holds one picture and a few bytes a cell a frame, whatever the style.  Any other
animation is kept as pictures of the regions that change.  The markup, style and
script are package files read with `importlib.resources`.
"""

from __future__ import annotations

import base64
import functools
import html
import itertools
import json
import os
import warnings
import zlib
from collections.abc import Iterator
from importlib import resources
from string import Template
from typing import TYPE_CHECKING, Any

import matplotlib as mpl
import numpy as np
from matplotlib.axis import Axis
from matplotlib.colors import to_hex, to_rgb
from matplotlib.text import Text
from matplotlib.ticker import NullFormatter

from .._text import printable
from ._encoders import FrameCollector
from ._frames import (
    CellFrames,
    GridCells,
    Progress,
    figure_of,
    paints_cells,
    render_any,
    render_cells,
    render_layers,
    resized,
)
from ._png import png_base64
from ._readout import by_colour, decimal4, ordinals
from ._scene import LayerFrames
from ._sprites import sprite_sheets

if TYPE_CHECKING:
    from matplotlib.animation import Animation

__all__ = ["player_fragment", "player_page"]

_ids = itertools.count()

#: The smallest text a reader is given, in CSS pixels.
LEGIBLE = 9.0
#: The width the compact layout is drawn for: a phone's, in CSS pixels, at 100 a (CSS)
#: inch; its text is as many points as the figure's, so 7 pt is 9.7 px.
COMPACT_WIDTH = 360


@functools.cache
def _asset(name: str) -> str:
    return (resources.files(__package__) / "assets" / name).read_text(encoding="utf-8")


def _blob(array: np.ndarray) -> str:
    """*array*'s bytes, deflated (zlib) and base64: the script inflates them itself."""
    return base64.b64encode(zlib.compress(np.ascontiguousarray(array).tobytes(), 6)).decode()


def _planes(values: np.ndarray, width: int) -> np.ndarray:
    """Unsigned *values* as their lowest bytes, then the next, *width* bytes in all:
    they deflate better than numbers a few bytes each."""
    return values.astype("<u4").view(np.uint8).reshape(-1, 4)[:, :width].T.copy()


def _percent(value: float, total: float) -> str:
    return f"{100 * value / total:.5f}%"


def _place(left: float, top: float, width: float, height: float, size: tuple) -> str:
    return (
        f"left: {_percent(left, size[0])}; top: {_percent(top, size[1])}; "
        f"width: {_percent(width, size[0])}; height: {_percent(height, size[1])};"
    )


def _img(cls: str, png: str | None, style: str, *, alt: str = "") -> str:
    source = f' src="data:image/png;base64,{png}"' if png else ""
    hidden = "" if png else " hidden"
    return f'<img class="{cls}"{source} alt="{page_text(alt)}" style="{style}"{hidden}>'


def _frame_names(anim: Animation, n: int) -> list[str]:
    """What each frame shows: its layer's name (``"block 5 + final norm"``), or k / n."""
    if isinstance(anim, LayerFrames) and len(anim.frame_names) == n:
        return [printable(name) for name in anim.frame_names]
    return [f"{k + 1} / {n}" for k in range(n)]


# -- the two ways of holding frames ------------------------------------------------------


def _grid_payload(cells: GridCells, readout: bool) -> dict[str, Any]:
    """One grid's cells as palette indices (and values, for the read-out)."""
    n, rows, cols = cells.colors.shape[:3]
    rgba = cells.colors.reshape(n, rows * cols, 4).astype(np.uint32)
    packed = rgba[..., 0] | rgba[..., 1] << 8 | rgba[..., 2] << 16 | rgba[..., 3] << 24
    palette, indices = np.unique(packed, return_inverse=True)
    # as few bytes an index as the palette needs: 1, 2, or 4 for any colormap at all
    width = 1 if len(palette) <= 2**8 else 2 if len(palette) <= 2**16 else 4
    indices = indices.reshape(n, rows * cols).astype({1: np.uint8, 2: "<u2", 4: "<u4"}[width])
    deltas = indices.copy()
    deltas[1:] -= indices[:-1]  # frames as changes: most cells move a little
    payload: dict[str, Any] = {
        "grid": [rows, cols],
        "palette": base64.b64encode(palette.astype("<u4").tobytes()).decode(),
        "indexBytes": width,
        "indices": _blob(deltas),
        "readout": None,
    }
    if readout:
        # each value as its distance from the smallest of its colour (the colour says
        # most of it: 1.5 bytes a standard-normal value, 2.6 as mantissa and exponent)
        colours = indices.reshape(n, rows, cols)  # in screen order: as the data's
        colours = colours[:, ::-1] if cells.flip[1] else colours
        colours = colours[:, :, ::-1] if cells.flip[0] else colours
        base, offsets, width = by_colour(ordinals(*decimal4(cells.values)), colours, len(palette))
        payload["readout"] = {
            "base": base64.b64encode(base.astype("<i4").tobytes()).decode(),
            "offsets": _blob(_planes(offsets, width)),
            "offsetBytes": width,
            "flip": list(cells.flip),  # of the colours' order, from the data's
            "dModel": cells.d_model,
        }
    return payload


def _place_of(cells: GridCells) -> dict[str, list]:
    """Where a grid's cells go on one layout: their corners, clip box and flips."""
    return {
        "mesh": [round(v, 3) for v in cells.mesh],
        "clip": list(cells.clip),
        "flip": list(cells.flip),
    }


def _stage(frames: CellFrames) -> tuple[dict[str, Any], str]:
    """
    One layout of a painted animation: where it puts things (``size``, each grid's
    ``places``, the ``sprites`` of what follows the layer) and its elements.
    """
    size = frames.size
    sprites = [sprite_sheets(sprite) for sprite in frames.sprites]
    layers = [_img("mr-backdrop", png_base64(frames.backdrop), "")]
    for i, cells in enumerate(frames.grids):
        left, top, right, bottom = cells.clip
        x0, y0, x1, y1 = cells.mesh
        rows, cols = cells.colors.shape[1:3]
        clip_size = (right - left, bottom - top)
        layers.append(
            f'<div class="mr-clip" style="{_place(left, top, *clip_size, size)}">'
            f'<canvas class="mr-cells" data-grid="{i}" width="{cols}" height="{rows}" style="'
            f'{_place(x0 - left, y0 - top, x1 - x0, y1 - y0, clip_size)}" hidden></canvas></div>'
        )
    for cells in frames.grids:
        if cells.overlay is not None:
            pixels, (ox, oy) = cells.overlay
            style = _place(ox, oy, *pixels.shape[1::-1], size)
            layers.append(_img("mr-overlay", png_base64(pixels), style))
    for sprite, (left, top, right, bottom) in zip(sprites, frames.boxes, strict=True):
        sheet = (
            f'<img src="data:image/png;base64,{sprite.sheets[0]}" alt="" '
            f'style="top: {sprite.top(0)};">'
            if sprite.sheets
            else ""
        )
        hidden = " hidden" if sprite.of[0] < 0 else ""
        style = _place(left, top, right - left, bottom - top, size)
        layers.append(f'<div class="mr-sprite" style="{style}"{hidden}>{sheet}</div>')
    if frames.poster is not None:
        layers.append(_img("mr-poster", png_base64(frames.poster), "", alt=""))
    layout = {
        "size": list(size),
        "places": [_place_of(cells) for cells in frames.grids],
        "sprites": [sprite.payload() for sprite in sprites],
    }
    return layout, "\n".join(layers)


def _texts(artist: Any) -> Iterator[Text]:
    """Every `Text` under *artist*, but the tick labels (walking an Axis's children
    makes every tick it would draw: 12 ms of a page)."""
    for child in artist.get_children():
        if isinstance(child, Axis):
            yield from (child.label, child.get_offset_text())
            continue
        if isinstance(child, Text):
            yield child
        yield from _texts(child)


def _tick_label_sizes(axis: Axis) -> list[float]:
    """The sizes of *axis*'s tick labels, major and minor, where it labels its ticks."""
    sizes = []
    for ticks, locations, formatter in (
        (axis.get_major_ticks, axis.get_majorticklocs, axis.get_major_formatter),
        (axis.get_minor_ticks, axis.get_minorticklocs, axis.get_minor_formatter),
    ):
        if len(locations()) and not isinstance(formatter(), NullFormatter):
            tick = ticks(1)[0]
            sizes += [t.get_fontsize() for t in (tick.label1, tick.label2) if t.get_visible()]
    return sizes


def _smallest_text(fig: Any) -> float:
    """
    The size of the smallest text *fig* shows, in points (10 if it shows none); tick
    labels counted before they are first drawn too.
    """
    sizes = [
        text.get_fontsize()
        for text in _texts(fig)
        if text.get_visible()
        and text.get_text().strip()
        and (text.axes is None or text.axes.get_visible())
    ]
    for ax in fig.get_axes():
        for axis in (ax.xaxis, ax.yaxis) if ax.get_visible() else ():
            sizes += _tick_label_sizes(axis) if axis.get_visible() else []
    return float(min(sizes, default=10.0))


def _below(fig: Any) -> float:
    """The width of player, in CSS pixels, under which *fig*'s smallest text would be
    shown under `LEGIBLE` pixels: where the compact layout takes over."""
    return LEGIBLE * 72 * fig.get_figwidth() / _smallest_text(fig)


def _compact(anim: Any, dpi: float) -> CellFrames | None:
    """
    The layout for narrow screens: the figure drawn again at `COMPACT_WIDTH` (and a
    height in proportion, at least 0.6 of that), its text as many points.  None where
    the figure has no room at that size (its constrained layout gives up).
    """
    fig = figure_of(anim)
    width, height = (float(v) for v in fig.get_size_inches())
    inches = COMPACT_WIDTH / 100
    size = (inches, max(height * inches / width, min(height, 0.6 * inches)))
    with resized(fig, size), warnings.catch_warnings(record=True) as said:
        warnings.simplefilter("always")  # the figure's own warnings are given at its size
        small = render_cells(anim, dpi, None, still=False)  # shown by the script only
    collapsed = any("constrained_layout not applied" in str(w.message) for w in said)
    return None if collapsed else small


def _stage_markup(elements: str, size: Any, label: str, *, compact: bool = False) -> str:
    """The element that holds one layout, as wide as its picture at most."""
    width, height = size
    shown = round(COMPACT_WIDTH) if compact else width
    extra = (" mr-compact", " hidden") if compact else ("", "")
    return (
        f'<div class="mr-stage{extra[0]}" role="img" aria-label="{label}" '
        f'style="max-width: {shown}px; aspect-ratio: {width} / {height};"{extra[1]}>\n'
        f"{elements}\n</div>"
    )


def _cells(
    anim: Any, dpi: float, readout: bool, progress: Progress, compact: bool
) -> tuple[dict, list[tuple[str, Any, bool]]]:
    """
    The payload and the stages' elements for an animation whose cells are painted: the
    figure's own layout, and the compact one where the figure needs it (`_below`).
    """
    fig = figure_of(anim)
    # The compact layout first: the figure is left laid out at its own size.
    wanted = compact and _below(fig) > 1.05 * COMPACT_WIDTH
    small = _compact(anim, dpi) if wanted else None
    frames = render_cells(anim, dpi, progress)
    layout, elements = _stage(frames)
    grids = [_grid_payload(cells, readout) for cells in frames.grids]
    for grid, place in zip(grids, layout.pop("places"), strict=True):
        grid.update(place)
    payload: dict[str, Any] = {"mode": "cells", "grids": grids, **layout, "compact": None}
    stages = [(elements, frames.size, False)]
    below = _below(fig)  # as laid out at its own size: titles fitted, ticks made
    same = small is not None and [g.colors.shape for g in small.grids] == [
        g.colors.shape for g in frames.grids
    ]
    if same and below > 1.05 * COMPACT_WIDTH:  # never a second layout of other cells
        payload["compact"], elements = _stage(small)
        payload["compact"]["below"] = round(below)
        stages.append((elements, small.size, True))
    return payload, stages


def _pictures(
    anim: Any, dpi: float, progress: Progress
) -> tuple[dict, list[tuple[str, Any, bool]]]:
    """The payload and the stage's elements for an animation kept as pictures."""
    collector = FrameCollector(os.devnull, 1.0)
    render = render_layers if isinstance(anim, LayerFrames) else render_any
    render(anim, collector, dpi, progress)
    collector.close()
    size = collector.size
    layers = []
    if collector.background is not None:
        layers.append(_img("mr-backdrop", collector.background, ""))
    for i, (left, top, width, height) in enumerate(collector.boxes):
        style = _place(left, top, width, height, size)
        layers.append(_img("mr-region", collector.frames[0][i], style))
    payload = {"mode": "images", "images": collector.frames, "size": list(size)}
    return payload, [("\n".join(layers), size, False)]


# -- the fragment and the page -------------------------------------------------------------


def _dpi(fig: Any, dpi: float | str | None) -> float:
    if dpi is None:
        dpi = mpl.rcParams["savefig.dpi"]
    return fig.dpi if dpi == "figure" else float(dpi)


def player_fragment(
    anim: Animation,
    *,
    readout: bool = True,
    dpi: float | None = None,
    fps: float | None = None,
    autoplay: bool = True,
    compact: bool = True,
    progress: Progress = None,
) -> str:
    """
    The player for *anim* as an HTML fragment: one ``<div class="mr-player">`` with
    its own style and script and everything it shows; ids unique per call, nothing
    fetched from the network.  See `LayerAnimation.to_html`.
    """
    dpi = _dpi(figure_of(anim), dpi)
    cells = paints_cells(anim) if isinstance(anim, LayerFrames) else False
    if cells:
        payload, stages = _cells(anim, dpi, readout, progress, compact)
    else:
        payload, stages = _pictures(anim, dpi, progress)
    n = len(payload["images"]) if payload["mode"] == "images" else len(anim.layers)
    if fps is None:
        interval = getattr(getattr(anim, "event_source", None), "interval", None) or 200
    else:
        interval = 1000 / fps
    names = _frame_names(anim, n)
    payload.update(
        frames=n,
        names=names,
        interval=round(float(interval), 3),
        autoplay=bool(autoplay),
    )
    identifier = f"mr-{os.getpid():x}-{next(_ids):x}-{int.from_bytes(os.urandom(3), 'big'):06x}"
    data = script_json(payload)
    label = page_text(f"{names[0]} (1 of {n})")
    return Template(_asset("player.html")).substitute(
        id=identifier,
        description=page_text(f"Animation of {n} frames: {names[0]} to {names[-1]}"),
        css=_asset("player.css"),
        stages="\n".join(
            _stage_markup(elements, size, label, compact=small) for elements, size, small in stages
        ),
        frames=n,
        last=n - 1,
        first_name=page_text(names[0]),
        data=data,
        script=_asset("player.js").strip(),
    )


def page_text(text: str) -> str:
    """*text* for HTML text or a quoted attribute: escaped (``<``, ``&``, quotes), and
    what UTF-8 or HTML cannot hold (NUL, lone surrogates from odd file names, other
    control characters) written as its escape, never raised on."""
    return html.escape(printable(text), quote=True)


def script_json(payload: Any) -> str:
    """*payload* as JSON safe inside a ``<script>`` element of any page: no ``<``,
    ``>`` or ``&`` appear as such (``<!--`` or ``</script>`` in a layer name would
    end or hide the script and what follows it), and non-ASCII is escaped."""
    text = json.dumps(payload, separators=(",", ":"), ensure_ascii=True)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def player_page(anim: Animation, *, title: str, **kwargs: Any) -> str:
    """A whole ``.html`` page around `player_fragment` (same options), for files."""
    fragment = player_fragment(anim, **kwargs)
    fig = figure_of(anim)  # once: for an animation not made by `animate` it is asked for
    background = to_hex(fig.get_facecolor(), keep_alpha=False)
    light = sum(to_rgb(background)) > 1.5
    width = int(fig.get_figwidth() * _dpi(fig, kwargs.get("dpi")))
    return Template(_asset("page.html")).substitute(
        title=page_text(title),
        background=background,
        foreground="#222" if light else "#eee",
        width=width,
        player=fragment,
    )
