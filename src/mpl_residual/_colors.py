"""
Colours as a reader sees them (CIELAB), and the colours past a colormap's ends that
mark clipped cells: they must look like the map's own ends, and stand out from what
is behind the grid.
"""

from __future__ import annotations

from typing import Any

import matplotlib as mpl
import numpy as np
from matplotlib.colors import Colormap

__all__: list[str] = []

#: The least ΔE (CIE76) a colour past an end must be from the background.
MIN_CONTRAST = 10.0
#: The part of the map at each end whose colours count as "the end".
END = 0.02
#: How far past the end a clipped colour goes, at most: half-way to black or white.
CARRY = 0.5


def lab(rgb: Any) -> np.ndarray:
    """sRGB (0..1, ``(..., 3)`` or RGBA) as CIELAB under D65."""
    rgb = np.asarray(rgb, dtype=np.float64)[..., :3]
    linear = np.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)
    xyz = linear @ np.array(
        [
            [0.4124564, 0.2126729, 0.0193339],
            [0.3575761, 0.7151522, 0.1191920],
            [0.1804375, 0.0721750, 0.9503041],
        ]
    )
    xyz /= np.array([0.95047, 1.0, 1.08883])
    delta = 6 / 29
    f = np.where(xyz > delta**3, np.cbrt(xyz), xyz / (3 * delta**2) + 4 / 29)
    return np.stack(
        [116 * f[..., 1] - 16, 500 * (f[..., 0] - f[..., 1]), 200 * (f[..., 1] - f[..., 2])],
        axis=-1,
    )


def delta_e(a: Any, b: Any) -> np.ndarray:
    """The CIE76 colour difference of two colours (sRGB 0..1)."""
    return np.linalg.norm(lab(a) - lab(b), axis=-1)


def nearest_on_map(cmap: Colormap, color: Any) -> float:
    """Where on *cmap* (0..1) the colour nearest *color* (in CIELAB) lies."""
    samples = cmap(np.linspace(0, 1, max(cmap.N, 2)))
    return float(np.argmin(delta_e(samples, color)) / (len(samples) - 1))


def beyond(cmap: Colormap, end: float, background: Any = None) -> tuple[float, ...]:
    """
    A colour past the *end* (0 or 1) of *cmap* for clipped cells: its lightness trend
    carried on toward black or white, as far as it still looks like the map's own end
    (its nearest colour on the map within the last 2%) and stands out from
    *background* (ΔE at least 10); the end colour itself where nothing past it does.
    """
    edge = np.asarray(cmap(end), dtype=np.float64)
    inner = np.asarray(cmap(end + (0.15 if end == 0 else -0.15)))
    target = 1.0 if lab(edge)[0] >= lab(inner)[0] else 0.0
    for step in np.linspace(CARRY, 0.0, 11):
        color = edge.copy()
        color[:3] = edge[:3] + step * (target - edge[:3])
        at = nearest_on_map(cmap, color)
        looks_like_end = at <= END if end == 0 else at >= 1 - END
        stands_out = background is None or delta_e(color, background) >= MIN_CONTRAST
        if looks_like_end and stands_out:
            return tuple(color)
    return tuple(edge)


#: Colour of NaN/inf cells when the colormap is given by name.
BAD_COLOR = "0.5"

#: Colours a named colormap is resampled to: with the over, under and bad colours and
#: the background, cells then fit a 256-colour palette, so GIF and HTML frames of
#: large grids are exact (and a third of the size).  No eye tells 252 steps from 256.
N_COLORS = 252


def marked_cmap(
    cmap: str | Colormap | None, background: tuple[float, ...] | None = None
) -> Colormap:
    """
    The colormap to draw with.  A Colormap object is used as given; a name (or None,
    for ``rcParams["image.cmap"]``) gets over/under colours that carry the map past its
    ends (`beyond`: they look like the map's own ends, and stand out from
    *background*), so clipped cells read as beyond the scale, and a grey "bad" colour
    for NaN/inf.
    """
    if isinstance(cmap, Colormap):
        return cmap
    base = mpl.colormaps.get_cmap(cmap).resampled(N_COLORS)
    return base.with_extremes(
        over=beyond(base, 1.0, background), under=beyond(base, 0.0, background), bad=BAD_COLOR
    )
