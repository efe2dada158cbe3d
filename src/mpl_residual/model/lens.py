"""The logit lens: each layer through the model's own final norm and output embedding."""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Literal

import numpy as np
import torch
from torch import nn

from .._arrays import _describe, as_float_array, as_index
from ..errors import LensError
from ..labels import Predictions
from ..stream import ResidualStream
from .anatomy import Anatomy, text_config
from .text import token_text
from .weights import execution_device

__all__ = ["Lens", "check_k", "logit_lens"]


def check_k(k: Any, name: str) -> int:
    """*k* as a positive int, naming *name* in the error."""
    k = as_index(k, name, expected="a positive integer")
    if k < 1:
        raise ValueError(f"{name} must be at least 1 (the predictions kept per layer); got {k}")
    return k


def output_embedding(anatomy: Anatomy) -> nn.Module:
    """The model's output embedding, if it reads the residual stream directly; else LensError."""
    name = type(anatomy.module).__name__
    head = anatomy.head
    if head is None:
        raise LensError(
            f"{name} has no output embedding (get_output_embeddings() gives none): the "
            "logit lens needs a model with its LM head, e.g. "
            "AutoModelForCausalLM.from_pretrained(...) rather than AutoModel"
        )
    if not any(child is head for child in anatomy.module.children()):
        where = next((n for n, m in anatomy.module.named_modules() if m is head), "?")
        raise LensError(
            f"{name}'s output embedding ({where}) sits inside a larger head that "
            "transforms the hidden state first; the logit lens reads heads that "
            "are the output embedding alone, as causal LMs have"
        )
    return head


def where_computed(module: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """*x* where *module* computes, in its dtype."""
    weight = next(module.parameters(), None)
    if weight is None:
        return x
    return x.to(execution_device(module), weight.dtype)


class Lens:
    """The final norm and output embedding of a model, applied to residual vectors."""

    def __init__(self, anatomy: Anatomy):
        head = output_embedding(anatomy)
        self.head = head
        self.final_norm = anatomy.final_norm
        self.width = getattr(head, "in_features", None) or head.weight.shape[-1]
        config = text_config(anatomy.module)
        # What causal LMs do to the head's output, in this order: Cohere multiplies,
        # Granite divides, Gemma 2 caps.  All keep the order of the tokens.
        scale = getattr(anatomy.module, "logit_scale", None)
        self.scale = float(scale) if isinstance(scale, (int, float)) else 1.0
        divide = getattr(config, "logits_scaling", None)
        self.scale /= float(divide) if isinstance(divide, (int, float)) and divide else 1.0
        cap = getattr(config, "final_logit_softcapping", None)
        self.cap = float(cap) if isinstance(cap, (int, float)) and cap > 0 else None

    def normed(self, x: torch.Tensor) -> torch.Tensor:
        """*x* through the final norm (as is without one), in the model's dtype."""
        with torch.no_grad():
            if self.final_norm is None:
                return x
            return self.final_norm(where_computed(self.final_norm, x))

    def logits(self, x: torch.Tensor, *, capped: bool = True) -> torch.Tensor:
        """float32 logits of vectors already through the final norm (before soft-capping
        unless *capped*)."""
        with torch.no_grad():
            logits = self.head(where_computed(self.head, x)).float()
        if self.scale != 1.0:
            logits = logits * self.scale
        if capped and self.cap is not None:
            logits = torch.tanh(logits / self.cap) * self.cap
        return logits

    def check(self, raw: torch.Tensor, reported: torch.Tensor) -> None:
        """Whether the norm found is the one the model applied: raw -> reported."""
        mine = self.normed(raw[None]).float().cpu()[0]
        if not torch.allclose(mine, reported, rtol=1e-3, atol=1e-5 * float(reported.abs().max())):
            found = "no final norm" if self.final_norm is None else type(self.final_norm).__name__
            raise RuntimeError(
                f"the model's last hidden state is not its last block's output through "
                f"the final norm found ({found}), so a logit lens would not read what the "
                "model reads; capture the stream without lens="
            )

    def top(
        self, vectors: torch.Tensor, *, normed_last: bool, k: int, tokenizer: Any
    ) -> tuple[Predictions, ...]:
        """The top-*k* ``(token, probability)`` of each vector (layers, d_model)."""
        if vectors.shape[-1] != self.width:
            raise ValueError(
                f"the stream is {vectors.shape[-1]} wide but the model's output embedding "
                f"reads {self.width}: this stream is not from this model"
            )
        x = vectors[None]  # (batch, seq, d_model), as the model calls its own modules
        if normed_last:  # the last layer is through the final norm already
            before = where_computed(self.head, self.normed(x[:, :-1]))
            x = torch.cat([before, where_computed(self.head, x[:, -1:])], dim=1)
        else:
            x = self.normed(x)
        probabilities = torch.softmax(self.logits(x)[0], dim=-1).cpu()
        if k > probabilities.shape[-1]:
            raise LensError(
                f"k={k} is more than the {probabilities.shape[-1]} tokens of the vocabulary"
            )
        values, ids = torch.topk(probabilities, k, dim=-1)
        return tuple(
            tuple(
                (token_text(tokenizer, int(i)), float(v))
                for v, i in zip(row.tolist(), row_ids.tolist(), strict=True)
            )
            for row, row_ids in zip(values, ids, strict=True)
        )


def _normed_last(stream: Any, final: str | None) -> bool:
    if final is not None:
        if final not in ("normed", "raw"):
            raise ValueError(f"final must be 'normed', 'raw' or None; got {final!r}")
        return final == "normed"
    names = getattr(stream, "layer_names", ())
    if not names:
        raise ValueError(
            "cannot tell whether the last layer is already through the final norm: pass "
            "final='normed' (from_outputs, and capture's default) or final='raw'"
        )
    return names[-1].endswith("+ final norm")


def logit_lens(
    model: nn.Module,
    stream: ResidualStream | np.ndarray,
    *,
    k: int = 5,
    tokenizer: Any = None,
    final: Literal["normed", "raw"] | None = None,
) -> ResidualStream:
    """
    What each layer "thinks" the next token is: the logit lens.

    Each layer's vector goes through the model's own final norm and output embedding
    (found from the model's structure: ``get_output_embeddings()``, and the norm the
    module running the blocks keeps, such as GPT-2's ``ln_f`` or Llama's ``norm``),
    then a softmax over the vocabulary.  A last layer that is already through the
    final norm (index ``L`` of ``final="normed"``, whose name ends ``"+ final norm"``)
    is not normed again; a raw one is normed once.  So at index ``L`` the top token is
    the model's own next-token prediction.  Logit scaling and soft-capping that a
    causal LM applies after its head (Cohere, Granite, Gemma 2) are applied too.  The
    work runs on the model's device and in its dtype.

    Parameters
    ----------
    model : transformers model or nnsight LanguageModel
        A model with its LM head (``AutoModelForCausalLM``), the one that made *stream*.
    stream : ResidualStream or array
        One position, ``(layers, rows, cols)``, as `residual_stream` or `capture` make
        it (NaN padding past ``d_model`` is dropped).
    k : int, default: 5
        How many of the most likely tokens to keep per layer.
    tokenizer : optional
        Spells the predicted tokens; without one they read ``"#464"`` (the token id).
    final : {"normed", "raw"}, optional
        Whether the last layer is already through the final norm; by default read
        from the stream's last layer name, which `residual_stream` sets.  Needed for a
        bare array: ``"normed"`` for `from_outputs` and `capture`'s default.

    Returns
    -------
    ResidualStream
        *stream* with `~ResidualStream.predictions`: per layer, ``k`` pairs
        ``(token, probability)``, most likely first; its titles then read
        ``"block 7 · ' capital' → ' Paris' 31%"``.

    Raises
    ------
    ValueError
        A model without an output embedding (BERT's ``AutoModel``), a stream of every
        position or of another width, non-finite values.

    Examples
    --------
    >>> model, tokenizer = hf.load_model("gpt2")  # doctest: +SKIP
    >>> stream = hf.residual_stream(model, tokenizer, "The capital of France is")  # doctest: +SKIP
    >>> lensed = hf.logit_lens(model, stream, tokenizer=tokenizer)  # doctest: +SKIP
    >>> token, probability = lensed.predictions[-1][0]  # doctest: +SKIP
    """
    anatomy = Anatomy.of(model)
    k = check_k(k, "k")
    normed_last = _normed_last(stream, final)
    if not isinstance(stream, ResidualStream):
        stream = ResidualStream(as_float_array(stream, name="stream"))
    if stream.values.ndim != 3:
        raise ValueError(
            "the logit lens reads one position; this stream keeps every position "
            f"{_describe(stream.values)}: pick one with stream.at(...)"
        )
    flat = stream.values.reshape(len(stream), -1)[:, : stream.d_model or None]
    bad = [i for i, row in enumerate(flat) if not np.isfinite(row).all()]
    if bad:
        raise ValueError(
            f"layers {bad} hold NaN or inf; the logit lens needs finite vectors "
            "(NaN padding past d_model is dropped when the stream knows its d_model)"
        )
    vectors = torch.from_numpy(np.ascontiguousarray(flat, dtype=np.float32))
    predictions = Lens(anatomy).top(vectors, normed_last=normed_last, k=k, tokenizer=tokenizer)
    return replace(stream, predictions=predictions)
