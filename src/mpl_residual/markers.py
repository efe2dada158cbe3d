"""`mark_dims`: outlines on chosen cells of a grid, which follow its layer."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from matplotlib.artist import Artist, allow_rasterization
from matplotlib.collections import PathCollection, PolyCollection
from matplotlib.font_manager import FontProperties
from matplotlib.path import Path
from matplotlib.textpath import TextPath
from matplotlib.transforms import Affine2D, Bbox

from ._arrays import as_index
from .artist import ResidualStreamArtist
from .outliers import check_factor, median_ratio, top_dims

__all__ = ["DimMarkers", "mark_dims"]

#: Outlines and labels: white over a black halo, to read on any colormap.
INK, HALO = "white", "black"


class _Labels:
    """
    Dimension numbers as glyph outlines in two path collections (a black halo, then
    white), drawn in two calls however many there are: `~matplotlib.text.Text` would
    cost a layout and a rasterization a label a frame.
    """

    def __init__(self, fig: Any, offset_transform: Any) -> None:
        self._paths: dict[str, Any] = {}
        points = Affine2D().scale(1 / 72) + fig.dpi_scale_trans  # glyphs sized in points
        common = {
            "offsets": np.zeros((0, 2)),
            "offset_transform": offset_transform,
            "transform": points,
        }
        self.halo = PathCollection([], facecolors=HALO, edgecolors=HALO, linewidths=2.4, **common)
        self.ink = PathCollection([], facecolors=INK, edgecolors="none", **common)
        for collection in (self.halo, self.ink):
            collection.set_figure(fig)

    def _path(self, text: str) -> Path:
        if text not in self._paths:
            size = FontProperties(size="x-small").get_size_in_points()
            glyphs = TextPath((0, 0), text, size=size)
            extents = glyphs.get_extents()
            # centred over the cell's top edge, 3 points above it
            self._paths[text] = glyphs.transformed(
                Affine2D().translate(-extents.x0 - extents.width / 2, 3)
            )
        return self._paths[text]

    def set(self, dims: np.ndarray, at: np.ndarray) -> None:
        paths = [self._path(str(d)) for d in dims]
        for collection in (self.halo, self.ink):
            collection.set_paths(paths)
            collection.set_offsets(at if len(at) else np.zeros((0, 2)))

    def draw(self, renderer: Any) -> None:
        self.halo.draw(renderer)
        self.ink.draw(renderer)

    def extents(self, renderer: Any) -> list[Bbox]:
        return [c.get_window_extent(renderer) for c in (self.halo, self.ink)]


class DimMarkers(Artist):
    """
    Outlined cells on a `ResidualStreamArtist`, labelled with their dimension.

    Made by `mark_dims`; it follows the artist's layer (it listens with
    ``add_callback``) and redraws what it marks.  White outlines and labels with a
    black halo read on any colormap; a step costs two or four path-collection draws,
    however many cells are marked, so blitted animations stay fast.

    Attributes
    ----------
    dims : numpy.ndarray of int
        The dimensions marked now, sorted.

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
            PolyCollection([], facecolors="none", edgecolors=color, linewidths=width,
                           transform=transform)
            for color, width in ((HALO, 3.0), (INK, 1.3))
        ]  # fmt: skip
        for outline in self._outlines:
            outline.set_figure(fig)
            outline.set_clip_path(ax.patch)
        self._labels = _Labels(fig, transform) if labels else None
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
        if self._labels is not None:
            # Over the cell's top edge on screen, whichever way the y axis runs.
            up = 0.5 if artist.axes.yaxis_inverted() else -0.5
            self._labels.set(dims, cells - [0, up])
        self.stale = True

    def get_children(self) -> list[Artist]:
        labels = [] if self._labels is None else [self._labels.halo, self._labels.ink]
        return [*self._outlines, *labels]

    def get_window_extent(self, renderer: Any = None) -> Bbox:
        boxes = [a.get_window_extent(renderer) for a in self.get_children()]
        boxes = [b for b in boxes if b.width > 0 or b.height > 0]
        return Bbox.union(boxes) if boxes else Bbox.null()

    @allow_rasterization
    def draw(self, renderer: Any) -> None:
        if not self.get_visible() or not len(self.dims):
            return
        for outline in self._outlines:
            outline.draw(renderer)
        if self._labels is not None:
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
