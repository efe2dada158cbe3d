"""`save_animation`: GIF, MP4 or a self-contained HTML player, written atomically."""

from __future__ import annotations

import base64
import html
import io
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import matplotlib as mpl
import numpy as np
from matplotlib.animation import AbstractMovieWriter, Animation
from matplotlib.backends.backend_agg import RendererAgg
from matplotlib.colors import to_hex

from ._atomic import atomic_path, check_folder

__all__ = ["save_animation", "SUPPORTED_SUFFIXES"]

#: Output formats, chosen by the suffix of the path.
SUPPORTED_SUFFIXES: tuple[str, ...] = (".gif", ".mp4", ".html")


# -- frames ------------------------------------------------------------------------------


class _FrameWriter(AbstractMovieWriter):
    """
    Renders each frame once with Agg, straight from the figure, into an RGB array.

    Subclasses encode the frames.  `Animation.save` drives it, so any matplotlib
    animation works, not only those of `animate`.
    """

    def __init__(self, fps: float) -> None:
        super().__init__(fps=fps)
        self.n_frames = 0

    def setup(self, fig: Any, outfile: Any, dpi: float | None = None) -> None:
        super().setup(fig, outfile, dpi)
        self._dpi_before = fig.dpi
        fig.dpi = self.dpi
        self._renderer: RendererAgg | None = None
        # A layout engine would lay the figure out again for every frame, though only
        # the data changes: lay it out once, on the first frame, then hold it.
        self._engine = fig.get_layout_engine()

    def _rgb(self) -> np.ndarray:
        width, height = self.fig.bbox.size
        if self._renderer is None:
            self._renderer = RendererAgg(width, height, self.dpi)
        renderer = self._renderer
        renderer.clear()
        self.fig.draw(renderer)
        rgba = np.asarray(renderer.buffer_rgba())
        alpha = rgba[..., 3:]
        if alpha.min() == 255:
            return rgba[..., :3].copy()
        # Transparent figures are flattened onto white: no format here keeps alpha.
        return (rgba[..., :3] * (alpha / 255) + 255 * (1 - alpha / 255)).astype(np.uint8)

    def grab_frame(self, **savefig_kwargs: Any) -> None:
        self.encode(self._rgb())
        if self.n_frames == 0 and self._engine is not None:
            self.fig.set_layout_engine("none")
        self.n_frames += 1

    def encode(self, rgb: np.ndarray) -> None:
        raise NotImplementedError

    def finish(self) -> None:
        self.fig.dpi = self._dpi_before
        if self._engine is not None:
            self.fig.set_layout_engine(self._engine)
        self.close()

    def close(self) -> None:
        """Write what was encoded to ``self.outfile``."""


class _GifWriter(_FrameWriter):
    def setup(self, fig: Any, outfile: Any, dpi: float | None = None) -> None:
        super().setup(fig, outfile, dpi)
        self._images: list = []

    def encode(self, rgb: np.ndarray) -> None:
        from PIL import Image

        self._images.append(Image.fromarray(rgb).quantize(256, dither=Image.Dither.NONE))

    def close(self) -> None:
        if not self._images:
            return
        first, *rest = self._images
        first.save(
            self.outfile,
            format="GIF",
            save_all=True,
            append_images=rest,
            loop=0,
            duration=max(1, round(1000 / self.fps)),
        )


def _ffmpeg_exe() -> str:
    try:
        import imageio_ffmpeg
    except ImportError:
        raise RuntimeError(
            "writing .mp4 needs the imageio-ffmpeg package, which brings its own ffmpeg: "
            "pip install 'mpl-residual[export]'"
        ) from None
    try:
        return imageio_ffmpeg.get_ffmpeg_exe()
    except RuntimeError as err:
        raise RuntimeError(f"writing .mp4 needs ffmpeg, which cannot run here: {err}") from None


class _Mp4Writer(_FrameWriter):
    def setup(self, fig: Any, outfile: Any, dpi: float | None = None) -> None:
        super().setup(fig, outfile, dpi)
        self._pipe = None

    def encode(self, rgb: np.ndarray) -> None:
        import imageio_ffmpeg

        # H.264 in yuv420p needs even sides: pad with the edge colour.
        height, width = rgb.shape[:2]
        rgb = np.pad(rgb, ((0, height % 2), (0, width % 2), (0, 0)), mode="edge")
        if self._pipe is None:
            self._pipe = imageio_ffmpeg.write_frames(
                self.outfile,
                (rgb.shape[1], rgb.shape[0]),
                fps=self.fps,
                codec="libx264",
                pix_fmt_out="yuv420p",
                macro_block_size=1,
                ffmpeg_log_level="error",
                output_params=["-movflags", "+faststart"],
            )
            self._pipe.send(None)
        self._pipe.send(np.ascontiguousarray(rgb))

    def close(self) -> None:
        if self._pipe is not None:
            self._pipe.close()


class _HtmlWriter(_FrameWriter):
    def setup(self, fig: Any, outfile: Any, dpi: float | None = None) -> None:
        super().setup(fig, outfile, dpi)
        self._frames: list[str] = []
        self._size = (0, 0)
        self._facecolor = to_hex(fig.get_facecolor(), keep_alpha=False)

    def encode(self, rgb: np.ndarray) -> None:
        from PIL import Image

        buffer = io.BytesIO()
        Image.fromarray(rgb).save(buffer, format="PNG", compress_level=6)
        self._frames.append(base64.b64encode(buffer.getvalue()).decode("ascii"))
        self._size = (rgb.shape[1], rgb.shape[0])

    def close(self) -> None:
        if not self._frames:
            return
        Path(self.outfile).write_text(
            _player_page(
                self._frames, self._size, self.fps, self._facecolor, title=Path(self.outfile).name
            ),
            encoding="utf-8",
        )


def _player_page(
    frames: list[str], size: tuple[int, int], fps: float, background: str, *, title: str
) -> str:
    """A self-contained page: frames as data URIs, a few lines of script, no network."""
    width, height = size
    light = sum(int(background[i : i + 2], 16) for i in (1, 3, 5)) > 3 * 128
    foreground = "#222" if light else "#eee"
    return _PAGE.format(
        title=html.escape(title),
        background=background,
        foreground=foreground,
        width=width,
        height=height,
        n=len(frames),
        last=len(frames) - 1,
        interval=1000 / fps,
        frames=json.dumps(frames),
    )


_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="mpl-residual">
<title>{title}</title>
<style>
  body {{ margin: 0; background: {background}; color: {foreground};
          font: 14px/1.4 system-ui, -apple-system, "Segoe UI", sans-serif; }}
  .mr-player {{ display: inline-flex; flex-direction: column; align-items: center;
                gap: 6px; padding: 8px; max-width: 100%; }}
  .mr-player img {{ max-width: 100%; height: auto; image-rendering: auto; }}
  .mr-controls {{ display: flex; gap: 4px; align-items: center; }}
  .mr-controls button {{ font: inherit; min-width: 2.2em; padding: 2px 6px;
                         background: transparent; color: inherit; border: 1px solid;
                         border-radius: 4px; cursor: pointer; opacity: 0.85; }}
  .mr-controls button:hover {{ opacity: 1; }}
  .mr-controls input[type=range] {{ width: min(24em, 50vw); }}
  .mr-label {{ min-width: 5em; text-align: right; font-variant-numeric: tabular-nums; }}
</style>
</head>
<body>
<div class="mr-player" id="mr-player" data-frames="{n}">
  <img id="mr-frame" width="{width}" height="{height}" alt="frame 1 of {n}">
  <div class="mr-controls">
    <button type="button" id="mr-first" aria-label="First frame">&#x23EE;</button>
    <button type="button" id="mr-prev" aria-label="Previous frame">&#x25C0;</button>
    <button type="button" id="mr-play" aria-label="Play">&#x25B6;</button>
    <button type="button" id="mr-next" aria-label="Next frame">&#x25B6;&#x7C;</button>
    <button type="button" id="mr-last" aria-label="Last frame">&#x23ED;</button>
    <input type="range" id="mr-slider" min="0" max="{last}" value="0" aria-label="Frame">
    <span class="mr-label" id="mr-label">1 / {n}</span>
  </div>
</div>
<script>
(function () {{
  "use strict";
  var FRAMES = {frames};
  var INTERVAL = {interval};
  var img = document.getElementById("mr-frame");
  var slider = document.getElementById("mr-slider");
  var label = document.getElementById("mr-label");
  var playButton = document.getElementById("mr-play");
  var current = 0, timer = null;
  function show(k) {{
    current = ((k % FRAMES.length) + FRAMES.length) % FRAMES.length;
    img.src = "data:image/png;base64," + FRAMES[current];
    img.alt = "frame " + (current + 1) + " of " + FRAMES.length;
    slider.value = current;
    label.textContent = (current + 1) + " / " + FRAMES.length;
  }}
  function pause() {{
    if (timer !== null) {{ clearInterval(timer); timer = null; }}
    playButton.innerHTML = "&#x25B6;"; playButton.setAttribute("aria-label", "Play");
  }}
  function play() {{
    if (timer !== null) {{ return; }}
    timer = setInterval(function () {{ show(current + 1); }}, INTERVAL);
    playButton.innerHTML = "&#x23F8;"; playButton.setAttribute("aria-label", "Pause");
  }}
  playButton.onclick = function () {{ if (timer === null) {{ play(); }} else {{ pause(); }} }};
  document.getElementById("mr-first").onclick = function () {{ pause(); show(0); }};
  document.getElementById("mr-last").onclick = function () {{
    pause(); show(FRAMES.length - 1);
  }};
  document.getElementById("mr-prev").onclick = function () {{ pause(); show(current - 1); }};
  document.getElementById("mr-next").onclick = function () {{ pause(); show(current + 1); }};
  slider.oninput = function () {{ pause(); show(parseInt(slider.value, 10)); }};
  document.addEventListener("keydown", function (e) {{
    if (e.key === "ArrowLeft") {{ pause(); show(current - 1); }}
    else if (e.key === "ArrowRight") {{ pause(); show(current + 1); }}
    else if (e.key === " ") {{ e.preventDefault(); playButton.onclick(); }}
  }});
  window.mplResidualPlayer = {{ show: show, play: play, pause: pause,
    get current() {{ return current; }}, get length() {{ return FRAMES.length; }} }};
  show(0);
}})();
</script>
</body>
</html>
"""

_WRITERS: dict[str, type[_FrameWriter]] = {
    ".gif": _GifWriter,
    ".mp4": _Mp4Writer,
    ".html": _HtmlWriter,
}


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
    **kwargs: Any,
) -> Path:
    """
    Save an animation, or a stream animated with `animate`, as GIF, MP4 or HTML.

    The format follows the suffix of *path*:

    - ``.gif``: Pillow, 256 colours per frame, loops forever;
    - ``.mp4``: H.264 through the ffmpeg that the imageio-ffmpeg package ships (no
      system ffmpeg needed);
    - ``.html``: one self-contained page (frames embedded as PNG, a small player with
      play/pause, step, slider and arrow keys; no CDN, no network, opens from
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
        An unknown suffix (before anything is written), or ``fps <= 0``.
    FileNotFoundError
        The folder of *path* does not exist.
    RuntimeError
        ``.mp4`` was asked for but ffmpeg cannot run.

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
    if suffix not in _WRITERS:
        raise ValueError(
            f"cannot tell the format of {str(path)!r} from its suffix {path.suffix!r}; "
            f"supported: {', '.join(SUPPORTED_SUFFIXES)}"
        )
    if fps is not None and not fps > 0:
        raise ValueError(f"fps must be a positive number; got fps={fps!r}")
    check_folder(path)
    if suffix == ".mp4":
        _ffmpeg_exe()
    if isinstance(anim_or_stream, Animation):
        if kwargs:
            raise TypeError(
                f"options {sorted(kwargs)} are for animating a stream; this is already an "
                "animation"
            )
        anim = anim_or_stream
    else:
        from ._layout import fitted_figure
        from .animation import animate
        from .grid import as_stream

        if "fig" not in kwargs and "ax" not in kwargs:
            shape = as_stream(anim_or_stream, rows=kwargs.get("rows")).shape
            kwargs["fig"] = fitted_figure(
                *shape[1:], pyplot=False, colorbar=bool(kwargs.get("colorbar"))
            )
        anim = animate(anim_or_stream, **kwargs)
    if fps is None:
        interval = getattr(getattr(anim, "event_source", None), "interval", None) or 200
        fps = 1000 / interval
    if dpi is None:
        dpi = mpl.rcParams["savefig.dpi"]
        if dpi == "figure":
            dpi = anim._fig.dpi
    writer = _WRITERS[suffix](fps=fps)
    update, close_progress = _progress_callback(progress, path.name)
    try:
        with atomic_path(path) as temporary:
            anim.save(temporary, writer=writer, dpi=dpi, progress_callback=update)
    finally:
        close_progress()
    return path
