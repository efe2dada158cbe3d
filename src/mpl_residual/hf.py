"""
The Hugging Face adapter: a transformers model, or its outputs, as a residual stream.

Its functions live in `mpl_residual.model`, the only part of mpl_residual that imports
torch (and, through the model you pass, transformers).  What they return is numpy on
the CPU: a float32 ``(layers, rows, cols)`` array (`from_outputs`, `capture`), or a
`ResidualStream`, `DimensionStats`, `Decomposition`, `Attribution` or `ComponentStats` holding such
arrays, ready for `mpl_residual.residual_grid` and the other views.

What each layer index means
---------------------------
With ``L`` blocks (``config.num_hidden_layers``) there are ``L + 1`` layers, exactly as
in transformers' ``outputs.hidden_states``.  Blocks are counted from 0, as the model's
own modules (``model.layers[i]``) and TransformerLens (``blocks.i``) count them, and a
layer is named for the block it comes after:

- index ``0``, ``"embeddings"``: the input of the first block (token embeddings, plus
  position embeddings or scaling where the architecture adds them);
- index ``k`` for ``1 <= k < L``, ``"block k-1"``: the output of block ``k - 1``, the
  input of block ``k``;
- index ``L``, ``"block L-1 + final norm"``: the output of the last block **after the
  model's final norm** (GPT-2's ``ln_f``, Llama's ``norm``, OPT's
  ``final_layer_norm``) on language models, because that is what transformers reports
  as the last hidden state (``"block 11 + final norm"`` for GPT-2 small).  The final
  norm is found from the model's structure: the norm that the module running the
  blocks keeps under one of transformers' names for it.  Encoders without a final
  norm (BERT) and vision transformers that report the raw output (ViT, CLIP's vision
  tower) give the last block's output as is.  ``capture(..., final="raw")`` always
  gives the last block's output *before* any final norm: the true residual stream.

`from_outputs` reads these from ``outputs.hidden_states``; `capture` records the same
tensors with hooks (the input of each block, the output of the last block, and the
output of the module that runs the blocks) and keeps only the position asked for.
"""

from __future__ import annotations

try:
    import torch  # noqa: F401
except ImportError as err:  # pragma: no cover - exercised in a subprocess
    raise ImportError(
        f"mpl_residual.hf needs torch and transformers, which are not installed ({err}); "
        "pip install 'mpl-residual[hf]'"
    ) from err

from .model.anatomy import find_blocks
from .model.attribution import logit_attribution
from .model.capture import LeftPaddingWarning, capture, from_outputs, residual_stream
from .model.components import component_stats
from .model.corpus import TruncationWarning, dimension_stats
from .model.decompose import decompose
from .model.lens import logit_lens
from .model.loading import load_model
from .model.toy import sample_model

__all__ = [
    "LeftPaddingWarning",
    "TruncationWarning",
    "capture",
    "component_stats",
    "decompose",
    "dimension_stats",
    "find_blocks",
    "from_outputs",
    "load_model",
    "logit_attribution",
    "logit_lens",
    "residual_stream",
    "sample_model",
]
