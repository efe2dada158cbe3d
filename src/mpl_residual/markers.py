"""`mark_dims`: outlines on chosen cells of a grid, which follow its layer."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from matplotlib.artist import Artist, allow_rasterization
from matplotlib.collections import PathCollection, PolyCollection
from matplotlib.path import Path
from matplotlib.textpath import TextPath
from matplotlib.transforms import Affine2D, Bbox, IdentityTransform

from ._arrays import as_index
from .artist import ResidualStreamArtist
from .outliers import check_factor, median_ratio, top_dims

__all__ = ["DimMarkers", "mark_dims"]

#: Outlines and labels: white over a black halo, to read on any colormap.
INK, HALO = "white", "black"


#: The size of the dimension labels, in points: legible (7 pt at least), never larger.
LABEL_SIZE = 7.0
#: Points between a cell and its label.
LABEL_GAP = 1.5
#: Half the width of the labels' halo, in points.
HALO_WIDTH = 1.2


class _Outlines(PolyCollection):
    """Outlines on the cells of a grid; its window extent is where they are drawn."""

    def __init__(self, panel: Any, **kwargs: Any) -> None:
        super().__init__([], **kwargs)
        self.panel = panel  # the Axes that clips them

    def get_window_extent(self, renderer: Any = None) -> Bbox:
        paths = self.get_paths()
        if not paths:
            return Bbox.null()
        points = self.get_transform().transform(np.concatenate([p.vertices for p in paths]))
        half = max(self.get_linewidth(), default=0.0) / 2 * self.panel.figure.dpi / 72
        half += 1  # a pixel for antialiasing
        drawn = Bbox([points.min(axis=0) - half, points.max(axis=0) + half])  # with its line
        return Bbox.intersection(drawn, self.panel.bbox) or Bbox.null()


class _Labels:
    """
    Dimension numbers as glyph outlines in two path collections (a black halo, then
    white), drawn in two calls however many there are: `~matplotlib.text.Text` would
    cost a layout and a rasterization a label a frame.

    Where each goes is chosen when it is drawn: above its cell, else below, right or
    left, wherever it stays inside the grid's panel and clear of the labels placed
    before it (the largest ``|x|`` first); a label with no such place is left out
    (its cell stays outlined).
    """

    def __init__(self, fig: Any) -> None:
        self._paths: dict[str, Any] = {}
        self._sizes: dict[str, tuple[float, float]] = {}  # each label's width, height
        self.fig = fig
        points = Affine2D().scale(1 / 72) + fig.dpi_scale_trans  # glyphs sized in points
        common = {
            "offsets": np.zeros((0, 2)),
            "offset_transform": IdentityTransform(),  # placed in pixels, when drawn
            "transform": points,
        }
        self.halo = PathCollection(
            [], facecolors=HALO, edgecolors=HALO, linewidths=2 * HALO_WIDTH, **common
        )
        self.ink = PathCollection([], facecolors=INK, edgecolors="none", **common)
        for collection in (self.halo, self.ink):
            collection.set_figure(fig)
        self.shown: np.ndarray = np.zeros(0, int)
        self.boxes: list[Bbox] = []  # where the shown labels are, in pixels

    def _path(self, text: str) -> Path:
        """The glyphs of *text*, centred on (0, 0), in points."""
        if text not in self._paths:
            glyphs = TextPath((0, 0), text, size=max(LABEL_SIZE, 0.0))
            extents = glyphs.get_extents()  # measured once a text: Bezier extrema are slow
            self._paths[text] = glyphs.transformed(
                Affine2D().translate(-extents.x0 - extents.width / 2,
                                     -extents.y0 - extents.height / 2)
            )  # fmt: skip
            self._sizes[text] = (extents.width, extents.height)
        return self._paths[text]

    def _size(self, text: str) -> tuple[float, float]:
        """The width and height of *text*'s glyphs, in points."""
        self._path(text)
        return self._sizes[text]

    def place(self, artist: Any, dims: np.ndarray, order: np.ndarray) -> None:
        """Choose where the labels of *dims* go (in *order* of importance), in pixels."""
        ax = artist.axes
        room = ax.bbox  # the grid's panel, in pixels
        dpi = self.fig.get_figure(root=True).dpi
        to_pixels = dpi / 72
        transform = artist.get_transform()
        cols = artist.stream.shape[2]
        placed: list[Bbox] = []
        chosen, offsets = [], []
        for index in order:
            dim = int(dims[index])
            row, col = divmod(dim, cols)
            (x0, y0), (x1, y1) = transform.transform([[col - 0.5, row - 0.5],
                                                       [col + 0.5, row + 0.5]])  # fmt: skip
            cell = Bbox.from_extents(min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1))
            width, height = self._size(str(dim))
            half_w = (width / 2 + HALO_WIDTH) * to_pixels
            half_h = (height / 2 + HALO_WIDTH) * to_pixels
            gap = LABEL_GAP * to_pixels
            centre_x, centre_y = (cell.x0 + cell.x1) / 2, (cell.y0 + cell.y1) / 2
            # above or below, slid along the edge to stay in the panel; else beside
            along_x = min(max(centre_x, room.x0 + half_w), room.x1 - half_w)
            along_y = min(max(centre_y, room.y0 + half_h), room.y1 - half_h)
            candidates = (
                (along_x, cell.y1 + gap + half_h),  # above
                (along_x, cell.y0 - gap - half_h),  # below
                (cell.x1 + gap + half_w, along_y),  # right
                (cell.x0 - gap - half_w, along_y),  # left
            )
            for x, y in candidates:
                box = Bbox.from_extents(x - half_w, y - half_h, x + half_w, y + half_h)
                inside = (
                    box.x0 >= room.x0 and box.x1 <= room.x1
                    and box.y0 >= room.y0 and box.y1 <= room.y1
                )  # fmt: skip
                if inside and not any(box.overlaps(other) for other in placed):
                    placed.append(box)
                    chosen.append(dim)
                    offsets.append((x, y))
                    break
        self.shown = np.array(chosen, dtype=int)
        self.boxes = placed
        paths = [self._path(str(d)) for d in chosen]
        for collection in (self.halo, self.ink):
            collection.set_paths(paths)
            collection.set_offsets(np.array(offsets) if offsets else np.zeros((0, 2)))

    def draw(self, renderer: Any) -> None:
        self.halo.draw(renderer)
        self.ink.draw(renderer)


class DimMarkers(Artist):
    """
    Outlined cells on a `ResidualStreamArtist`, labelled with their dimension.

    Made by `mark_dims`; it follows the artist's layer (it listens with
    ``add_callback``) and redraws what it marks.  White outlines and labels with a
    black halo read on any colormap; a step costs two or four path-collection draws,
    however many cells are marked, so blitted animations stay fast.

    Labels are 7 points tall, placed where they stay inside the grid's panel and clear
    of each other (the largest ``|x|`` first); where there is no room for every label,
    some are left out, but every marked cell is outlined.  The ``labelled`` property
    says which were labelled the last time the marks were drawn.

    Attributes
    ----------
    dims : numpy.ndarray of int
        The dimensions marked now, sorted (labelled or not).

    Examples
    --------
    >>> import mpl_residual as mr
    >>> artist = mr.residual_grid(mr.load_sample(), layer=-1)
    >>> marks = mr.mark_dims(artist, factor=5)
    >>> isinstance(marks, mr.DimMarkers), marks.axes is artist.axes
    (True, True)
    """

    def __init__(
        self,
        artist: ResidualStreamArtist,
        *,
        dims: Sequence[int] | None = None,
        top: int | None = None,
        factor: float | None = None,
        labels: bool = True,
    ) -> None:
        super().__init__()
        self._target = artist
        self._fixed = None if dims is None else np.asarray(dims, dtype=int)
        self._top, self._factor = top, factor
        ax = artist.axes
        fig = ax.get_figure(root=False)
        transform = artist.get_transform()
        self._outlines = [
            _Outlines(ax, facecolors="none", edgecolors=color, linewidths=width,
                      transform=transform)
            for color, width in ((HALO, 3.0), (INK, 1.3))
        ]  # fmt: skip
        for outline in self._outlines:
            outline.set_figure(fig)
            outline.set_clip_path(ax.patch)
        self._labels = _Labels(fig) if labels else None
        self.dims = np.zeros(0, int)
        self.set_zorder(artist.get_zorder() + 0.5)
        ax.add_artist(self)
        self._update(artist)
        artist.add_callback(self._update)
        artist.add_follower(self)

    def _choose(self, artist: ResidualStreamArtist) -> np.ndarray:
        if self._fixed is not None:
            return np.unique(self._fixed)
        values = artist.stream.data[artist.layer].ravel()[: artist.d_model]
        if self._top is not None:
            return top_dims(values, self._top)
        return np.flatnonzero(median_ratio(values) > self._factor)

    def _update(self, artist: ResidualStreamArtist) -> None:
        dims = self._choose(artist)
        if np.array_equal(dims, self.dims):
            return
        self.dims = dims
        rows, cols = np.divmod(dims, artist.stream.shape[2])
        corners = np.array([[-1, -1], [1, -1], [1, 1], [-1, 1]]) * 0.46
        cells = np.stack([cols, rows], axis=-1).astype(float)
        for outline in self._outlines:
            outline.set_verts(cells[:, None, :] + corners[None])
        self._place_labels()  # exports measure the labels of a layer before drawing it
        self.stale = True

    def _place_labels(self) -> None:
        if self._labels is None or self._target.axes is None:
            return
        values = np.abs(np.ma.getdata(self._target.stream[self._target.layer]).ravel())
        strength = np.nan_to_num(values[self.dims], nan=-1.0) if len(self.dims) else []
        order = np.argsort(-np.asarray(strength), kind="stable")
        self._labels.place(self._target, self.dims, order)

    @property
    def labelled(self) -> np.ndarray:
        """The dimensions whose label was drawn (the rest are only outlined)."""
        return np.zeros(0, int) if self._labels is None else np.sort(self._labels.shown)

    def get_children(self) -> list[Artist]:
        labels = [] if self._labels is None else [self._labels.halo, self._labels.ink]
        return [*self._outlines, *labels]

    def get_window_extent(self, renderer: Any = None) -> Bbox:
        """The outlines (as far as the panel shows them) and the labels, in pixels."""
        if not len(self.dims) or self._target.axes is None:
            return Bbox.null()
        boxes = [outline.get_window_extent(renderer) for outline in self._outlines]
        if self._labels is not None:  # halos included, and a pixel for antialiasing
            boxes += [box.padded(1) for box in self._labels.boxes]
        boxes = [box for box in boxes if np.isfinite(box.extents).all()]
        return Bbox.union(boxes) if boxes else Bbox.null()

    @allow_rasterization
    def draw(self, renderer: Any) -> None:
        if not self.get_visible() or not len(self.dims):
            return
        for outline in self._outlines:
            outline.draw(renderer)
        if self._labels is not None:
            self._place_labels()  # where the grid is drawn now
            self._labels.draw(renderer)
        self.stale = False


def mark_dims(
    artist: ResidualStreamArtist,
    dims: Sequence[int] | None = None,
    *,
    top: int | None = None,
    factor: float | None = None,
    labels: bool = True,
) -> DimMarkers:
    """
    Outline chosen dimensions on a grid and label them; the marks follow its layer.

    Give one of *dims*, *top* or *factor*.  Massive activations (Sun et al., 2024) sit
    in a handful of dimensions 100 to 1000 times the median; marking them tells the
    reader which bright cells are those (see also `outlier_dims`).

    Parameters
    ----------
    artist : ResidualStreamArtist
        A grid on an Axes (from `residual_grid`).
    dims : sequence of int, optional
        These dimensions, in every layer.
    top : int, optional
        The *top* cells of the layer on show with the largest ``|x|``.
    factor : float, optional
        The cells of the layer on show whose ``|x|`` exceeds *factor* times that
        layer's median ``|x|``: the one rule for massive activations (see
        `outlier_dims`).
    labels : bool, default: True
        Write each marked cell's dimension above it.

    Returns
    -------
    DimMarkers
        An artist on the grid's Axes; ``.dims`` lists the dimensions marked now.

    Examples
    --------
    >>> import numpy as np
    >>> import mpl_residual as mr
    >>> x = np.random.default_rng(0).standard_normal((3, 16, 48))
    >>> x[:, 9, 15] = [5.0, 80.0, 190.0]
    >>> artist = mr.residual_grid(x)
    >>> marks = mr.mark_dims(artist, top=1)
    >>> artist.set_layer(2)
    >>> marks.dims.tolist()
    [447]
    """
    if not isinstance(artist, ResidualStreamArtist):
        raise TypeError(
            "mark_dims needs a ResidualStreamArtist (from residual_grid); "
            f"got {type(artist).__name__}"
        )
    if artist.axes is None:
        raise ValueError("the artist must be on an Axes (residual_grid places it)")
    given = [
        name for name, v in (("dims", dims), ("top", top), ("factor", factor)) if v is not None
    ]
    if len(given) != 1:
        raise TypeError(
            "mark_dims takes one of dims=, top= or factor=; "
            + (f"got {', '.join(given)}" if given else "got none")
        )
    if dims is not None:
        if isinstance(dims, str) or not hasattr(dims, "__iter__"):
            raise TypeError(f"dims must be a sequence of dimensions; got {dims!r:.60}")
        dims = [as_index(d, "dims") for d in dims]
        bad = [d for d in dims if not 0 <= d < artist.d_model]
        if bad:
            raise ValueError(
                f"dims {bad} are not dimensions of this stream; valid: 0 to {artist.d_model - 1}"
            )
    if top is not None:
        top = as_index(top, "top")
        if top < 1:
            raise ValueError(f"top must be at least 1; got top={top}")
    if factor is not None:
        factor = check_factor(factor)
    return DimMarkers(artist, dims=dims, top=top, factor=factor, labels=labels)
