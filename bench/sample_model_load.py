"""
How long the toy causal LM shipped in the package takes to load, as a user starts:
a fresh interpreter with the hub offline runs ``from mpl_residual import hf`` and then
``hf.sample_model()``.  The baseline measured in the same run is the same interpreter
importing torch and transformers' ``GPT2LMHeadModel`` alone (what any load of a GPT-2
costs before a weight is read).  Target: ``sample_model()`` under 5 s.

    python bench/sample_model_load.py [--repeats 5]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys

from _common import emit, table

LOAD = """
import json, time
t0 = time.perf_counter()
from mpl_residual import hf
t1 = time.perf_counter()
model, tokenizer = hf.sample_model()
t2 = time.perf_counter()
print(json.dumps({"import": t1 - t0, "load": t2 - t1}))
"""
BASELINE = """
import json, time
t0 = time.perf_counter()
import torch
from transformers import GPT2LMHeadModel
print(json.dumps({"import": time.perf_counter() - t0, "load": 0.0}))
"""


def _run(code: str) -> dict:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                         text=True, check=True).stdout  # fmt: skip
    return json.loads(out.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    runs = [_run(LOAD) for _ in range(args.repeats)]
    bases = [_run(BASELINE) for _ in range(args.repeats)]
    load = statistics.median(r["load"] for r in runs)
    imported = statistics.median(r["import"] for r in runs)
    base = statistics.median(r["import"] for r in bases)
    rows = [
        {"what": "import torch + GPT2LMHeadModel (baseline)", "seconds": base},
        {"what": "from mpl_residual import hf", "seconds": imported},
        {"what": "hf.sample_model()", "seconds": load},
        {"what": "both, from a fresh interpreter", "seconds": imported + load},
    ]
    print(table(rows, ["what", "seconds"]))
    figures = {"sample_model_seconds": round(load, 3), "import_hf_seconds": round(imported, 3),
               "baseline_import_seconds": round(base, 3),
               "load_ratio_vs_baseline": round((imported + load) / base, 3)}  # fmt: skip
    emit("sample_model_load", figures)
    return figures


if __name__ == "__main__":
    main()
