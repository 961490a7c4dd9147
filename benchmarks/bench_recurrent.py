"""Benchmark for the recurrent chapter: seconds for the symbolic check of the Jacobian product.

``run()`` checks ∂h(τ)/∂h(0) = Π diag(1 − h²) W element by element (see
:func:`derivations.rnn_bptt.check_jacobian_product`) for τ = 1 … 10 at hidden size 3 and returns
the table of τ against seconds, with the growth factor per extra step. Each entry of the product
has 3^(τ−1) monomials, so the time grows geometrically (about ×3 per step once it dominates).

Run as a script: ``python benchmarks/bench_recurrent.py``.
"""

from __future__ import annotations

import time

from derivations import rnn_bptt

HIDDEN = 3
STEPS = tuple(range(1, 11))
TARGET_SECONDS = 5.0  # τ = 10, hidden 3


def run() -> dict:
    rows = []
    for steps in STEPS:
        t0 = time.perf_counter()
        out = rnn_bptt.check_jacobian_product(steps, HIDDEN)
        rows.append({"T": steps, "seconds": time.perf_counter() - t0, "monomials": out["monomials"]})
    tail = [b["seconds"] / a["seconds"] for a, b in zip(rows[-4:], rows[-3:]) if a["seconds"] > 0]
    growth = sum(tail) / len(tail) if tail else float("nan")
    return {"name": "recurrent: symbolic Jacobian-product check (hidden 3)", "hidden": HIDDEN, "rows": rows,
            "growth_per_step": growth, "seconds_at_T10": rows[-1]["seconds"],
            "target_seconds_at_T10": TARGET_SECONDS, "within_target": rows[-1]["seconds"] <= TARGET_SECONDS}


if __name__ == "__main__":
    result = run()
    print(f"{result['name']}")
    print(f"{'T':>3}  {'seconds':>8}  {'monomials':>9}")
    for row in result["rows"]:
        print(f"{row['T']:>3}  {row['seconds']:8.3f}  {row['monomials']:>9}")
    print(f"growth per extra step (last 3): x{result['growth_per_step']:.2f}; "
          f"T = 10 in {result['seconds_at_T10']:.2f} s (target {TARGET_SECONDS} s): "
          f"{'ok' if result['within_target'] else 'OVER'}")
