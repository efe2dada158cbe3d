"""A model and its tokenizer from a name or a folder: offline-aware, one-line errors."""

from __future__ import annotations

import os
import sys
from typing import Any

import torch
from torch import nn

__all__ = ["DEVICE_MAPS", "load_model", "placed", "quiet_transformers"]


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


def placed(model: nn.Module, *, device: Any = None, dtype: Any = None) -> nn.Module:
    """*model* in eval mode on *device* (as `load_model` reads it) and in *dtype*."""
    torch_dtype = _torch_dtype(dtype)
    model = model.to(_torch_device(device))
    return (model if torch_dtype is None else model.to(torch_dtype)).eval()


#: How accelerate may spread a model over devices (``from_pretrained(device_map=...)``).
DEVICE_MAPS = ("auto", "balanced", "balanced_low_0", "sequential")


def quiet_transformers() -> None:
    """transformers says only errors; its loading bars show on a terminal only."""
    transformers = _transformers()
    transformers.logging.set_verbosity_error()
    if not (hasattr(sys.stderr, "isatty") and sys.stderr.isatty()):
        transformers.logging.disable_progress_bar()


def _dispatch(
    device_map: Any, max_memory: Any, offload_folder: Any, device: Any
) -> dict[str, Any]:
    """``from_pretrained``'s keywords for accelerate's big-model dispatch, checked."""
    if device_map is None:
        if max_memory is not None or offload_folder is not None:
            raise ValueError(
                "max_memory and offload_folder go with device_map (e.g. device_map='auto')"
            )
        return {}
    if isinstance(device_map, str) and device_map not in DEVICE_MAPS:
        raise ValueError(
            f"device_map must be one of {', '.join(map(repr, DEVICE_MAPS))} or a dict of "
            f"module names to devices; got {device_map!r}"
        )
    if not isinstance(device_map, (str, dict)):
        raise TypeError(f"device_map must be a str or a dict; got {type(device_map).__name__}")
    if device not in (None, "auto"):
        raise ValueError(
            f"device={device!r} and device_map={device_map!r} both say where the model goes; "
            "pass one"
        )
    if max_memory is not None and not isinstance(max_memory, dict):
        raise TypeError(
            "max_memory must be a dict of devices to sizes, e.g. {0: '70GiB', 'cpu': '200GiB'}; "
            f"got {type(max_memory).__name__}"
        )
    found = {"device_map": device_map}
    if max_memory is not None:
        found["max_memory"] = max_memory
    if offload_folder is not None:
        found["offload_folder"] = os.fspath(offload_folder)
    return found


def load_model(
    name_or_path: str | os.PathLike[str],
    *,
    device: str | torch.device | None = None,
    dtype: str | torch.dtype | None = None,
    trust_remote_code: bool = False,
    device_map: str | dict[str, Any] | None = None,
    max_memory: dict[int | str, int | str] | None = None,
    offload_folder: str | os.PathLike[str] | None = None,
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
    device_map : {"auto", "balanced", "balanced_low_0", "sequential"} or dict, optional
        Spread a model that does not fit one device over several, with accelerate's
        big-model dispatch (``from_pretrained(device_map=...)``): GPUs first, then the
        CPU, then the disk.  Every function of `mpl_residual.hf` gives the same numbers
        on such a model as in memory.  Not with *device*.
    max_memory : dict, optional
        With *device_map*: the most each device may hold, e.g. ``{0: "70GiB", "cpu":
        "200GiB"}``; what does not fit goes to *offload_folder*.
    offload_folder : str or path-like, optional
        With *device_map*: where weights offloaded to the disk are kept.

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
    >>> big, tokenizer = hf.load_model("meta-llama/Llama-3.1-70B", dtype="bfloat16",
    ...                                device_map="auto")  # doctest: +SKIP
    """
    transformers = _transformers()
    name = os.fspath(name_or_path)
    torch_dtype = _torch_dtype(dtype)
    dispatch = _dispatch(device_map, max_memory, offload_folder, device)
    if not dispatch:
        _torch_device(device)  # a bad device fails before anything loads
    quiet_transformers()
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
        model = auto.from_pretrained(name, config=config, **common, **dtype_key, **dispatch)
    except Exception as err:  # noqa: BLE001 - safetensors, torch and others raise their own
        raise OSError(f"could not load the weights of {name!r}: {_one_line(err)}") from None
    return (model.eval() if dispatch else placed(model, device=device)), tokenizer
