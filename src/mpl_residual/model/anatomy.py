"""
A model taken apart once, from its structure: the blocks, the module that runs them,
the body to run, the final norm and the output embedding.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from torch import nn

__all__ = ["Anatomy", "find_blocks", "unwrap"]

#: Where transformers keeps a model's final norm: a child of the module that runs the
#: blocks (GPT-2's ``ln_f``, Llama's ``norm``, OPT's and GPT-NeoX's
#: ``final_layer_norm``, Phi's ``final_layernorm``, Mamba's ``norm_f``).
FINAL_NORMS = ("norm", "ln_f", "final_layer_norm", "final_layernorm", "norm_f", "final_norm")


def _inner(thing: Any) -> Any:
    """The torch module inside an nnsight envoy (``lm.transformer.h``); else *thing*."""
    inner = getattr(thing, "_module", None)
    return inner if isinstance(inner, nn.Module) and not isinstance(thing, nn.Module) else thing


def unwrap(model: Any, name: str = "model") -> nn.Module:
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


def text_config(model: nn.Module) -> Any:
    """The config that describes the transformer (a multimodal model's text part)."""
    config = getattr(model, "config", None)
    return config.get_text_config() if hasattr(config, "get_text_config") else config


def _n_layers(model: nn.Module) -> int | None:
    config = text_config(model)
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
    model = unwrap(model)
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


def contains(parent: nn.Module, child: nn.Module) -> bool:
    """Whether *child* is *parent* or one of its submodules."""
    return any(m is child for m in parent.modules())


def _owner(model: nn.Module, block: nn.Module) -> nn.Module:
    """The module whose forward runs the blocks: its output is the last hidden state."""
    name = next((n for n, m in model.named_modules() if m is block), None)
    if name is None:
        raise ValueError(f"blocks must be part of the model; {type(block).__name__} is not")
    parts = name.split(".")[:-1]
    if parts and isinstance(model.get_submodule(".".join(parts)), (nn.ModuleList, nn.Sequential)):
        parts = parts[:-1]
    return model.get_submodule(".".join(parts))


def final_norm_of(owner: nn.Module) -> nn.Module | None:
    """
    The final norm that *owner* (the module that runs the blocks) applies to the last
    block's output, found where transformers keeps it (`FINAL_NORMS`), or None: BERT's
    encoder has none, and a model whose config says ``tie_last_hidden_states=False``
    reports the last block's output as is.
    """
    if getattr(getattr(owner, "config", None), "tie_last_hidden_states", None) is False:
        return None
    children = dict(owner.named_children())
    for name in FINAL_NORMS:
        if name in children:
            return children[name]
    return None


@dataclass(frozen=True, eq=False)
class Anatomy:
    """
    A model taken apart once: what every capture, lens, statistics and decomposition
    needs to know of it.

    Attributes
    ----------
    module : nn.Module
        The model (unwrapped from an nnsight wrapper).
    blocks : list of nn.Module
        Its transformer blocks, in order.
    owner : nn.Module
        The module that runs the blocks; its output is the last hidden state.
    body : nn.Module
        What a capture runs: the base model without the LM head, where the blocks are
        in it.
    final_norm : nn.Module or None
        The norm the owner applies after the last block, if any.
    """

    module: nn.Module
    blocks: list[nn.Module]
    owner: nn.Module
    body: nn.Module
    final_norm: nn.Module | None

    @classmethod
    def of(cls, model: Any, blocks: Any = None) -> Anatomy:
        """*model* (or an nnsight wrapper) taken apart; *blocks* if `find_blocks` can't."""
        module = unwrap(model)
        found = list(find_blocks(module) if blocks is None else _block_list(blocks))
        owner = _owner(module, found[0])
        base = getattr(module, "base_model", module)
        body = base if contains(base, found[0]) else module
        return cls(module, found, owner, body, final_norm_of(owner))

    @property
    def head(self) -> nn.Module | None:
        """The output embedding (the LM head), if the model has one."""
        get = getattr(self.module, "get_output_embeddings", None)
        head = get() if callable(get) else None
        return head if isinstance(head, nn.Module) else None

    @property
    def name(self) -> str | None:
        """Where the model came from (``config.name_or_path``), if known."""
        return getattr(getattr(self.module, "config", None), "name_or_path", None) or None
