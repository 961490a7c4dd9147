"""Benchmark for the ACO page: the seconds of the page's search and of the larger documented one.

- the page's comparison (``compare`` with the default :class:`~derivations.aco_lstm.SearchConfig`,
  6 ants × 5 generations × 20 Adam updates, one process, as ``docs/aco_lstm.md`` runs it);
- the larger search, run as the command the page documents, ``python -m derivations.aco_lstm``
  with its defaults (20 ants × 10 generations × 40 updates, every core), in a subprocess.

Run as a script: ``python benchmarks/bench_aco.py``.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from derivations import aco_lstm

ROOT = Path(__file__).resolve().parents[1]
PAGE_TARGET_SECONDS = 8.0  # issue 13: the page's search adds at most 8 s to a clean build


def run() -> dict:
    config = aco_lstm.SearchConfig()
    t0 = time.perf_counter()
    aco_lstm.compare(aco_lstm.SeriesConfig(), config, seed=0, workers=1)
    page = time.perf_counter() - t0
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "derivations.aco_lstm"], cwd=ROOT, capture_output=True, text=True)
    larger = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"python -m derivations.aco_lstm failed:\n{proc.stderr[-2000:]}")
    return {"page's comparison (s)": round(page, 2),
            "page's search": f"{config.ants} ants × {config.generations} generations × {config.steps} updates, "
                             "one process",
            "page's comparison target (s)": PAGE_TARGET_SECONDS,
            "larger search, python -m derivations.aco_lstm (s)": round(larger, 2),
            "larger search": "the command's defaults: 20 ants × 10 generations × 40 updates, every core"}


if __name__ == "__main__":
    for key, value in run().items():
        print(f"{key:<52} {value}")
