"""Every built page in a real browser (headless Chromium): all math typeset, no MathJax error,
no broken resource, and no request that leaves the site.

Where Chromium is absent the test skips with a reason; with REQUIRE_BROWSER=1 (set by .ci/run)
a missing browser is a failure instead.
"""

from __future__ import annotations

import functools
import http.server
import json
import os
import shutil
import threading
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.xdist_group("site")  # one worker builds the site once

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]
SHOTS = Path(__file__).resolve().parent / "screenshots"


def _browser_missing() -> str | None:
    if not Path(CHROMIUM).exists():
        return f"Chromium not found at {CHROMIUM} (apt-get install chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "Python playwright is not installed"
    return None


@pytest.fixture(scope="module")
def browser():
    reason = _browser_missing()
    if reason:
        if os.environ.get("REQUIRE_BROWSER") == "1":
            pytest.fail(f"REQUIRE_BROWSER=1 but {reason}")
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        yield b
        b.close()


@pytest.fixture(scope="module")
def server(built_site):
    handler = functools.partial(_QuietHandler, directory=str(built_site))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.shutdown()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def _pages(site: Path) -> list[str]:
    return sorted(p.relative_to(site).as_posix() for p in site.glob("*.html"))


def test_every_page_typesets_offline(browser, server, built_site):
    SHOTS.mkdir(exist_ok=True)
    timings = {}
    problems = []
    pages = _pages(built_site)
    assert "softmax_ce.html" in pages and "index.html" in pages
    for rel in pages:
        ctx = browser.new_context(viewport={"width": 1280, "height": 900})
        page = ctx.new_page()
        outside, broken, console_errors = [], [], []

        def route(r, outside=outside):
            url = r.request.url
            if url.startswith(server) or url.startswith(("blob:", "data:")):
                r.continue_()
            else:
                outside.append(url)
                r.abort()

        page.route("**/*", route)
        page.on("response", lambda resp, broken=broken: resp.status >= 400 and broken.append(f"{resp.status} {resp.url}"))
        page.on("requestfailed", lambda req, broken=broken, outside=outside:
                req.url not in outside and broken.append(f"failed {req.url}"))
        page.on("console", lambda m, ce=console_errors: m.type == "error" and ce.append(m.text))
        start = time.perf_counter()
        page.goto(server + rel, wait_until="domcontentloaded")
        n_math = page.evaluate("document.querySelectorAll('span.math, div.math').length")
        if n_math:
            page.wait_for_function("window.MathJax && MathJax.startup && MathJax.startup.promise", timeout=15000)
            page.evaluate("MathJax.startup.promise")
        timings[rel] = time.perf_counter() - start
        page.wait_for_load_state("load")  # every resource answered (or failed) before judging
        stats = page.evaluate("""() => {
            const math = [...document.querySelectorAll('span.math, div.math')];
            return {
              math: math.length,
              typeset: math.filter(e => e.querySelector('mjx-container')).length,
              merror: document.querySelectorAll('mjx-merror').length,
              raw: math.filter(e => !e.querySelector('mjx-container')).map(e => e.textContent.slice(0, 80)),
            };
        }""")
        if stats["typeset"] != stats["math"]:
            problems.append(f"{rel}: {stats['math'] - stats['typeset']} math elements not typeset, e.g. {stats['raw'][:2]}")
        if stats["merror"]:
            problems.append(f"{rel}: {stats['merror']} MathJax errors")
        if outside:
            problems.append(f"{rel}: requests leaving the site: {outside[:5]}")
        if broken:
            problems.append(f"{rel}: broken resources: {broken[:5]}")
        if rel not in ("genindex.html", "search.html", "py-modindex.html"):
            page.screenshot(path=str(SHOTS / f"{Path(rel).stem}.png"), full_page=False)
        ctx.close()
    (SHOTS / "timings.json").write_text(json.dumps(timings, indent=1))
    assert not problems, "\n".join(problems)
