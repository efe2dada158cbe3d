"""
A module's weights, read where they are: on a model dispatched by accelerate
(``device_map="auto"``) an offloaded module keeps ``meta`` placeholders until
accelerate's hook brings its weights, which `loaded` asks it to do for one module at a
time, never the whole model.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch
from torch import nn

__all__ = ["execution_device", "loaded"]


def _offloaded(module: nn.Module) -> bool:
    return any(p.is_meta for p in module.parameters(recurse=False))


@contextlib.contextmanager
def loaded(module: nn.Module) -> Iterator[nn.Module]:
    """
    *module* with its own weights readable for the duration: as it is, or, where
    accelerate offloaded them, loaded by accelerate onto the module's execution device
    (`accelerate.utils.align_module_device`) and put back afterwards.
    """
    if not _offloaded(module):
        yield module
        return
    try:
        from accelerate.utils import align_module_device
    except ImportError:
        raise RuntimeError(
            f"the weights of {type(module).__name__} are offloaded (on the meta device) and "
            "this accelerate cannot load them for one module: pip install 'accelerate>=1.1'"
        ) from None
    with align_module_device(module):
        if _offloaded(module):
            raise RuntimeError(
                f"the weights of {type(module).__name__} are on the meta device and no "
                "accelerate hook loads them: load the model's weights first"
            )
        yield module


def execution_device(module: nn.Module) -> torch.device:
    """Where *module* computes: its weights' device, or for weights accelerate keeps
    offloaded, the device its hook runs them on."""
    weight = next(module.parameters(), None)
    if weight is None:
        return torch.device("cpu")
    if weight.device.type != "meta":
        return weight.device
    # accelerate says where an offloaded module runs only on its hook (no public getter).
    device = getattr(getattr(module, "_hf_hook", None), "execution_device", None)
    return torch.device("cpu") if device is None else torch.device(device)
