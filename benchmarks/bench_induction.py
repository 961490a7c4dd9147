"""Benchmark for the induction proofs: seconds to build and check each one, from scratch.

An induction proves its claim for every number of steps (or layers) at once: its base case and its
inductive step are checked for a *symbolic* index, so no T or depth appears in what is checked and
the cost is one number per proof, whatever size the claim is used at. Beside it, for contrast, the
concrete-size check of the RNN's Jacobian product at T = 1 … 6 steps (hidden 3), whose cost grows
geometrically with T (:mod:`bench_recurrent` runs it further).

Run as a script: ``python benchmarks/bench_induction.py``.
"""

from __future__ import annotations

import time

from derivations import backprop_421, indrnn, lstm_gates, rnn_bptt

#: (topic, builder, its sizes): each builder is called fresh (its cache bypassed) at each size.
PROOFS = [
    ("rnn_bptt", rnn_bptt.jacobian_induction, rnn_bptt.INDUCTION_UNITS),
    ("rnn_bptt", rnn_bptt.bptt_induction, rnn_bptt.INDUCTION_UNITS),
    ("backprop_421", backprop_421.delta_rule_induction, backprop_421.INDUCTION_WIDTHS),
    ("lstm_gates", lstm_gates.carousel_induction, lstm_gates.CAROUSEL_UNITS),
    ("indrnn", indrnn.eq4_induction, (None,)),
]
CONCRETE_STEPS = (1, 2, 3, 4, 5, 6)


def _fresh(builder, size):
    make = getattr(builder, "__wrapped__", builder)  # past functools.cache: build it anew
    return make() if size is None else make(size)


def run() -> dict:
    rows = []
    for topic, builder, sizes in PROOFS:
        for size in sizes:
            t0 = time.perf_counter()
            proof = _fresh(builder, size)
            proof.check()
            rows.append({"topic": topic, "proof": proof.name, "units": size, "holds for": proof.proved_for(),
                         "seconds": round(time.perf_counter() - t0, 3)})
    concrete = []
    for steps in CONCRETE_STEPS:
        t0 = time.perf_counter()
        rnn_bptt.check_jacobian_product(steps, 3)
        concrete.append({"T": steps, "seconds": round(time.perf_counter() - t0, 3)})
    return {"name": "induction proofs: build and check, from scratch", "proofs": rows,
            "slowest proof (s)": max(r["seconds"] for r in rows),
            "total over all proofs (s)": round(sum(r["seconds"] for r in rows), 3),
            "concrete Jacobian-product check, hidden 3 (for contrast)": concrete}


if __name__ == "__main__":
    result = run()
    print(result["name"])
    for row in result["proofs"]:
        print(f"  {row['topic']:<13} {row['proof']:<28} units {str(row['units']):>4}  {row['holds for']:<12}"
              f" {row['seconds']:7.3f} s")
    print("  concrete check of the Jacobian product (grows with T):",
          ", ".join(f"T={r['T']}: {r['seconds']:.2f} s" for r in result["concrete Jacobian-product check, hidden 3 (for contrast)"]))
