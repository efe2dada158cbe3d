"""Frame encoders for `save_animation`: GIF and MP4, and a collector for the player."""

from __future__ import annotations

import contextlib
import signal
import subprocess
import tempfile
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

from ._palette import FigurePalette
from ._png import png_base64

__all__: list[str] = []


Region = tuple[np.ndarray, tuple[int, int]]  # pixels, and (left, top) in the frame


class Encoder:
    """
    Receives a static background once, then each frame as the regions that changed.

    ``start(background, size)``: *background* is the whole frame behind the changing
    regions (None when every frame comes whole); ``add(regions)`` gives one frame as a
    list of ``(pixels, (left, top))``, the same boxes in every frame; ``close()`` writes
    ``self.path``.
    """

    #: Whether regions may come as opaque RGBA, as they lie in the renderer's buffer
    #: (used at once, never kept), rather than as RGB copies.
    takes_rgba = False

    def __init__(self, path: str | Path, fps: float, *, colors: np.ndarray | None = None) -> None:
        self.path = Path(path)
        self.fps = fps
        self.colors = colors  # the colours the frames should keep exactly (RGB), if known
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
            box = (slice(top, top + pixels.shape[0]), slice(left, left + pixels.shape[1]))
            self._full[box] = pixels[..., :3]
        return self._full

    def add(self, regions: list[Region]) -> None:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError

    def abort(self) -> None:
        """Release what a failed export holds (the caller removes the file)."""


class GifEncoder(Encoder):
    """
    A looping GIF, written frame by frame as the frames come (memory is one frame,
    whatever their number): one palette for all frames built from the figure's own
    colours (the colormap's entries first, see `FigurePalette`), and after the first
    frame only the box that changed, its unchanged pixels transparent.  Every frame is
    kept, also one that changes nothing, so the GIF has one frame a layer.
    """

    takes_rgba = True

    def start(self, background: np.ndarray | None, size: tuple[int, int]) -> None:
        super().start(background, size)
        self._palette: FigurePalette | None = None
        self._shown: np.ndarray | None = None  # palette indices of the frame on show
        self._file = None

    def _first(self, frame: np.ndarray) -> None:
        from PIL import GifImagePlugin

        self._palette = FigurePalette(frame, self.colors)
        self._transparent = len(self._palette.colors)  # the slot the palette keeps free
        self._shown = self._palette.indices(frame)
        image = self._palette.image(frame)
        # the global colour table has room for the transparent slot, whatever its size
        image.putpalette(self._palette.colors.tobytes() + bytes(3))
        header, _ = GifImagePlugin.getheader(image, None, {"loop": 0})
        self._file = open(self.path, "wb")  # noqa: SIM115 - closed by close() or abort()
        self._file.write(b"".join(header))
        self._write(image, (0, 0), transparency=None)

    def _write(self, image: Any, offset: tuple[int, int], *, transparency: int | None) -> None:
        from PIL import GifImagePlugin

        params: dict[str, Any] = {"duration": self.duration, "disposal": 1}
        if transparency is not None:
            params["transparency"] = transparency
        self._file.write(b"".join(GifImagePlugin.getdata(image, offset, **params)))

    @property
    def duration(self) -> int:
        """Milliseconds a frame (GIF keeps hundredths of a second)."""
        return max(10, round(1000 / self.fps))

    def add(self, regions: list[Region]) -> None:
        if self._palette is None:
            self._first(self._frame(regions))
            self.n_frames += 1
            return
        from PIL import Image

        changed = np.zeros(self._shown.shape, bool)
        for pixels, (left, top) in regions:
            box = (slice(top, top + pixels.shape[0]), slice(left, left + pixels.shape[1]))
            indices = self._palette.indices(pixels)
            changed[box] |= indices != self._shown[box]
            self._shown[box] = indices
        rows, cols = np.flatnonzero(changed.any(axis=1)), np.flatnonzero(changed.any(axis=0))
        if not len(rows):  # nothing changed: a pixel of nothing, for the frame's time
            rows, cols = np.array([0]), np.array([0])
        top, bottom, left, right = rows[0], rows[-1] + 1, cols[0], cols[-1] + 1
        patch = np.where(
            changed[top:bottom, left:right], self._shown[top:bottom, left:right], self._transparent
        ).astype(np.uint8)
        image = Image.fromarray(patch, "P")
        image.putpalette(self._palette.colors.tobytes())
        self._write(image, (int(left), int(top)), transparency=self._transparent)
        self.n_frames += 1

    def close(self) -> None:
        if not self.n_frames:
            raise ValueError("no frames to write")
        self._file.write(b";")  # the GIF trailer
        self._file.close()

    def abort(self) -> None:
        file = getattr(self, "_file", None)
        if file is not None:
            file.close()


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
        # A file without a name yet (atomic_path outside the main thread) is written
        # through /proc/self/fd/N: ffmpeg must have that descriptor too.
        descriptor = self.path.parent == Path("/proc/self/fd") and self.path.name.isdigit()
        self._process = subprocess.Popen(
            command,
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=self._log,
            pass_fds=(int(self.path.name),) if descriptor else (),
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


class FrameCollector(Encoder):
    """
    Keeps the frames as PNG images (base64) for the player's picture mode: the
    background once, then each frame's changed regions.  Writes no file.
    """

    def start(self, background: np.ndarray | None, size: tuple[int, int]) -> None:
        self.size = size
        self.background = None if background is None else png_base64(background)
        self.frames: list[list[str]] = []
        self.boxes: list[tuple[int, int, int, int]] | None = None

    def add(self, regions: list[Region]) -> None:
        boxes = [(left, top, px.shape[1], px.shape[0]) for px, (left, top) in regions]
        if self.boxes is None:
            self.boxes = boxes
        elif boxes != self.boxes:
            raise ValueError("every frame must change the same regions")
        self.frames.append([png_base64(px) for px, _ in regions])
        self.n_frames += 1

    def close(self) -> None:
        if not self.frames:
            raise ValueError("no frames to write")


#: The encoders that write a file, by suffix (``.html`` files are the player's pages).
ENCODERS: dict[str, type[Encoder]] = {".gif": GifEncoder, ".mp4": Mp4Encoder}
