"""
How big is the stream at each layer?
====================================

:func:`~mpl_residual.layer_profile` draws one number per layer (``"rms"``,
``"norm"`` or ``"absmax"``), on a log axis when the values span decades, with the
layer names as ticks for a captured stream. Given ``follow=artist`` its marker sits at
the grid's layer and moves with every ``set_layer``; ``animate(..., profile="rms")``
puts the panel under the grid, and the exported GIF, MP4 or page shows the marker
moving.
"""

import matplotlib.pyplot as plt
from _synthetic import gpt2_like

import mpl_residual as mr

stream = mr.to_grid(gpt2_like())

fig, ax = plt.subplots(figsize=(6, 2.4), layout="constrained")
for stat in ("rms", "absmax"):
    profile = mr.layer_profile(stream, ax=ax, stat=stat)
    profile.line.set_label(stat)
ax.set_ylabel("size")
ax.legend()

# %%
# Under an animation, following it (the real sample's layer names label the ticks):

anim = mr.animate(mr.load_sample(), profile="rms", normalize="rms", colorbar=True)
