"""
Which component writes the massive dimension
============================================

A decomposition (:func:`~mpl_residual.hf.decompose`) says who wrote a dimension at one
token. :func:`~mpl_residual.hf.component_stats` asks it of a whole corpus: for every
component (the embeddings, each attention head, each MLP) and every dimension, the mean
write, its typical size, its largest size and where that was, over every token, in
memory that does not grow with the corpus.

Here the toy GPT-2 shipped with mpl-residual (:func:`~mpl_residual.hf.sample_model`, a
4-block model trained on sentences about cities; a toy, not a real language model) over
a few hundred sentences this example writes. First the dimension to ask about: the one
that stands furthest above the rest of its vector at the end of the model, over the
whole corpus (:func:`~mpl_residual.hf.dimension_stats`'s ``max_ratio``, the rule for
"massive"; a toy this small has no dimension a hundred times the median, as large
models do, so we take its largest).
"""

import itertools

import matplotlib.pyplot as plt
import numpy as np

import mpl_residual as mr
from mpl_residual import hf

model, tokenizer = hf.sample_model()

cities = ["Paris", "Rome", "Berlin", "Madrid", "London", "Vienna", "Lisbon", "Athens",
          "Tokyo", "Cairo"]  # fmt: skip
people = ["My sister", "The old man", "A student", "Our teacher", "The tourists", "We"]
verbs = ["travelled to", "lived in", "wrote about", "dreamt of", "walked through", "left"]
texts = [f"{who} {verb} {city}." for who, verb, city in itertools.product(people, verbs, cities)]
print(f"{len(texts)} sentences")

layers = hf.dimension_stats(model, tokenizer, texts, final="raw", progress=False)
last = layers.moments.max_ratio[-1]  # the stream after the last block, before its norm
dim = int(np.argmax(last))
print(f"dim {dim}: up to {last[dim]:.0f} x the median |x| of its vector")

# %%
# Who writes it: every component's mean write to that dimension over all the tokens,
# heads split. The outline behind each bar is the mean ``|write|``: a component whose
# writes change sign from token to token has a long outline and a short bar.
stats = hf.component_stats(model, tokenizer, texts, heads=True, progress=False)
print(f"{len(stats)} components x {stats.d_model} dims over {stats.n_tokens} tokens")

fig, (bars, heads) = plt.subplots(1, 2, figsize=(10, 3.8), layout="constrained",
                                  width_ratios=[1, 1.2])  # fmt: skip
mr.contributions(stats, dim, ax=bars, top=8)
mr.head_grid(stats, dim, ax=heads)
plt.show()

# %%
# The same question with another field: how large each head's write to the dimension
# ever got, drawn from 0, and where the largest write of all came from.
fig, ax = plt.subplots(figsize=(5, 3.2), layout="constrained")
mr.head_grid(stats, dim, ax=ax, field="absmax")
plt.show()

writer = stats.names[int(np.argmax(stats.writes([dim], field="absmax")[:, 0]))]
text, position, token = stats.where(writer, dim)
print(f"the largest write to dim {dim}: {writer}, at {token!r} (position {position}) of")
print(f"  {texts[text]!r}")

# %%
# And each component's share of the dimension's magnitude (its mean square over the
# corpus): the shares of all components add up to 1, so this says who *makes* the
# dimension what it is at the end of the model, not only who touches it.
share = stats.writes([dim], field="share")[:, 0]
order = np.argsort(-np.abs(share))[:5]
for i in order:
    print(f"{stats.names[i]:>16}  {share[i]:+.2f}")
print(f"{'all':>16}  {np.nansum(share):+.2f}")
