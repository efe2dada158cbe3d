"""
Export speed and size: ``save_animation`` against the seed notebook's approach.

The seed draws with ``ax.pcolormesh(layer, edgecolors="k", cmap="viridis", vmin=-3,
vmax=3)`` on a black figure, animates with ``FuncAnimation`` + ``set_array`` and exports
with ``anim.to_jshtml()`` (HTML) or ``anim.save(path, writer="pillow")`` (GIF).
mpl-residual draws the same stream in a style preset (``--style``; ``default`` is
matplotlib's own rcParams) with ``save_animation(stream, path, fig=...)``: the HTML
page twice, with the hover read-out (``html``) and without (``html-noreadout``).  Both
sides use the same figure size and dpi.

Every figure is a ratio against the seed measured in the same run, interleaved: each
repeat runs the seed and then ours in every style (in an order that turns from repeat
to repeat), and a speed-up is the median over ``--repeats`` of the seed's time over
ours in the same repeat. The seed's HTML page is checked for frames dropped past
matplotlib's ``animation.embed_limit`` (20 MB by default).

    python bench/export_speed.py                      # blog_dark; 13 x 768 and 80 x 8192,
                                                      # and 80 x 8192 standard normal with
                                                      # the seed's own arguments
    python bench/export_speed.py --style default      # or blog_light, paper
    python bench/export_speed.py --style all          # every style, one table
    python bench/export_speed.py --quick              # smaller, for a smoke test
"""

from __future__ import annotations

import argparse
import itertools
import json
import logging
import re
import statistics
import tempfile
from functools import partial
from pathlib import Path

import matplotlib
import matplotlib as mpl

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from _common import emit, interleaved, paired_ratio, table  # noqa: E402
from matplotlib.animation import FuncAnimation  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

import mpl_residual as mr  # noqa: E402

FIGSIZE = (15, 5)  # the seed's figure
DPI = 100


#: The seed notebook's own drawing arguments, given to mpl-residual too in the
#: "normal" case (a standard-normal stream), as the issues measure it.
SEED_ARGS = {"cmap": "viridis", "edgecolor": "k", "vmin": -3, "vmax": 3}


def normal_stream(layers: int, d_model: int, rows: int, seed: int = 0) -> np.ndarray:
    """A standard-normal stream, the seed's own test data."""
    rng = np.random.default_rng(seed)
    return mr.to_grid(rng.standard_normal((layers, d_model)).astype(np.float32), rows)


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


STYLES = ("default", "blog_dark", "blog_light", "paper")


def ours(
    stream: np.ndarray, path: Path, style: str, readout: bool = True, seed_args: bool = False
) -> None:
    with mpl.rc_context() if style == "default" else mr.style_context(style):
        fig = Figure(figsize=FIGSIZE, dpi=DPI)
        kwargs = {"readout": readout} if path.suffix == ".html" else {}
        if seed_args:
            kwargs.update(SEED_ARGS)
        mr.save_animation(stream, path, fig=fig, fps=5, progress=False, dpi=DPI, **kwargs)


def html_frames(path: Path) -> int:
    """Frames embedded in a page: ours (the player's data) or matplotlib's to_jshtml."""
    text = path.read_text()
    ours_match = re.search(
        r'<script type="application/json" class="mr-data">(.*?)</script>', text, re.S
    )
    if ours_match:
        return json.loads(ours_match.group(1))["frames"]
    return len(re.findall(r"frames\[\d+\] = ", text))


#: (name, the seed's export, ours with the read-out)
FORMATS = (
    ("html", seed_html, True),
    ("html-noreadout", seed_html, False),
    ("gif", seed_gif, True),
)


def run(cases: list[tuple[int, int, int, str]], repeats: int, styles: tuple[str, ...]) -> dict:
    """
    For each case and format, the seed and ours in every style run interleaved
    (`interleaved`): each speed-up is the median over repeats of the seed's time over
    ours in the same repeat, seconds apart.
    """
    rows, figures = [], {}
    logger = logging.getLogger("matplotlib.animation")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for (layers, d_model, grid_rows, kind), (fmt, seed_fn, readout) in itertools.product(
            cases, FORMATS
        ):
            normal = kind == "normal"  # the seed's data, and its arguments on both sides
            stream = (normal_stream if normal else fake_stream)(layers, d_model, grid_rows)
            key = f"{layers}x{d_model}{' normal' if normal else ''}"
            suffix = fmt.split("-")[0]
            seed_path = tmp / f"seed.{suffix}"
            case_styles = ("default",) if normal else styles
            fns = {"seed": partial(seed_fn, stream, seed_path)}
            for style in case_styles:
                path = tmp / f"{style}.{suffix}"
                fns[style] = partial(ours, stream, path, style, readout, normal)
            counter = _DropCounter()
            logger.addHandler(counter)
            try:
                times = interleaved(fns, repeats=repeats)
            finally:
                logger.removeHandler(counter)
            seed_fps = layers / statistics.median(times["seed"])
            seed_mb = seed_path.stat().st_size / 1e6
            for style in case_styles:
                our_path = tmp / f"{style}.{suffix}"
                row = {
                    "case": key,
                    "style": style,
                    "format": fmt,
                    "frames": layers,
                    "seed fps": seed_fps,
                    "ours fps": layers / statistics.median(times[style]),
                    "speed-up": paired_ratio(times["seed"], times[style]),
                    "seed MB": seed_mb,
                    "ours MB": our_path.stat().st_size / 1e6,
                }
                row["size ratio"] = row["ours MB"] / seed_mb
                if suffix == "html":
                    row["seed frames kept"] = html_frames(seed_path)
                    row["ours frames kept"] = html_frames(our_path)
                    row["seed dropped"] = counter.dropped or row["seed frames kept"] < layers
                rows.append(row)
                name = f"{key.replace(' ', '_')}_{style}_{fmt}"
                figures[f"{name}_speedup"] = round(row["speed-up"], 3)
                figures[f"{name}_size_ratio"] = round(row["size ratio"], 3)
                if suffix == "html":
                    figures[f"{name}_seed_frames_kept"] = row["seed frames kept"]
                    figures[f"{name}_ours_frames_kept"] = row["ours frames kept"]
    print(
        table(
            rows,
            [
                "case",
                "style",
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
    parser.add_argument(
        "--style",
        choices=(*STYLES, "all"),
        default="blog_dark",
        help="the style mpl-residual draws in ('default': matplotlib's rcParams)",
    )
    args = parser.parse_args()
    if args.quick:
        cases, repeats = [(5, 768, 16, "drift"), (6, 1024, 16, "normal")], 1
    else:
        cases = [(13, 768, 16, "drift"), (80, 8192, 64, "drift"), (80, 8192, 64, "normal")]
        repeats = args.repeats
    styles = STYLES if args.style == "all" else (args.style,)
    figures = run(cases, repeats, styles)
    emit("export_speed", {"figsize": list(FIGSIZE), "dpi": DPI, **figures})


if __name__ == "__main__":
    main()
