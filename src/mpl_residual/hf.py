"""
The Hugging Face adapter: a transformers model, or its outputs, as a residual stream.

This is the only module of mpl_residual that imports torch (and, through the model you
pass, transformers).  Everything it returns is a plain float32 numpy array on the CPU,
``(layers, rows, cols)``, ready for `mpl_residual.residual_grid`.

What each layer index means
---------------------------
With ``L`` blocks (``config.num_hidden_layers``) there are ``L + 1`` layers, exactly as
in transformers' ``outputs.hidden_states``:

- index ``0``: the **embeddings**, i.e. the input of the first block (token embeddings,
  plus position embeddings or scaling where the architecture adds them);
- index ``i`` for ``1 <= i < L``: the **output of block i**, the input of block ``i + 1``;
- index ``L``: the output of the last block **after the model's final norm** (GPT-2's
  ``ln_f``, Llama's ``norm``, OPT's ``final_layer_norm``) on language models, because
  that is what transformers reports as the last hidden state.  Encoders without a
  final norm (BERT) and vision transformers that report the raw output (ViT, CLIP's
  vision tower) give the last block's output as is.  ``capture(..., final="raw")``
  always gives the last block's output *before* any final norm: the true residual
  stream.

`from_outputs` reads these from ``outputs.hidden_states``; `capture` records the same
tensors with hooks (the input of each block, the output of the last block, and the
output of the module that runs the blocks) and keeps only the position asked for.
"""

from __future__ import annotations

import inspect
import os
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from typing import Any, Literal

import numpy as np

try:
    import torch
    from torch import nn
except ImportError as err:  # pragma: no cover - exercised in a subprocess
    raise ImportError(
        f"mpl_residual.hf needs torch and transformers, which are not installed ({err}); "
        "pip install 'mpl-residual[hf]'"
    ) from err

from ._arrays import _describe, as_float_array, as_index, check_index
from ._positions import resolve
from ._tokens import label_tokens, special_ids
from .grid import to_grid
from .stats import DimensionStats, Moments
from .stream import Predictions, ResidualStream, layer_names

__all__ = [
    "capture",
    "dimension_stats",
    "find_blocks",
    "from_outputs",
    "load_model",
    "logit_lens",
    "residual_stream",
]

_EXAMPLE = "outputs = model(**inputs, output_hidden_states=True)"
_STACKS = ("decoder", "encoder", "vision", "text")


# -- positions ----------------------------------------------------------------------------


def _mask_tensor(attention_mask: Any) -> torch.Tensor | None:
    if attention_mask is None:
        return None
    if isinstance(attention_mask, Mapping):  # a BatchEncoding or a dict of inputs
        if "attention_mask" not in attention_mask:
            raise ValueError(
                "attention_mask was given a mapping without an 'attention_mask' entry; "
                f"keys: {sorted(attention_mask)}"
            )
        attention_mask = attention_mask["attention_mask"]
    mask = torch.as_tensor(attention_mask)
    if mask.ndim == 1:
        mask = mask[None]
    if mask.ndim != 2:
        raise ValueError(f"attention_mask must have shape (batch, seq); got {tuple(mask.shape)}")
    return mask.detach().cpu()


class _Positions:
    """Resolves ``batch_index`` and ``position`` against a (batch, seq) shape and mask."""

    def __init__(self, position: int | None, batch_index: int, mask: torch.Tensor | None):
        self.position = None if position is None else as_index(position, "position")
        self.batch_index = as_index(batch_index, "batch_index")
        self.mask = mask
        self.batch: int | None = None
        self.real: torch.Tensor | None = None  # absolute indices of the real tokens
        self.rows: torch.Tensor | None = None  # absolute indices kept along the sequence

    def resolve(self, batch: int, seq: int) -> None:
        self.batch = check_index(self.batch_index, batch, "batch_index", of=f"a batch of {batch}")
        if self.mask is not None:
            if tuple(self.mask.shape) != (batch, seq):
                raise ValueError(
                    f"attention_mask has shape {tuple(self.mask.shape)} but the sequences "
                    f"are (batch, seq) = ({batch}, {seq})"
                )
            self.real = torch.nonzero(self.mask[self.batch]).flatten()
        else:
            self.real = torch.arange(seq)
        if self.position is None:
            self.rows = self.real
            return
        n = len(self.real)
        where = (
            f"sequence {self.batch} with {n} real tokens (length {seq} after padding)"
            if self.mask is not None
            else f"a sequence of {seq} positions"
        )
        self.rows = self.real[check_index(self.position, n, "position", of=where)]

    @property
    def index(self) -> int | None:
        """The kept position as an index into the real tokens (None: all kept)."""
        return None if self.position is None else self.position % len(self.real)

    def take(self, hidden: torch.Tensor) -> torch.Tensor:
        """The kept vector(s) of one hidden-state tensor, float32 on the CPU."""
        if hidden.ndim != 3:
            raise ValueError(
                f"expected hidden states of shape (batch, seq, d_model); got {tuple(hidden.shape)}"
            )
        if self.rows is None:
            self.resolve(hidden.shape[0], hidden.shape[1])
        rows = self.rows.to(hidden.device) if self.rows.ndim else self.rows
        return hidden[self.batch, rows].detach().to("cpu", torch.float32, copy=True)


def _fold(vectors: Sequence[torch.Tensor], rows: int | None, pad: bool) -> np.ndarray:
    widths = {v.shape[-1] for v in vectors}
    if len(widths) != 1:
        raise ValueError(
            f"the hidden states have different widths {sorted(widths)}; "
            "select the layers of one width before plotting"
        )
    return np.ascontiguousarray(to_grid(torch.stack(list(vectors)).numpy(), rows, pad=pad))


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
        The mask the model was run with (a tokenizer's BatchEncoding works as is).
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
        with ``position=None``.  See the module docstring for what each layer index is.

    Examples
    --------
    >>> outputs = model(**inputs, output_hidden_states=True)  # doctest: +SKIP
    >>> stream = hf.from_outputs(outputs, attention_mask=inputs)  # doctest: +SKIP
    >>> ax.residual_grid(stream, layer=-1)  # doctest: +SKIP
    """
    hidden = _hidden_states(outputs, stack)
    positions = _Positions(position, batch_index, _mask_tensor(attention_mask))
    return _fold([positions.take(h) for h in hidden], rows, pad)


# -- capture with hooks -------------------------------------------------------------------


def _inner(thing: Any) -> Any:
    """The torch module inside an nnsight envoy (``lm.transformer.h``); else *thing*."""
    inner = getattr(thing, "_module", None)
    return inner if isinstance(inner, nn.Module) and not isinstance(thing, nn.Module) else thing


def _module(model: Any, name: str = "model") -> nn.Module:
    """
    *model* as a torch module: itself, or the module inside a wrapper.

    nnsight's ``LanguageModel`` (and any of its envoys, such as ``lm.transformer.h``)
    keeps the Hugging Face module it wraps in ``_module``; one still on the meta
    device (built without ``dispatch=True``) loads its weights first, as nnsight
    would on its first trace.
    """
    if isinstance(model, nn.Module):
        return model
    inner = _inner(model)
    if inner is model:
        raise TypeError(
            f"{name} must be a torch.nn.Module (a transformers model) or an nnsight "
            f"LanguageModel; got {type(model).__name__}"
        )
    if getattr(model, "dispatched", True) is False and callable(getattr(model, "dispatch", None)):
        model.dispatch()
        inner = model._module
    if any(p.is_meta for p in inner.parameters()):
        raise ValueError(
            f"{name} has no weights yet (its parameters are on the meta device); load "
            "them first, e.g. LanguageModel(name, dispatch=True)"
        )
    return inner


def _n_layers(model: nn.Module) -> int | None:
    config = getattr(model, "config", None)
    if config is None:
        return None
    if hasattr(config, "get_text_config"):
        config = config.get_text_config()
    for name in ("num_hidden_layers", "n_layer", "num_layers"):
        value = getattr(config, name, None)
        if isinstance(value, int):
            return value
    return None


def find_blocks(model: nn.Module) -> nn.ModuleList:
    """
    The list of transformer blocks of *model*, found from its config.

    It is the one outermost `~torch.nn.ModuleList` whose length is
    ``config.num_hidden_layers`` (GPT-2's ``transformer.h``, Llama's ``model.layers``,
    BERT's ``encoder.layer``, ...).

    Raises
    ------
    ValueError
        If there is no such list, or several (encoder-decoders); the message lists the
        candidates and says how to pass one to `capture` with ``blocks=``.

    Examples
    --------
    >>> blocks = hf.find_blocks(model)  # doctest: +SKIP
    """
    model = _module(model)
    n = _n_layers(model)
    found: list[tuple[str, nn.Module]] = []
    for name, module in model.named_modules():
        if not isinstance(module, nn.ModuleList) or not len(module):
            continue
        if n is not None and len(module) != n:
            continue
        if any(name.startswith(f"{outer}.") for outer, _ in found):
            continue  # a list inside a block (T5's block.0.layer) is not the block list
        found.append((name, module))
    if len(found) == 1:
        return found[0][1]
    what = (
        f"of length config.num_hidden_layers={n}"
        if n is not None
        else "(no layer count in config)"
    )
    names = ", ".join(name for name, _ in found) or "none"
    example = found[-1][0] if found else "model.layers"
    raise ValueError(
        f"cannot tell the transformer blocks of {type(model).__name__}: ModuleLists {what}: "
        f"{names}. Pass them explicitly, e.g. capture(model, inputs, blocks=model.{example})"
    )


def _reports_final_norm(owner: nn.Module) -> bool:
    """
    Whether *owner*'s reported last hidden state is its output (after a final norm).

    transformers >= 5 marks the models whose ``hidden_states[-1]`` is the last block's
    raw output instead (ViT, CLIP's vision tower, ...) with
    ``capture_outputs(tie_last_hidden_states=False)`` on their forward, or with
    ``config.tie_last_hidden_states``; both are honoured so that `capture` equals
    `from_outputs`.  Anything else reports its output, as transformers 4 did.
    """
    setting = getattr(getattr(owner, "config", None), "tie_last_hidden_states", None)
    if isinstance(setting, bool):
        return setting
    fn = getattr(type(owner), "forward", None)
    while fn is not None:
        code = getattr(fn, "__code__", None)
        if code is not None and "tie_last_hidden_states" in code.co_freevars:
            cell = fn.__closure__[code.co_freevars.index("tie_last_hidden_states")]
            return bool(cell.cell_contents)
        fn = getattr(fn, "__wrapped__", None)
    return True


def _owner(model: nn.Module, block: nn.Module) -> nn.Module:
    """The module whose forward runs the blocks: its output is the last hidden state."""
    name = next((n for n, m in model.named_modules() if m is block), None)
    if name is None:
        raise ValueError(f"blocks must be part of the model; {type(block).__name__} is not")
    parts = name.split(".")[:-1]
    if parts and isinstance(model.get_submodule(".".join(parts)), (nn.ModuleList, nn.Sequential)):
        parts = parts[:-1]
    return model.get_submodule(".".join(parts))


def _block_list(blocks: Any) -> list[nn.Module]:
    try:
        found = [_inner(b) for b in _inner(blocks)]
    except TypeError:
        found = []
    if not found or not all(isinstance(b, nn.Module) for b in found):
        raise TypeError(
            f"blocks must be a non-empty ModuleList or list of modules; got {blocks!r:.80}"
        )
    return found


def _inputs_kwargs(inputs: Any) -> dict[str, Any]:
    if isinstance(inputs, str) or (
        isinstance(inputs, Sequence) and inputs and isinstance(inputs[0], str)
    ):
        raise TypeError(
            "inputs is text; tokenize it first, e.g. inputs = tokenizer(text, "
            "return_tensors='pt'), or use hf.residual_stream(model, tokenizer, text)"
        )
    if isinstance(inputs, Mapping):
        return dict(inputs)
    if isinstance(inputs, torch.Tensor):
        return {"input_ids": inputs if inputs.ndim == 2 else inputs[None]}
    raise TypeError(
        "inputs must be a dict or BatchEncoding of model inputs, or a tensor of input ids; "
        f"got {type(inputs).__name__}"
    )


def _first_tensor(value: Any) -> torch.Tensor:
    if isinstance(value, torch.Tensor):
        return value
    if isinstance(value, Mapping):
        return value.get("last_hidden_state", next(iter(value.values())))
    return value[0]  # transformers < 5 blocks return tuples


def _contains(parent: nn.Module, child: nn.Module) -> bool:
    return any(m is child for m in parent.modules())


class _Recorder:
    """
    The hooks of one forward: each hands the hidden states going by to *take*, which
    keeps what it needs of them (the requested positions, or their statistics).
    """

    def __init__(
        self,
        blocks: Sequence[nn.Module],
        owner: nn.Module,
        take: Callable[[torch.Tensor], Any],
    ):
        self.take = take
        self.final_norm = _reports_final_norm(owner)
        self.layers: list[Any] = [None] * len(blocks)
        self.raw: Any = None
        self.normed: Any = None
        self.last_output: torch.Tensor | None = None
        self.handles = []
        for i, block in enumerate(blocks):
            self.handles.append(
                block.register_forward_pre_hook(self._pre_hook(i), with_kwargs=True)
            )
        self.handles.append(blocks[-1].register_forward_hook(self._last_block))
        self.handles.append(owner.register_forward_hook(self._owner))

    def _pre_hook(self, i: int):
        def hook(module: nn.Module, args: tuple, kwargs: dict) -> None:
            hidden = args[0] if args else kwargs["hidden_states"]
            self.layers[i] = self.take(hidden)

        return hook

    def _last_block(self, module: nn.Module, args: tuple, output: Any) -> None:
        self.last_output = _first_tensor(output)
        self.raw = self.take(self.last_output)
        if not self.final_norm:
            self.normed = self.raw

    def _owner(self, module: nn.Module, args: tuple, output: Any) -> None:
        if self.final_norm:
            hidden = _first_tensor(output)
            # the last block's own tensor (no final norm, as in BERT) is taken once
            self.normed = self.raw if hidden is self.last_output else self.take(hidden)
        self.last_output = None

    def stack(self, final: str) -> list[Any]:
        """Every layer recorded, the last one *final* ("normed" or "raw")."""
        last = self.normed if final == "normed" else self.raw
        if last is None:
            raise RuntimeError(
                "could not find the model's final hidden state; use final='raw' or pass blocks="
            )
        return [*self.layers, last]

    def remove(self) -> None:
        for handle in self.handles:
            handle.remove()


def _run(
    model: nn.Module,
    inputs: Any,
    *,
    position: int | None,
    batch_index: int,
    blocks: Sequence[nn.Module] | None,
    final: str,
    take: Callable[[torch.Tensor], Any] | None = None,
) -> _Recorder:
    """One forward of the model's body with hooks; *take* (default: the positions
    asked for) is what each hook keeps."""
    if final not in ("normed", "raw"):
        raise ValueError(f"final must be 'normed' or 'raw'; got {final!r}")
    model = _module(model)
    kwargs = _inputs_kwargs(inputs)
    blocks = list(find_blocks(model) if blocks is None else _block_list(blocks))
    # Run the body only (no LM head: its logits are seq x vocab floats nobody asked for).
    base = getattr(model, "base_model", model)
    body = base if _contains(base, blocks[0]) else model
    accepted = inspect.signature(body.forward).parameters
    for flag in ("output_hidden_states", "output_attentions", "use_cache"):
        if flag in accepted or any(p.kind is p.VAR_KEYWORD for p in accepted.values()):
            kwargs.setdefault(flag, False)
    positions = _Positions(position, batch_index, _mask_tensor(kwargs.get("attention_mask")))
    ids = kwargs.get("input_ids")
    if isinstance(ids, torch.Tensor) and ids.ndim == 2 and "decoder_input_ids" not in kwargs:
        positions.resolve(*ids.shape)  # bad indices or masks fail before the forward
    recorder = _Recorder(blocks, _owner(model, blocks[0]), take or positions.take)
    try:
        with torch.no_grad():
            body(**kwargs)
    finally:
        recorder.remove()
    if any(layer is None for layer in recorder.layers) or recorder.raw is None:
        raise RuntimeError(
            "the forward pass did not run every block; pass the blocks that it does run "
            "with blocks="
        )
    return recorder


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
    across devices with accelerate's ``device_map``.

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
        `from_outputs` exactly; ``"raw"`` is the last block's output before the final
        norm, the true residual stream.
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
    recorder = _run(
        model, inputs, position=position, batch_index=batch_index, blocks=blocks, final=final
    )
    return _fold(recorder.stack(final), rows, pad)


# -- the logit lens -------------------------------------------------------------------------


def _norm_like(module: nn.Module) -> bool:
    kinds = tuple(k for k in (nn.LayerNorm, getattr(nn, "RMSNorm", None)) if k is not None)
    return isinstance(module, kinds) or "norm" in type(module).__name__.lower()


def _final_norm(owner: nn.Module, first_block: nn.Module) -> nn.Module | None:
    """
    The final norm: the norm-like child of the module that runs the blocks (GPT-2's
    ``ln_f``, Llama's ``norm``, GPT-NeoX's ``final_layer_norm``), not one of the
    embeddings (BLOOM's ``word_embeddings_layernorm``); preferring one registered
    after the blocks where there are several.  None if there is none.
    """
    children = list(owner.named_children())
    at = next((i for i, (_, m) in enumerate(children) if _contains(m, first_block)), -1)
    found = [
        (i, name, module)
        for i, (name, module) in enumerate(children)
        if i != at and _norm_like(module) and "emb" not in name.lower()
    ]
    if len(found) > 1:
        found = [entry for entry in found if entry[0] > at]
    if len(found) > 1:
        names = ", ".join(name for _, name, _ in found)
        raise ValueError(
            f"cannot tell the final norm of {type(owner).__name__} among {names}; "
            "the logit lens needs exactly one"
        )
    return found[0][2] if found else None


class _Lens:
    """The final norm and output embedding of a model, applied to residual vectors."""

    def __init__(self, model: nn.Module, blocks: Sequence[nn.Module] | None = None):
        name = type(model).__name__
        get = getattr(model, "get_output_embeddings", None)
        head = get() if callable(get) else None
        if not isinstance(head, nn.Module):
            raise ValueError(
                f"{name} has no output embedding (get_output_embeddings() gives "
                f"{head!r}): the logit lens needs a model with its LM head, e.g. "
                "AutoModelForCausalLM.from_pretrained(...) rather than AutoModel"
            )
        if not any(child is head for child in model.children()):
            where = next((n for n, m in model.named_modules() if m is head), "?")
            raise ValueError(
                f"{name}'s output embedding ({where}) sits inside a larger head that "
                "transforms the hidden state first; the logit lens reads heads that "
                "are the output embedding alone, as causal LMs have"
            )
        blocks = list(find_blocks(model) if blocks is None else _block_list(blocks))
        self.head = head
        self.norm = _final_norm(_owner(model, blocks[0]), blocks[0])
        self.width = getattr(head, "in_features", None) or head.weight.shape[-1]
        config = getattr(model, "config", None)
        config = config.get_text_config() if hasattr(config, "get_text_config") else config
        # What causal LMs do to the head's output, in this order: Cohere multiplies,
        # Granite divides, Gemma 2 caps.  All keep the order of the tokens.
        scale = getattr(model, "logit_scale", None)
        self.scale = float(scale) if isinstance(scale, (int, float)) else 1.0
        divide = getattr(config, "logits_scaling", None)
        self.scale /= float(divide) if isinstance(divide, (int, float)) and divide else 1.0
        cap = getattr(config, "final_logit_softcapping", None)
        self.cap = float(cap) if isinstance(cap, (int, float)) and cap > 0 else None

    def _to(self, module: nn.Module, x: torch.Tensor) -> torch.Tensor:
        """*x* where *module* computes, in its dtype."""
        weight = next(module.parameters(), None)
        if weight is None:
            return x
        device = weight.device
        if device.type == "meta":  # offloaded by accelerate: its hook brings the weights
            device = getattr(getattr(module, "_hf_hook", None), "execution_device", None)
            device = torch.device("cpu") if device is None else torch.device(device)
        return x.to(device, weight.dtype)

    def normed(self, x: torch.Tensor) -> torch.Tensor:
        """*x* through the final norm (as is without one), in the model's dtype."""
        with torch.no_grad():
            return x if self.norm is None else self.norm(self._to(self.norm, x))

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        """float32 logits of vectors already through the final norm."""
        with torch.no_grad():
            logits = self.head(self._to(self.head, x)).float()
        if self.scale != 1.0:
            logits = logits * self.scale
        if self.cap is not None:
            logits = torch.tanh(logits / self.cap) * self.cap
        return logits

    def check(self, raw: torch.Tensor, reported: torch.Tensor) -> None:
        """Whether the norm found is the one the model applied: raw -> reported."""
        mine = self.normed(raw[None]).float().cpu()[0]
        if not torch.allclose(mine, reported, rtol=1e-3, atol=1e-5 * float(reported.abs().max())):
            found = "no final norm" if self.norm is None else type(self.norm).__name__
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
            before = self._to(self.head, self.normed(x[:, :-1]))
            x = torch.cat([before, self._to(self.head, x[:, -1:])], dim=1)
        else:
            x = self.normed(x)
        probabilities = torch.softmax(self.logits(x)[0], dim=-1).cpu()
        if k > probabilities.shape[-1]:
            raise ValueError(
                f"k={k} is more than the {probabilities.shape[-1]} tokens of the vocabulary"
            )
        values, ids = torch.topk(probabilities, k, dim=-1)
        return tuple(
            tuple(
                (_token_text(tokenizer, int(i)), float(v))
                for v, i in zip(row.tolist(), row_ids.tolist(), strict=True)
            )
            for row, row_ids in zip(values, ids, strict=True)
        )


def _token_text(tokenizer: Any, token_id: int) -> str:
    if tokenizer is not None:
        try:
            return tokenizer.decode([token_id])
        except (IndexError, KeyError, OverflowError, TypeError, ValueError):
            pass  # an id past the tokenizer's vocabulary (a padded output embedding)
    return f"#{token_id}"


def _check_k(k: Any, name: str) -> int:
    k = as_index(k, name, expected="a positive integer")
    if k < 1:
        raise ValueError(f"{name} must be at least 1 (the predictions kept per layer); got {k}")
    return k


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
    (found as `capture` finds the blocks: ``get_output_embeddings()``, and the norm
    beside the blocks, such as GPT-2's ``ln_f`` or Llama's ``norm``), then a softmax
    over the vocabulary.  A last layer that is already through the final norm (index
    ``L`` of ``final="normed"``, whose name ends ``"+ final norm"``) is not normed
    again; a raw one is normed once.  So at index ``L`` the top token is the model's
    own next-token prediction.  Logit scaling and soft-capping that a causal LM
    applies after its head (Cohere, Granite, Gemma 2) are applied too.  The work runs
    on the model's device and in its dtype.

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
        ``"layer 7 · ' capital' → ' Paris' 31%"``.

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
    model = _module(model)
    k = _check_k(k, "k")
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
    predictions = _Lens(model).top(vectors, normed_last=normed_last, k=k, tokenizer=tokenizer)
    return replace(stream, predictions=predictions)


# -- the one-liner --------------------------------------------------------------------------


def _on_device(model: nn.Module, inputs: Any) -> Any:
    """*inputs* on the model's device (accelerate moves them itself on a dispatched
    model)."""
    device = getattr(model, "device", None)
    if device is None or getattr(model, "hf_device_map", None) is not None:
        return inputs
    return inputs.to(device)


def _model_name(model: nn.Module) -> str | None:
    return getattr(getattr(model, "config", None), "name_or_path", None) or None


def _padded(tokenizer: Any, texts: list[str], max_length: int | None = None) -> Any:
    """
    A batch padded on the right, whatever the tokenizer's own side: there every real
    token keeps the position it has alone (left padding shifts the absolute positions
    of GPT-2 or BERT).  A tokenizer without a pad token gets its end-of-sequence token.
    """
    if tokenizer.pad_token is None:
        if tokenizer.eos_token is None:
            raise ValueError(
                "the tokenizer has neither a pad token nor an end-of-sequence token to pad "
                "the batch with; set tokenizer.pad_token first"
            )
        tokenizer.pad_token = tokenizer.eos_token
    truncation = {} if max_length is None else {"truncation": True, "max_length": max_length}
    side = getattr(tokenizer, "padding_side", None)
    tokenizer.padding_side = "right"
    try:
        return tokenizer(texts, return_tensors="pt", padding=True, **truncation)
    finally:
        tokenizer.padding_side = side


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
) -> ResidualStream:
    """
    Tokenize *text*, capture its residual stream, and label it.

    A batch is padded; the tokenizer gets a pad token if it has none (its
    end-of-sequence token, as is usual for GPT-2-style tokenizers).  The inputs go to
    the model's device (accelerate places them itself on a dispatched model), and the
    result carries the token strings and layer names, so that ``title=stream.title``
    gives titles like ``"layer 5 · ' capital'"``.

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
        (``"layer 7 · ' capital' → ' Paris' 31%"``).  Needs one position and a model
        with its LM head.

    Returns
    -------
    ResidualStream
        Works wherever an array is expected; `~ResidualStream.special` records the
        special tokens, so that ``stream.at(-1)`` of every position counts alike.

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
    if tokenizer is None:
        tokenizer = getattr(model, "tokenizer", None)
        if tokenizer is None:
            raise TypeError("tokenizer is None, and the model carries none; pass its tokenizer")
    model = _module(model)
    k = None if lens is None else _check_k(lens, "lens")
    if k is not None and position is None:
        raise ValueError("lens= reads one position; position=None keeps every position")
    lens_reader = None if k is None else _Lens(model, blocks)  # no head: fail before the run
    if isinstance(text, str):
        inputs = tokenizer(text, return_tensors="pt")
    else:
        inputs = _padded(tokenizer, list(text))
    sequence = _Positions(None, batch_index, _mask_tensor(inputs.get("attention_mask")))
    sequence.resolve(*inputs["input_ids"].shape)
    tokens, special = label_tokens(tokenizer, inputs["input_ids"][sequence.batch][sequence.real])
    index = None if position is None else resolve(position, tokens, special)
    inputs = _on_device(model, inputs)
    recorder = _run(
        model, inputs, position=index, batch_index=batch_index, blocks=blocks, final=final
    )
    stack = recorder.stack(final)
    normed_last = final == "normed" and not torch.equal(recorder.raw, recorder.normed)
    predictions = ()
    if lens_reader is not None:
        if recorder.final_norm:
            lens_reader.check(recorder.raw, recorder.normed)
        predictions = lens_reader.top(
            torch.stack(stack), normed_last=normed_last, k=k, tokenizer=tokenizer
        )
    return ResidualStream(
        _fold(stack, rows, pad),
        tokens=tokens,
        layer_names=layer_names(len(recorder.layers), final_norm=normed_last),
        position=index,
        model_name=_model_name(model),
        d_model=int(stack[-1].shape[-1]),
        special=special,
        predictions=predictions,
    )


# -- statistics over a corpus -----------------------------------------------------------------


class _BatchMoments:
    """
    What the hooks keep of one batch: for each layer, the reductions of the tokens it
    counts, left on the layer's device until the batch is done (`moments`), so that a
    hook costs a handful of kernels and no transfer.
    """

    def __init__(self, keep: torch.Tensor, text: torch.Tensor, position: torch.Tensor, ids):
        # the tokens counted, as indices into the flattened (batch * seq) hidden states
        self.flat = torch.flatten(keep).nonzero().squeeze(1)
        # per counted token: its text's index in the corpus, its position among the real
        # tokens of that text, its id
        self.where = torch.stack([text, position, ids], dim=1)
        self.on: dict[torch.device, torch.Tensor] = {}

    def __call__(self, hidden: torch.Tensor) -> tuple[torch.Tensor, ...]:
        device = hidden.device
        if device not in self.on:
            self.on[device] = self.flat.to(device)
        x = hidden.reshape(-1, hidden.shape[-1]).index_select(0, self.on[device])
        # Two passes in float64 (the mean, then the squares of the deviations from it):
        # exact where sum(x**2) - n * mean**2 would cancel, and twice as fast as var_mean.
        exact = x.double()
        mean = exact.mean(dim=0)
        m2 = (exact - mean).square_().sum(dim=0)
        magnitude = x.abs()
        absmax, at = magnitude.max(dim=0)  # exact in the model's dtype
        return mean, m2, magnitude.double().sum(dim=0), absmax, at

    def moments(self, layers: list[tuple[torch.Tensor, ...]]) -> Moments:
        """The moments of every layer of the batch, on the CPU."""
        first = layers[0][0].device  # a model split by device_map has layers elsewhere
        mean, m2, sum_abs, absmax, at = (
            torch.stack([layer[i].to(first) for layer in layers])
            .to("cpu", torch.float64 if i < 4 else torch.long)
            .numpy()
            for i in range(5)
        )
        where = self.where.numpy()[at]  # (layers, d_model, 3)
        counts = np.full(len(layers), len(self.where), dtype=np.int64)
        return Moments(counts, mean, m2, sum_abs, absmax, *np.moveaxis(where, -1, 0))


def _batches(texts: Iterable[str], size: int) -> Iterable[list[str]]:
    batch: list[str] = []
    for text in texts:
        if not isinstance(text, str):
            raise TypeError(f"texts must hold str only; got {type(text).__name__} {text!r:.60}")
        batch.append(text)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def _distributed() -> tuple[int, int]:
    """
    ``(rank, world size)``: those of torch.distributed, which is started from the
    environment that torchrun and accelerate launch set where nobody started it yet.
    """
    import torch.distributed as dist

    world = int(os.environ.get("WORLD_SIZE", "1"))
    if not dist.is_available() or (world < 2 and not dist.is_initialized()):
        return 0, 1
    if not dist.is_initialized():
        cuda = torch.cuda.is_available()
        if cuda:
            torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
        dist.init_process_group("nccl" if cuda else "gloo")
    return dist.get_rank(), dist.get_world_size()


def _gathered(mine: Any, world: int) -> list[Any]:
    """Every process's *mine*, in rank order (over gloo, whatever the main backend)."""
    if world == 1:
        return [mine]
    import torch.distributed as dist

    group = dist.new_group(backend="gloo")
    try:
        everyone: list[Any] = [None] * world
        dist.all_gather_object(everyone, mine, group=group)
    finally:
        dist.destroy_process_group(group)
    return everyone


def dimension_stats(
    model: nn.Module,
    tokenizer: Any,
    texts: Iterable[str],
    *,
    batch_size: int = 8,
    max_length: int | None = None,
    progress: bool = True,
    special: bool = False,
    final: Literal["normed", "raw"] = "normed",
    rows: int | None = None,
    pad: bool = False,
    blocks: Sequence[nn.Module] | None = None,
) -> DimensionStats:
    """
    Statistics of every dimension at every layer, over every real token of a corpus.

    The model runs on batches of *texts* with hooks, as in `capture`: each layer's
    hidden states are reduced to their moments as they go by (no
    ``output_hidden_states``), and the moments of all batches merge exactly in
    float64 (Chan et al.), so memory is ``O(layers x d_model)`` whatever the size of the
    corpus.  Padding is never counted; special tokens (``[CLS]``, ``<s>``) are not
    unless *special*.

    Under ``accelerate launch`` or ``torchrun``, each process takes every n-th batch
    and the processes merge their moments at the end, so the result (on every
    process) equals a single-process run; put each process's model on its own device
    (``model.to(accelerate.PartialState().device)``).

    Parameters
    ----------
    model, tokenizer
        A transformers model (or nnsight wrapper) and its tokenizer.
    texts : iterable of str
        A list, a generator, a ``datasets.Dataset`` column...: read once, in order.
    batch_size : int, default: 8
        Texts per forward pass.
    max_length : int, optional
        Truncate each text to this many tokens.
    progress : bool, default: True
        A progress bar (tqdm, where installed; on the main process only).
    special : bool, default: False
        Count the tokenizer's special tokens too.
    final : {"normed", "raw"}, default: "normed"
        The last layer, as in `capture`.
    rows, pad
        How the fields fold into grids (`to_grid`).
    blocks : ModuleList, optional
        As in `capture`.

    Returns
    -------
    DimensionStats
        ``count``, ``mean``, ``std``, ``mean_abs`` and ``absmax``, each
        ``(layers, rows, cols)``; `~DimensionStats.where` tells the token of each
        ``absmax``.

    Examples
    --------
    >>> stats = hf.dimension_stats(model, tokenizer, open("corpus.txt"))  # doctest: +SKIP
    >>> stats.outliers(factor=100)  # doctest: +SKIP
    array([138, 447])
    """
    if tokenizer is None:
        tokenizer = getattr(model, "tokenizer", None)
    model = _module(model)
    batch_size = _check_k(batch_size, "batch_size")
    if max_length is not None:
        max_length = _check_k(max_length, "max_length")
    if isinstance(texts, str):
        raise TypeError("texts must be an iterable of texts; got one str (wrap it in a list)")
    blocks = list(find_blocks(model) if blocks is None else _block_list(blocks))  # once
    rank, world = _distributed()
    specials = torch.tensor(sorted(special_ids(tokenizer)), dtype=torch.long)
    total: Moments | None = None
    normed_differs = False
    n_texts = 0
    bar = _progress(texts, batch_size, enabled=progress and rank == 0)
    try:
        for index, batch in enumerate(_batches(texts, batch_size)):
            start, n_texts = n_texts, n_texts + len(batch)
            if bar is not None:
                bar.update(1)
            if index % world != rank:
                continue
            inputs = _padded(tokenizer, batch, max_length)
            ids, mask = inputs["input_ids"], inputs["attention_mask"].bool()
            keep = mask if special else mask & ~torch.isin(ids, specials)
            rows_at, cols_at = torch.nonzero(keep, as_tuple=True)
            position = (mask.long().cumsum(dim=1) - 1)[rows_at, cols_at]
            take = _BatchMoments(keep, start + rows_at, position, ids[rows_at, cols_at])
            if not len(rows_at):
                continue  # texts with no token to count
            recorder = _run(
                model, _on_device(model, inputs), position=None, batch_index=0, blocks=blocks,
                final=final, take=take,
            )  # fmt: skip
            normed_differs |= recorder.normed is not recorder.raw
            merged = take.moments(recorder.stack(final))
            total = merged if total is None else total.merge(merged)
    finally:
        if bar is not None:
            bar.close()
    parts = [part for part in _gathered(total, world) if part is not None]
    if not parts:
        raise ValueError(
            f"no token to count in {n_texts} texts"
            + ("" if special else " (special tokens are left out; pass special=True)")
        )
    total = parts[0]
    for part in parts[1:]:
        total = total.merge(part)
    normed_last = final == "normed" and any(_gathered(normed_differs, world))
    vocabulary = sorted(set(total.where_token.ravel().tolist()))
    lookup = {token_id: i for i, token_id in enumerate(vocabulary)}
    total = replace(
        total, where_token=np.vectorize(lookup.get, otypes=[np.int64])(total.where_token)
    )
    return DimensionStats(
        total,
        layer_names=layer_names(total.mean.shape[0] - 1, final_norm=normed_last),
        n_texts=n_texts,
        model_name=_model_name(model),
        tokens=tuple(tokenizer.decode([i]) for i in vocabulary),
        rows=rows,
        pad=pad,
    )


def _progress(texts: Any, batch_size: int, *, enabled: bool) -> Any:
    if not enabled:
        return None
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return None
    total = -(-len(texts) // batch_size) if hasattr(texts, "__len__") else None
    return tqdm(total=total, unit="batch", desc="dimension stats", leave=False)


# -- loading a model ----------------------------------------------------------------------


def _transformers() -> Any:
    try:
        import transformers
    except ImportError:
        raise ImportError(
            "loading a model needs transformers: pip install 'mpl-residual[hf]'"
        ) from None
    return transformers


def _hub_reachable() -> bool:
    """Whether the Hub's host name resolves: without it, downloads would only retry."""
    import socket
    from urllib.parse import urlparse

    try:
        from huggingface_hub import constants

        host = urlparse(constants.ENDPOINT).hostname or "huggingface.co"
        socket.getaddrinfo(host, 443)
    except (ImportError, OSError):
        return False
    return True


def _one_line(err: BaseException) -> str:
    return " ".join(str(err).split()) or type(err).__name__


_DTYPES = ("float32", "bfloat16", "float16", "float64")


def _torch_dtype(dtype: Any) -> torch.dtype | None:
    if dtype is None or isinstance(dtype, torch.dtype):
        return dtype
    if isinstance(dtype, str) and dtype in _DTYPES:
        return getattr(torch, dtype)
    raise ValueError(
        f"dtype must be a torch.dtype or one of {', '.join(map(repr, _DTYPES))}; got {dtype!r}"
    )


def _torch_device(device: Any) -> torch.device:
    """
    *device* as a torch device; ``"auto"`` is the GPU if there is one.  Under a launcher
    (torchrun, accelerate launch) a GPU without an index is the process's own,
    ``cuda:LOCAL_RANK``.
    """
    if device is None or device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    try:
        device = torch.device(device)
    except (RuntimeError, TypeError) as err:
        raise ValueError(f"device={device!r} is not a torch device: {_one_line(err)}") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise RuntimeError(f"device={str(device)!r}: torch sees no CUDA device here")
    local = os.environ.get("LOCAL_RANK")
    if device.type == "cuda" and device.index is None and local is not None:
        device = torch.device("cuda", int(local))
    return device


def load_model(
    name_or_path: str | os.PathLike[str],
    *,
    device: str | torch.device | None = None,
    dtype: str | torch.dtype | None = None,
    trust_remote_code: bool = False,
) -> tuple[nn.Module, Any]:
    """
    A model and its tokenizer, ready for `residual_stream`, from a name or a folder.

    A checkpoint whose architecture is a causal LM is loaded with its LM head
    (``AutoModelForCausalLM``), so that it can also serve the logit lens; anything
    else with ``AutoModel``.  It never waits on a network it cannot reach: a local
    folder, ``HF_HUB_OFFLINE=1`` or a Hub that does not resolve loads from local files
    only.  The model is put in eval mode on *device*.

    Parameters
    ----------
    name_or_path : str or path-like
        A Hugging Face model name (``"gpt2"``) or a local folder.
    device : str or torch.device, optional
        Where to put the model; default (or ``"auto"``): the GPU if torch sees one
        (under torchrun or accelerate launch, the process's own: ``cuda:LOCAL_RANK``).
    dtype : str or torch.dtype, optional
        ``"float32"``, ``"bfloat16"``, ``"float16"`` (or a torch dtype); default: the
        checkpoint's own default as transformers loads it (float32).
    trust_remote_code : bool, default: False
        Let a model run code from its repository; never on unless asked.

    Returns
    -------
    (model, tokenizer)

    Raises
    ------
    OSError
        The model is neither a local folder nor cached (offline), or its files cannot
        be read (a truncated weights file); one line that says which and what to do.
    ValueError
        A bad *device* or *dtype*.
    RuntimeError
        ``device="cuda"`` where torch sees no GPU.
    ImportError
        transformers is not installed.

    Examples
    --------
    >>> model, tokenizer = hf.load_model("gpt2", device="cpu")  # doctest: +SKIP
    >>> stream = hf.residual_stream(model, tokenizer, "Paris is the capital of")  # doctest: +SKIP
    """
    transformers = _transformers()
    name = os.fspath(name_or_path)
    torch_dtype = _torch_dtype(dtype)
    target = _torch_device(device)
    transformers.logging.set_verbosity_error()
    if not (hasattr(sys.stderr, "isatty") and sys.stderr.isatty()):
        transformers.logging.disable_progress_bar()  # loading bars on a terminal only
    local = os.path.isdir(name)
    offline = local or os.environ.get("HF_HUB_OFFLINE", "") not in ("", "0")
    offline = offline or not _hub_reachable()
    common = {"trust_remote_code": trust_remote_code, "local_files_only": offline}
    try:
        config = transformers.AutoConfig.from_pretrained(name, **common)
    except (OSError, ValueError) as err:
        if local:
            raise OSError(
                f"could not load a model from the folder {name!r}: {_one_line(err)}"
            ) from None
        raise OSError(
            f"model {name!r} is neither a local folder nor in the local Hugging Face cache"
            + ("" if offline else ", and it could not be downloaded")
            + f"; download it where there is a network (hf download {name}) and copy the "
            "cache, or pass the path of a model folder"
        ) from None
    causal = any(a.endswith(("ForCausalLM", "LMHeadModel")) for a in config.architectures or ())
    auto = transformers.AutoModelForCausalLM if causal else transformers.AutoModel
    major = int(transformers.__version__.split(".")[0])
    dtype_key = (
        {} if torch_dtype is None else {"dtype" if major >= 5 else "torch_dtype": torch_dtype}
    )
    try:
        tokenizer = transformers.AutoTokenizer.from_pretrained(name, **common)
    except Exception as err:  # noqa: BLE001 - tokenizers raise many kinds
        raise OSError(f"could not load the tokenizer of {name!r}: {_one_line(err)}") from None
    try:
        model = auto.from_pretrained(name, config=config, **common, **dtype_key)
    except Exception as err:  # noqa: BLE001 - safetensors, torch and others raise their own
        raise OSError(f"could not load the weights of {name!r}: {_one_line(err)}") from None
    return model.to(target).eval(), tokenizer
