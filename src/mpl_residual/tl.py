"""
The TransformerLens adapter: an activation cache as a residual stream.

`from_cache` reads the residual stream out of the cache of
``model.run_with_cache(...)``, from a ``HookedTransformer`` (TransformerLens 3.x) or a
``TransformerBridge`` (its 4.x successor, also in 3.x), and gives the layers that
`mpl_residual.hf.capture` gives with ``final="raw"``, under the same names:

=====================  ==================================  ==============================
mpl-residual           TransformerLens hook                what it is
=====================  ==================================  ==============================
0 "embeddings"         ``blocks.0.hook_resid_pre``         input of the first block
k "block k-1"          ``blocks.{k}.hook_resid_pre``       output of block k-1 (1 <= k < L)
L "block L-1"          ``blocks.{L-1}.hook_resid_post``    output of the last block
=====================  ==================================  ==============================

Blocks are counted from 0 on both sides: "block i" is the stream after TransformerLens's
``blocks.{i}`` (``blocks.{i}.hook_resid_post``), and "block i head h" is its ``LiHh``.
TransformerLens itself imports nothing here: the cache is read by its hook names.
"""

from __future__ import annotations

try:
    import torch  # noqa: F401
except ImportError as err:  # pragma: no cover - exercised in a subprocess
    raise ImportError(
        f"mpl_residual.tl needs torch, which is not installed ({err}); "
        "pip install 'mpl-residual[hf]' transformer-lens"
    ) from err

from .model.cache import decompose, from_cache, hook_names

__all__ = ["decompose", "from_cache", "hook_names"]
