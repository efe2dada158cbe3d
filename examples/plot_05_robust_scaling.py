"""
Robust colour limits vs. the full range
=======================================

Residual streams are heavy-tailed: in GPT-2 small a handful of dimensions reach the
hundreds while the median ``|x|`` is about 0.24. With limits from the minimum and the
maximum, those few cells take the ends of the colormap and every other cell collapses
onto the centre colour. mpl-residual's default limits are ``(-m, m)`` with ``m`` the 98th
percentile of ``|x|`` over the whole stream: the clipped 2% are drawn in colours just
past the ends of the map, and the colorbar's arrows say so.

The vector below is GPT-2 small's final hidden state for *"Paris is the capital of"*, as
printed in the notebook this project grew from (dimension 496 is 187.08).
"""

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

here = Path(__file__).parent if "__file__" in globals() else Path.cwd()
gpt2 = np.loadtxt(here / "data" / "gpt2_paris_layer12.txt")
print(f"max |x| = {np.abs(gpt2).max():.1f}, median |x| = {np.median(np.abs(gpt2)):.2f}")

fig, (robust, full) = plt.subplots(
    2, 1, figsize=(7, 5.5), layout="constrained", subplot_kw={"projection": "residual"}
)
robust.residual_grid(
    gpt2, rows=16, cmap="RdBu_r", colorbar=True, title="robust (default): 98th percentile of |x|"
)
full.residual_grid(
    gpt2, rows=16, cmap="RdBu_r", robust=False, colorbar=True, title="robust=False: the full range"
)
