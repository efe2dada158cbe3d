"""
Reading the player's pages in Python: its data, and each frame as the page composes it
(backdrop, cells painted nearest-neighbour into their box, overlay, label), so that
frames can be compared with matplotlib's own drawing without a browser.
"""

from __future__ import annotations

import base64
import io
import json
import re
import zlib

import numpy as np
from PIL import Image


def payload(text: str, index: int = 0) -> dict:
    """The JSON data of the *index*-th player in *text* (a page or a fragment)."""
    found = re.findall(
        r'<script type="application/json" class="mr-data">(.*?)</script>', text, re.S
    )
    return json.loads(found[index].replace("<\\/", "</"))


def _png(data: str) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(data))).convert("RGBA"))


def _inflate(data: str, dtype: str) -> np.ndarray:
    return np.frombuffer(zlib.decompress(base64.b64decode(data)), dtype=dtype)


def _src(text: str, cls: str) -> tuple[str | None, str]:
    match = re.search(
        rf'<img class="{cls}"(?: src="data:image/png;base64,([^"]+)")?[^>]*style="([^"]*)"', text
    )
    return (match.group(1), match.group(2)) if match else (None, "")


def _box(style: str, size: tuple[int, int]) -> tuple[int, int]:
    """(left, top) in pixels of an element placed with percentages of *size*."""
    left = float(re.search(r"left: ([\d.]+)%", style).group(1)) / 100 * size[0]
    top = float(re.search(r"top: ([\d.]+)%", style).group(1)) / 100 * size[1]
    return round(left), round(top)


def cell_indices(data: dict, grid: int = 0) -> np.ndarray:
    """Each frame's palette index of every cell, screen order: ``(frames, rows, cols)``."""
    g = data["grids"][grid]
    rows, cols = g["grid"]
    dtype = "<u2" if g["indexBytes"] == 2 else "u1"
    deltas = _inflate(g["indices"], dtype).reshape(data["frames"], rows * cols)
    return np.cumsum(deltas, axis=0, dtype=deltas.dtype).reshape(-1, rows, cols)


def cell_colors(data: dict, grid: int = 0) -> np.ndarray:
    """Each frame's RGBA of every cell, screen order: ``(frames, rows, cols, 4)``."""
    palette = np.frombuffer(base64.b64decode(data["grids"][grid]["palette"]), "<u4")
    packed = palette[cell_indices(data, grid)]
    return np.stack([(packed >> s) & 255 for s in (0, 8, 16, 24)], -1).astype(np.uint8)


def readout(data: dict, grid: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """The read-out's mantissas and exponents, ``(frames, rows, cols)``, data order:
    each value the smallest of its colour plus its distance from it."""
    from mpl_residual.export._readout import from_ordinals

    g = data["grids"][grid]
    rows, cols = g["grid"]
    width = g["readout"]["offsetBytes"]
    planes = _inflate(g["readout"]["offsets"], "u1").reshape(width, -1).astype(np.int64)
    offsets = sum(plane << (8 * p) for p, plane in enumerate(planes))
    base = np.frombuffer(base64.b64decode(g["readout"]["base"]), "<i4").astype(np.int64)
    colours = cell_indices(data, grid).astype(np.int64)  # screen order: to data order
    flip = g["readout"]["flip"]
    colours = colours[:, ::-1] if flip[1] else colours
    colours = colours[:, :, ::-1] if flip[0] else colours
    ordinal = base[colours] + offsets.reshape(colours.shape)
    return from_ordinals(ordinal)


def _over(base: np.ndarray, top: np.ndarray, left: int, upper: int) -> None:
    """Composite RGBA *top* over RGB *base* at (left, upper), as a browser does."""
    h, w = top.shape[:2]
    region = base[upper : upper + h, left : left + w].astype(float)
    alpha = top[..., 3:].astype(float) / 255
    region[:] = top[..., :3] * alpha + region * (1 - alpha)
    base[upper : upper + h, left : left + w] = np.round(region).astype(np.uint8)


def _painter(g: dict, colors: np.ndarray):
    """Paints one grid's cells of frame k, nearest-neighbour into its box."""
    rows, cols = g["grid"]
    x0, y0, x1, y1 = g["mesh"]
    left, top, right, bottom = g["clip"]
    ys, xs = np.mgrid[top:bottom, left:right] + 0.5
    col = np.floor((xs - x0) / (x1 - x0) * cols).astype(int)
    row = np.floor((ys - y0) / (y1 - y0) * rows).astype(int)
    inside = (col >= 0) & (col < cols) & (row >= 0) & (row < rows)

    def paint(frame: np.ndarray, k: int) -> None:
        cells = np.zeros((bottom - top, right - left, 4), np.uint8)
        cells[inside] = colors[k][row[inside], col[inside]]
        _over(frame, cells, left, top)

    return paint


def sprite_picture(sprite: dict, first: str, k: int) -> np.ndarray:
    """Frame *k*'s picture of a sprite box: its slot of the sheets (*first*: the
    markup's sheet, the others in the payload)."""
    which = sprite["of"][k]
    sheet = _png([first, *sprite["sheets"]][which // sprite["slots"]])
    top = which % sprite["slots"] * (sprite["height"] + sprite["gap"])
    return sheet[top : top + sprite["height"]]


def frames(text: str, index: int = 0, *, compact: bool = False) -> list[np.ndarray]:
    """
    Every frame of the *index*-th player in *text*, composed as the player shows it:
    on its figure's layout, or on its *compact* one (for narrow screens).
    """
    data = payload(text, index)
    fragment = text.split('class="mr-player"')[index + 1]
    main, _, small = fragment.partition('class="mr-stage mr-compact"')
    fragment = small if compact else main
    if compact:  # the same cells, placed as the compact layout places them
        data = {**data, **data["compact"]}
        data["grids"] = [{**g, **p} for g, p in zip(data["grids"], data["places"], strict=True)]
    size = tuple(data["size"])
    backdrop, _ = _src(fragment, "mr-backdrop")
    base = _png(backdrop)[..., :3] if backdrop else np.zeros((size[1], size[0], 3), np.uint8)
    shown = []
    if data["mode"] == "images":
        styles = re.findall(r'<img class="mr-region"[^>]*style="([^"]*)"', fragment)
        for images in data["images"]:
            frame = base.copy()
            for png, style in zip(images, styles, strict=True):
                _over(frame, _png(png), *_box(style, size))
            shown.append(frame)
        return shown
    painters = [_painter(g, cell_colors(data, i)) for i, g in enumerate(data["grids"])]
    overlays = re.findall(
        r'<img class="mr-overlay" src="data:image/png;base64,([^"]+)"[^>]*style="([^"]*)"',
        fragment,
    )
    sprite_boxes = re.findall(
        r'<div class="mr-sprite" style="([^"]*)"[^>]*>(?:<img src="data:image/png;base64,'
        r'([^"]+)")?',
        fragment,
    )
    for k in range(data["frames"]):
        frame = base.copy()
        for paint in painters:
            paint(frame, k)
        for png, style in overlays:
            _over(frame, _png(png), *_box(style, size))
        for sprite, (style, first) in zip(data["sprites"], sprite_boxes, strict=True):
            if sprite["of"][k] >= 0:
                _over(frame, sprite_picture(sprite, first, k), *_box(style, size))
        shown.append(frame)
    return shown
