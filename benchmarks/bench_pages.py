"""Benchmark for the pages with a build budget: the CPU seconds each adds to a clean build.

Each page runs as its notebook (made from the MyST source as the site makes it) in a fresh kernel,
alone, and the kernel's CPU time (user + system, from ``getrusage`` of the finished child) is
measured, the least of :data:`RUNS` runs (a run's CPU time only grows with what else the machine
does); a notebook that only imports NumPy, SymPy and Matplotlib gives the baseline (in the build
a page's kernel is forked from a process that has imported them already, so the baseline is not
part of what a page adds). On two cores, with the build's readers kept busy, a page adds about
half its CPU seconds to the build's wall time; both are reported.

Run as a script: ``python benchmarks/bench_pages.py``.
"""

from __future__ import annotations

import importlib.util
import resource
import tempfile
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
#: page → its budget in seconds added to a clean build on two cores (issues 10, 12, 13)
BUDGETS = {("gumbel_max", "gumbel_softmax"): 6.0, ("binary_gates",): 6.0, ("aco_lstm",): 8.0}
#: runs of each notebook; the least CPU time counts
RUNS = 3


def _conf():
    spec = importlib.util.spec_from_file_location("site_conf_bench", ROOT / "conf.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _kernel_cpu(nb) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        NotebookClient(nb, timeout=900, kernel_name="python3", resources={"metadata": {"path": tmp}}).execute()
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def run() -> dict:
    conf = _conf()
    base_nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
        "import numpy, sympy, matplotlib.pyplot, derivations")])
    baseline = min(_kernel_cpu(base_nb) for _ in range(RUNS))
    rows = []
    for pages, budget in BUDGETS.items():
        cpu = {p: min(_kernel_cpu(conf.notebook_of(ROOT / "docs" / f"{p}.md")) for _ in range(RUNS)) - baseline
               for p in pages}
        total = sum(cpu.values())
        rows.append({"pages": " + ".join(pages), "CPU s (each, less the baseline)": {p: round(v, 2) for p, v in cpu.items()},
                     "adds to a 2-core build, about (s)": round(total / 2, 2), "budget (s)": budget,
                     "within budget": total / 2 <= budget})
    return {"kernel baseline: imports only (CPU s)": round(baseline, 2), "pages": rows}


if __name__ == "__main__":
    result = run()
    print(f"kernel baseline (imports): {result['kernel baseline: imports only (CPU s)']} CPU s")
    for row in result["pages"]:
        print(f"  {row['pages']:<28} CPU {row['CPU s (each, less the baseline)']}  adds ≈ "
              f"{row['adds to a 2-core build, about (s)']} s  (budget {row['budget (s)']} s)")
