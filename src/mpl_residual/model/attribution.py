"""Each dimension's share of a logit, through the final norm as it scaled this token."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn

from .._positions import resolve
from ..decomposition import Attribution, decomposition_of
from ..errors import NotDecomposable, NotOneToken
from ..grid import to_grid
from .anatomy import Anatomy
from .capture import tokenizer_of
from .decompose import decomposed
from .lens import Lens, where_computed
from .text import label_tokens, one_text
from .weights import loaded

__all__ = ["logit_attribution"]


def token_id(tokenizer: Any, token: str | int, name: str, vocabulary: int) -> tuple[int, str]:
    """*token* (a text that is exactly one token, or an id) as ``(id, text)``."""
    if isinstance(token, (int, np.integer)) and not isinstance(token, bool):
        if not 0 <= int(token) < vocabulary:
            raise ValueError(f"{name}={token} is not a token id of a vocabulary of {vocabulary}")
        return int(token), tokenizer.decode([int(token)])
    if not isinstance(token, str):
        raise TypeError(f"{name} must be a token's text or id; got {type(token).__name__}")
    ids = tokenizer(token, add_special_tokens=False)["input_ids"]
    if len(ids) != 1:
        pieces = [tokenizer.decode([i]) for i in ids]
        raise NotOneToken(
            f"{name}={token!r} is {len(ids)} tokens, not one: "
            + (" + ".join(map(repr, pieces)) if pieces else "none")
            + " (a leading space is often part of a word's token: ' Paris')",
            text=token,
            pieces=pieces,
        )
    unknown = getattr(tokenizer, "unk_token_id", None)
    if unknown is not None and ids[0] == unknown and token != tokenizer.unk_token:
        raise NotOneToken(
            f"{name}={token!r} is not in the vocabulary: it tokenizes to the unknown token "
            f"{tokenizer.unk_token!r}, whose logit says nothing of {token!r}",
            text=token,
            pieces=[tokenizer.unk_token],
        )
    return int(ids[0]), token


def _cpu64(tensor: torch.Tensor) -> torch.Tensor:
    return tensor.detach().to("cpu", torch.float64)


def _head_rows(head: nn.Module, ids: list[int]) -> tuple[torch.Tensor, torch.Tensor | None]:
    """The rows of the output embedding's weight (and bias) for *ids*, float64 on the
    CPU: only those rows leave the head's device."""
    with loaded(head):
        index = torch.tensor(ids, device=head.weight.device)
        bias = getattr(head, "bias", None)
        return _cpu64(head.weight[index]), None if bias is None else _cpu64(bias[index])


def _forms(norm: nn.Module, x: torch.Tensor) -> list[tuple[str, torch.Tensor, torch.Tensor]]:
    """
    The affine forms a final norm may take at *x* (float64): ``(kind, gain, shift)`` with
    ``norm(x) = (x - centre) * gain + shift``, gain including the scale of *x* itself.
    """
    weight = getattr(norm, "weight", None)
    bias = getattr(norm, "bias", None)
    eps = next(
        (float(v) for k in ("eps", "variance_epsilon", "epsilon")
         if isinstance(v := getattr(norm, k, None), (int, float))),
        1e-5,
    )  # fmt: skip
    with loaded(norm):  # offloaded weights: brought by accelerate for this norm alone
        w = torch.ones_like(x) if weight is None else _cpu64(norm.weight)
        b = torch.zeros_like(x) if bias is None else _cpu64(norm.bias)
    centred = x - x.mean()
    layer = torch.sqrt(centred.square().mean() + eps)
    rms = torch.sqrt(x.square().mean() + eps)
    return [
        ("layer", w / layer, b),  # LayerNorm: (x - mean) / std * w + b
        ("rms", w / rms, torch.zeros_like(x)),  # Llama's RMSNorm: x / rms * w
        ("rms", (1 + w) / rms, torch.zeros_like(x)),  # Gemma's: x / rms * (1 + w)
    ]


def linear_norm(lens: Lens, x: torch.Tensor) -> tuple[bool, torch.Tensor, torch.Tensor]:
    """
    The final norm at *x* as an affine map: ``(centres, gain, shift)`` such that its
    output is ``(x - mean(x) if centres else x) * gain + shift``, the scale (and mean)
    taken from *x* itself: exact here, a linearisation elsewhere.
    """
    if lens.final_norm is None:
        return False, torch.ones_like(x), torch.zeros_like(x)
    actual = lens.normed(where_computed(lens.final_norm, x[None].float())).double().cpu()[0]
    scale = float(actual.abs().max()) or 1.0
    tolerance = 1e-4 if next(lens.final_norm.parameters()).dtype == torch.float32 else 3e-2
    for kind, gain, shift in _forms(lens.final_norm, x):
        centre = x.mean() if kind == "layer" else 0.0
        if float(((x - centre) * gain + shift - actual).abs().max()) <= tolerance * scale:
            return kind == "layer", gain, shift
    raise NotDecomposable(
        f"the final norm {type(lens.final_norm).__name__} is neither a LayerNorm nor an "
        "RMSNorm of the usual forms, so its share of each dimension is unknown"
    )


def logit_attribution(
    model: nn.Module,
    tokenizer: Any,
    text: str,
    target: str | int,
    *,
    position: int | str = -1,
    versus: str | int | None = None,
    heads: bool = False,
) -> Attribution:
    """
    Each dimension's share of the logit of *target* (minus that of *versus*) at one
    position: which cells of the stream push the prediction, and which components
    wrote them.

    The final norm is taken as the model applied it to this token: its scale (the
    RMS, or for LayerNorm the standard deviation, and the mean it subtracts) comes
    from the actual stream, so the logit is exactly a sum over dimensions,
    ``values.sum() + constant == total``, the model's logit (difference) before any
    soft-capping.  ``.components`` splits the same logit by what wrote the stream
    (`decompose`): each component's write through the same norm, summing with
    ``.constant`` to the same total.  Where the model soft-caps its logits (Gemma 2),
    ``.capped`` is the capped logit (difference) it reports, and the heading says the
    total is before soft-capping.  Both are exact at this position; read as "what
    would change if a dimension changed", they are a linearisation (the norm's scale
    held fixed).

    Parameters
    ----------
    model : transformers model or nnsight LanguageModel
        A pre-norm causal LM with its LM head (``AutoModelForCausalLM``).
    tokenizer
        Its tokenizer (None: the wrapper's own).
    text : str
        The prompt.
    target, versus : str or int
        A token's text, which must be exactly one token (``" Paris"``), or its id; with
        *versus*, the logit difference ``target - versus``.
    position : int or str, default: -1
        Which token's prediction, as in `residual_stream`.
    heads : bool, default: False
        Split the components by head (see `decompose`).

    Returns
    -------
    Attribution
        ``.values`` ``(rows, cols)``, ``.constant``, ``.total``, ``.components``;
        `residual_grid` draws it on a diverging scale centred on 0.

    Raises
    ------
    NotOneToken
        (a ValueError) A *target* or *versus* text that is not one token; the message
        shows how it tokenizes.
    LensError, NotDecomposable
        A model without an LM head that reads the stream, or a post-norm model.

    Examples
    --------
    >>> attribution = hf.logit_attribution(model, tokenizer, "The capital of France is",
    ...                                    " Paris", versus=" London")  # doctest: +SKIP
    >>> attribution.total  # the logit difference  # doctest: +SKIP
    >>> mr.residual_grid(attribution, colorbar=True)  # doctest: +SKIP
    """
    tokenizer = tokenizer_of(model, tokenizer)
    if not isinstance(text, str):
        raise TypeError(f"text must be one str; got {type(text).__name__}")
    anatomy = Anatomy.of(model)
    lens = Lens(anatomy)
    head = lens.head
    vocabulary = int(head.weight.shape[0])
    target_id, target_text = token_id(tokenizer, target, "target", vocabulary)
    versus_id, versus_text = (None, None)
    if versus is not None:
        versus_id, versus_text = token_id(tokenizer, versus, "versus", vocabulary)
    inputs = one_text(tokenizer, text, model=anatomy.module)
    tokens, special = label_tokens(tokenizer, inputs["input_ids"][0])
    index = resolve(position, tokens, special)
    names, vectors, recorder = decomposed(anatomy, inputs, index, heads=heads)
    x = recorder.raw.double()
    centres, gain, shift = linear_norm(lens, x)
    ids = [target_id] if versus_id is None else [target_id, versus_id]
    weight, bias = _head_rows(head, ids)
    direction = weight[0] - (0 if versus_id is None else weight[1])
    offset = 0.0
    if bias is not None:
        offset = float(bias[0] - (0 if versus_id is None else bias[1]))
    direction, offset = direction * lens.scale, offset * lens.scale
    through = gain * direction  # each dimension's weight on the logit, this token's scale

    def share(vector: torch.Tensor) -> torch.Tensor:
        return ((vector - vector.mean()) if centres else vector) * through

    values = share(x)
    constant = float(shift @ direction) + offset
    capped = None
    if lens.cap is not None:  # the model reports its logits soft-capped: say so beside
        normed = ((x - x.mean()) if centres else x) * gain + shift
        logits = (weight @ normed + (0 if bias is None else bias)) * lens.scale
        logits = torch.tanh(logits / lens.cap) * lens.cap
        capped = float(logits[0] - (0 if versus_id is None else logits[1]))
    components = {name: float(share(v).sum()) for name, v in zip(names, vectors, strict=True)}
    parts = decomposition_of(
        torch.stack(vectors).numpy(),
        names,
        tokens=tokens,
        position=index,
        model_name=anatomy.name,
        special=special,
    )
    return Attribution(
        to_grid(values.float().numpy()),
        constant=constant,
        components=components,
        target=target_text,
        target_id=target_id,
        versus=versus_text,
        versus_id=versus_id,
        tokens=tokens,
        position=index,
        model_name=anatomy.name,
        d_model=int(x.shape[-1]),
        decomposition=parts,
        capped=capped,
    )
