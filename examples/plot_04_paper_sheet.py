"""
A layer sheet for a paper
=========================

:func:`mpl_residual.layer_sheet` is the print version of the animation: every layer as
small multiples on one colour scale with one shared colorbar. In the ``paper`` style
(serif, small type, the colour-blind-safe diverging ``RdBu_r``, 300 dpi), sized for a
two-column figure (7 inches wide), it is ready for ``savefig("layers.pdf")``.
"""

import mpl_residual as mr

stream = mr.load_sample()
with mr.style_context("paper"):
    fig = mr.layer_sheet(stream, figsize=(7, 2.6), colorbar={"label": "activation"})
    fig.suptitle("all-MiniLM-L6-v2 at 'paris', embeddings to block 5")

# %%
# The cells are vector shapes in PDF and SVG. For very large grids, pass
# ``rasterized=True`` to keep the file small while the text stays vector.
