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


def _int16(planes: np.ndarray) -> np.ndarray:
    half = len(planes) // 2
    return (planes[:half].astype(np.uint16) | planes[half:].astype(np.uint16) << 8).view(np.int16)


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


def cell_indices(data: dict) -> np.ndarray:
    """Each frame's palette index of every cell, screen order: ``(frames, rows, cols)``."""
    rows, cols = data["grid"]
    dtype = "<u2" if data["indexBytes"] == 2 else "u1"
    deltas = _inflate(data["indices"], dtype).reshape(data["frames"], rows * cols)
    return np.cumsum(deltas, axis=0, dtype=deltas.dtype).reshape(-1, rows, cols)


def cell_colors(data: dict) -> np.ndarray:
    """Each frame's RGBA of every cell, screen order: ``(frames, rows, cols, 4)``."""
    palette = np.frombuffer(base64.b64decode(data["palette"]), "<u4")
    packed = palette[cell_indices(data)]
    return np.stack([(packed >> s) & 255 for s in (0, 8, 16, 24)], -1).astype(np.uint8)


def readout(data: dict) -> tuple[np.ndarray, np.ndarray]:
    """The read-out's mantissas and exponents, ``(frames, rows, cols)``, data order."""
    rows, cols = data["grid"]
    shape = (data["frames"], rows, cols)
    mantissa = _int16(_inflate(data["readout"]["mantissa"], "u1")).reshape(shape)
    if data["readout"]["exponentBytes"] == 1:
        exponent = _inflate(data["readout"]["exponent"], "i1").astype(np.int16)
        exponent = np.where(exponent == -128, np.iinfo(np.int16).max, exponent)
    else:
        exponent = _int16(_inflate(data["readout"]["exponent"], "u1"))
    return mantissa, exponent.reshape(shape)


def _over(base: np.ndarray, top: np.ndarray, left: int, upper: int) -> None:
    """Composite RGBA *top* over RGB *base* at (left, upper), as a browser does."""
    h, w = top.shape[:2]
    region = base[upper : upper + h, left : left + w].astype(float)
    alpha = top[..., 3:].astype(float) / 255
    region[:] = top[..., :3] * alpha + region * (1 - alpha)
    base[upper : upper + h, left : left + w] = np.round(region).astype(np.uint8)


def frames(text: str, index: int = 0) -> list[np.ndarray]:
    """Every frame of the *index*-th player in *text*, composed as the player shows it."""
    data = payload(text, index)
    size = tuple(data["size"])
    fragment = text.split('class="mr-player"')[index + 1]
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
    rows, cols = data["grid"]
    x0, y0, x1, y1 = data["mesh"]
    left, top, right, bottom = data["clip"]
    ys, xs = np.mgrid[top:bottom, left:right] + 0.5
    col = np.floor((xs - x0) / (x1 - x0) * cols).astype(int)
    row = np.floor((ys - y0) / (y1 - y0) * rows).astype(int)
    inside = (col >= 0) & (col < cols) & (row >= 0) & (row < rows)
    overlay, overlay_style = _src(fragment, "mr-overlay")
    label_style = _src(fragment, "mr-label")[1]
    colors = cell_colors(data)
    for k in range(data["frames"]):
        frame = base.copy()
        cells = np.zeros((bottom - top, right - left, 4), np.uint8)
        cells[inside] = colors[k][row[inside], col[inside]]
        _over(frame, cells, left, top)
        if overlay:
            _over(frame, _png(overlay), *_box(overlay_style, size))
        which = data["labelOf"][k]
        if which >= 0:
            _over(frame, _png(data["labels"][which]), *_box(label_style, size))
        shown.append(frame)
    return shown
