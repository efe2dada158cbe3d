"""Frame encoders for `save_animation`: GIF, MP4 and a self-contained HTML player."""

from __future__ import annotations

import base64
import contextlib
import html
import io
import json
import signal
import subprocess
import tempfile
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

__all__: list[str] = []


def _image(rgb: np.ndarray) -> Any:
    from PIL import Image

    return Image.fromarray(np.ascontiguousarray(rgb))


class _Palette:
    """Exact palette images for frames of at most 256 colours (heatmaps usually are)."""

    def __init__(self) -> None:
        self._lut: np.ndarray | None = None

    def exact(self, rgb: np.ndarray) -> Any | None:
        """A "P" image with exactly the colours of *rgb*, or None if it has over 256."""
        image = _image(rgb)
        colors = image.getcolors(256)
        if colors is None:
            return None
        palette = np.array([c[:3] for _, c in colors], dtype=np.uint32)
        keys = palette[:, 0] << 16 | palette[:, 1] << 8 | palette[:, 2]
        if self._lut is None:
            self._lut = np.zeros(1 << 24, dtype=np.uint8)
        self._lut[keys] = np.arange(len(keys), dtype=np.uint8)
        packed = rgb[..., 0].astype(np.uint32) << 16
        packed |= rgb[..., 1].astype(np.uint32) << 8
        packed |= rgb[..., 2]
        indexed = _image(self._lut[packed])
        indexed.putpalette(palette.astype(np.uint8).ravel().tolist())
        return indexed


Region = tuple[np.ndarray, tuple[int, int]]  # pixels, and (left, top) in the frame


class Encoder:
    """
    Receives a static background once, then each frame as the regions that changed.

    ``start(background, size)``: *background* is the whole frame behind the changing
    regions (None when every frame comes whole); ``add(regions)`` gives one frame as a
    list of ``(pixels, (left, top))``, the same boxes in every frame; ``close()`` writes
    ``self.path``.
    """

    def __init__(
        self, path: str | Path, fps: float, *, title: str = "", facecolor: str = "#ffffff"
    ) -> None:
        self.path = Path(path)
        self.fps = fps
        self.title = title or self.path.name  # what a page shows as its title
        self.facecolor = facecolor  # the figure's, for a page's background
        self.n_frames = 0
        self._full: np.ndarray | None = None

    def start(self, background: np.ndarray | None, size: tuple[int, int]) -> None:
        width, height = size
        self._full = (
            np.zeros((height, width, 3), np.uint8) if background is None else background.copy()
        )

    def _frame(self, regions: list[Region]) -> np.ndarray:
        """The whole frame: the background with every region pasted in."""
        for pixels, (left, top) in regions:
            self._full[top : top + pixels.shape[0], left : left + pixels.shape[1]] = pixels
        return self._full

    def add(self, regions: list[Region]) -> None:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError

    def abort(self) -> None:
        """Release what a failed export holds (the caller removes the file)."""


class GifEncoder(Encoder):
    """Pillow, 256 colours a frame (exact when a frame has no more), looping."""

    def start(self, background: np.ndarray | None, size: tuple[int, int]) -> None:
        super().start(background, size)
        self._images: list = []
        self._palette = _Palette()

    def add(self, regions: list[Region]) -> None:
        from PIL import Image

        frame = self._frame(regions)
        image = self._palette.exact(frame)
        if image is None:
            image = _image(frame).quantize(
                256, method=Image.Quantize.FASTOCTREE, dither=Image.Dither.NONE
            )
        self._images.append(image)
        self.n_frames += 1

    def close(self) -> None:
        if not self._images:
            raise ValueError("no frames to write")
        first, *rest = self._images
        first.save(
            self.path,
            format="GIF",
            save_all=True,
            append_images=rest,
            loop=0,
            duration=max(1, round(1000 / self.fps)),
        )


def ffmpeg_exe() -> str:
    """The ffmpeg binary that imageio-ffmpeg ships (or points to), with clear errors."""
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


class Mp4Encoder(Encoder):
    """
    H.264 (yuv420p) through ffmpeg, fed raw RGB frames on a pipe.

    The file counts as written only if ffmpeg exits with status 0: a full disk or a
    file-size limit makes it fail at the end, and that must not pass for success.
    """

    def start(self, background: np.ndarray | None, size: tuple[int, int]) -> None:
        super().start(background, size)
        width, height = size
        # yuv420p needs even sides: frames are padded with their edge.
        self._pad = ((0, height % 2), (0, width % 2), (0, 0))
        rate = Fraction(self.fps).limit_denominator(1001)
        command = [
            ffmpeg_exe(),
            "-hide_banner",
            "-loglevel", "error",
            "-f", "rawvideo",
            "-pix_fmt", "rgb24",
            "-s", f"{width + width % 2}x{height + height % 2}",
            "-framerate", f"{rate.numerator}/{rate.denominator}",
            "-i", "pipe:0",
            "-an",
            "-c:v", "libx264",
            "-pix_fmt", "yuv420p",
            "-movflags", "+faststart",
            "-f", "mp4",
            "-y", str(self.path),
        ]  # fmt: skip
        self._log = tempfile.TemporaryFile()  # ffmpeg's messages, read if it fails
        self._process = subprocess.Popen(
            command, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=self._log
        )

    def add(self, regions: list[Region]) -> None:
        frame = np.pad(self._frame(regions), self._pad, mode="edge")
        try:
            self._process.stdin.write(np.ascontiguousarray(frame).tobytes())
        except BrokenPipeError:  # ffmpeg has stopped: wait() says why
            self._finish()
            raise OSError("ffmpeg stopped before the last frame") from None
        self.n_frames += 1

    def _finish(self) -> None:
        with contextlib.suppress(BrokenPipeError):
            self._process.stdin.close()
        status = self._process.wait()
        if status != 0:
            self._log.seek(0)
            lines = self._log.read().decode("utf-8", "replace").strip().splitlines()
            self._log.close()
            if status < 0:  # e.g. SIGXFSZ: a file-size limit
                how = f"was killed by {signal.Signals(-status).name} ({signal.strsignal(-status)})"
            else:
                how = f"exited with status {status}"
            raise OSError(f"ffmpeg failed: it {how}" + (f": {lines[-1]}" if lines else ""))
        self._log.close()

    def close(self) -> None:
        if not self.n_frames:
            raise ValueError("no frames to write")
        self._finish()

    def abort(self) -> None:
        process = getattr(self, "_process", None)
        if process is not None and process.poll() is None:
            process.kill()
            process.wait()
        log = getattr(self, "_log", None)
        if log is not None:
            log.close()


class HtmlEncoder(Encoder):
    """
    One self-contained page: the background once, then each frame's changed region, as
    PNG data URIs (palette PNG whenever a region has at most 256 colours: lossless and a
    third of the size), and a small player.  No CDN, no network, no frame limit.
    """

    def start(self, background: np.ndarray | None, size: tuple[int, int]) -> None:
        self._size = size
        self._palette = _Palette()
        self._background = None if background is None else self._png(background)
        self._frames: list[list[str]] = []
        self._boxes: list[tuple[int, int, int, int]] | None = None

    def _png(self, rgb: np.ndarray) -> str:
        image = self._palette.exact(rgb) or _image(rgb)
        buffer = io.BytesIO()
        image.save(buffer, format="PNG", compress_level=6)
        return base64.b64encode(buffer.getvalue()).decode("ascii")

    def add(self, regions: list[Region]) -> None:
        boxes = [(left, top, px.shape[1], px.shape[0]) for px, (left, top) in regions]
        if self._boxes is None:
            self._boxes = boxes
        elif boxes != self._boxes:
            raise ValueError("every frame must change the same regions")
        self._frames.append([self._png(px) for px, _ in regions])
        self.n_frames += 1

    def close(self) -> None:
        if not self._frames:
            raise ValueError("no frames to write")
        with open(self.path, "w", encoding="utf-8") as file:
            file.write(self.page())

    def page(self) -> str:
        width, height = self._size

        def percent(value: float, total: float) -> str:
            return f"{100 * value / total:.4f}%"

        regions = "\n".join(
            f'    <img class="mr-region" id="mr-region-{i}" alt="" style="left: '
            f"{percent(left, width)}; top: {percent(top, height)}; "
            f'width: {percent(w, width)};">'
            for i, (left, top, w, _) in enumerate(self._boxes)
        )
        background = self.facecolor
        light = sum(int(background[i : i + 2], 16) for i in (1, 3, 5)) > 3 * 128
        return _PAGE.format(
            title=html.escape(self.title),
            background=background,
            foreground="#222" if light else "#eee",
            width=width,
            height=height,
            regions=regions,
            boxes=";".join(",".join(map(str, box)) for box in self._boxes),
            n=len(self._frames),
            last=len(self._frames) - 1,
            interval=1000 / self.fps,
            backdrop=json.dumps(self._background or ""),
            frames=json.dumps(self._frames),
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
                gap: 6px; padding: 8px; max-width: 100%; box-sizing: border-box; }}
  .mr-stage {{ position: relative; width: {width}px; max-width: 100%;
               aspect-ratio: {width} / {height}; }}
  .mr-stage img {{ position: absolute; display: block; height: auto; }}
  #mr-backdrop {{ left: 0; top: 0; width: 100%; height: 100%; }}
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
<div class="mr-player" id="mr-player" data-frames="{n}" data-size="{width},{height}"
     data-boxes="{boxes}">
  <div class="mr-stage" id="mr-stage" role="img" aria-label="frame 1 of {n}">
    <img id="mr-backdrop" alt="">
{regions}
  </div>
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
  var BACKDROP = {backdrop};
  var FRAMES = {frames};
  var INTERVAL = {interval};
  var backdrop = document.getElementById("mr-backdrop");
  var stage = document.getElementById("mr-stage");
  var regions = document.querySelectorAll(".mr-region");
  var slider = document.getElementById("mr-slider");
  var label = document.getElementById("mr-label");
  var playButton = document.getElementById("mr-play");
  var current = 0, timer = null;
  if (BACKDROP) {{ backdrop.src = "data:image/png;base64," + BACKDROP; }}
  else {{ backdrop.remove(); }}
  function show(k) {{
    current = ((k % FRAMES.length) + FRAMES.length) % FRAMES.length;
    for (var i = 0; i < regions.length; i++) {{
      regions[i].src = "data:image/png;base64," + FRAMES[current][i];
    }}
    stage.setAttribute("aria-label", "frame " + (current + 1) + " of " + FRAMES.length);
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

ENCODERS: dict[str, type[Encoder]] = {".gif": GifEncoder, ".mp4": Mp4Encoder, ".html": HtmlEncoder}
