"""Benchmark of the feed-forward chapter: deriving and checking the vectorized δ-rule as the
widths grow, and the cost of checking each topic of the chapter.

Run as a script (``python benchmarks/bench_feedforward.py``) or import and call :func:`run`,
which returns the measured numbers as a dict. This is a benchmark, not a test: it reports
seconds, it does not assert them.

Target (tracker issue 3): widths 16-16-16-1 derived and checked in ≤ 5 s.
"""

from __future__ import annotations

import importlib
import time

#: Widths of the scaling table (three layers of weights, one output, as in the target).
WIDTHS = ((2, 2, 2, 1), (4, 4, 4, 1), (8, 8, 8, 1), (12, 12, 12, 1), (16, 16, 16, 1))
#: The chapter's topics, in reading order.
TOPICS = ("sigmoid_neuron", "window_scorer", "backprop_421")
TARGET_SECONDS = 5.0


def scaling(widths=WIDTHS) -> list[dict]:
    """Seconds to build and check the vectorized rule element by element, per widths."""
    from derivations.backprop_421 import verify_vectorized_rule

    rows = []
    for w in widths:
        t0 = time.perf_counter()
        row = verify_vectorized_rule(w)
        rows.append({**row, "seconds": round(time.perf_counter() - t0, 3)})
    return rows


def topic_check_seconds(name: str) -> float:
    """derivations() + check() + results() + check_symbolic() + numeric_checks(), in a fresh state."""
    mod = importlib.import_module(f"derivations.{name}")
    t0 = time.perf_counter()
    for d in mod.derivations():
        d.check()
    for r in mod.results():
        r.check_symbolic()
    tables = mod.numeric_checks()
    assert all(t.passed for t in tables), name
    return round(time.perf_counter() - t0, 3)


def run() -> dict:
    """All the numbers: the scaling table, the 16-16-16-1 time against its target, per-topic checks."""
    table = scaling()
    target_row = next(r for r in table if r["widths"] == "16-16-16-1")
    return {"vectorized_rule_scaling": table,
            "widths_16_16_16_1_seconds": target_row["seconds"],
            "widths_16_16_16_1_target_seconds": TARGET_SECONDS,
            "widths_16_16_16_1_within_target": target_row["seconds"] <= TARGET_SECONDS,
            "topic_check_seconds": {name: topic_check_seconds(name) for name in TOPICS}}


def main() -> None:
    out = run()
    print("Vectorized δ-rule, every element of every ∂s/∂W and ∂s/∂b, symbolic:")
    print(f"{'widths':<14}{'weights':>9}{'biases':>8}{'seconds':>10}")
    for r in out["vectorized_rule_scaling"]:
        print(f"{r['widths']:<14}{r['weights']:>9}{r['biases']:>8}{r['seconds']:>10.3f}")
    ok = "within" if out["widths_16_16_16_1_within_target"] else "OVER"
    print(f"16-16-16-1: {out['widths_16_16_16_1_seconds']:.2f} s ({ok} the {TARGET_SECONDS:g} s target)")
    print("Topic checks (derivations + results + numeric checks), seconds:")
    for name, sec in out["topic_check_seconds"].items():
        print(f"  {name:<16}{sec:>7.2f}")


if __name__ == "__main__":
    main()
