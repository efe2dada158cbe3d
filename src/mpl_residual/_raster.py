"""
Drawing a grid's cells as an image, pixel for pixel what Agg's quad mesh draws.

Agg draws a quad mesh of 8192 cells in about 3.5 ms, a path per cell; blitted
animations and sliders redraw it every step.  When the cells are opaque, not
antialiased and without lines, each pixel shows exactly one cell: which one depends
only on where the mesh is on the canvas.  That map is found once, by letting Agg
itself draw the mesh with each cell's number as its colour; every later draw gathers
the cells' colours through it and writes the pixels into the canvas's buffer (0.35 ms
a step at 64 x 128, with the colour mapping), the same bytes a quad-mesh draw gives.
Where the map is a row's cells times a column's (an upright grid, as every grid is
unless turned), the gather takes a row of each cell row, then repeats whole rows.
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
        self._index: np.ndarray | None = None  # the cell of each pixel of its box, or `_lines`
        self._shown: np.ndarray | None = None  # the pixels of a cell (None: all)
        self._lines: tuple | None = None  # cell row of each pixel row, column of each column
        self._box: tuple = (slice(0), slice(0))  # where on the canvas: rows, columns
        self._scaled: np.ndarray | None = None  # the colours times 255, plus a half
        self._bytes: np.ndarray | None = None  # the palette's bytes, a row a cell

    def applies(self, artist: Any, renderer: Any) -> tuple | None:
        """
        Where *artist* is on *renderer* (for `draw`) if it can be drawn this way there
        with the same result, and it pays: the grid was drawn at this place on this
        canvas before; else None.
        """
        if type(renderer) is not RendererAgg or artist.get_antialiased()[0]:
            return None
        if artist.get_hatch() or artist.get_path_effects() or artist.get_sketch_params():
            return None
        if artist.get_alpha() is not None and artist.get_alpha() < 1:
            return None
        edges = np.asarray(artist.get_edgecolor())
        if artist.get_linewidth()[0] > 0 and edges.size and np.any(edges[:, 3] > 0):
            return None
        if not artist.get_transform().is_affine:
            return None
        if artist.get_clip_path() is not None:  # its edge is antialiased: pixels blend
            return None  # (an Axes' rectangle is a clip box, which is not)
        key = _key(artist, renderer)
        repeated = key in (self._key, self._seen)
        self._seen = key
        return key if repeated else None

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
        self._lines = None
        if painted.size == 0:
            self._index = None
            return
        (top, left), (bottom, right) = painted.min(0), painted.max(0) + 1
        index = index[top:bottom, left:right]
        shown = index >= 0
        self._shown = None if shown.all() else shown  # pixels of no cell are left as are
        self._box = (slice(top, bottom), slice(left, right))
        if self._shown is None:  # each pixel's cell its row's cell row and column's column?
            rows_of, cols_of = index[:, 0] // cols, index[0] % cols
            if np.array_equal(index, rows_of[:, None] * cols + cols_of):
                self._lines = (rows_of.astype(np.intp), cols_of.astype(np.intp))
        # int32, since a gather of 4-byte indices is faster; -1 made the palette's last
        # entry (transparent).  A copy: a view would keep the whole canvas's map alive,
        # one a grid (169 panels of a sheet at 300 dpi held 22 GB).
        # An upright grid keeps only its rows' and columns' maps.
        self._index = None if self._lines else np.where(shown, index, n).astype(np.int32)

    def _palette(self, colors: np.ndarray) -> np.ndarray:
        """
        The cells' RGBA *colors* (floats in 0..1) as Agg draws them, a byte each rounded
        half up, packed in 32-bit numbers, and a transparent one last.  Into buffers
        kept from the last draw: ``floor(x * 255 + 0.5)`` with new arrays took 0.2 ms of
        a 0.56 ms step at 8192 cells, truncating into kept ones 0.016 ms.
        """
        colors = colors.reshape(-1, 4)
        if self._bytes is None or len(self._bytes) != len(colors) + 1:
            self._scaled = np.empty(colors.shape)
            self._bytes = np.zeros((len(colors) + 1, 4), np.uint8)  # last: transparent
        np.multiply(colors, 255, out=self._scaled)
        np.add(self._scaled, 0.5, out=self._scaled)
        np.copyto(self._bytes[:-1], self._scaled, casting="unsafe")  # truncated: floor
        return self._bytes.view(np.uint32)[:, 0]

    def draw(self, artist: Any, renderer: RendererAgg, place: tuple | None = None) -> None:
        """Draw *artist*'s cells (its face colours for the layer on show) on *renderer*;
        *place*: where it is, as `applies` said (measured again if not given)."""
        key = _key(artist, renderer) if place is None else place
        if key != self._key:
            self._map(artist, renderer)
            self._key = key
        if self._index is None and self._lines is None:  # it paints no pixel
            return
        artist.update_scalarmappable()
        palette = self._palette(artist.get_facecolors())
        # Opaque pixels, each exactly one cell's colour: written into the canvas's
        # buffer as they are (what Agg's draw_image of them would leave, without its
        # blending: 0.13 ms of a 0.5 ms step at 64 x 128).
        canvas = np.asarray(renderer.buffer_rgba()).view(np.uint32)[..., 0]
        target = canvas[self._box]
        if self._lines is not None:  # a pixel row of each cell row, then whole rows:
            rows_of, cols_of = self._lines  # 0.04 ms against 0.1 for a pixel-wise gather
            cells = palette[:-1].reshape(artist.stream.shape[1:])
            target[...] = cells.take(cols_of, axis=1)[rows_of]
        elif self._shown is None:
            np.take(palette, self._index, out=target, mode="clip")  # no index is out
        else:
            np.copyto(target, np.take(palette, self._index), where=self._shown)
