"""
Sprite sheets: what follows the layer in one box (a title, marks, a marker), every
frame's picture of it stacked in one PNG.

Thirteen frame labels as thirteen PNGs carried thirteen palettes (a label of
antialiased text has some 250 colours: a kilobyte of palette in each); one sheet
carries one, and deflate finds the glyphs the labels share.  The player shows a
frame's slot by moving the sheet inside its box (see ``player.js``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ._png import png_base64

__all__: list[str] = []

#: Transparent rows between two slots, so that a browser that smooths the sheet when
#: it scales it never blends one frame's picture into the next's edge.
GAP = 2
#: The most pixels and rows one sheet holds: phones decode larger images slowly or
#: not at all (iOS Safari refused images past a few megapixels); longer animations get
#: more sheets.
MAX_PIXELS = 4_000_000
MAX_ROWS = 8192


@dataclass
class SpriteSheets:
    """Every frame's picture of one box: ``of[k]`` is frame *k*'s slot (-1: nothing),
    slot *s* lies in sheet ``s // slots`` at ``(s % slots) * (height + GAP)`` rows."""

    of: list[int]
    height: int
    slots: int
    sheets: list[str] = field(default_factory=list)  # PNGs, base64

    def payload(self) -> dict:
        """What the player's script needs: the sheets after the first (the markup holds
        the first)."""
        return {
            "of": self.of,
            "height": self.height,
            "gap": GAP,
            "slots": self.slots,
            "sheets": self.sheets[1:],
        }

    def top(self, frame: int = 0) -> str:
        """Where the sheet sits in its box to show *frame*'s slot (CSS ``top``)."""
        slot = max(self.of[frame], 0) % self.slots
        return f"{-100 * slot * (self.height + GAP) / self.height:.5f}%"


def sprite_sheets(frames: list[np.ndarray | None]) -> SpriteSheets:
    """
    *frames* (RGBA pictures of one box, all one shape, or None where a frame draws
    nothing there) as sheets of their distinct pictures, in order of first showing.
    """
    slots: list[np.ndarray] = []
    seen: dict[bytes, int] = {}
    of = []
    for pixels in frames:
        if pixels is None:
            of.append(-1)
            continue
        key = pixels.tobytes()
        of.append(seen.setdefault(key, len(slots)))
        if of[-1] == len(slots):
            slots.append(pixels)
    if not slots:
        return SpriteSheets(of=of, height=1, slots=1)
    height, width = slots[0].shape[:2]
    step = height + GAP
    per = max(1, min(MAX_ROWS // step, MAX_PIXELS // (step * width)))
    gap = np.zeros((GAP, width, 4), np.uint8)
    sheets = []
    for start in range(0, len(slots), per):
        chunk = slots[start : start + per]
        parts = [part for pixels in chunk for part in (pixels, gap)][:-1]
        sheets.append(png_base64(np.concatenate(parts)))
    return SpriteSheets(of=of, height=height, slots=per, sheets=sheets)
