"""
The TransformerLens adapter: an activation cache as a residual stream.

`from_cache` reads the residual stream out of the cache of
``model.run_with_cache(...)``, from a ``HookedTransformer`` (TransformerLens 3.x) or a
``TransformerBridge`` (its 4.x successor, also in 3.x), and gives the layers that
`mpl_residual.hf.capture` gives with ``final="raw"``, under the same names:

==================  ==================================  ================================
mpl-residual        TransformerLens hook                what it is
==================  ==================================  ================================
0 "embeddings"      ``blocks.0.hook_resid_pre``         input of the first block
i "block i"         ``blocks.{i}.hook_resid_pre``       output of block i (1 <= i < L)
L "block L"         ``blocks.{L-1}.hook_resid_post``    output of the last block
==================  ==================================  ================================

"block i" counts blocks from 1, where TransformerLens's ``blocks.{i-1}`` counts from 0.
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
