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
import zlib
from importlib import resources
from string import Template
from typing import TYPE_CHECKING, Any

import matplotlib as mpl
import numpy as np
from matplotlib.colors import to_hex, to_rgb

from .._text import printable
from ._encoders import FrameCollector
from ._frames import (
    GridCells,
    LayerFrames,
    Progress,
    figure_of,
    paints_cells,
    render_any,
    render_cells,
    render_layers,
)
from ._png import png_base64
from ._readout import SPECIAL, decimal4

if TYPE_CHECKING:
    from matplotlib.animation import Animation

__all__ = ["player_fragment", "player_page"]

_ids = itertools.count()


@functools.cache
def _asset(name: str) -> str:
    return (resources.files(__package__) / "assets" / name).read_text(encoding="utf-8")


def _blob(array: np.ndarray) -> str:
    """*array*'s bytes, deflated (zlib) and base64: the script inflates them itself."""
    return base64.b64encode(zlib.compress(np.ascontiguousarray(array).tobytes(), 6)).decode()


def _planes(values: np.ndarray) -> np.ndarray:
    """int16 values as their low bytes, then their high bytes: they deflate better."""
    return values.astype("<i2").view(np.uint8).reshape(-1, 2).T.copy()


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
    return f'<img class="{cls}"{source} alt="{html.escape(alt)}" style="{style}"{hidden}>'


def _frame_names(anim: Animation, n: int) -> list[str]:
    """What each frame shows: its layer's name (``"block 6 + final norm"``), or k / n."""
    if isinstance(anim, LayerFrames) and len(anim.frame_names) == n:
        return [printable(name) for name in anim.frame_names]
    return [f"{k + 1} / {n}" for k in range(n)]


# -- the two ways of holding frames ------------------------------------------------------


def _deduplicated(frames: list[np.ndarray | None]) -> dict[str, list]:
    """Per-frame pictures as ``{"images": [unique PNGs], "of": [index or -1 a frame]}``."""
    images: list[str] = []
    seen: dict[str, int] = {}
    of = []
    for pixels in frames:
        if pixels is None:
            of.append(-1)
            continue
        png = png_base64(pixels)
        of.append(seen.setdefault(png, len(images)))
        if of[-1] == len(images):
            images.append(png)
    return {"images": images, "of": of}


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
        "mesh": [round(v, 3) for v in cells.mesh],
        "clip": list(cells.clip),
        "flip": list(cells.flip),
        "palette": base64.b64encode(palette.astype("<u4").tobytes()).decode(),
        "indexBytes": width,
        "indices": _blob(deltas),
        "readout": None,
    }
    if readout:
        mantissa, exponent = decimal4(cells.values)
        special = exponent == SPECIAL
        narrow = not np.any((np.abs(exponent) > 127) & ~special)  # as usual: one byte
        if narrow:
            exponent = np.where(special, -128, exponent).astype(np.int8)
        payload["readout"] = {
            "mantissa": _blob(_planes(mantissa)),
            "exponent": _blob(exponent if narrow else _planes(exponent)),
            "exponentBytes": 1 if narrow else 2,
            "dModel": cells.d_model,
        }
    return payload


def _cells(anim: Any, dpi: float, readout: bool, progress: Progress) -> tuple[dict, str]:
    """The payload and the stage's elements for an animation whose cells are painted."""
    frames = render_cells(anim, dpi, progress)
    size = frames.size
    sprites = [_deduplicated(sprite) for sprite in frames.sprites]
    payload: dict[str, Any] = {
        "mode": "cells",
        "size": list(size),
        "grids": [_grid_payload(cells, readout) for cells in frames.grids],
        "sprites": sprites,
    }
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
        first = sprite["of"][0]
        png = sprite["images"][first] if first >= 0 else None
        layers.append(_img("mr-sprite", png, _place(left, top, right - left, bottom - top, size)))
    if frames.poster is not None:
        layers.append(_img("mr-poster", png_base64(frames.poster), "", alt=""))
    return payload, "\n".join(layers)


def _pictures(anim: Any, dpi: float, progress: Progress) -> tuple[dict, str]:
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
    return payload, "\n".join(layers)


# -- the fragment and the page -------------------------------------------------------------


def _dpi(anim: Any, dpi: float | None) -> float:
    if dpi is None:
        dpi = mpl.rcParams["savefig.dpi"]
    return figure_of(anim).dpi if dpi == "figure" else float(dpi)


def player_fragment(
    anim: Animation,
    *,
    readout: bool = True,
    dpi: float | None = None,
    fps: float | None = None,
    autoplay: bool = True,
    progress: Progress = None,
) -> str:
    """
    The player for *anim* as an HTML fragment: one ``<div class="mr-player">`` with
    its own style and script and everything it shows; ids unique per call, nothing
    fetched from the network.  See `LayerAnimation.to_html`.
    """
    dpi = _dpi(anim, dpi)
    cells = paints_cells(anim) if isinstance(anim, LayerFrames) else False
    if cells:
        payload, layers = _cells(anim, dpi, readout, progress)
    else:
        payload, layers = _pictures(anim, dpi, progress)
    n = len(payload["images"]) if payload["mode"] == "images" else len(anim.layers)
    width, height = payload["size"]
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
    data = json.dumps(payload, separators=(",", ":")).replace("</", "<\\/")
    return Template(_asset("player.html")).substitute(
        id=identifier,
        description=html.escape(f"Animation of {n} frames: {names[0]} to {names[-1]}"),
        css=_asset("player.css"),
        width=width,
        height=height,
        layers=layers,
        frames=n,
        last=n - 1,
        first_name=html.escape(names[0]),
        data=data,
        script=_asset("player.js").strip(),
    )


def player_page(anim: Animation, *, title: str, **kwargs: Any) -> str:
    """A whole ``.html`` page around `player_fragment` (same options), for files."""
    fragment = player_fragment(anim, **kwargs)
    background = to_hex(figure_of(anim).get_facecolor(), keep_alpha=False)
    light = sum(to_rgb(background)) > 1.5
    width = int(figure_of(anim).get_figwidth() * _dpi(anim, kwargs.get("dpi")))
    return Template(_asset("page.html")).substitute(
        title=html.escape(title),
        background=background,
        foreground="#222" if light else "#eee",
        width=width,
        player=fragment,
    )
