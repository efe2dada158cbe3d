"""A model and its tokenizer from a name or a folder: offline-aware, one-line errors."""

from __future__ import annotations

import os
import sys
from typing import Any

import torch
from torch import nn

__all__ = ["load_model"]


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
