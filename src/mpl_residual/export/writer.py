"""Writing an animation to GIF, MP4 or a self-contained HTML player, atomically."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

import matplotlib as mpl
import numpy as np
from matplotlib.animation import Animation
from matplotlib.colors import to_rgb

from .._arrays import as_real
from .._atomic import atomic_path, check_output
from .._layout.figures import check_pixels
from .._text import printable
from ..errors import TooManyFrames
from ._encoders import ENCODERS, ffmpeg_exe
from ._frames import figure_of, render_any, render_layers
from ._scene import LayerFrames
from .player import player_page

__all__ = ["SUPPORTED_SUFFIXES", "Request", "check_fps", "check_request", "write_animation"]

#: Output formats, chosen by the suffix of the path.
SUPPORTED_SUFFIXES: tuple[str, ...] = (*ENCODERS, ".html")


#: Frame rates `save_animation` takes: one frame a minute to 1000 a second.
FPS_RANGE = (1 / 60, 1000.0)
#: The most frames a GIF, MP4 or HTML player is drawn with: a minute's work at the
#: default size (20,000 layers of a tiny stream made a 76 MB page in 98 s).
MAX_FRAMES = 2000

#: GIF frame delays are whole hundredths of a second, and browsers slow delays under
#: two hundredths down to a tenth: faster GIFs would play slower, not faster.
MAX_GIF_FPS = 50.0


def check_fps(fps: Any, suffix: str) -> float:
    """*fps* as a float in the range the format *suffix* can play; clear errors."""
    fps = as_real(fps, "fps")
    low, high = FPS_RANGE
    if suffix == ".gif":
        high = MAX_GIF_FPS
    if not low <= fps <= high:
        why = (
            " (GIF frame delays are whole hundredths of a second, and browsers slow "
            "delays under 0.02 s down)"
            if suffix == ".gif" and fps > high
            else ""
        )
        raise ValueError(
            f"fps must be from 1/60 (a frame a minute) to {high:g} for {suffix}; "
            f"got fps={fps:g}{why}"
        )
    return fps


# -- progress ------------------------------------------------------------------------------


def _progress_callback(enabled: bool, name: str) -> tuple[Callable | None, Callable]:
    """A frame counter on stderr (tqdm if installed), only when stderr is a terminal."""
    if not enabled or not (hasattr(sys.stderr, "isatty") and sys.stderr.isatty()):
        return None, lambda: None
    try:
        from tqdm.auto import tqdm
    except ImportError:
        tqdm = None
    bar = None

    def update(current: int, total: int | None) -> None:
        nonlocal bar
        if tqdm is not None:
            if bar is None:
                bar = tqdm(total=total, desc=name, unit="frame")
            bar.update(1)
        else:
            sys.stderr.write(f"\r{name}: frame {current + 1}/{total or '?'}")
            sys.stderr.flush()

    def close() -> None:
        if bar is not None:
            bar.close()
        elif tqdm is None:
            sys.stderr.write("\n")

    return update, close


# -- the public function ---------------------------------------------------------------------


class Request(NamedTuple):
    """An export checked once (`check_request`), before anything is drawn."""

    path: Path
    suffix: str
    fps: float | None
    dpi: float | None


def check_request(path: str | os.PathLike[str], fps: Any, dpi: Any) -> Request:
    """
    The format (suffix), frame rate and resolution of an export to *path*, checked
    before anything is drawn, once: a known suffix, *fps* in the format's range, a
    positive *dpi*, a folder that exists and no device in the way, ffmpeg for
    ``.mp4``.  `write_animation` takes what it returns and checks none of it again.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise ValueError(
            f"cannot tell the format of {printable(repr(str(path)))} from its suffix "
            f"{printable(repr(path.suffix))}; supported: {', '.join(SUPPORTED_SUFFIXES)}"
        )
    if fps is not None:
        fps = check_fps(fps, suffix)
    if dpi is not None:
        dpi = as_real(dpi, "dpi")
        if not dpi > 0:
            raise ValueError(f"dpi must be a positive number; got dpi={dpi:g}")
    check_output(path)
    if suffix == ".mp4":
        ffmpeg_exe()
    return Request(path, suffix, fps, dpi)


def write_animation(
    anim: Animation, request: Request, *, progress: bool = True, readout: bool = True
) -> Path:
    """
    Write *anim* as *request* (`check_request`) says: see
    `mpl_residual.save_animation`, which checks the request and makes the animation of
    a stream first.  An animation that says what it animates (`LayerFrames`: a
    `LayerAnimation`) is drawn once and then only what changes; any other is drawn
    frame by frame.  Its pixel budget is checked here, once the figure is known.
    """
    path, suffix, fps, dpi = request
    layered = isinstance(anim, LayerFrames)
    if layered:
        anim.mark_rendered()  # no "deleted without rendering" warning, even on failure
        if len(anim.layers) > MAX_FRAMES:
            raise TooManyFrames(len(anim.layers), MAX_FRAMES)
    if fps is None:
        interval = getattr(getattr(anim, "event_source", None), "interval", None) or 200
        low, high = FPS_RANGE[0], MAX_GIF_FPS if suffix == ".gif" else FPS_RANGE[1]
        fps = min(max(1000 / interval, low), high)
    fig = figure_of(anim)
    if dpi is None:
        dpi = mpl.rcParams["savefig.dpi"]
        if dpi == "figure":
            dpi = fig.dpi
    check_pixels(fig, dpi)
    update, close_progress = _progress_callback(progress, path.name)
    try:
        with atomic_path(path, checked=True) as temporary:
            if suffix == ".html":
                page = player_page(
                    anim, title=path.name, readout=readout, dpi=dpi, fps=fps, progress=update
                )
                with open(temporary, "w", encoding="utf-8") as file:
                    file.write(page)
                return path
            colors = _cell_colors(anim) if layered else None
            encoder = ENCODERS[suffix](temporary, fps, colors=colors)
            render = render_layers if layered else render_any
            try:
                render(anim, encoder, dpi, update)
            except BaseException:
                encoder.abort()
                raise
            encoder.close()
    finally:
        close_progress()
    return path


def _cell_colors(anim: LayerFrames) -> np.ndarray:
    """
    The colours the cells of *anim* take in its frames, and, when the artist has a
    colorbar, every colour of its colormap (the colorbar shows them all), as drawn over
    the Axes: RGB bytes, most needed first, for a GIF palette.
    """
    artist = anim.artist
    # As bytes (rounded as Agg rounds; to_rgba's bytes=True truncates), each colour one
    # 32-bit number: a sort of numbers finds the few a colormap's table gives ten times
    # faster than a sort of rows.
    cells = artist.to_rgba(artist.stream[list(anim.layers)].reshape(-1))
    cells = np.floor(cells * 255 + 0.5).astype(np.uint8)
    used = np.unique(cells.view(np.uint32))
    colors = [used.view(np.uint8).reshape(-1, 4) / 255]
    if artist.colorbar is not None:
        cmap = artist.get_cmap()
        colors.append(cmap(np.arange(cmap.N)))
        colors.append([cmap.get_under(), cmap.get_over()])
    rgba = np.vstack(colors)
    background = np.asarray(to_rgb(artist.axes.get_facecolor()))
    rgb = rgba[:, :3] * rgba[:, 3:] + background * (1 - rgba[:, 3:])
    return np.floor(rgb * 255 + 0.5).astype(np.uint8)
