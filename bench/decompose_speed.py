"""
Who wrote each cell, and what it costs: ``hf.decompose(heads=True)`` against a plain
forward, and against TransformerLens's way, ``run_with_cache`` then
``cache.stack_head_results``, on the CPU.

A random-init GPT-2-small-shaped model (12 blocks, d_model 768, 12 heads, vocab 50257)
reads 1024 tokens (``--lengths``); ``decompose`` is called as users call it, with a
tokenizer and a text (a word-level tokenizer whose words are the ids, so that the
text is exactly those tokens). Each mode runs in a fresh process:

- ``forward``: ``model(input_ids)``, the plain forward with its LM head;
- ``body``: ``model.transformer(input_ids)``, the forward without the head;
- ``decompose``: ``hf.decompose(model, tokenizer, text, heads=True)``;
- ``tl_forward``: the same weights as a ``HookedTransformer``, ``model(input_ids)``;
- ``tl_cache``: ``model.run_with_cache(input_ids)`` then
  ``cache.stack_head_results(layer=-1, pos_slice=-1)`` and the ``hook_mlp_out`` of the
  last token: the same components, TransformerLens's way.

Peak memory is the highest resident set size sampled every millisecond during the
first call, less the resident set size just before it; time is the median of
``--repeats`` further calls. Targets: decompose at most 1.1x the forward's time, and
its extra peak over the forward at most 1/50 of ``run_with_cache``'s over its own.

    python bench/decompose_speed.py              # seq 1024
    python bench/decompose_speed.py --quick      # a tiny model, for a smoke test
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

from _common import emit, table
from capture_memory import _PeakSampler, _rss
from gpu_capture import word_tokenizer

MODES = ("forward", "body", "decompose", "tl_forward", "tl_cache")


def _models(quick: bool, seq: int, tl: bool):
    import torch
    from transformers import GPT2Config, GPT2LMHeadModel

    torch.manual_seed(0)
    config = GPT2Config(n_positions=max(seq, 1024))
    if quick:
        config = GPT2Config(n_positions=max(seq, 128), n_layer=2, n_embd=64, n_head=2)
    model = GPT2LMHeadModel(config).eval()
    if not tl:
        return model, config
    import warnings

    from transformer_lens import HookedTransformer, HookedTransformerConfig
    from transformer_lens.pretrained.weight_conversions import convert_gpt2_weights

    cfg = HookedTransformerConfig(
        n_layers=config.n_layer,
        d_model=config.n_embd,
        n_heads=config.n_head,
        d_head=config.n_embd // config.n_head,
        d_mlp=4 * config.n_embd,
        n_ctx=config.n_positions,
        d_vocab=config.vocab_size,
        act_fn="gelu_new",
        normalization_type="LN",
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        hooked = HookedTransformer(cfg)
        hooked.load_state_dict(convert_gpt2_weights(model, cfg), strict=False)
    del model
    return hooked.eval(), config


def child(mode: str, seq: int, repeats: int, quick: bool) -> dict:
    import torch
    from transformers.utils import logging

    from mpl_residual import hf

    logging.set_verbosity_error()
    torch.set_num_threads(os.cpu_count() or 1)
    model, config = _models(quick, seq, tl=mode.startswith("tl_"))
    draw = torch.Generator().manual_seed(1)
    ids = torch.randint(0, config.vocab_size - 1, (1, seq), generator=draw)
    tokenizer = word_tokenizer(config.vocab_size)
    text = " ".join(f"w{i}" for i in ids[0].tolist())

    def run() -> None:
        with torch.no_grad():
            if mode in ("forward", "tl_forward"):
                model(ids)
            elif mode == "body":
                model.transformer(ids)
            elif mode == "decompose":
                hf.decompose(model, tokenizer, text, heads=True)
            else:
                _, cache = model.run_with_cache(ids)
                cache.stack_head_results(layer=-1, pos_slice=-1)
                [cache[f"blocks.{i}.hook_mlp_out"][0, -1] for i in range(config.n_layer)]

    before = _rss()
    with _PeakSampler() as sampler:
        run()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return {"extra_mb": (sampler.peak - before) / 2**20, "seconds": statistics.median(times)}


def measure(mode: str, seq: int, repeats: int, quick: bool) -> dict:
    cmd = [sys.executable, __file__, "--child", mode, str(seq), str(repeats)]
    if quick:
        cmd.append("--quick")
    out = subprocess.run(cmd, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--lengths", type=int, nargs="+", default=[1024])
    parser.add_argument("--quick", action="store_true", help="a tiny model, short sequences")
    parser.add_argument(
        "--child", nargs=3, metavar=("MODE", "SEQ", "REPEATS"), help=argparse.SUPPRESS
    )
    args = parser.parse_args()
    if args.child:
        mode, seq, repeats = args.child
        print(json.dumps(child(mode, int(seq), int(repeats), args.quick)))
        return
    rows, figures = [], {}
    for seq in [64] if args.quick else args.lengths:
        got = {mode: measure(mode, seq, args.repeats, args.quick) for mode in MODES}
        for mode, found in got.items():
            rows.append({"seq": seq, "mode": mode, "extra peak MB": found["extra_mb"],
                         "seconds": found["seconds"]})  # fmt: skip
        time_ratio = got["decompose"]["seconds"] / got["forward"]["seconds"]
        extra = got["decompose"]["extra_mb"] - got["forward"]["extra_mb"]
        cache_extra = got["tl_cache"]["extra_mb"] - got["tl_forward"]["extra_mb"]
        memory_ratio = extra / cache_extra if cache_extra > 0 else None
        body_ratio = got["decompose"]["seconds"] / got["body"]["seconds"]
        rows.append({
            "seq": seq,
            "mode": "decompose vs forward",
            "extra peak MB": f"{extra:+.0f} vs run_with_cache {cache_extra:+.0f}",
            "seconds": f"x{time_ratio:.3f} (x{body_ratio:.3f} of body)",
        })  # fmt: skip
        figures.update({
            f"seq{seq}_time_ratio_vs_forward": round(time_ratio, 4),
            f"seq{seq}_extra_over_forward_mb": round(extra, 1),
            f"seq{seq}_run_with_cache_extra_mb": round(cache_extra, 1),
            f"seq{seq}_memory_ratio_vs_run_with_cache": (
                None if memory_ratio is None else round(memory_ratio, 4)
            ),
            f"seq{seq}_run_with_cache_time_ratio_vs_forward": round(
                got["tl_cache"]["seconds"] / got["tl_forward"]["seconds"], 4
            ),
        })  # fmt: skip
    print(table(rows, ["seq", "mode", "extra peak MB", "seconds"]))
    model = "tiny GPT-2" if args.quick else "GPT-2 small, random init"
    emit("decompose_speed", {"model": model, **figures})


if __name__ == "__main__":
    main()
