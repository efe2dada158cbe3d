"""`mark_dims`: outlines on chosen cells of a grid, which follow its layer."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
from matplotlib import patheffects
from matplotlib.artist import Artist, allow_rasterization
from matplotlib.collections import PolyCollection
from matplotlib.text import Annotation
from matplotlib.transforms import Bbox

from ._arrays import as_index, as_real
from .artist import ResidualStreamArtist
from .outliers import top_dims

__all__ = ["DimMarkers", "mark_dims"]

_HALO = [patheffects.withStroke(linewidth=3.2, foreground="black")]


class DimMarkers(Artist):
    """
    Outlined cells on a `ResidualStreamArtist`, labelled with their dimension.

    Made by `mark_dims`; it follows the artist's layer (it listens with
    ``add_callback``) and redraws what it marks.  White outlines and labels with a
    black halo read on any colormap.

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
        self._top, self._factor, self._labels = top, factor, labels
        ax = artist.axes
        self._outlines = PolyCollection(
            [],
            facecolors="none",
            edgecolors="white",
            linewidths=1.4,
            path_effects=_HALO,
            transform=artist.get_transform(),
        )
        self._texts: list[Annotation] = []
        self.dims = np.zeros(0, int)
        self.set_zorder(artist.get_zorder() + 0.5)
        ax.add_artist(self)
        self._outlines.set_figure(self.get_figure(root=False))
        self._outlines.set_clip_path(ax.patch)
        self._update(artist)
        artist.add_callback(self._update)
        artist.add_follower(self)

    def _choose(self, artist: ResidualStreamArtist) -> np.ndarray:
        if self._fixed is not None:
            return np.unique(self._fixed)
        values = artist.stream.data[artist.layer].ravel()[: artist.d_model]
        if self._top is not None:
            return top_dims(values, self._top)
        magnitude = np.abs(values.astype(np.float64))
        magnitude = np.where(np.isfinite(magnitude), magnitude, np.nan)
        with warnings.catch_warnings():  # a layer of NaN: nothing to mark
            warnings.simplefilter("ignore", RuntimeWarning)
            median = np.nanmedian(magnitude)
        if not median > 0:
            return np.zeros(0, int)
        return np.flatnonzero(magnitude > self._factor * median)

    def _update(self, artist: ResidualStreamArtist) -> None:
        dims = self._choose(artist)
        if np.array_equal(dims, self.dims) and len(self._texts) == len(dims) * self._labels:
            return
        self.dims = dims
        cols = artist.stream.shape[2]
        rows_, cols_ = np.divmod(dims, cols)
        self._outlines.set_verts(
            [
                [
                    (c - 0.46, r - 0.46),
                    (c + 0.46, r - 0.46),
                    (c + 0.46, r + 0.46),
                    (c - 0.46, r + 0.46),
                ]
                for r, c in zip(rows_, cols_, strict=True)
            ]
        )
        self._texts = []
        if self._labels:
            for dim, r, c in zip(dims, rows_, cols_, strict=True):
                text = Annotation(
                    str(dim),
                    xy=(c, r),
                    xycoords=artist.get_transform(),
                    xytext=(0, 5),
                    textcoords="offset points",
                    ha="center",
                    va="bottom",
                    fontsize="x-small",
                    color="white",
                    path_effects=_HALO,
                    annotation_clip=False,
                )
                text.set_figure(self.get_figure(root=False))
                self._texts.append(text)
        self.stale = True

    def get_children(self) -> list[Artist]:
        return [self._outlines, *self._texts]

    def get_window_extent(self, renderer: Any = None) -> Bbox:
        boxes = [a.get_window_extent(renderer) for a in self.get_children()]
        boxes = [b for b in boxes if b.width > 0 or b.height > 0]
        return Bbox.union(boxes) if boxes else Bbox.null()

    @allow_rasterization
    def draw(self, renderer: Any) -> None:
        if not self.get_visible():
            return
        self._outlines.draw(renderer)
        for text in self._texts:
            text.draw(renderer)
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
        layer's median ``|x|``.
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
        factor = as_real(factor, "factor")
        if not factor > 0:
            raise ValueError(f"factor must be positive; got factor={factor:g}")
    return DimMarkers(artist, dims=dims, top=top, factor=factor, labels=labels)
