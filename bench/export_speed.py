"""
Export speed and size: ``save_animation`` against the seed notebook's approach.

The seed draws with ``ax.pcolormesh(layer, edgecolors="k", cmap="viridis", vmin=-3,
vmax=3)`` on a black figure, animates with ``FuncAnimation`` + ``set_array`` and exports
with ``anim.to_jshtml()`` (HTML) or ``anim.save(path, writer="pillow")`` (GIF).
mpl-residual draws the same stream in the ``blog_dark`` style with
``save_animation(stream, path, fig=...)``. Both use the same figure size and dpi.

Every figure is a ratio against the seed measured in the same run: median of
``--repeats`` runs. The seed's HTML page is checked for frames dropped past
matplotlib's ``animation.embed_limit`` (20 MB by default).

    python bench/export_speed.py            # 13 x 768 (GPT-2 small) and 80 x 8192
    python bench/export_speed.py --quick    # smaller, for a smoke test
"""

from __future__ import annotations

import argparse
import json
import logging
import re
import tempfile
from functools import partial
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from _common import emit, median_time, table  # noqa: E402
from matplotlib.animation import FuncAnimation  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

import mpl_residual as mr  # noqa: E402

FIGSIZE = (15, 5)  # the seed's figure
DPI = 100


def fake_stream(layers: int, d_model: int, rows: int, seed: int = 0) -> np.ndarray:
    """Residual-stream-like data: drifting with depth, a few massive dimensions."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((layers, d_model)).astype(np.float32).cumsum(axis=0) * 0.3
    x[:, rng.choice(d_model, 4, replace=False)] += np.linspace(0, 150, layers)[:, None]
    return mr.to_grid(x, rows)


def seed_animation(stream: np.ndarray) -> FuncAnimation:
    fig, ax = plt.subplots(1, 1, figsize=FIGSIZE, dpi=DPI)
    ax.axis(False)
    fig.set_facecolor("black")
    ax.set_facecolor("black")
    cmesh = ax.pcolormesh(stream[0], edgecolors="k", cmap="viridis", vmin=-3, vmax=3)

    def anim_function(frame_num):
        cmesh.set_array(stream[frame_num, :, :])
        return (cmesh,)

    return FuncAnimation(fig, anim_function, frames=np.arange(stream.shape[0]), interval=30)


class _DropCounter(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.dropped = False

    def emit(self, record: logging.LogRecord) -> None:
        self.dropped |= "Dropping frames" in record.getMessage()


def seed_html(stream: np.ndarray, path: Path) -> None:
    anim = seed_animation(stream)
    path.write_text(anim.to_jshtml())
    plt.close(anim._fig)


def seed_gif(stream: np.ndarray, path: Path) -> None:
    anim = seed_animation(stream)
    anim.save(path, writer="pillow", fps=5)
    plt.close(anim._fig)


def ours(stream: np.ndarray, path: Path) -> None:
    with mr.style_context("blog_dark"):
        fig = Figure(figsize=FIGSIZE, dpi=DPI)
        mr.save_animation(stream, path, fig=fig, fps=5, progress=False)


def html_frames(path: Path) -> int:
    """Frames embedded in a page: ours (a FRAMES array) or matplotlib's to_jshtml."""
    text = path.read_text()
    ours_match = re.search(r"var FRAMES = (\[.*?\]);", text, re.S)
    if ours_match:
        return len(json.loads(ours_match.group(1)))
    return len(re.findall(r"frames\[\d+\] = ", text))


def run(cases: list[tuple[int, int, int]], repeats: int) -> dict:
    rows, figures = [], {}
    logger = logging.getLogger("matplotlib.animation")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for layers, d_model, grid_rows in cases:
            stream = fake_stream(layers, d_model, grid_rows)
            key = f"{layers}x{d_model}"
            for fmt, seed_fn in (("html", seed_html), ("gif", seed_gif)):
                seed_path, our_path = tmp / f"seed.{fmt}", tmp / f"ours.{fmt}"
                counter = _DropCounter()
                logger.addHandler(counter)
                t_seed = median_time(partial(seed_fn, stream, seed_path), repeats=repeats)
                logger.removeHandler(counter)
                t_ours = median_time(partial(ours, stream, our_path), repeats=repeats)
                seed_fps, our_fps = layers / t_seed, layers / t_ours
                row = {
                    "case": key,
                    "format": fmt,
                    "frames": layers,
                    "seed fps": seed_fps,
                    "ours fps": our_fps,
                    "speed-up": our_fps / seed_fps,
                    "seed MB": seed_path.stat().st_size / 1e6,
                    "ours MB": our_path.stat().st_size / 1e6,
                }
                row["size ratio"] = row["ours MB"] / row["seed MB"]
                if fmt == "html":
                    row["seed frames kept"] = html_frames(seed_path)
                    row["ours frames kept"] = html_frames(our_path)
                    row["seed dropped"] = counter.dropped or row["seed frames kept"] < layers
                rows.append(row)
                figures[f"{key}_{fmt}_speedup"] = round(row["speed-up"], 3)
                figures[f"{key}_{fmt}_size_ratio"] = round(row["size ratio"], 3)
                if fmt == "html":
                    figures[f"{key}_html_seed_frames_kept"] = row["seed frames kept"]
                    figures[f"{key}_html_ours_frames_kept"] = row["ours frames kept"]
    print(
        table(
            rows,
            [
                "case",
                "format",
                "frames",
                "seed fps",
                "ours fps",
                "speed-up",
                "seed MB",
                "ours MB",
                "size ratio",
                "seed frames kept",
                "ours frames kept",
            ],
        )
    )
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="small cases, one repeat")
    args = parser.parse_args()
    if args.quick:
        cases, repeats = [(5, 768, 16), (6, 1024, 16)], 1
    else:
        cases, repeats = [(13, 768, 16), (80, 8192, 64)], args.repeats
    figures = run(cases, repeats)
    emit("export_speed", {"figsize": list(FIGSIZE), "dpi": DPI, **figures})


if __name__ == "__main__":
    main()
