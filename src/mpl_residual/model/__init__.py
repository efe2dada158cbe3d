"""
The model side: everything that runs a model, and the only place where torch (and,
through the models passed in, transformers) is imported.

Its public names are in `mpl_residual.hf` (Hugging Face models and outputs) and
`mpl_residual.tl` (TransformerLens caches); the modules here hold one job each:

- `anatomy`: a model taken apart once (its blocks, the module that runs them, the
  final norm, the output embedding), from its structure;
- `positions`: which tokens of a batch are real, and which one is asked for;
- `hooks`: one forward pass with hooks that keep only what is asked for;
- `capture`: the stream from outputs or from hooks (`from_outputs`, `capture`,
  `residual_stream`);
- `lens`: the logit lens;
- `corpus`: statistics of every dimension over a corpus;
- `writers` and `decompose`: the stream split into what each block wrote;
- `attribution`: each dimension's share of a logit;
- `cache`: TransformerLens caches;
- `loading`: a model and its tokenizer from a name or a folder.

Everything returned is numpy on the CPU, or a `ResidualStream`, `DimensionStats`,
`Decomposition` or `Attribution` holding numpy arrays.
"""

try:
    import torch  # noqa: F401
except ImportError as err:  # pragma: no cover - exercised in a subprocess
    raise ImportError(
        f"mpl_residual's model side needs torch and transformers, which are not installed "
        f"({err}); pip install 'mpl-residual[hf]'"
    ) from err
