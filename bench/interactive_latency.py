"""
Interactive latency: ``set_layer`` plus a blitted redraw, against a full redraw.

What a slider or a blitted animation costs per step under the Agg canvas: restore the
background, ``artist.set_layer(i)``, draw the grid and what follows it, ``canvas.blit``.
Two figures: the grid alone, and the grid with a `layer_profile` panel whose marker
follows it and `mark_dims(top=5)` outlines (the followers redraw too).  Targets (round
four): at most 0.5 ms at 64 x 128 for the grid alone (10 ms at 128 x 128), at most 3 ms
at 64 x 128 with the profile and the marks; each reported beside a full
``fig.canvas.draw()`` measured in the same run on the same figure.

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


def measure(rows: int, cols: int, steps: int, *, followed: bool = False) -> dict:
    stream = np.random.default_rng(0).standard_normal((16, rows, cols)).astype(np.float32)
    stream *= np.geomspace(0.1, 10, 16)[:, None, None]
    fig, ax = plt.subplots()  # matplotlib's default 6.4 x 4.8 in, 100 dpi
    artist = mr.residual_grid(stream, ax=ax, colorbar=True)
    if followed:
        profile_ax = ax.inset_axes([0.0, -0.45, 1.0, 0.3])
        mr.layer_profile(stream, ax=profile_ax, follow=artist)
        mr.mark_dims(artist, top=5)
    moving = [artist, *artist.followers]
    canvas = fig.canvas
    canvas.draw()
    for a in moving:
        a.set_animated(True)
    canvas.draw()
    background = canvas.copy_from_bbox(fig.bbox)

    blitted = []
    for i in range(steps):
        start = time.perf_counter()
        canvas.restore_region(background)
        artist.set_layer(i % 16)  # the followers move with it
        for a in moving:
            fig.draw_artist(a)
        canvas.blit(fig.bbox)
        blitted.append(time.perf_counter() - start)
    for a in moving:
        a.set_animated(False)
    full = []
    for i in range(max(5, steps // 5)):
        start = time.perf_counter()
        artist.set_layer(i % 16)
        canvas.draw()
        full.append(time.perf_counter() - start)
    plt.close(fig)
    return {
        "grid": f"{rows}x{cols}" + (" + profile, marks" if followed else ""),
        "set_layer + blit ms": 1000 * statistics.median(blitted),
        "full draw ms": 1000 * statistics.median(full),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--steps", type=int, default=300)
    args = parser.parse_args()
    rows = [measure(r, c, args.steps) for r, c in ((64, 128), (128, 128))]
    rows.append(measure(64, 128, args.steps, followed=True))
    for row in rows:
        row["full / blit"] = row["full draw ms"] / row["set_layer + blit ms"]
        row["target ms"] = {"64x128": 0.5, "128x128": 10}.get(row["grid"], 3)
        row["met"] = row["set_layer + blit ms"] <= row["target ms"]
    print(
        table(
            rows,
            ["grid", "set_layer + blit ms", "full draw ms", "full / blit", "target ms", "met"],
        )
    )
    emit(
        "interactive_latency",
        {
            f"{r['grid'].replace(' + profile, marks', '_followed')}_{k}": round(r[v], 3)
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
