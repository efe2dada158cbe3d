"""Helpers shared by the benchmarks: timing, tables, and the final JSON line."""

from __future__ import annotations

import json
import platform
import statistics
import time
from collections.abc import Callable
from typing import Any


def interleaved(
    fns: dict[str, Callable[[], Any]], *, repeats: int = 3, warmup: int = 1
) -> dict[str, list[float]]:
    """
    Wall times of each of *fns* in seconds, *repeats* of each, run interleaved: every
    repeat runs each once, in an order that turns from repeat to repeat (so that each
    comes first as often), after *warmup* rounds.  A ratio of two of them taken repeat
    by repeat compares runs seconds apart, which share the machine's state of the
    moment; on this shared two-core machine, medians taken minutes apart moved a ratio
    by up to a third.
    """
    names = list(fns)
    for _ in range(warmup):
        for name in names:
            fns[name]()
    times: dict[str, list[float]] = {name: [] for name in names}
    for turn in range(repeats):
        for name in names[turn % len(names) :] + names[: turn % len(names)]:
            start = time.perf_counter()
            fns[name]()
            times[name].append(time.perf_counter() - start)
    return times


def paired_ratio(base: list[float], other: list[float]) -> float:
    """The median over repeats of ``base / other``: how many times faster *other* ran."""
    return statistics.median(b / o for b, o in zip(base, other, strict=True))


def table(rows: list[dict[str, Any]], columns: list[str]) -> str:
    """A plain-text table, one row per dict."""

    def fmt(value: Any) -> str:
        if isinstance(value, float):
            return f"{value:.3g}" if abs(value) < 1000 else f"{value:,.0f}"
        return str(value)

    cells = [[fmt(row.get(c, "")) for c in columns] for row in rows]
    widths = [max(len(c), *(len(r[i]) for r in cells)) for i, c in enumerate(columns)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True))]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)) for r in cells]
    return "\n".join(lines)


def machine() -> dict[str, Any]:
    import os

    return {
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
    }


def emit(name: str, figures: dict[str, Any]) -> None:
    """Print the final JSON line: the benchmark's figures, machine-readable."""
    print(json.dumps({"benchmark": name, **figures, "machine": machine()}, sort_keys=True))


def capture_figures(seq: int, got: dict[str, dict[str, Any]]) -> tuple[list[dict], dict]:
    """
    Table rows and JSON figures for one sequence length of the capture benchmarks.

    *got* maps a mode (``forward``, ``hidden_states``, ``capture``, ...) to its
    ``extra_mb`` (None where memory is not measured) and ``seconds``.
    """
    rows = [
        {"seq": seq, "mode": mode, "extra peak MB": m["extra_mb"], "seconds": m["seconds"]}
        for mode, m in got.items()
    ]
    figures: dict[str, Any] = {
        f"seq{seq}_time_ratio_vs_forward": round(
            got["capture"]["seconds"] / got["forward"]["seconds"], 4
        )
    }
    base = got["forward"]["extra_mb"]
    if base is not None:
        hidden_extra = got["hidden_states"]["extra_mb"] - base
        capture_extra = got["capture"]["extra_mb"] - base
        ratio = capture_extra / hidden_extra if hidden_extra > 0 else None
        figures[f"seq{seq}_capture_extra_over_forward_mb"] = round(capture_extra, 1)
        figures[f"seq{seq}_hidden_states_extra_over_forward_mb"] = round(hidden_extra, 1)
        figures[f"seq{seq}_memory_ratio"] = None if ratio is None else round(ratio, 4)
        shown = "n/a" if ratio is None else f"{ratio:+.3f}"
        rows.append(
            {
                "seq": seq,
                "mode": "capture vs forward",
                "extra peak MB": f"{capture_extra:+.0f} vs {hidden_extra:+.0f} (ratio {shown})",
                "seconds": f"x{figures[f'seq{seq}_time_ratio_vs_forward']:.3f}",
            }
        )
    return rows, figures
