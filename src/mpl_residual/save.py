"""`save_animation`: an animation, or a stream animated on the spot, to GIF, MP4 or HTML."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from matplotlib.animation import Animation

from ._layout.figures import offscreen
from .animation import animate
from .export import check_request, write_animation

__all__ = ["save_animation"]


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
    file at *path* is left untouched and no temporary file is left behind (also when a
    signal ends the process, in the main thread or any other).  Something at *path*
    that is not a regular file (a device, a FIFO) is never replaced.

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
        (50 for GIF), a *dpi* that is not positive or makes frames over 2^28 pixels
        (or under one), a GIF of more than 2,000 frames.
    TypeError
        *fps* or *dpi* is not a number.
    FileNotFoundError
        The folder of *path* does not exist.
    NotRegularFile
        (an OSError) *path* is a device, a FIFO, a socket or a folder.
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
    request = check_request(path, fps, dpi)  # once, before anything is drawn
    if isinstance(anim_or_stream, Animation):
        if kwargs:
            raise TypeError(
                f"options {sorted(kwargs)} are for animating a stream; this is already an "
                "animation"
            )
        anim = anim_or_stream
    else:  # on a figure of its own that pyplot never sees
        with offscreen():
            anim = animate(anim_or_stream, **kwargs)
    return write_animation(anim, request, progress=progress, readout=readout)
