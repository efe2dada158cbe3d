"""
Interactive latency: ``set_layer`` plus a blitted redraw, against a full redraw.

What a slider or a blitted animation costs per step under the Agg canvas: restore the
background, ``artist.set_layer(i)``, ``ax.draw_artist(artist)``, ``canvas.blit``.
Target: under 10 ms at 64 x 128 and 128 x 128 (d_model 8192 and 16384), reported beside a
full ``fig.canvas.draw()`` measured in the same run on the same figure.

    python bench/interactive_latency.py
"""

from __future__ import annotations

import argparse
import statistics
import time

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from _common import emit, table  # noqa: E402

import mpl_residual as mr  # noqa: E402


def measure(rows: int, cols: int, steps: int) -> dict:
    stream = np.random.default_rng(0).standard_normal((16, rows, cols)).astype(np.float32)
    fig, ax = plt.subplots()  # matplotlib's default 6.4 x 4.8 in, 100 dpi
    artist = mr.residual_grid(stream, ax=ax, colorbar=True)
    canvas = fig.canvas
    canvas.draw()
    artist.set_animated(True)
    canvas.draw()
    background = canvas.copy_from_bbox(ax.bbox)

    blitted = []
    for i in range(steps):
        start = time.perf_counter()
        canvas.restore_region(background)
        artist.set_layer(i % 16)
        ax.draw_artist(artist)
        canvas.blit(ax.bbox)
        blitted.append(time.perf_counter() - start)
    artist.set_animated(False)
    full = []
    for i in range(max(5, steps // 5)):
        start = time.perf_counter()
        artist.set_layer(i % 16)
        canvas.draw()
        full.append(time.perf_counter() - start)
    plt.close(fig)
    return {
        "grid": f"{rows}x{cols}",
        "set_layer + blit ms": 1000 * statistics.median(blitted),
        "full draw ms": 1000 * statistics.median(full),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--steps", type=int, default=100)
    args = parser.parse_args()
    rows = [measure(r, c, args.steps) for r, c in ((64, 128), (128, 128))]
    for row in rows:
        row["full / blit"] = row["full draw ms"] / row["set_layer + blit ms"]
        row["under 10 ms"] = row["set_layer + blit ms"] < 10
    print(
        table(rows, ["grid", "set_layer + blit ms", "full draw ms", "full / blit", "under 10 ms"])
    )
    emit(
        "interactive_latency",
        {
            f"{r['grid']}_{k}": round(r[v], 3)
            for r in rows
            for k, v in (
                ("blit_ms", "set_layer + blit ms"),
                ("full_ms", "full draw ms"),
                ("ratio", "full / blit"),
            )
        },
    )


if __name__ == "__main__":
    main()
