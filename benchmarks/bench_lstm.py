"""BPTT for the peephole LSTM: the NumPy backward rule against HIPS autograd of the same equations.

Target (tracker issue 5): batch 32, hidden 128, T = 50; NumPy forward + backward at least 5×
faster than ``autograd.grad`` of a plainly written forward pass. Run as a script, or import and
call :func:`run` (the benchmark runner does that).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from derivations import lstm_gates  # noqa: E402


def _times(fns, repeat: int) -> list[list[float]]:
    """Seconds of each call of each function, the functions taking turns (so a slow spell of the
    machine hits both alike)."""
    times = [[] for _ in fns]
    for _ in range(repeat):
        for k, fn in enumerate(fns):
            t0 = time.perf_counter()
            fn()
            times[k].append(time.perf_counter() - t0)
    return times


def run(batch: int = 32, hidden: int = 128, inputs: int = 64, steps: int = 50, repeat: int = 15) -> dict:
    """Seconds per forward+backward for both, their ratio, and the largest gradient difference."""
    import autograd

    rng = np.random.default_rng(0)
    p = lstm_gates.init_params(hidden, inputs, rng)
    xs = rng.normal(size=(steps, inputs, batch))
    dhs = rng.normal(size=(steps, hidden, batch))

    def numpy_bptt():
        # the parameters' gradients only, as autograd.grad below computes
        return lstm_gates.backward(p, lstm_gates.forward(p, xs)[1], dhs, inputs=False)[0]

    grad_fn = autograd.grad(lambda q: lstm_gates.autograd_loss(q, xs, dhs))

    def autograd_bptt():
        return grad_fn(p)

    g_np, g_ag = numpy_bptt(), autograd_bptt()
    diff = max(float(np.max(np.abs(g_np[k] - g_ag[k]) / (1e-8 + np.abs(g_ag[k])))) for k in p)
    t_np, t_ag = _times([numpy_bptt, autograd_bptt], repeat)
    ratios = sorted(a / n for n, a in zip(t_np, t_ag))
    return {"size": f"batch {batch}, hidden {hidden}, inputs {inputs}, T {steps}",
            "runs": repeat,
            "numpy forward+backward, median (s)": round(float(np.median(t_np)), 4),
            "autograd, median (s)": round(float(np.median(t_ag)), 4),
            "speed-up (autograd / numpy), median": round(float(np.median(ratios)), 2),
            "speed-up, lowest and highest run": (round(ratios[0], 2), round(ratios[-1], 2)),
            "target speed-up": 5,
            "max relative gradient difference": diff}


if __name__ == "__main__":
    for key, value in run().items():
        print(f"{key:<36}{value}")
