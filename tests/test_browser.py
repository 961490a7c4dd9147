"""Every built page in a real browser (headless Chromium): all math typeset and drawn (every glyph
a formula refers to is defined on the page), no MathJax error, no broken resource, and no request
that leaves the site. The math is typeset at build time, so it must be there when the page loads.

Where Chromium is absent the test skips with a reason; with REQUIRE_BROWSER=1 (set by .ci/run)
a missing browser is a failure instead.
"""

from __future__ import annotations

import functools
import http.server
import json
import os
import threading
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.xdist_group("site")  # one worker builds the site once

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         # no name resolves but this machine's: a request for another host fails (and is reported)
         "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"]
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


def _serve(folder: Path):
    handler = functools.partial(_QuietHandler, directory=str(folder))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return httpd, f"http://127.0.0.1:{httpd.server_address[1]}/"


@pytest.fixture(scope="module")
def server(built_site):
    httpd, url = _serve(built_site)
    yield url
    httpd.shutdown()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


MATH_STATS = """() => {
    const math = [...document.querySelectorAll('span.math, div.math')];
    const done = math.filter(e => e.querySelector('mjx-container svg'));
    const refs = [...document.querySelectorAll('mjx-container use')].map(u => u.getAttribute('xlink:href') || u.getAttribute('href'));
    const visible = e => e.closest('details:not([open])') === null && e.offsetParent !== null;
    return {
      math: math.length,
      typeset: done.length,
      merror: document.querySelectorAll('[data-mml-node="merror"], mjx-merror').length,
      undefined_glyphs: [...new Set(refs.filter(r => !r || !document.getElementById(r.slice(1))))],
      invisible: done.filter(e => visible(e) && e.querySelector('svg').getBoundingClientRect().width === 0).length,
      raw: math.filter(e => !e.querySelector('mjx-container svg')).map(e => e.textContent.slice(0, 80)),
    };
}"""


def _is_chapter(page: Path) -> bool:
    """The pages worth a screenshot for review: the landing page and the chapters."""
    return page.name == "index.html" or "cell_output" in page.read_text()


def _pages(site: Path) -> list[str]:
    return sorted(p.relative_to(site).as_posix() for p in site.glob("*.html"))


class Visitor:
    """A reader's browser tab: one context (its cache is kept, as a reader's is), watching every
    request. The first page it opens arrives with nothing cached."""

    def __init__(self, browser, server: str):
        self.server = server
        self.ctx = browser.new_context(viewport={"width": 1280, "height": 900})
        self.page = self.ctx.new_page()
        self.outside, self.broken = [], []
        self.page.on("request", self._request)  # watched, not routed through Python (slow)
        self.page.on("response", lambda r: r.status >= 400 and self.broken.append(f"{r.status} {r.url}"))
        self.page.on("requestfailed", lambda r: r.url not in self.outside and self.broken.append(f"failed {r.url}"))

    def _request(self, req):
        if not req.url.startswith((self.server, "blob:", "data:")):
            self.outside.append(req.url)

    def close(self):
        self.ctx.close()

    def inspect(self, rel: str, shot: Path | None = None) -> tuple[list[str], float]:
        """Open one page; return what is wrong with it and the seconds until its math was there."""
        self.outside.clear()
        self.broken.clear()
        start = time.perf_counter()
        self.page.goto(self.server + rel, wait_until="domcontentloaded")
        stats = self.page.evaluate(MATH_STATS)  # no script runs to typeset: it is all there on arrival
        elapsed = time.perf_counter() - start
        self.page.wait_for_load_state("load")  # every resource answered (or failed) before judging
        problems = []
        if stats["typeset"] != stats["math"]:
            problems.append(f"{rel}: {stats['math'] - stats['typeset']} math elements not typeset, e.g. {stats['raw'][:2]}")
        if stats["merror"]:
            problems.append(f"{rel}: {stats['merror']} MathJax errors")
        if stats["undefined_glyphs"]:
            problems.append(f"{rel}: formulas refer to glyphs the page does not define: {stats['undefined_glyphs'][:5]}")
        if stats["invisible"]:
            problems.append(f"{rel}: {stats['invisible']} typeset formulas have no size on the page")
        if self.outside:
            problems.append(f"{rel}: requests leaving the site: {self.outside[:5]}")
        if self.broken:
            problems.append(f"{rel}: broken resources: {self.broken[:5]}")
        if shot is not None:
            self.page.screenshot(path=str(shot), full_page=False)
        return problems, elapsed


def test_every_page_typesets_offline(browser, server, built_site):
    """Seconds until each page's math was there go to screenshots/timings.json (a reader's tab,
    cache kept); ``make bench`` measures every page with nothing cached."""
    SHOTS.mkdir(exist_ok=True)
    timings, problems = {}, []
    pages = _pages(built_site)
    assert "softmax_ce.html" in pages and "index.html" in pages
    tab = Visitor(browser, server)
    try:
        for rel in pages:
            shot = SHOTS / f"{Path(rel).stem}.png" if _is_chapter(built_site / rel) else None
            found, timings[rel] = tab.inspect(rel, shot)
            problems += found
    finally:
        tab.close()
    (SHOTS / "timings.json").write_text(json.dumps(timings, indent=1))
    assert not problems, "\n".join(problems)


BAD_PAGE = """<!doctype html><html><head><link rel="stylesheet" href="missing.css"></head><body>
<p><span class="math notranslate nohighlight">\\(x^2\\)</span> left as TeX.</p>
<p><span class="math notranslate nohighlight"><mjx-container><svg width="1ex" height="1ex" viewBox="0 0 10 10">
<use xlink:href="#MJX-NCM-I-NOWHERE" xmlns:xlink="http://www.w3.org/1999/xlink"></use></svg></mjx-container></span></p>
<p><span class="math notranslate nohighlight"><mjx-container><svg width="0" height="0"><g data-mml-node="merror"></g>
</svg></mjx-container></span></p>
<img src="https://example.com/tracker.png">
</body></html>"""


def test_the_page_check_catches_each_kind_of_fault(browser, tmp_path):
    """The checks above can fail: a page with every fault they look for is reported for each."""
    (tmp_path / "bad.html").write_text(BAD_PAGE)
    httpd, url = _serve(tmp_path)
    tab = Visitor(browser, url)
    try:
        problems, _ = tab.inspect("bad.html")
    finally:
        tab.close()
        httpd.shutdown()
    text = "\n".join(problems)
    for needle in ("1 math elements not typeset", "1 MathJax errors", "#MJX-NCM-I-NOWHERE",
                   "1 typeset formulas have no size", "requests leaving the site: ['https://example.com/tracker.png']",
                   "broken resources: ['404 "):
        assert needle in text, (needle, text)


# ---- Layout at a desktop width and a phone's ------------------------------------------------

LAYOUT = """() => {
    const col = e => e.getBoundingClientRect();
    const svgsOutside = e => { const r = col(e);
        return [...e.querySelectorAll('svg')].some(s => { const q = s.getBoundingClientRect();
            return q.width > 0 && (q.right > r.right + 1 || q.left < r.left - 1); }); };
    const eqs = [...document.querySelectorAll('article div.math, main div.math')];
    const notes = [...document.querySelectorAll('div.math-rows .math-note')];
    const misplaced = notes.filter(n => { const rhs = n.parentElement.querySelector('.math-rhs');
        return rhs && n.getBoundingClientRect().top < rhs.getBoundingClientRect().bottom - 1; });
    const main = document.querySelector('main') || document.body;
    const imgs = [...main.querySelectorAll('img')].filter(i => !i.closest('.bd-header, nav, footer'));
    // a table's caption wider than the box its table scrolls in: its end is out of sight
    const cut = [...main.querySelectorAll('table > caption')].filter(c => {
        const box = c.closest('table').parentElement.getBoundingClientRect(), r = c.getBoundingClientRect();
        return r.right > box.right + 1 || r.left < box.left - 1; });
    return {
      cut_captions: cut.map(c => c.textContent.trim().slice(0, 50)),
      equations: eqs.length,
      wide: eqs.filter(svgsOutside).map(e => (e.id || '') + ' ' + (e.querySelector('[aria-label]')?.getAttribute('aria-label') || '').slice(0, 60)),
      page_width: document.documentElement.scrollWidth, viewport: window.innerWidth,
      notes: notes.length, notes_beside: misplaced.length,
      no_alt: imgs.filter(i => !(i.alt || '').trim() || /\\.(png|svg|jpe?g)$|^[0-9a-f]{16,}/i.test(i.alt.trim())).map(i => i.src.split('/').pop()),
      no_caption: imgs.filter(i => { const f = i.closest('figure'); return !f || !(f.querySelector('figcaption')?.textContent || '').trim(); }).map(i => i.src.split('/').pop()),
    };
}"""

#: At a phone's width, at most this share of display equations may scroll inside themselves.
PHONE_SCROLL_SHARE = 0.10


def layout_problems(stats: dict, width: int, rel: str) -> list[str]:
    """What is wrong with one page's layout at ``width`` (the page's LAYOUT stats)."""
    problems = []
    if width >= 1200 and stats["wide"]:
        problems.append(f"{rel} @{width}: {len(stats['wide'])} display equations wider than their column: {stats['wide'][:3]}")
    if stats["page_width"] > stats["viewport"] + 1:
        problems.append(f"{rel} @{width}: the page scrolls sideways ({stats['page_width']} px in {stats['viewport']})")
    if width < 600 and stats["notes_beside"]:
        problems.append(f"{rel} @{width}: {stats['notes_beside']} of {stats['notes']} reasons beside their step, not under it")
    if stats["cut_captions"]:
        problems.append(f"{rel} @{width}: table captions wider than the table's box: {stats['cut_captions'][:3]}")
    if stats["no_alt"]:
        problems.append(f"{rel}: figures without alt text: {stats['no_alt'][:3]}")
    if stats["no_caption"]:
        problems.append(f"{rel}: figures without a caption: {stats['no_caption'][:3]}")
    return problems


def _layouts(browser, url: str, pages: list[str], width: int) -> dict[str, dict]:
    ctx = browser.new_context(viewport={"width": width, "height": 900})
    try:
        page = ctx.new_page()
        out = {}
        for rel in pages:
            page.goto(url + rel, wait_until="load")
            out[rel] = page.evaluate(LAYOUT)
        return out
    finally:
        ctx.close()


def test_every_page_fits_a_desktop_and_a_phone(browser, server, built_site):
    """At 1366 px no display equation is wider than its column; at 390 px no page scrolls
    sideways, reasons sit under their steps, and at most 10% of the display equations need to
    scroll inside themselves (a matrix may; the site's derivations are cut into rows that break
    at + and −). Every figure has alt text and a caption."""
    pages = [p for p in _pages(built_site) if p != "search.html"]
    problems, scrolling, total = [], 0, 0
    for width in (1366, 390):
        for rel, stats in _layouts(browser, server, pages, width).items():
            problems += layout_problems(stats, width, rel)
            if width == 390:
                scrolling += len(stats["wide"])
                total += stats["equations"]
    assert total > 50
    if scrolling > PHONE_SCROLL_SHARE * total:
        problems.append(f"@390: {scrolling} of {total} display equations scroll inside themselves "
                        f"(at most {PHONE_SCROLL_SHARE:.0%})")
    assert not problems, "\n".join(problems)


BROKEN_LAYOUT = """<!doctype html><html><head><meta name="viewport" content="width=device-width">
<style>div.math { overflow-x: auto; } .math-rest { display: flex; }</style></head><body><main>
<div class="math" id="too-wide"><mjx-container aria-label="x"><svg width="2000" height="20"></svg></mjx-container></div>
<div class="math math-rows"><div class="math-grid"><div class="math-row"><span class="math-rest">
<span class="math-rhs"><svg width="50" height="20"></svg></span><span class="math-note">(a reason beside its step)</span>
</span></div></div></div>
<pre style="width: 900px">a line that pushes the page sideways</pre>
<div style="overflow-x: auto"><table><caption>A caption as wide as its table, which is wider than the phone</caption>
<tr><td style="min-width: 700px">a wide cell</td></tr></table></div>
<img src="data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==" alt="3f2a9c1b7d4e5f60a1b2.png">
<figure><img src="data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==" alt="A described figure"></figure>
</main></body></html>"""


def test_the_layout_check_catches_each_kind_of_fault(browser, tmp_path):
    """The checks above can fail: a page with a too-wide equation, a sideways-scrolling line, a
    reason beside its step on a phone, a figure whose alt text is a file name and one without a
    caption is reported for each."""
    (tmp_path / "bad.html").write_text(BROKEN_LAYOUT)
    httpd, url = _serve(tmp_path)
    try:
        found = {w: layout_problems(_layouts(browser, url, ["bad.html"], w)["bad.html"], w, "bad.html")
                 for w in (1366, 390)}
    finally:
        httpd.shutdown()
    desktop, phone = "\n".join(found[1366]), "\n".join(found[390])
    assert "1 display equations wider than their column" in desktop and "too-wide" in desktop
    assert "the page scrolls sideways" in phone
    assert "1 of 1 reasons beside their step" in phone
    assert "figures without alt text" in desktop and "figures without a caption" in desktop
    assert "table captions wider than the table's box" in phone and "A caption as wide" in phone
