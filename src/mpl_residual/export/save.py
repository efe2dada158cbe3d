"""`save_animation`: GIF, MP4 or a self-contained HTML player, written atomically."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import matplotlib as mpl
import numpy as np
from matplotlib.animation import Animation
from matplotlib.colors import to_rgb

from .._arrays import as_real
from .._atomic import atomic_path, check_folder
from .._layout import check_pixels
from ..animation import LayerAnimation, build_animation
from ._encoders import ENCODERS, ffmpeg_exe
from ._frames import render_any, render_layers
from .player import player_page

__all__ = ["save_animation", "SUPPORTED_SUFFIXES"]

#: Output formats, chosen by the suffix of the path.
SUPPORTED_SUFFIXES: tuple[str, ...] = (*ENCODERS, ".html")


#: Frame rates `save_animation` takes: one frame a minute to 1000 a second.
FPS_RANGE = (1 / 60, 1000.0)
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


def save_animation(
    anim_or_stream: Animation | Any,
    path: str | os.PathLike[str],
    *,
    fps: float | None = None,
    dpi: float | None = None,
    progress: bool = True,
    readout: bool = True,
    **kwargs: Any,
) -> Path:
    """
    Save an animation, or a stream animated with `animate`, as GIF, MP4 or HTML.

    The format follows the suffix of *path*:

    - ``.gif``: Pillow, loops forever; one palette for every frame made of the
      figure's own colours (the colormap's entries first), so cells and a colorbar's
      gradient keep their exact colours;
    - ``.mp4``: H.264 through the ffmpeg that the imageio-ffmpeg package ships (no
      system ffmpeg needed);
    - ``.html``: one self-contained page around the player of
      `LayerAnimation.to_html` (play/pause, step, slider, keyboard, and a hover
      read-out of each cell's dimension and value; no CDN, no network, opens from
      ``file://``).  Every frame is kept: there is no size limit that drops frames.

    The file is written to a temporary file next to *path* and renamed only when it is
    complete: if anything fails, including a frame function raising midway, an existing
    file at *path* is left untouched and no temporary file is left behind.

    Parameters
    ----------
    anim_or_stream : `~matplotlib.animation.Animation` or array-like
        Any matplotlib animation, or a stream to pass to `animate` (on a new figure that
        is not registered with pyplot).
    path : str or path-like
        Where to write; its suffix picks the format.
    fps : float, optional
        Frames per second; default: from the animation's interval (``1000 / interval``).
    dpi : float, optional
        Resolution; default: ``rcParams["savefig.dpi"]`` (``"figure"``: the figure's).
    progress : bool, default: True
        Show a progress bar (tqdm, when installed) of frames written, if stderr is a
        terminal.
    readout : bool, default: True
        ``.html`` only: keep every cell's value in the page for the hover read-out
        (``dim 447 (row 9, col 15) = 187.1``); ``False`` leaves the values out and
        makes the page smaller.
    **kwargs
        With a stream: passed to `animate` (``interval``, ``layers``, ``cmap``, ``fig``,
        ...).  With an animation, none are accepted.

    Returns
    -------
    pathlib.Path
        The path written.

    Raises
    ------
    ValueError
        Before anything is written: an unknown suffix, *fps* outside 1/60 to 1000
        (50 for GIF), a *dpi* that is not positive or makes frames over 2^28 pixels.
    TypeError
        *fps* or *dpi* is not a number.
    FileNotFoundError
        The folder of *path* does not exist.
    RuntimeError
        ``.mp4`` was asked for but ffmpeg cannot run.
    OSError
        The file could not be written whole (a full disk, a file-size limit, ffmpeg
        failing): the message names *path*; an existing file there is left untouched.

    Examples
    --------
    >>> import numpy as np
    >>> import mpl_residual as mr
    >>> stream = np.random.randn(13, 16, 48)
    >>> mr.save_animation(stream, "residual.gif", fps=4)  # doctest: +SKIP
    >>> anim = mr.animate(stream, cmap="RdBu_r")
    >>> mr.save_animation(anim, "residual.html")  # doctest: +SKIP
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise ValueError(
            f"cannot tell the format of {str(path)!r} from its suffix {path.suffix!r}; "
            f"supported: {', '.join(SUPPORTED_SUFFIXES)}"
        )
    if fps is not None:
        fps = check_fps(fps, suffix)
    if dpi is not None:
        dpi = as_real(dpi, "dpi")
        if not dpi > 0:
            raise ValueError(f"dpi must be a positive number; got dpi={dpi:g}")
    check_folder(path)
    if suffix == ".mp4":
        ffmpeg_exe()
    if isinstance(anim_or_stream, Animation):
        if kwargs:
            raise TypeError(
                f"options {sorted(kwargs)} are for animating a stream; this is already an "
                "animation"
            )
        anim = anim_or_stream
    else:  # on a figure of its own that pyplot never sees
        anim = build_animation(anim_or_stream, pyplot=False, **kwargs)
    if isinstance(anim, LayerAnimation):
        anim.mark_rendered()  # no "deleted without rendering" warning, even on failure
    if fps is None:
        interval = getattr(getattr(anim, "event_source", None), "interval", None) or 200
        low, high = FPS_RANGE[0], MAX_GIF_FPS if suffix == ".gif" else FPS_RANGE[1]
        fps = min(max(1000 / interval, low), high)
    if dpi is None:
        dpi = mpl.rcParams["savefig.dpi"]
        if dpi == "figure":
            dpi = anim._fig.dpi
    check_pixels(anim._fig, dpi)
    update, close_progress = _progress_callback(progress, path.name)
    try:
        with atomic_path(path) as temporary:
            if suffix == ".html":
                page = player_page(
                    anim, title=path.name, readout=readout, dpi=dpi, fps=fps, progress=update
                )
                with open(temporary, "w", encoding="utf-8") as file:
                    file.write(page)
                return path
            colors = _cell_colors(anim) if isinstance(anim, LayerAnimation) else None
            encoder = ENCODERS[suffix](temporary, fps, colors=colors)
            render = render_layers if isinstance(anim, LayerAnimation) else render_any
            try:
                render(anim, encoder, dpi, update)
            except BaseException:
                encoder.abort()
                raise
            encoder.close()
    finally:
        close_progress()
    return path


def _cell_colors(anim: LayerAnimation) -> np.ndarray:
    """
    The colours the cells of *anim* take in its frames, and, when the artist has a
    colorbar, every colour of its colormap (the colorbar shows them all), as drawn over
    the Axes: RGB bytes, most needed first, for a GIF palette.
    """
    artist = anim.artist
    cells = artist.to_rgba(artist.stream[list(anim.layers)].reshape(-1))
    colors = [np.unique(np.floor(cells * 255 + 0.5), axis=0) / 255]
    if artist.colorbar is not None:
        cmap = artist.get_cmap()
        colors.append(cmap(np.arange(cmap.N)))
        colors.append([cmap.get_under(), cmap.get_over()])
    rgba = np.vstack(colors)
    background = np.asarray(to_rgb(artist.axes.get_facecolor()))
    rgb = rgba[:, :3] * rgba[:, 3:] + background * (1 - rgba[:, 3:])
    return np.floor(rgb * 255 + 0.5).astype(np.uint8)
