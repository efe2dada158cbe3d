"""
Every layer on its own scale
============================

A residual stream grows with depth: in GPT-2 small its norm grows by orders of
magnitude from the embeddings to the last block. On one colour scale over the raw
values, early layers are a flat colour and late ones saturate. :func:`~mpl_residual.normalize`
(and ``normalize=`` on every view) shows each layer on the scale the next block sees:
``"rms"`` divides by the layer's root mean square, ``"ln"`` is LayerNorm without its
weights. One colour scale still spans all layers; the colorbar says the unit.

(Normalizing does not tame massive activations: a dimension a thousand times the
median also dominates its layer's RMS. See :ref:`sphx_glr_auto_examples_plot_12_massive_dims.py`.)
"""

import matplotlib.pyplot as plt
from _synthetic import gpt2_like

import mpl_residual as mr

stream = mr.to_grid(gpt2_like(massive=False))  # 13 layers, 768 dims as 24 x 32

fig, axs = plt.subplots(2, 3, figsize=(9, 5), layout="constrained")
for row, how in zip(axs, (None, "rms"), strict=True):
    for ax, layer in zip(row, (1, 6, 12), strict=True):
        mr.residual_grid(
            stream, ax=ax, layer=layer, normalize=how, title=f"layer {layer}, {how or 'raw'}"
        )
fig.colorbar(axs[1, 2].collections[0], ax=axs[1, :], label="× RMS of the layer", shrink=0.8)
fig.colorbar(axs[0, 2].collections[0], ax=axs[0, :], label="raw", shrink=0.8)

# %%
# The same on the real all-MiniLM-L6-v2 sample, every layer in one sheet, as the next
# block's LayerNorm sees it:

sheet = mr.layer_sheet(mr.load_sample(), normalize="ln")
