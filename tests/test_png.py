"""The player's PNGs: lossless always, a palette where the colours fit."""

import io

import numpy as np
import pytest
from PIL import Image

from mpl_residual.export._png import png_bytes, truecolour_png


def _decoded(data: bytes, channels: int) -> np.ndarray:
    with Image.open(io.BytesIO(data)) as image:
        image.load()  # a corrupt chunk (length, CRC) fails here
        return np.asarray(image.convert("RGBA" if channels == 4 else "RGB"))


@pytest.mark.parametrize("channels", [3, 4])
@pytest.mark.parametrize("n_colors", [1, 2, 17, 252, 256])
def test_few_colours_make_an_exact_palette_png(channels, n_colors):
    rng = np.random.default_rng(n_colors)
    palette = np.unique(rng.integers(0, 256, (4 * n_colors, channels), np.uint8), axis=0)
    palette = palette[rng.permutation(len(palette))[:n_colors]]
    pixels = palette[rng.integers(0, n_colors, (37, 53))]
    data = png_bytes(pixels)
    assert Image.open(io.BytesIO(data)).mode == "P"
    assert np.array_equal(_decoded(data, channels), pixels)


@pytest.mark.parametrize("channels", [3, 4])
@pytest.mark.parametrize("shape", [(1, 1), (2, 3), (37, 53), (500, 1500)])
def test_true_colour_pngs_are_exact(channels, shape):
    pixels = np.random.default_rng(0).integers(0, 256, (*shape, channels), np.uint8)
    data = truecolour_png(pixels)
    assert Image.open(io.BytesIO(data)).mode == ("RGBA" if channels == 4 else "RGB")
    assert np.array_equal(_decoded(data, channels), pixels)


@pytest.mark.parametrize("channels", [3, 4])
def test_many_colours_make_a_true_colour_png(channels):
    pixels = np.random.default_rng(0).integers(0, 256, (37, 53, channels), np.uint8)
    data = png_bytes(pixels)
    assert Image.open(io.BytesIO(data)).mode == ("RGBA" if channels == 4 else "RGB")
    assert np.array_equal(_decoded(data, channels), pixels)


def test_a_figure_with_many_colours_stays_small():
    # Flat regions and vertical structure (a figure) deflate well after the Up filter.
    rows = np.linspace(0, 255, 500).astype(np.uint8)[:, None, None]
    pixels = np.broadcast_to(rows, (500, 1500, 3)).copy()
    pixels[100:400, 200:1300] = np.random.default_rng(1).integers(0, 256, (1, 1100, 3))
    assert len(png_bytes(pixels)) < 20_000  # 2.25 MB of pixels
