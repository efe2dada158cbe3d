"""
Capture on a GPU: ``hf.capture(position=-1)`` against a plain forward and the
``output_hidden_states`` path, for a Llama-architecture model of about 1B parameters;
``hf.dimension_stats`` over the same tokens (one text, tokenized by a word-level
tokenizer whose words are the ids), every token's statistics at every layer; and
``hf.decompose(heads=True)`` of the last token of that text (what every head and MLP
wrote) and ``hf.logit_attribution(heads=True)`` of its next token.  Each on the model
on one device, and again with ``--placement auto``: the model saved and reloaded with
``device_map="auto"`` and a ``max_memory`` that keeps half its weights on the GPU and
the rest on the CPU (on ``--device cpu``, half on the CPU and the rest on the disk),
against a plain forward of that dispatched model.

The model has Llama-3.2-1B's shape (16 blocks, d_model 2048, 32 heads, 8 KV heads,
MLP 8192, vocab 128256; 1.24B parameters), random init, bf16, on one CUDA device, at
sequence lengths 2048 and 8192. Memory is ``torch.cuda.max_memory_allocated`` during
the call, less what was allocated before it; time is the median of ``--repeats``
synchronized calls after a warm-up. It finishes in well under 3 minutes on one H100.

    python bench/gpu_capture.py                       # on a CUDA machine
    python bench/gpu_capture.py --placement auto      # split between the GPU and the CPU
    python bench/gpu_capture.py --device cpu --tiny   # the same code, a tiny model
"""

from __future__ import annotations

import argparse
import statistics
import time

from _common import capture_figures, emit, table

MODES = ("forward", "hidden_states", "capture", "stats", "decompose", "attribution")
EXTRA = ("stats", "decompose", "attribution")  # reported as ratios to the forward


def word_tokenizer(vocab_size: int):
    """A tokenizer whose words ``w0`` ... are the ids: texts that tokenize to given ids."""
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    vocab = {f"w{i}": i for i in range(vocab_size - 1)} | {"<pad>": vocab_size - 1}
    raw = Tokenizer(models.WordLevel(vocab, unk_token="<pad>"))
    raw.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    return PreTrainedTokenizerFast(tokenizer_object=raw, pad_token="<pad>")


def build(device: str, tiny: bool):
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    if tiny:
        config = LlamaConfig(
            hidden_size=64,
            intermediate_size=128,
            num_hidden_layers=2,
            num_attention_heads=4,
            num_key_value_heads=2,
            vocab_size=256,
            max_position_embeddings=8192,
        )
    else:
        config = LlamaConfig(
            hidden_size=2048,
            intermediate_size=8192,
            num_hidden_layers=16,
            num_attention_heads=32,
            num_key_value_heads=8,
            vocab_size=128256,
            max_position_embeddings=8192,
            tie_word_embeddings=True,
        )
    dtype = torch.bfloat16 if device.startswith("cuda") else torch.float32
    torch.manual_seed(0)
    with torch.device(device):
        model = LlamaForCausalLM(config).to(dtype).eval()
    return model, config


def dispatched(model, device: str, folder: str):
    """*model* saved and reloaded by accelerate's big-model dispatch, half its weights on
    *device* and the rest on the next tier (the CPU after a GPU, the disk after the CPU)."""
    import os

    from transformers import LlamaForCausalLM

    model.save_pretrained(folder)
    size = sum(p.numel() * p.element_size() for p in model.parameters())
    if device.startswith("cuda"):
        memory, offload = {0: size // 2, "cpu": 4 * size}, None
    else:
        memory, offload = {"cpu": size // 2}, os.path.join(folder, "offload")
    big = LlamaForCausalLM.from_pretrained(
        folder, device_map="auto", max_memory=memory, offload_folder=offload, dtype=model.dtype
    )
    return big.eval()


def measure(model, config, seq: int, device: str, repeats: int) -> dict:
    import torch

    from mpl_residual import hf

    ids = torch.randint(0, config.vocab_size - 1, (1, seq), device=device)
    tokenizer = word_tokenizer(config.vocab_size)
    text = " ".join(f"w{i}" for i in ids[0].tolist())  # the same tokens, as a corpus of one
    cuda = device.startswith("cuda")

    def sync() -> None:
        if cuda:
            torch.cuda.synchronize()

    def run(mode: str) -> None:
        with torch.no_grad():
            if mode == "forward":
                model(ids, use_cache=False)
            elif mode == "hidden_states":
                hf.from_outputs(model(ids, use_cache=False, output_hidden_states=True))
            elif mode == "capture":
                hf.capture(model, ids)
            elif mode == "stats":  # every token's statistics, tokenizing included
                hf.dimension_stats(model, tokenizer, [text], batch_size=1, progress=False)
            elif mode == "decompose":  # what every head and MLP wrote at the last token
                hf.decompose(model, tokenizer, text, heads=True)
            else:  # each dimension's and component's share of the next token's logit
                hf.logit_attribution(model, tokenizer, text, "w1", heads=True)
        sync()

    result = {}
    for mode in MODES:
        run(mode)  # warm-up (kernels, allocator)
        if cuda:
            torch.cuda.empty_cache()
            torch.cuda.reset_peak_memory_stats()
            before = torch.cuda.memory_allocated()
        run(mode)
        extra = (torch.cuda.max_memory_allocated() - before) / 2**20 if cuda else None
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            run(mode)
            times.append(time.perf_counter() - start)
        result[mode] = {"extra_mb": extra, "seconds": statistics.median(times)}
    return result


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--tiny", action="store_true", help="a tiny model, short sequences")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--lengths", type=int, nargs="+", default=None)
    parser.add_argument(
        "--placement",
        choices=("one", "auto"),
        default="one",
        help="the model on one device (default), or dispatched by device_map='auto'",
    )
    args = parser.parse_args(argv)
    import torch

    if args.device.startswith("cuda") and not torch.cuda.is_available():
        parser.exit(1, "gpu_capture.py: no CUDA device here (use --device cpu --tiny to try it)\n")
    lengths = args.lengths or ([64, 256] if args.tiny else [2048, 8192])
    start = time.perf_counter()
    model, config = build(args.device, args.tiny)
    n_params = sum(p.numel() for p in model.parameters())
    if args.placement == "auto":
        import tempfile

        folder = tempfile.mkdtemp(prefix="gpu-capture-")
        model = dispatched(model.cpu(), args.device, folder)
    rows, figures = [], {}
    for seq in lengths:
        got = measure(model, config, seq, args.device, args.repeats)
        extra_modes = {mode: got.pop(mode) for mode in EXTRA}
        seq_rows, seq_figures = capture_figures(seq, got)
        for mode, found in extra_modes.items():
            ratio = found["seconds"] / got["forward"]["seconds"]
            seconds = f"{found['seconds']:.3g} (x{ratio:.3f} of forward)"
            seq_rows.append(
                {"seq": seq, "mode": mode, "extra peak MB": found["extra_mb"], "seconds": seconds}
            )
            seq_figures[f"seq{seq}_{mode}_time_ratio_vs_forward"] = round(ratio, 4)
            if found["extra_mb"] is not None:
                seq_figures[f"seq{seq}_{mode}_extra_mb"] = round(found["extra_mb"], 1)
        rows += seq_rows
        figures.update(seq_figures)
    print(table(rows, ["seq", "mode", "extra peak MB", "seconds"]))
    device_name = torch.cuda.get_device_name() if args.device.startswith("cuda") else args.device
    figures = {
        "device": device_name,
        "placement": "device_map auto" if args.placement == "auto" else "one device",
        "parameters": n_params,
        "wall_seconds": round(time.perf_counter() - start, 1),
        **figures,
    }
    emit("gpu_capture", figures)
    return figures


if __name__ == "__main__":
    main()
