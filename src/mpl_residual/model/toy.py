"""`sample_model`: the toy causal LM shipped in the package, for offline examples."""

from __future__ import annotations

from importlib import resources
from typing import Any

from torch import nn

from ..sample import SAMPLE_MODEL

__all__ = ["sample_model"]

_BOS = "<|endoftext|>"


def sample_model() -> tuple[nn.Module, Any]:
    """
    A toy causal LM shipped inside the package, and its tokenizer: no network needed.

    **A toy, not a real language model**: a GPT-2-shaped ``GPT2LMHeadModel`` (4 blocks,
    ``d_model`` 128, 8 heads, 64 positions, 0.9 M parameters, 3.4 MB of safetensors)
    with its own byte-level BPE tokenizer of 664 tokens, trained by
    ``scripts/make_sample_model.py`` on 204 generated sentences about cities,
    countries and landmarks, and nothing else.  For ``"The Eiffel Tower is in the city
    of"`` its most likely next token is ``" Paris"``; the logit lens, the
    decomposition and the attribution of that prediction are worth looking at.  It is
    here so that every example and test of the model side runs offline; use a real
    model (`load_model`) for anything you want to learn about language models.

    Returns
    -------
    (model, tokenizer)
        The model in eval mode on the CPU, float32; ``model.config.name_or_path`` is
        ``"mpl-residual/toy-gpt2"``, the name files and titles give it.

    Examples
    --------
    >>> from mpl_residual import hf
    >>> model, tokenizer = hf.sample_model()
    >>> stream = hf.residual_stream(model, tokenizer, "The Eiffel Tower is in the city of",
    ...                             lens=1)
    >>> stream.predictions[-1][0][0]
    ' Paris'
    """
    from transformers import GPT2LMHeadModel, PreTrainedTokenizerFast

    from .loading import quiet_transformers

    quiet_transformers()
    with resources.as_file(resources.files("mpl_residual") / "data" / "sample_model") as folder:
        model = GPT2LMHeadModel.from_pretrained(folder, local_files_only=True)
        tokenizer = PreTrainedTokenizerFast(
            tokenizer_file=str(folder / "tokenizer.json"),
            bos_token=_BOS,
            eos_token=_BOS,
            pad_token=_BOS,
            model_max_length=model.config.n_positions,
        )
    model.config.name_or_path = SAMPLE_MODEL
    return model.eval(), tokenizer
