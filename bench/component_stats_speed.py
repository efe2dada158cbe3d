"""
Component statistics: ``hf.component_stats`` against a plain forward over the same
batches, and its memory as the corpus grows, on the CPU.

Two models: the shipped toy (``hf.sample_model()``: 4 blocks, d_model 128, 8 heads) and
a random model of GPT-2 small's shape (12 blocks, d_model 768, 12 heads; ``GPT2Model``,
the body that ``component_stats`` runs), both read with the toy's tokenizer.  The corpus
is the toy's own sentences, two to six joined per text (so that batches are padded), at
``component_stats``'s default batch of 8.

- **Speed**: tokens per second of ``component_stats`` without and with ``heads=True``,
  against tokenizing the same batches and running ``model(**inputs)`` under
  ``torch.no_grad``.  The three run back to back ``--repeats`` times; each ratio is the
  median of the pairs' ratios (time of ours / time of the forward).  A control runs the
  forward again after the statistics: its ratio to the first, 1 but for this machine's
  noise, says how far to trust the others.  Targets: at most 1.2x the forward's time
  without heads, 1.6x with heads.
- **Memory**: peak resident set size during the call, less the size just before it,
  each corpus size in a fresh process, at 1k, 10k and 100k tokens, with heads.
  Target: flat.

    python bench/component_stats_speed.py            # the full table
    python bench/component_stats_speed.py --quick    # smaller corpora, for a smoke test
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import subprocess
import sys
import time

from _common import emit, table
from capture_memory import _PeakSampler, _rss

BATCH = 8  # component_stats's default
MODELS = ("toy", "gpt2-small")


def load(name: str):
    """The model called *name* and the toy's tokenizer."""
    import torch
    import transformers

    from mpl_residual import hf

    transformers.logging.set_verbosity_error()
    model, tokenizer = hf.sample_model()
    if name == "toy":
        return model, tokenizer
    torch.manual_seed(0)
    config = transformers.GPT2Config(
        vocab_size=len(tokenizer), n_embd=768, n_layer=12, n_head=12, n_positions=1024
    )
    return transformers.GPT2Model(config).eval(), tokenizer


def corpus(tokenizer, n_tokens: int, seed: int = 0) -> list[str]:
    """Texts of two to six of the toy's sentences, about *n_tokens* tokens in all."""
    from mpl_residual.sample import sample_corpus

    rng = random.Random(seed)
    sentences = list(sample_corpus())
    lengths = {s: len(tokenizer(s)["input_ids"]) for s in sentences}
    texts, total = [], 0
    while total < n_tokens:
        picked = rng.sample(sentences, rng.randint(2, 6))
        texts.append(" ".join(picked))
        total += sum(lengths[s] for s in picked)
    return texts


def forward(model, tokenizer, texts: list[str]) -> int:
    """The baseline: tokenize each batch and run the model; the tokens read."""
    import torch

    tokens = 0
    for start in range(0, len(texts), BATCH):
        inputs = tokenizer(texts[start : start + BATCH], return_tensors="pt", padding=True)
        with torch.no_grad():
            model(**inputs)
        tokens += int(inputs["attention_mask"].sum())
    return tokens


def speed(name: str, repeats: int, n_tokens: int) -> dict:
    from mpl_residual import hf

    model, tokenizer = load(name)
    texts = corpus(tokenizer, n_tokens)
    counted = forward(model, tokenizer, texts)  # warm-up, and the tokens

    def run(heads: bool):
        return lambda: hf.component_stats(model, tokenizer, texts, heads=heads, progress=False)

    paths = {
        "forward": lambda: forward(model, tokenizer, texts),
        "whole": run(False),
        "heads": run(True),
        "again": lambda: forward(model, tokenizer, texts),
    }
    run(True)()  # warm-up
    times: dict[str, list[float]] = {path: [] for path in paths}
    for _ in range(repeats):  # back to back: a slow spell of the machine hits all
        for path, fn in paths.items():
            start = time.perf_counter()
            fn()
            times[path].append(time.perf_counter() - start)

    def ratio(path: str) -> float:
        pairs = zip(times[path], times["forward"], strict=True)
        return statistics.median(ours / base for ours, base in pairs)

    forward_s = statistics.median(times["forward"])
    return {
        "model": name,
        "tokens": counted,
        "forward tokens/s": counted / forward_s,
        "whole tokens/s": counted / statistics.median(times["whole"]),
        "heads tokens/s": counted / statistics.median(times["heads"]),
        "whole / forward": ratio("whole"),
        "heads / forward": ratio("heads"),
        "control": ratio("again"),
    }


def child(name: str, n_tokens: int) -> dict:
    from mpl_residual import hf

    model, tokenizer = load(name)
    texts = corpus(tokenizer, n_tokens)
    hf.component_stats(model, tokenizer, texts[:BATCH], heads=True, progress=False)  # warm
    before = _rss()
    with _PeakSampler() as sampler:
        stats = hf.component_stats(model, tokenizer, iter(texts), heads=True, progress=False)
    return {"extra_mb": (sampler.peak - before) / 2**20, "tokens": stats.n_tokens}


def memory(name: str, n_tokens: int) -> dict:
    cmd = [sys.executable, __file__, "--child", name, str(n_tokens)]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="smaller corpora, the toy only")
    parser.add_argument("--child", nargs=2, metavar=("MODEL", "TOKENS"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        name, n_tokens = args.child
        print(json.dumps(child(name, int(n_tokens))))
        return
    models = MODELS[:1] if args.quick else MODELS
    speed_tokens = {"toy": 2_000 if args.quick else 20_000, "gpt2-small": 4_000}
    sizes = [1_000, 10_000] if args.quick else [1_000, 10_000, 100_000]
    speeds = [speed(name, args.repeats, speed_tokens[name]) for name in models]
    columns = list(speeds[0])
    print(table(speeds, columns))
    rows, figures = [], {}
    for name in models:
        for n in sizes:
            got = memory(name, n)
            said = {"model": name, "corpus tokens": got["tokens"], "extra MB": got["extra_mb"]}
            rows.append(said)
            figures[f"{name}_tokens{n}_extra_mb"] = round(got["extra_mb"], 1)
    print()
    print(table(rows, ["model", "corpus tokens", "extra MB"]))
    emit(
        "component_stats_speed",
        {
            **{
                f"{got['model']}_{key.replace(' / ', '_vs_').replace(' ', '_')}": round(
                    got[key], 3
                )
                for got in speeds
                for key in ("whole / forward", "heads / forward", "control")
            },
            **figures,
        },
    )


if __name__ == "__main__":
    main()
