"""One forward pass with hooks on the blocks that keep only what is asked for."""

from __future__ import annotations

import functools
import inspect
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import torch
from torch import nn

from .anatomy import Anatomy
from .masks import Positions, left_padded, mask_tensor, position_ids

__all__ = ["Recorder", "first_tensor", "in_this_thread", "model_inputs", "run"]


def model_inputs(inputs: Any) -> dict[str, Any]:
    """*inputs* (a BatchEncoding, a dict, a tensor of ids) as keyword arguments."""
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


def first_tensor(value: Any) -> torch.Tensor:
    """The hidden states in a module's output (a tensor, a ModelOutput, a tuple)."""
    if isinstance(value, torch.Tensor):
        return value
    if isinstance(value, Mapping):
        return value.get("last_hidden_state", next(iter(value.values())))
    return value[0]  # transformers < 5 blocks return tuples


def in_this_thread(hook: Callable[..., None]) -> Callable[..., None]:
    """
    *hook*, acting only in the thread that made it.  Hooks live on the model's
    modules, so two threads capturing from one model at once would each run the
    other's hooks in its own forward (and keep one batch's tokens from another's).
    """
    thread = threading.get_ident()

    @functools.wraps(hook)
    def guarded(*args: Any) -> None:
        if threading.get_ident() == thread:
            hook(*args)

    return guarded


class Recorder:
    """
    The hooks of one forward: each hands the hidden states going by to *take*, which
    keeps what it needs of them (the requested positions, or their statistics).
    ``layers[i]`` is what block *i* was given; ``raw`` what the last block gave; and
    ``normed`` the owner's output when the model has a final norm (else ``raw``).
    """

    def __init__(self, anatomy: Anatomy, take: Callable[[torch.Tensor], Any]):
        self.take = take
        self.has_final_norm = anatomy.final_norm is not None
        self.layers: list[Any] = [None] * len(anatomy.blocks)
        self.raw: Any = None
        self.normed: Any = None
        self.handles = []
        for i, block in enumerate(anatomy.blocks):
            self.handles.append(
                block.register_forward_pre_hook(self._pre_hook(i), with_kwargs=True)
            )
        last, owner = in_this_thread(self._last_block), in_this_thread(self._owner)
        self.handles.append(anatomy.blocks[-1].register_forward_hook(last))
        if self.has_final_norm:
            self.handles.append(anatomy.owner.register_forward_hook(owner))

    def _pre_hook(self, i: int):
        def hook(module: nn.Module, args: tuple, kwargs: dict) -> None:
            hidden = args[0] if args else kwargs["hidden_states"]
            self.layers[i] = self.take(hidden)

        return in_this_thread(hook)

    def _last_block(self, module: nn.Module, args: tuple, output: Any) -> None:
        self.raw = self.take(first_tensor(output))
        if not self.has_final_norm:
            self.normed = self.raw

    def _owner(self, module: nn.Module, args: tuple, output: Any) -> None:
        self.normed = self.take(first_tensor(output))

    def stack(self, final: str) -> list[Any]:
        """Every layer recorded, the last one *final* ("normed" or "raw")."""
        return [*self.layers, self.normed if final == "normed" else self.raw]

    def remove(self) -> None:
        for handle in self.handles:
            handle.remove()


def _accepts(module: nn.Module, name: str) -> bool:
    return name in inspect.signature(module.forward).parameters


def check_final(final: Any) -> str:
    if final not in ("normed", "raw"):
        raise ValueError(f"final must be 'normed' or 'raw'; got {final!r}")
    return final


def run(
    anatomy: Anatomy,
    inputs: Any,
    *,
    take: Callable[[torch.Tensor], Any] | None = None,
    position: int | None = -1,
    batch_index: int = 0,
    more: Callable[[Positions], list[Any]] | None = None,
) -> Recorder:
    """
    One forward of the model's body with hooks; *take* (default: the position asked
    for, of the sequence asked for) is what each hook keeps.  A batch padded on the
    left is given the position ids of its real tokens where the model takes them
    (and the caller gave none), so that each sequence is computed as it is alone.
    *more*, if given, gets the `Positions` the hooks keep and installs further hooks,
    returning their handles; every hook is removed afterwards, also when the forward
    raises.
    """
    kwargs = model_inputs(inputs)
    body = anatomy.body
    accepted = inspect.signature(body.forward).parameters
    for flag in ("output_hidden_states", "output_attentions", "use_cache"):
        if flag in accepted or any(p.kind is p.VAR_KEYWORD for p in accepted.values()):
            kwargs.setdefault(flag, False)
    mask = mask_tensor(kwargs.get("attention_mask"))
    if (
        "position_ids" not in kwargs
        and "decoder_input_ids" not in kwargs
        and left_padded(mask)
        and _accepts(body, "position_ids")
    ):
        device = getattr(kwargs.get("input_ids", kwargs["attention_mask"]), "device", None)
        kwargs["position_ids"] = position_ids(mask).to(device)
    positions = Positions(position, batch_index, mask)
    ids = kwargs.get("input_ids")
    if isinstance(ids, torch.Tensor) and ids.ndim == 2 and "decoder_input_ids" not in kwargs:
        positions.bind(*ids.shape)  # bad indices or masks fail before the forward
    recorder = Recorder(anatomy, take or positions.take)
    extra = []
    try:
        if more is not None:
            extra = more(positions)
        with torch.no_grad():
            body(**kwargs)
    finally:
        recorder.remove()
        for handle in extra:
            handle.remove()
    if any(layer is None for layer in recorder.layers) or recorder.raw is None:
        raise RuntimeError(
            "the forward pass did not run every block in this thread; pass the blocks "
            "that it does run with blocks= (a model wrapped in nn.DataParallel runs them "
            "in threads of its own: pass the model inside, model.module)"
        )
    if recorder.normed is None:
        raise RuntimeError(
            "could not find the model's final hidden state; use final='raw' or pass blocks="
        )
    return recorder
