"""
Who wrote this cell: components, heads, and each dimension's share of a logit
=============================================================================

The residual stream is a sum: the embeddings, plus what every attention block and
every MLP adds to it. :func:`~mpl_residual.hf.decompose` splits the stream at one token
into those writes (``heads=True``: one per attention head), and
:func:`~mpl_residual.hf.logit_attribution` splits the logit of a token the same way,
per dimension and per component, through the final norm as the model scaled this
token. With GPT-2 it is::

    model, tokenizer = hf.load_model("gpt2")
    parts = hf.decompose(model, tokenizer, "The Eiffel Tower is in the city of", heads=True)
    attribution = hf.logit_attribution(model, tokenizer, "The Eiffel Tower is in the city of",
                                       " Paris", versus=" London")

This gallery builds offline, so the causal LM is the toy shipped in the package,
:func:`~mpl_residual.hf.sample_model`: a GPT-2 of 4 blocks, d_model 128, trained on
sentences about cities and landmarks, for examples, not a real language model.
"""

import matplotlib.pyplot as plt
import numpy as np

import mpl_residual as mr
from mpl_residual import hf

model, tokenizer = hf.sample_model()  # a toy, trained for these examples
text = "The Eiffel Tower is in the city of"

# %%
# Which components push the answer
# --------------------------------
# The logit of ``" Paris"`` against ``" London"``, split by dimension (left: the grid, on a
# diverging scale centred on 0) and by component (right). The shares add up to the
# model's own logit difference: ``attribution.total``.

attribution = hf.logit_attribution(model, tokenizer, text, " Paris", versus=" London",
                                   heads=True)
print(f"{attribution.heading} = {attribution.total:.3f}")

fig, (grid, bars) = plt.subplots(1, 2, figsize=(8, 3.2), layout="constrained")
mr.residual_grid(attribution, ax=grid, colorbar=True)
mr.contributions(attribution, ax=bars, top=8)

# %%
# Who wrote the cell that matters most
# ------------------------------------
# The dimension with the largest share, outlined on the decomposition's stream, and
# the components that wrote it: the picture "this head wrote that cell".

parts = attribution.decomposition
shares = np.nan_to_num(attribution.values.ravel())
dim = int(np.abs(shares).argmax())
print(f"dim {dim} carries {shares[dim]:+.3f} of the logit difference")

fig, (cells, writers) = plt.subplots(1, 2, figsize=(8, 3.2), layout="constrained")
artist = mr.residual_grid(parts.stream(), ax=cells, layer=-1, colorbar=True,
                          title=parts.stream().title)  # fmt: skip
mr.mark_dims(artist, dims=[dim])
mr.contributions(parts, [dim], ax=writers, top=8)

# %%
# A massive dimension, traced to the block that wrote it
# ------------------------------------------------------
# Large language models carry a few dimensions hundreds of times the median of their
# vector (see :ref:`massive`); Sun et al. trace them to one early MLP, and in GPT-2
# small ``mr.contributions(parts, [447])`` shows block 0's MLP writing 447 on the first
# token. This toy model has no massive dimension (its largest is a few times the
# median), but the question is asked the same way: the dimension that stands out most
# in the final stream, and who wrote it.

stream = parts.stream()
last = np.abs(stream.values[-1].ravel())
massive = int(last.argmax())
print(f"dim {massive} is {last[massive] / np.median(last):.0f}x the median |x| of its vector")
fig, ax = plt.subplots(figsize=(5, 3), layout="constrained")
mr.contributions(parts, [massive], ax=ax, top=6)

# %%
# Which head: the blocks x heads table
# ------------------------------------
# :func:`~mpl_residual.head_grid` draws each head's share of the logit difference as a
# blocks x heads heatmap, counted from 0 as the model and TransformerLens count them
# (block 1, head 2 is ``L1H2``), with what else each block wrote (its attention's
# output bias and its MLP) in the narrow columns beside it, on the same diverging scale.
# The embeddings' share is said under the grid. Hovering a cell in an interactive
# window names the component.

fig, ax = plt.subplots(figsize=(5, 3.2), layout="constrained")
mr.head_grid(attribution, ax=ax)

# %%
# Every component, each on its own scale
# --------------------------------------
# A decomposition draws wherever a stream does, one panel a component
# (``mr.animate(parts)`` plays them as frames). On one shared scale the MLPs, which
# write far more than any head, would clip while the heads stayed flat, so this sheet
# uses ``scale="each"``: each component on its own symmetric scale, its limit under its
# name. The sheet sizes itself so that every panel reads (at least 40 pixels a side).

sheet = mr.layer_sheet(parts, scale="each")
