"""
Massive activations
===================

A handful of dimensions of every large language model carry activations 100 to 1000
times the median (Sun et al., 2024, "Massive activations in large language models").
:func:`~mpl_residual.outlier_dims` finds them; :func:`~mpl_residual.mark_dims`
outlines cells on a grid (a fixed list, the ``top`` largest of the layer on show, or
every cell past ``factor`` times the layer's median) and follows the grid through its
layers, in a window, an animation or an export.
"""

import matplotlib.pyplot as plt
from _synthetic import gpt2_like

import mpl_residual as mr

stream = mr.to_grid(gpt2_like())
print("massive dimensions:", mr.outlier_dims(stream, factor=100))

fig, axs = plt.subplots(1, 2, figsize=(9, 3.2), layout="constrained")
for ax, layer in zip(axs, (1, 12), strict=True):
    artist = mr.residual_grid(stream, ax=ax, layer=layer, title=f"layer {layer}")
    marks = mr.mark_dims(artist, factor=100)
    print(f"layer {layer}: marked {marks.dims.tolist()}")

# %%
# The same rule on the real sample, through an animation: the marks follow the frames.

anim = mr.animate(mr.load_sample(), colorbar=True, interval=600)
marks = mr.mark_dims(anim.artist, top=3)
