"""
The logit lens: what each layer predicts
========================================

The logit lens reads each layer's residual vector as if it were the last one: through
the model's own final norm and output embedding, then a softmax over the vocabulary.
``hf.residual_stream(..., lens=k)`` keeps the ``k`` most likely next tokens of every
layer in :attr:`~mpl_residual.ResidualStream.predictions`, and every title then shows
the first: ``block 3 · 'is' → 'paris' 91%``.

With GPT-2 it is::

    model, tokenizer = hf.load_model("gpt2")
    stream = hf.residual_stream(model, tokenizer, "The Eiffel Tower is in the city of", lens=5)

This gallery builds offline, so the causal LM here is the toy shipped in the package,
:func:`~mpl_residual.hf.sample_model`: a GPT-2 of 4 blocks, d_model 128, trained on a
few hundred generated sentences about cities and landmarks. It is a toy for examples,
not a real language model; the lens works the same on any causal LM with its head.
"""

import matplotlib.pyplot as plt

import mpl_residual as mr
from mpl_residual import hf

model, tokenizer = hf.sample_model()  # a toy, trained for these examples
stream = hf.residual_stream(model, tokenizer, "The Eiffel Tower is in the city of", lens=3)

for layer, top in enumerate(stream.predictions):
    print(f"{stream.layer_names[layer]:>22}:", ", ".join(f"{t!r} {p:.1%}" for t, p in top))

# %%
# The embeddings (layer 0) predict the token itself, as with the tied embeddings of
# GPT-2: the lens reads the input back. The answer appears after the first block and
# firms up layer by layer. The last layer, already through the final norm, is not normed
# again, so its top token is exactly what the model predicts.
#
# A sheet of every layer carries the predictions in its titles:

sheet = mr.layer_sheet(stream, cmap="RdBu_r")

# %%
# :func:`~mpl_residual.hf.logit_lens` reads the lens of a stream you already have. With
# ``k`` the whole vocabulary it gives every token's probability, so the final answer can
# be followed through the layers, whether or not it is among the first few:

everything = hf.logit_lens(model, stream, k=model.config.vocab_size, tokenizer=tokenizer)
answer = stream.predictions[-1][0][0]
chance = [dict(layer)[answer] for layer in everything.predictions]
fig, ax = plt.subplots(figsize=(5, 2.6), layout="constrained")
ax.plot(range(stream.n_layers), chance, marker="o", color="C1")
ax.set(xlabel="layer", ylabel=f"p({answer!r})", ylim=(0, 1.02))
ax.set_xticks(range(stream.n_layers))

# %%
# Frames of an animation are titled alike; ``mr.save_animation(anim, "lens.gif")``
# writes them.

anim = mr.animate(stream, colorbar=True, interval=600)
