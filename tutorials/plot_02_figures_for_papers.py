"""
Figures for papers
==================

Papers want vector output, a known width, readable small type, and colours that
survive grey-scale printing and colour-blindness. The ``paper`` style sets all of these;
this tutorial shows the choices that remain yours.

The paper style
---------------

``paper`` is serif at 8 pt, single-column wide (3.5 in), uses the diverging ``RdBu_r``
map (colour-blind safe, white at zero), saves at 300 dpi, and keeps fonts as TrueType in
PDF and as text in SVG so they stay selectable and editable.
"""

import io

import matplotlib.pyplot as plt

import mpl_residual as mr

stream = mr.load_sample()

with mr.style_context("paper"):
    fig, ax = plt.subplots(layout="constrained")  # 3.5 in: one column
    mr.residual_grid(stream, ax=ax, layer=-1, colorbar={"label": "activation"}, title=stream.title)
    ax.set(xlabel="column", ylabel="row")

# %%
# Sizes
# -----
#
# Give the figure the width of the place it goes: 3.5 in for one column, about 7 in
# across two. :func:`~mpl_residual.layer_sheet` picks how many panels per row fit that
# shape.

with mr.style_context("paper"):
    sheet = mr.layer_sheet(stream, figsize=(7, 2.4))

# %%
# Vector output
# -------------
#
# Every cell is a vector shape in PDF and SVG. That is ideal for 16 x 24 grids; for
# 64 x 128 grids of a large model, ``rasterized=True`` turns the cells into one image
# while the text and the colorbar stay vector.

import numpy as np  # noqa: E402

big = np.random.default_rng(0).standard_normal((2, 64, 128))
for rasterized in (False, True):
    with mr.style_context("paper"):
        f, a = plt.subplots(layout="constrained")
        mr.residual_grid(big, ax=a, rasterized=rasterized)
        buffer = io.BytesIO()
        f.savefig(buffer, format="pdf")
        plt.close(f)
    print(f"rasterized={rasterized}: {buffer.tell() / 1024:.0f} KB")

# %%
# Save with ``fig.savefig("figure.pdf")``. No style sets ``savefig.bbox: tight``
# (it would break animations); pass ``bbox_inches="tight"`` to ``savefig`` if you want
# it for a still.
