"""
Drawing a grid's cells as an image, pixel for pixel what Agg's quad mesh draws.

Agg draws a quad mesh of 8192 cells in about 3.5 ms, a path per cell; blitted
animations and sliders redraw it every step.  When the cells are opaque, not
antialiased and without lines, each pixel shows exactly one cell: which one depends
only on where the mesh is on the canvas.  That map is found once, by letting Agg
itself draw the mesh with each cell's number as its colour; every later draw gathers
the cells' colours through it and puts the pixels on the canvas as an image (about a
third of the time), the same bytes a quad-mesh draw would give.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from matplotlib.backends.backend_agg import RendererAgg
from matplotlib.collections import QuadMesh

__all__: list[str] = []


def mesh_like(artist: Any, **properties: Any) -> QuadMesh:
    """A `QuadMesh` of *artist*'s cells, placed and clipped as it is, with *properties*."""
    mesh = QuadMesh(artist.get_coordinates(), transform=artist.get_transform(), **properties)
    mesh.set_figure(artist.get_figure(root=False))
    mesh.set_clip_box(artist.get_clip_box())
    clip = artist.get_clip_path()
    if clip is not None:
        mesh.set_clip_path(clip)
    return mesh


#: Bits of a cell's number that one drawing spells, in its red, green and blue bytes.
BITS = 24


def number_colors(n: int, part: int) -> np.ndarray:
    """
    Opaque RGBA colours (floats in 0..1) for cells ``0 .. n - 1`` that spell the *part*-th
    24 bits of each cell's number in their red, green and blue bytes: a grid of more
    than 2^24 cells is spelled by two drawings (any grid a canvas can hold: 2^48).
    """
    bits = (np.arange(n, dtype=np.int64) >> (BITS * part)) & (2**BITS - 1)
    rgba = np.stack([(bits >> 16) & 255, (bits >> 8) & 255, bits & 255, np.full(n, 255)], -1)
    return rgba / 255


def cell_numbers(*drawings: np.ndarray) -> np.ndarray:
    """
    Which cell each pixel shows (-1 where none), from the RGBA bytes of the drawings of
    `number_colors` part 0, 1, ...; a pixel is a cell's where the drawing is opaque.

    >>> colors = (number_colors(3, 0) * 255).round().astype(np.uint8)
    >>> cell_numbers(colors[None]).tolist()
    [[0, 1, 2]]
    """
    numbers = np.zeros(drawings[0].shape[:2], np.int64)
    for part, rgba in enumerate(drawings):
        spelled = (rgba[..., 0].astype(np.int64) << 16) | (rgba[..., 1].astype(np.int64) << 8)
        numbers |= (spelled | rgba[..., 2]) << (BITS * part)
    numbers[drawings[0][..., 3] != 255] = -1
    return numbers


def _key(artist: Any, renderer: RendererAgg) -> tuple:
    clip = artist.get_clip_box()
    path = artist.get_clip_path()
    return (
        renderer.width,
        renderer.height,
        renderer.dpi,
        artist.get_transform().get_matrix().tobytes(),
        None if clip is None else tuple(clip.extents),
        None if path is None else path.get_fully_transformed_path().vertices.tobytes(),
    )


class CellRaster:
    """
    Which cell each pixel of a canvas shows, and the cells' colours gathered by it.

    The map pays off from the second draw at one place on one canvas (one draw costs
    about what a quad mesh does), so a figure drawn once is drawn as a quad mesh.
    """

    def __init__(self) -> None:
        self._key: tuple | None = None
        self._seen: tuple | None = None
        self._index: np.ndarray | None = None
        self._origin = (0, 0)

    def applies(self, artist: Any, renderer: Any) -> bool:
        """
        Whether *artist* can be drawn this way on *renderer* with the same result, and
        it pays: the grid was drawn at this place on this canvas before.
        """
        if type(renderer) is not RendererAgg or artist.get_antialiased()[0]:
            return False
        if artist.get_hatch() or artist.get_path_effects() or artist.get_sketch_params():
            return False
        if artist.get_alpha() is not None and artist.get_alpha() < 1:
            return False
        edges = np.asarray(artist.get_edgecolor())
        if artist.get_linewidth()[0] > 0 and edges.size and np.any(edges[:, 3] > 0):
            return False
        if not artist.get_transform().is_affine:
            return False
        key = _key(artist, renderer)
        repeated = key in (self._key, self._seen)
        self._seen = key
        return repeated

    def _map(self, artist: Any, renderer: RendererAgg) -> None:
        """Let Agg draw the mesh with each cell's number as its colour, and read it back."""
        rows, cols = artist.stream.shape[1:]
        n = rows * cols
        drawings = []
        for part in range(max(1, -(-(n - 1).bit_length() // BITS))):
            mesh = mesh_like(
                artist,
                facecolors=number_colors(n, part),
                edgecolors="none",
                linewidths=0,
                antialiased=False,  # QuadMesh's own flag, which its draw reads
            )
            scratch = RendererAgg(renderer.width, renderer.height, renderer.dpi)
            scratch.clear()
            mesh.draw(scratch)
            drawings.append(np.asarray(scratch.buffer_rgba()).copy())
        index = cell_numbers(*drawings)
        painted = np.argwhere(index >= 0)
        if painted.size == 0:
            self._index, self._origin = None, (0, 0)
            return
        (top, left), (bottom, right) = painted.min(0), painted.max(0) + 1
        index = index[top:bottom, left:right]
        # Kept as draw_image takes it (bottom row first) and with no -1: the palette's
        # last entry is transparent; int32, since a gather of 4-byte indices is faster.
        # A copy: a view would keep the whole canvas's map alive, one a grid (169
        # panels of a sheet at 300 dpi held 22 GB).
        self._index = np.where(index < 0, n, index)[::-1].astype(np.int32)
        self._origin = (left, renderer.height - bottom)  # draw_image's lower left corner

    def draw(self, artist: Any, renderer: RendererAgg) -> None:
        """Draw *artist*'s cells (its face colours for the layer on show) on *renderer*."""
        key = _key(artist, renderer)
        if key != self._key:
            self._map(artist, renderer)
            self._key = key
        if self._index is None:
            return
        artist.update_scalarmappable()
        rows, cols = artist.stream.shape[1:]
        colors = np.floor(artist.get_facecolors() * 255 + 0.5).astype(np.uint8)
        palette = np.zeros((rows * cols + 1, 4), np.uint8)  # the last one: transparent
        palette[:-1] = colors.reshape(-1, 4)
        pixels = np.take(palette.view(np.uint32)[:, 0], self._index)
        pixels = pixels.view(np.uint8).reshape(*self._index.shape, 4)
        gc = renderer.new_gc()
        try:
            renderer.draw_image(gc, *self._origin, pixels)
        finally:
            gc.restore()
