"""
Capture memory and time: ``hf.capture(position=-1)`` against the two ways of running the
model without it, on the CPU.

For a random-init GPT-2-small-sized model (12 blocks, d_model 768, vocab 50257) at
sequence lengths 512, 1024 and 2048, each mode runs in a fresh process:

- ``forward``: ``model(input_ids)``, the plain forward a user would run;
- ``body``: ``model.transformer(input_ids)``, the same without the LM head (what
  ``capture`` runs, so the fair baseline for its own overhead);
- ``hidden_states``: ``model(input_ids, output_hidden_states=True)`` then
  ``hf.from_outputs``, the seed notebook's way;
- ``capture``: ``hf.capture(model, input_ids)``.

Peak memory is the highest resident set size sampled every millisecond during the
first call, less the resident set size just before it. Time is the median of
``--repeats`` further calls. Targets: capture's extra peak over the plain forward at
most 1/10 of the hidden-states path's extra; capture's time within 5% of the forward.

    python bench/capture_memory.py              # 512, 1024, 2048
    python bench/capture_memory.py --quick      # tiny model, for a smoke test
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import threading
import time

from _common import capture_figures, emit, table

MODES = ("forward", "body", "hidden_states", "capture")
PAGE = os.sysconf("SC_PAGE_SIZE")


def _rss() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * PAGE


class _PeakSampler:
    def __init__(self) -> None:
        self.peak = _rss()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, _rss())
            time.sleep(0.001)

    def __enter__(self) -> _PeakSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, _rss())


def child(mode: str, seq: int, repeats: int, quick: bool) -> dict:
    import torch
    from transformers import GPT2Config, GPT2LMHeadModel
    from transformers.utils import logging

    from mpl_residual import hf

    logging.set_verbosity_error()
    torch.manual_seed(0)
    torch.set_num_threads(os.cpu_count() or 1)
    config = GPT2Config(n_positions=max(seq, 1024))
    if quick:
        config = GPT2Config(n_positions=max(seq, 128), n_layer=2, n_embd=64, n_head=2)
    model = GPT2LMHeadModel(config).eval()
    ids = torch.randint(0, config.vocab_size, (1, seq))

    def run() -> None:
        with torch.no_grad():
            if mode == "forward":
                model(ids)
            elif mode == "body":
                model.transformer(ids)
            elif mode == "hidden_states":
                hf.from_outputs(model(ids, output_hidden_states=True))
            else:
                hf.capture(model, ids)

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
    parser.add_argument("--lengths", type=int, nargs="+", default=[512, 1024, 2048])
    parser.add_argument("--quick", action="store_true", help="a tiny model, short sequences")
    parser.add_argument(
        "--child", nargs=3, metavar=("MODE", "SEQ", "REPEATS"), help=argparse.SUPPRESS
    )
    args = parser.parse_args()
    if args.child:
        mode, seq, repeats = args.child
        print(json.dumps(child(mode, int(seq), int(repeats), args.quick)))
        return
    lengths = [64, 128] if args.quick else args.lengths
    rows, figures = [], {}
    for seq in lengths:
        got = {mode: measure(mode, seq, args.repeats, args.quick) for mode in MODES}
        seq_rows, seq_figures = capture_figures(seq, got)
        body_ratio = got["capture"]["seconds"] / got["body"]["seconds"]
        seq_rows[-1]["seconds"] += f" (x{body_ratio:.3f} of body)"
        seq_figures[f"seq{seq}_time_ratio_vs_body"] = round(body_ratio, 4)
        rows += seq_rows
        figures.update(seq_figures)
    print(table(rows, ["seq", "mode", "extra peak MB", "seconds"]))
    emit(
        "capture_memory",
        {"model": "tiny GPT-2" if args.quick else "GPT-2 small, random init", **figures},
    )


if __name__ == "__main__":
    main()
