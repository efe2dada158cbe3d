"""One GIF palette for a whole animation, built from the colours the figure really uses."""

from __future__ import annotations

from typing import Any

import numpy as np

from . import _png

__all__: list[str] = []


def _packed(rgb: np.ndarray) -> np.ndarray:
    """Each RGB (or opaque RGBA) byte colour of *rgb* as one number, red lowest."""
    numbers = _png.packed(rgb)
    return numbers & 0xFFFFFF if rgb.shape[-1] == 4 else numbers


def _unpacked(packed: np.ndarray) -> np.ndarray:
    return np.stack([packed & 255, (packed >> 8) & 255, (packed >> 16) & 255], -1)


#: Colours in a palette: one index of the 256 stays free, for the GIF writer to mark
#: the pixels that did not change since the last frame (a third of the file).
SIZE = 255


class FigurePalette:
    """
    At most 255 colours for every frame of a GIF, and a map from any colour to one.

    The colours given first (a colormap's entries, as the cells and the colorbar show
    them) come first and are kept exactly; the rest are the most frequent other
    colours of the first frame (backgrounds, text, lines).  Any other colour goes to
    its nearest palette colour, once: a generic quantizer would instead spread its
    colours over everything and band a colorbar's gradient.

    Examples
    --------
    >>> first = np.zeros((2, 2, 3), np.uint8)
    >>> palette = FigurePalette(first, np.array([[255, 0, 0]], np.uint8))
    >>> palette.colors.tolist()
    [[255, 0, 0], [0, 0, 0]]
    """

    def __init__(self, first: np.ndarray, wanted: np.ndarray | None = None) -> None:
        chosen: list[int] = []
        seen: set[int] = set()
        if wanted is not None:
            for key in _packed(np.asarray(wanted, np.uint8).reshape(-1, 3)).tolist():
                if key not in seen and len(chosen) < SIZE:
                    seen.add(key)
                    chosen.append(key)
        keys, counts = np.unique(_packed(first).ravel(), return_counts=True)
        for key in keys[np.argsort(-counts, kind="stable")].tolist():
            if len(chosen) >= SIZE:
                break
            if key not in seen:
                seen.add(key)
                chosen.append(key)
        packed = np.array(chosen, np.uint32)
        self.colors = _unpacked(packed).astype(np.uint8)
        self._index = np.zeros(1 << 24, np.uint8)
        self._known = np.zeros(1 << 24, bool)
        self._index[packed] = np.arange(len(packed), dtype=np.uint8)
        self._known[packed] = True

    def indices(self, rgb: np.ndarray) -> np.ndarray:
        """The palette index of every pixel of *rgb* (exact where the colour is in it);
        RGB, or opaque RGBA."""
        packed = _packed(rgb)
        unknown = ~self._known[packed]
        if unknown.any():
            new = np.unique(packed[unknown])
            for start in range(0, len(new), 4096):  # nearest colour, in bounded chunks
                chunk = new[start : start + 4096]
                rgb = _unpacked(chunk)
                diff = rgb[:, None, :].astype(np.int32) - self.colors[None].astype(np.int32)
                self._index[chunk] = np.argmin((diff**2).sum(-1), axis=1).astype(np.uint8)
            self._known[new] = True
        return self._index[packed]

    def image(self, rgb: np.ndarray) -> Any:
        """*rgb* as a Pillow "P" image with this palette."""
        from PIL import Image

        image = Image.fromarray(self.indices(rgb), "P")
        image.putpalette(self.colors.tobytes())
        return image
