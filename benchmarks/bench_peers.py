"""The peephole LSTM's BPTT in NumPy (derivations.lstm_gates) beside torch eager, jax.jit and HIPS
autograd, in float64 and float32, on an idle machine and with one core busy.

Each peer computes the same thing: the gradients of J = Σ_t ⟨dhs_t, h_t⟩ with respect to every
parameter, the equations written the same way (four gates, diagonal peepholes, the output gate
peeking at c_t). The frameworks take turns in every round (interleaved, so a slow spell of the
machine hits all alike); each ratio is the median over rounds of peer time ÷ our time (above 1: we
are faster). jax's compile time is measured apart (its first call) and excluded.

torch and jax are optional: a peer that is not installed is skipped with the reason. Install
them into the project's environment for this benchmark only (never needed by the site or the
tests)::

    .venv/bin/pip install jax                                                   # CPU jaxlib
    .venv/bin/pip install torch --index-url https://download.pytorch.org/whl/cpu   # CPU-only torch

(the default torch wheel from PyPI bundles CUDA and is several GB). Run as a script, or import
and call :func:`run` (``benchmarks/run.py --peers`` does).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from derivations import lstm_gates  # noqa: E402

GATES = lstm_gates.GATES
SIZES = ((32, 128, 64, 50), (32, 256, 64, 200))   # batch, hidden, inputs, T


def flops(batch: int, hidden: int, inputs: int, steps: int) -> float:
    """Multiply-adds ×2 of the matrix products of one forward + backward (parameters only)."""
    G = 4 * hidden
    forward = 2 * G * inputs * steps * batch + 2 * G * hidden * steps * batch
    backward = 2 * G * hidden * steps * batch + 2 * G * (inputs + hidden) * steps * batch
    return float(forward + backward)


def matmul_rate(dtype, n: int = 1536, repeat: int = 5) -> float:
    """GFLOP/s of one large product (n × n times n × n) with every BLAS thread: the peak to compare with."""
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(n, n)).astype(dtype), rng.normal(size=(n, n)).astype(dtype)
    a @ b
    best = min(_timed(lambda: a @ b) for _ in range(repeat))
    return 2 * n**3 / best / 1e9


def _timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def _problem(batch, hidden, inputs, steps, dtype):
    rng = np.random.default_rng(0)
    p = lstm_gates.init_params(hidden, inputs, rng, dtype=dtype)
    xs = rng.normal(size=(steps, inputs, batch)).astype(dtype)
    dhs = rng.normal(size=(steps, hidden, batch)).astype(dtype)
    return p, xs, dhs


def numpy_peer(p, xs, dhs):
    def run():
        return lstm_gates.backward(p, lstm_gates.forward(p, xs)[1], dhs, inputs=False)[0]
    return run, None


def autograd_peer(p, xs, dhs):
    import autograd

    grad = autograd.grad(lambda q: lstm_gates.autograd_loss(q, xs, dhs))
    return (lambda: grad(p)), None


def torch_peer(p, xs, dhs):
    import torch

    q = {k: torch.tensor(v, requires_grad=True) for k, v in p.items()}
    X, DH = torch.tensor(xs), torch.tensor(dhs)
    names = list(q)

    def loss():
        H, B = q["Wxi"].shape[0], X.shape[2]
        h = torch.zeros((H, B), dtype=X.dtype)
        c = torch.zeros((H, B), dtype=X.dtype)
        J = 0.0
        for t in range(X.shape[0]):
            x = X[t]
            i = torch.sigmoid(q["Wxi"] @ x + q["Whi"] @ h + q["wci"][:, None] * c + q["bi"][:, None])
            f = torch.sigmoid(q["Wxf"] @ x + q["Whf"] @ h + q["wcf"][:, None] * c + q["bf"][:, None])
            z = torch.tanh(q["Wxc"] @ x + q["Whc"] @ h + q["bc"][:, None])
            c = f * c + i * z
            o = torch.sigmoid(q["Wxo"] @ x + q["Who"] @ h + q["wco"][:, None] * c + q["bo"][:, None])
            h = o * torch.tanh(c)
            J = J + torch.sum(DH[t] * h)
        return J

    def run():
        grads = torch.autograd.grad(loss(), [q[k] for k in names])
        return {k: g.numpy() for k, g in zip(names, grads)}
    return run, None


def jax_peer(p, xs, dhs):
    import jax
    import jax.numpy as jnp

    jax.config.update("jax_enable_x64", True)   # float64 where asked; float32 stays float32
    q = {k: jnp.asarray(v) for k, v in p.items()}
    X, DH = jnp.asarray(xs), jnp.asarray(dhs)

    def loss(q, X, DH):
        H, B = q["Wxi"].shape[0], X.shape[2]

        def step(carry, inp):
            h, c = carry
            x, dh = inp
            i = jax.nn.sigmoid(q["Wxi"] @ x + q["Whi"] @ h + q["wci"][:, None] * c + q["bi"][:, None])
            f = jax.nn.sigmoid(q["Wxf"] @ x + q["Whf"] @ h + q["wcf"][:, None] * c + q["bf"][:, None])
            z = jnp.tanh(q["Wxc"] @ x + q["Whc"] @ h + q["bc"][:, None])
            c = f * c + i * z
            o = jax.nn.sigmoid(q["Wxo"] @ x + q["Who"] @ h + q["wco"][:, None] * c + q["bo"][:, None])
            h = o * jnp.tanh(c)
            return (h, c), jnp.sum(dh * h)

        zeros = jnp.zeros((H, B), X.dtype)
        _, parts = jax.lax.scan(step, (zeros, zeros), (X, DH))
        return jnp.sum(parts)

    grad = jax.jit(jax.grad(loss))
    t0 = time.perf_counter()
    jax.block_until_ready(grad(q, X, DH))
    compile_s = time.perf_counter() - t0

    def run():
        return {k: np.asarray(v) for k, v in jax.block_until_ready(grad(q, X, DH)).items()}
    return run, compile_s


PEERS = {"numpy (ours)": numpy_peer, "torch eager": torch_peer, "jax.jit + lax.scan": jax_peer,
         "HIPS autograd": autograd_peer}
MODULES = {"torch eager": "torch", "jax.jit + lax.scan": "jax"}


def _available(name: str) -> str | None:
    mod = MODULES.get(name)
    if mod is None:
        return None
    try:
        __import__(mod)
    except ImportError:
        return f"{mod} is not installed (see this module's docstring for a CPU-only install)"
    return None


#: The process that holds one core: a fresh Python spinning, started (not forked: a fork of a
#: process that has imported JAX, which runs threads, may deadlock) and stopped by ``compare``.
BUSY = [sys.executable, "-c", "while True: pass"]


def compare(size, dtype, repeat: int = 9, busy: bool = False) -> dict:
    """One interleaved comparison at one size and precision; ``busy`` holds one core with a spinning
    process while it runs."""
    p, xs, dhs = _problem(*size, dtype)
    fns, notes, compile_times = {}, {}, {}
    for name, make in PEERS.items():
        if name == "HIPS autograd" and (dtype != np.float64 or size != SIZES[0]):
            notes[name] = "float64 at the first size only (HIPS autograd is ~10× slower)"
            continue
        why = _available(name)
        if why:
            notes[name] = why
            continue
        fns[name], compile_s = make(p, xs, dhs)
        if compile_s is not None:
            compile_times[name] = compile_s
    ref = fns["numpy (ours)"]()
    agree = {}
    for name, fn in fns.items():                       # warm up, and check every peer's gradient
        g = fn()
        agree[name] = max(float(np.linalg.norm(np.asarray(g[k], float) - ref[k].astype(float))
                                / np.linalg.norm(ref[k].astype(float))) for k in ref)
    spinner = subprocess.Popen(BUSY) if busy else None
    if spinner:
        time.sleep(0.2)
    try:
        times = {name: [] for name in fns}
        for _ in range(repeat):
            for name, fn in fns.items():
                times[name].append(_timed(fn))
    finally:
        if spinner:
            spinner.kill()
            spinner.wait()
    ours = np.array(times["numpy (ours)"])
    out = {"size": "batch {}, hidden {}, inputs {}, T {}".format(*size), "dtype": np.dtype(dtype).name,
           "one core busy": busy, "rounds": repeat,
           "ours, median (s)": round(float(np.median(ours)), 4)}
    for name in fns:
        if name != "numpy (ours)":
            out[f"{name}: time ÷ ours (median)"] = round(float(np.median(np.array(times[name]) / ours)), 2)
    for name, seconds in compile_times.items():
        out[f"{name}: compile (s, excluded)"] = round(seconds, 2)
    for name, err in agree.items():
        if name != "numpy (ours)":
            out[f"{name}: gradient difference (normwise)"] = f"{err:.1e}"
    out["ours: GFLOP/s of the products"] = round(flops(*size) / float(np.median(ours)) / 1e9, 1)
    out.update({f"{k}: skipped": v for k, v in notes.items()})
    return out


def run(repeat: int = 9) -> list[dict]:
    rows = []
    peak = {np.dtype(d).name: matmul_rate(d) for d in (np.float64, np.float32)}
    for size in SIZES:
        for dtype in (np.float64, np.float32):
            row = compare(size, dtype, repeat)
            row["share of the matmul peak"] = f"{row['ours: GFLOP/s of the products'] / peak[row['dtype']]:.0%}"
            rows.append(row)
    for dtype in (np.float64, np.float32):
        rows.append(compare(SIZES[0], dtype, repeat, busy=True))
    rows.append({"matmul peak, GFLOP/s (n = 1536, all threads)": {k: round(v, 1) for k, v in peak.items()},
                 "cores": os.cpu_count()})
    return rows


if __name__ == "__main__":
    for row in run():
        for key, value in row.items():
            print(f"{key:<46}{value}")
        print()
