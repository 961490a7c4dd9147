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


def _best(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def run(batch: int = 32, hidden: int = 128, inputs: int = 64, steps: int = 50, repeat: int = 3) -> dict:
    """Seconds per forward+backward for both, their ratio, and the largest gradient difference."""
    import autograd

    rng = np.random.default_rng(0)
    p = lstm_gates.init_params(hidden, inputs, rng)
    xs = rng.normal(size=(steps, inputs, batch))
    dhs = rng.normal(size=(steps, hidden, batch))

    def numpy_bptt():
        return lstm_gates.backward(p, lstm_gates.forward(p, xs)[1], dhs)[0]

    grad_fn = autograd.grad(lambda q: lstm_gates.autograd_loss(q, xs, dhs))

    def autograd_bptt():
        return grad_fn(p)

    g_np, g_ag = numpy_bptt(), autograd_bptt()
    diff = max(float(np.max(np.abs(g_np[k] - g_ag[k]) / (1e-8 + np.abs(g_ag[k])))) for k in p)
    t_np, t_ag = _best(numpy_bptt, repeat), _best(autograd_bptt, repeat)
    return {"size": f"batch {batch}, hidden {hidden}, inputs {inputs}, T {steps}",
            "numpy forward+backward (s)": round(t_np, 4), "autograd (s)": round(t_ag, 4),
            "speed-up (autograd / numpy)": round(t_ag / t_np, 2), "target speed-up": 5,
            "max relative gradient difference": diff}


if __name__ == "__main__":
    for key, value in run().items():
        print(f"{key:<36}{value}")
