"""PNG images of rendered pixels: palette PNGs whenever the colours fit, lossless always."""

from __future__ import annotations

import base64
import io
from typing import Any

import numpy as np

__all__: list[str] = []


def _image(pixels: np.ndarray) -> Any:
    from PIL import Image

    return Image.fromarray(np.ascontiguousarray(pixels))


def _packed(pixels: np.ndarray) -> np.ndarray:
    """Each pixel as one integer: RGB in 24 bits, RGBA in 32."""
    packed = np.zeros(pixels.shape[:2], np.uint32)
    for channel in range(pixels.shape[2]):
        packed <<= 8
        packed |= pixels[..., channel]
    return packed


def exact_palette_image(pixels: np.ndarray) -> Any | None:
    """
    A Pillow "P" image with exactly the colours of *pixels* (RGB or RGBA, uint8), or
    None when there are more than 256 of them.  Heatmaps of named colormaps usually
    fit (they are resampled to 252 colours), and a palette PNG is a third of RGB.
    """
    found = _image(pixels).getcolors(256) if pixels.size else None
    if found is None:
        return None
    channels = pixels.shape[2]
    # the colours Pillow counted, in order; each pixel's found by bisection (a sort of
    # every pixel, np.unique's, took 0.8 ms a frame label of a wide figure)
    colors = np.unique(_packed(np.array([c for _, c in found], np.uint8)[:, None, :]))
    index = np.searchsorted(colors, _packed(pixels))
    palette = np.zeros((len(colors), channels), np.uint8)
    for channel in range(channels):
        palette[:, channel] = (colors >> (8 * (channels - 1 - channel))) & 0xFF
    image = _image(index.reshape(pixels.shape[:2]).astype(np.uint8))
    image.putpalette(palette.tobytes(), rawmode="RGBA" if channels == 4 else "RGB")
    return image


def png_bytes(pixels: np.ndarray) -> bytes:
    """*pixels* (RGB or RGBA, uint8) as a lossless PNG, with a palette when they fit."""
    image = exact_palette_image(pixels)
    if image is None:
        image = _image(pixels)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", compress_level=6)
    return buffer.getvalue()


def png_base64(pixels: np.ndarray) -> str:
    """`png_bytes` as base64 text, for a ``data:`` URI."""
    return base64.b64encode(png_bytes(pixels)).decode("ascii")
