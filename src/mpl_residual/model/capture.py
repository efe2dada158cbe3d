"""
The residual stream at one position: from a model's outputs (`from_outputs`), from
hooks on its blocks (`capture`), or from text, labelled (`residual_stream`).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from typing import Any, Literal

import numpy as np
import torch
from torch import nn

from .._positions import resolve
from ..grid import to_grid
from ..labels import layer_names
from ..stream import ResidualStream
from .anatomy import Anatomy
from .hooks import check_final, run
from .lens import Lens, check_k
from .masks import Positions, left_padded, mask_tensor
from .text import label_tokens, one_text

__all__ = ["LeftPaddingWarning", "capture", "from_outputs", "on_device", "residual_stream"]

_EXAMPLE = "outputs = model(**inputs, output_hidden_states=True)"
_STACKS = ("decoder", "encoder", "vision", "text")


class LeftPaddingWarning(UserWarning):
    """Hidden states of a batch padded on the left, run without position ids."""


def fold(vectors: Sequence[torch.Tensor], rows: int | None, pad: bool) -> np.ndarray:
    """Vectors of one width, stacked and folded into grids (float32 numpy)."""
    widths = {v.shape[-1] for v in vectors}
    if len(widths) != 1:
        raise ValueError(
            f"the hidden states have different widths {sorted(widths)}; "
            "select the layers of one width before plotting"
        )
    return np.ascontiguousarray(to_grid(torch.stack(list(vectors)).float().numpy(), rows, pad=pad))


# -- from outputs -------------------------------------------------------------------------


def _hidden_states(outputs: Any, stack: str | None) -> Sequence[torch.Tensor]:
    if stack is not None and stack not in _STACKS:
        raise ValueError(
            f"stack must be one of {', '.join(map(repr, _STACKS))} or None; got {stack!r}"
        )
    if (
        isinstance(outputs, (tuple, list))
        and outputs
        and all(isinstance(h, torch.Tensor) for h in outputs)
    ):
        return outputs
    if not isinstance(outputs, Mapping):
        raise TypeError(
            "outputs must be a transformers ModelOutput, a dict, or the tuple of hidden "
            f"states; got {type(outputs).__name__}"
        )
    if stack in ("vision", "text"):
        outputs = outputs.get(f"{stack}_model_output") or {}
        key = "hidden_states"
    elif stack is None:
        key = next(
            (k for k in ("hidden_states", "decoder_hidden_states") if outputs.get(k) is not None),
            "hidden_states",
        )
    else:
        key = f"{stack}_hidden_states"
    hidden = outputs.get(key)
    if hidden is None:
        raise ValueError(
            f"the model outputs have no {key!r}; run the model with "
            f"output_hidden_states=True, e.g. {_EXAMPLE}"
        )
    return hidden


def from_outputs(
    outputs: Any,
    *,
    position: int | None = -1,
    batch_index: int = 0,
    attention_mask: Any = None,
    rows: int | None = None,
    pad: bool = False,
    stack: Literal["decoder", "encoder", "vision", "text"] | None = None,
) -> np.ndarray:
    """
    The residual stream at one position, from a model's hidden states.

    Parameters
    ----------
    outputs : ModelOutput, dict or tuple of tensors
        What the model returned with ``output_hidden_states=True``, or the tuple
        ``outputs.hidden_states`` itself.  Causal LMs, encoders (BERT), encoder-decoders
        and vision transformers (where positions are patches) are all accepted.
    position : int or None, default: -1
        Which token.  With *attention_mask*, positions count over the real tokens of
        the sequence only, so ``-1`` is its last real token whether the batch was padded
        on the right or on the left.  ``None`` keeps every (real) position.
    batch_index : int, default: 0
        Which sequence of the batch.
    attention_mask : tensor, array or BatchEncoding, optional
        The mask the model was run with (a tokenizer's BatchEncoding, or the dict of
        inputs, works as is).  A mask padded on the left, from inputs without
        ``position_ids``, gets a `LeftPaddingWarning`: models with absolute positions
        (GPT-2, BERT) then computed each shorter text at shifted positions, which
        `capture` avoids.
    rows : int, optional
        Grid rows for `to_grid` (default: most nearly square).
    pad : bool, default: False
        Pad to the grid with NaN if *rows* does not divide ``d_model``.
    stack : {"decoder", "encoder", "vision", "text"}, optional
        Which hidden states of a composite model: ``"decoder"`` (the default when an
        encoder-decoder's outputs have them) or ``"encoder"``; ``"vision"``/``"text"``
        for CLIP-style outputs.

    Returns
    -------
    numpy.ndarray
        float32 on the CPU, ``(layers, rows, cols)``, or ``(layers, tokens, rows, cols)``
        with ``position=None``.  `mpl_residual.hf` says what each layer index is.

    Examples
    --------
    >>> outputs = model(**inputs, output_hidden_states=True)  # doctest: +SKIP
    >>> stream = hf.from_outputs(outputs, attention_mask=inputs)  # doctest: +SKIP
    >>> ax.residual_grid(stream, layer=-1)  # doctest: +SKIP
    """
    hidden = _hidden_states(outputs, stack)
    mask = mask_tensor(attention_mask)
    given = isinstance(attention_mask, Mapping) and "position_ids" in attention_mask
    if left_padded(mask) and not given:
        warnings.warn(
            "the batch is padded on the left and the inputs hold no position_ids: a model "
            "with absolute positions (GPT-2, BERT) computed each shorter text at shifted "
            "positions. hf.capture(model, inputs) runs each at its own positions (or put "
            "position_ids in the inputs, run the model with them, and pass the inputs as "
            "attention_mask=)",
            LeftPaddingWarning,
            stacklevel=2,
        )
    positions = Positions(position, batch_index, mask)
    return fold([positions.take(h) for h in hidden], rows, pad)


# -- capture with hooks -------------------------------------------------------------------


def capture(
    model: nn.Module,
    inputs: Any,
    *,
    position: int | None = -1,
    batch_index: int = 0,
    rows: int | None = None,
    pad: bool = False,
    final: Literal["normed", "raw"] = "normed",
    blocks: Sequence[nn.Module] | None = None,
) -> np.ndarray:
    """
    The residual stream at one position, captured with forward hooks.

    The model runs once under `torch.no_grad`, without ``output_hidden_states``: a hook
    on each block keeps only the requested position as the hidden states go by, so
    memory is ``O(layers x d_model)`` rather than ``O(layers x seq x d_model)``.  Only
    the model's body runs (the LM head's logits are never computed).  Every hook is
    removed afterwards, also when the forward raises.  Works on models dispatched
    across devices with accelerate's ``device_map``.  A batch padded on the left is
    run with the position ids of its real tokens (where the model takes position ids
    and *inputs* has none), so that each sequence equals that text run alone.

    Parameters
    ----------
    model : transformers.PreTrainedModel, torch.nn.Module or nnsight LanguageModel
        Any causal LM, encoder or vision transformer with a list of blocks (an nnsight
        wrapper is unwrapped to the model inside it).
    inputs : dict, BatchEncoding or tensor
        Model inputs, as a tokenizer returns them, or a tensor of input ids.
    position, batch_index, rows, pad
        As in `from_outputs`; the attention mask is taken from *inputs*.
    final : {"normed", "raw"}, default: "normed"
        The last layer: ``"normed"`` is what the model reports as its last hidden
        state (after the final norm on most architectures), so that the result equals
        `from_outputs`; ``"raw"`` is the last block's output before the final norm,
        the true residual stream.
    blocks : ModuleList, optional
        The transformer blocks, if `find_blocks` cannot tell them (encoder-decoders:
        ``blocks=model.decoder.block``).

    Returns
    -------
    numpy.ndarray
        float32 on the CPU, ``(layers, rows, cols)`` (``(layers, tokens, rows, cols)``
        with ``position=None``).

    Examples
    --------
    >>> model = AutoModel.from_pretrained(path)  # doctest: +SKIP
    >>> inputs = tokenizer("Paris is the capital of", return_tensors="pt")  # doctest: +SKIP
    >>> ax.residual_grid(hf.capture(model, inputs), layer=-1)  # doctest: +SKIP
    """
    final = check_final(final)
    recorder = run(Anatomy.of(model, blocks), inputs, position=position, batch_index=batch_index)
    return fold(recorder.stack(final), rows, pad)


# -- the one-liner --------------------------------------------------------------------------


def on_device(model: nn.Module, inputs: Any) -> Any:
    """*inputs* on the model's device (accelerate moves them itself on a dispatched
    model)."""
    device = getattr(model, "device", None)
    if device is None or getattr(model, "hf_device_map", None) is not None:
        return inputs
    return inputs.to(device)


def tokenizer_of(model: Any, tokenizer: Any) -> Any:
    """*tokenizer*, or the one an nnsight wrapper carries."""
    if tokenizer is None:
        tokenizer = getattr(model, "tokenizer", None)
        if tokenizer is None:
            raise TypeError("tokenizer is None, and the model carries none; pass its tokenizer")
    return tokenizer


def residual_stream(
    model: nn.Module,
    tokenizer: Any,
    text: str | Sequence[str],
    *,
    position: int | str | None = -1,
    batch_index: int = 0,
    rows: int | None = None,
    pad: bool = False,
    final: Literal["normed", "raw"] = "normed",
    blocks: Sequence[nn.Module] | None = None,
    lens: int | None = None,
    max_length: int | None = None,
) -> ResidualStream:
    """
    Tokenize *text*, capture its residual stream, and label it.

    A batch is padded; the tokenizer gets a pad token if it has none (its
    end-of-sequence token, as is usual for GPT-2-style tokenizers).  The inputs go to
    the model's device (accelerate places them itself on a dispatched model), and the
    result carries the token strings and layer names, so that ``title=stream.title``
    gives titles like ``"block 5 · ' capital'"``.

    Parameters
    ----------
    model : transformers model or nnsight LanguageModel
        The model (an nnsight wrapper is unwrapped to the model inside it).
    tokenizer
        Its tokenizer (None: the wrapper's own, ``LanguageModel.tokenizer``).
    text : str or list of str
        One text, or a batch (padded; pick one with *batch_index*).
    position : int, str or None, default: -1
        Which token.  Positions count over the real tokens of the sequence (padding
        aside); a negative one counts back from the last token that is not a special
        token, so ``-1`` is the last word also where the tokenizer adds ``[SEP]`` or
        ``</s>`` (``0`` is still the first token, ``[CLS]`` where there is one).  A
        string names a token: the last whose text, ignoring case, spaces and
        tokenizer markers (``Ġ``, ``▁``, ``##``), equals it (``position="paris"``).
        None keeps every position.
    batch_index, rows, pad, final, blocks
        As in `capture`.
    lens : int, optional
        Also read the logit lens (`logit_lens`): the *lens* most likely next tokens of
        each layer, in `~ResidualStream.predictions` and the titles
        (``"block 7 · ' capital' → ' Paris' 31%"``).  Needs one position and a model
        with its LM head.
    max_length : int, optional
        Cut the text to this many tokens.  A text longer than the model reads (its
        position table) is a `~mpl_residual.errors.TooLong` error that says so.

    Returns
    -------
    ResidualStream
        Works wherever an array is expected; `~ResidualStream.special` records the
        special tokens, so that ``stream.at(-1)`` of every position counts alike.  The
        last layer is named ``"block L-1 + final norm"`` when the model's final norm
        was applied to it.

    Raises
    ------
    IndexError
        A position the text does not have.
    ValueError
        A token text that no token reads (the message lists the tokens).

    Examples
    --------
    >>> stream = hf.residual_stream(model, tokenizer, "Paris is the capital of")  # doctest: +SKIP
    >>> ax.residual_grid(stream, layer=-1, title=stream.title)  # doctest: +SKIP
    >>> hf.residual_stream(model, tokenizer, "Paris is nice", position="paris")  # doctest: +SKIP
    """
    tokenizer = tokenizer_of(model, tokenizer)
    final = check_final(final)
    anatomy = Anatomy.of(model, blocks)
    k = None if lens is None else check_k(lens, "lens")
    if k is not None and position is None:
        raise ValueError("lens= reads one position; position=None keeps every position")
    lens_reader = None if k is None else Lens(anatomy)  # no head: fail before the run
    inputs = one_text(tokenizer, text, model=anatomy.module, max_length=max_length)
    sequence = Positions(None, batch_index, mask_tensor(inputs.get("attention_mask")))
    sequence.bind(*inputs["input_ids"].shape)
    tokens, special = label_tokens(tokenizer, inputs["input_ids"][sequence.batch][sequence.real])
    index = None if position is None else resolve(position, tokens, special)
    recorder = run(
        anatomy, on_device(anatomy.module, inputs), position=index, batch_index=batch_index
    )
    stack = recorder.stack(final)
    normed_last = final == "normed" and anatomy.final_norm is not None
    predictions = ()
    if lens_reader is not None:
        if anatomy.final_norm is not None:
            lens_reader.check(recorder.raw, recorder.normed)
        predictions = lens_reader.top(
            torch.stack(stack), normed_last=normed_last, k=k, tokenizer=tokenizer
        )
    return ResidualStream(
        fold(stack, rows, pad),
        tokens=tokens,
        layer_names=layer_names(len(recorder.layers), final_norm=normed_last),
        position=index,
        model_name=anatomy.name,
        d_model=int(stack[-1].shape[-1]),
        special=special,
        predictions=predictions,
    )
