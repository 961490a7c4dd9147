"""Benchmarks for the project's speed targets (measured, never asserted in tests).

Run with ``make bench``. Measures, on this machine:

- a clean site build (fresh output and execution cache) and a no-change rebuild;
- ``derive check`` over all topics;
- the whole test suite (``--with-tests``; it takes a while);
- in headless Chromium, the time until all math of each page is typeset (largest page reported);
- in headless Chromium, each page's cold load (nothing cached): its bytes and the time to its load
  event (the heaviest page reported);
- every chapter benchmark ``benchmarks/bench_*.py`` (each defines ``run() -> dict``).

Results are printed and written to ``benchmarks/results/latest.json``.
"""

from __future__ import annotations

import argparse
import functools
import http.server
import importlib.util
import json
import os
import platform
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PY = sys.executable
# the whole book (issue 16: every chapter, the exercises, the generated pages) in 40 s; an older
# target of 30 s was for the site before the book pieces
TARGETS = {"clean build (s)": 40, "no-change rebuild (s)": 3, "derive check, all topics (s)": 10,
           "make test (s)": 90, "largest page typeset (s)": 2,
           "heaviest page cold load (MB)": 1.0, "heaviest page cold load (s)": 0.5}
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def timed(cmd, **kw) -> float:
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, cwd=ROOT, **kw)
    return time.perf_counter() - t0


def build_times(out: Path) -> dict:
    cache = out.parent / "cache"
    sphinx = [PY, str(ROOT / "docs" / "_ext" / "run_sphinx.py"), "-T", "-W", "--keep-going", "-q", "-j", str((os.cpu_count() or 1) + 1), "-b", "html", "-c", str(ROOT),
              "-D", f"nb_execution_cache_path={cache}", str(ROOT / "docs"), str(out)]
    quiet = dict(stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    clean = timed(sphinx, **quiet)
    pages = page_executions(cache)
    again = sorted(timed(sphinx, **quiet) for _ in range(3))
    return {"clean build (s)": clean, "no-change rebuild (s)": again[1],  # the median of three
            "no-change rebuild, all three (s)": [round(t, 2) for t in again],
            "page execution in the clean build (s)": pages}


def page_executions(cache: Path) -> dict:
    """Each page's execution time in the clean build (wall seconds of its kernel, pages running
    side by side on every core), as jupyter-cache recorded it, longest first."""
    from jupyter_cache import get_cache

    times = {}
    for record in get_cache(str(cache)).list_cache_records():
        times[Path(record.uri).stem] = round((record.data or {}).get("execution_seconds", 0.0), 2)
    return dict(sorted(times.items(), key=lambda kv: -kv[1]))


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *a):
        pass


def _serve(site: Path):
    """The built site on a local port, in a background thread: (server, base URL)."""
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(site)))
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return httpd, f"http://127.0.0.1:{httpd.server_address[1]}/"


def typeset_times(site: Path) -> dict:
    from playwright.sync_api import sync_playwright

    httpd, base = _serve(site)
    out = {}
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path="/usr/bin/chromium", args=FLAGS)
        for page_path in sorted(site.glob("*.html")):
            page = b.new_page()
            page.goto(base + page_path.name, wait_until="domcontentloaded")
            # the math is typeset at build time: it is complete when the document is there
            missing = page.evaluate("[...document.querySelectorAll('span.math, div.math')]"
                                    ".filter(e => !e.querySelector('mjx-container svg')).length")
            if missing:
                raise RuntimeError(f"{page_path.name}: {missing} formulas not typeset")
            # seconds from navigation start until the page (with all its math) was there
            out[page_path.name] = page.evaluate("performance.now()") / 1000
            page.close()
        b.close()
    httpd.shutdown()
    return out


def cold_loads(site: Path, repeat: int = 3) -> dict:
    """Each page as a first visit (a fresh browser context: nothing cached): the bytes it fetches
    (the page and every resource, headers included, by the browser's Resource Timing; the most of
    ``repeat`` visits) and the seconds from navigation to the end of its load event (their
    median)."""
    from playwright.sync_api import sync_playwright

    httpd, base = _serve(site)
    out = {}
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path="/usr/bin/chromium", args=FLAGS)
        for page_path in sorted(site.glob("*.html")):
            sizes, times = [], []
            for _ in range(repeat):
                ctx = b.new_context(viewport={"width": 1280, "height": 900})
                page = ctx.new_page()
                page.goto(base + page_path.name, wait_until="load")
                page.wait_for_load_state("networkidle")
                sizes.append(page.evaluate("[...performance.getEntriesByType('navigation'), ...performance.getEntriesByType("
                                        "'resource')].reduce((n, e) => n + e.transferSize, 0)"))
                times.append(page.evaluate("performance.getEntriesByType('navigation')[0].loadEventEnd") / 1000)
                ctx.close()
            out[page_path.name] = {"bytes": max(sizes), "load (s)": sorted(times)[len(times) // 2]}
        b.close()
    httpd.shutdown()
    return out


def chapter_benchmarks() -> dict:
    results = {}
    for path in sorted((ROOT / "benchmarks").glob("bench_*.py")):
        spec = importlib.util.spec_from_file_location(path.stem, path)
        mod = importlib.util.module_from_spec(spec)
        sys.path.insert(0, str(ROOT))
        spec.loader.exec_module(mod)
        results[path.stem] = mod.run()
    return results


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--with-tests", action="store_true", help="also time the whole test suite")
    ap.add_argument("--skip-chapters", action="store_true", help="skip benchmarks/bench_*.py")
    args = ap.parse_args()
    report = {"machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                          "date": time.strftime("%Y-%m-%d %H:%M")}}
    with tempfile.TemporaryDirectory() as tmp:
        site = Path(tmp) / "site"
        report.update(build_times(site))
        report["derive check, all topics (s)"] = timed([PY, "-m", "derivations", "check"],
                                                      stdout=subprocess.DEVNULL)
        if args.with_tests:  # as CI runs it on a fresh clone: every page executes (no cached results)
            report["make test (s)"] = timed([PY, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
                                            stdout=subprocess.DEVNULL,
                                            env={**os.environ, "NB_EXECUTION_MODE": "force"})
        if Path("/usr/bin/chromium").exists():
            pages = typeset_times(site)
            report["typeset per page (s)"] = pages
            report["largest page typeset (s)"] = max(pages.values())
            loads = cold_loads(site)
            heaviest = max(loads, key=lambda name: loads[name]["bytes"])
            report["cold load per page"] = loads
            report["heaviest page"] = heaviest
            report["heaviest page cold load (MB)"] = loads[heaviest]["bytes"] / 1e6
            report["heaviest page cold load (s)"] = loads[heaviest]["load (s)"]
    if not args.skip_chapters:
        report["chapters"] = chapter_benchmarks()
    print(f"{'measure':<34}{'value':>10}{'target':>10}")
    for key, target in TARGETS.items():
        if key in report:
            flag = "ok" if report[key] <= target else "OVER"
            print(f"{key:<34}{report[key]:>10.2f}{target:>10}  {flag}")
    if "heaviest page" in report:
        h = report["heaviest page"]
        print(f"heaviest page: {h}, {report['cold load per page'][h]['bytes']:,} bytes, "
              f"load event after {report['heaviest page cold load (s)'] * 1000:.0f} ms (cold, median of 3)")
    for name, res in report.get("chapters", {}).items():
        print(f"\n{name}:\n{json.dumps(res, indent=1, default=str)}")
    out = ROOT / "benchmarks" / "results"
    out.mkdir(exist_ok=True)
    (out / "latest.json").write_text(json.dumps(report, indent=1, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
