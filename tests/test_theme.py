"""The theme in a real browser (issue 11; docs/_ext/light_theme.py).

- Below 992 px the sidebar toggles open the page list and the page's contents; from 992 px the
  collapse button hides the page list (pydata-sphinx-theme#2451 broke all three).
- A cold page load (nothing cached) of the heaviest pages weighs at most 1 MB, the page's own HTML
  and math included. (Its load time is measured by ``make bench``, not here.)
- Search snippets hold no theme text and no hidden code; the search index, no hidden code.
- In dark mode (and light) the check tables' caption and note have a contrast of at least 4.5.
- The icons FontAwesome used to draw are drawn; the colour-mode button and "back to top" work.
- What scrolls sideways gets its tab stop as the reader reaches it (or at the first Tab), not by
  measuring the whole page at its load event.

Each check is a function applied to the built site and to a copy of it broken on purpose
(``broken_site``: the repairs removed, a heavy script put back, hidden words indexed): each check
must fail there, for the reason it looks for.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from test_browser import _serve, browser, server  # noqa: F401  (fixtures: Chromium, the built site served)

pytestmark = [pytest.mark.xdist_group("site"), pytest.mark.browser]  # the built site's worker

MAX_BYTES = 1_000_000  # a cold page load, everything it fetches (issue 11)
PAGE_LIST = "nav.bd-docs-nav a"  # the primary sidebar's links to the pages
PAGE_CONTENTS = "nav.page-toc a"  # the secondary sidebar's links into the page
THEME_TEXT = ("System Settings", "Light", "Dark", "Ctrl", "Contents", "previous")  # theme chrome, never an article's


# ---- the checks ---------------------------------------------------------------------------

CLICKABLE = """(selector) => [...document.querySelectorAll(selector)].filter(a => {
    // a link a reader can click: drawn, in the viewport, and on top at its centre
    if (!a.checkVisibility({opacityProperty: true, visibilityProperty: true})) return false;
    const r = a.getBoundingClientRect();
    if (r.width === 0 || r.bottom <= 0 || r.top >= innerHeight || r.right <= 0 || r.left >= innerWidth) return false;
    const hit = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
    return hit !== null && a.contains(hit);
}).length"""


def _clickable(page, selector: str) -> int:
    return page.evaluate(CLICKABLE, selector)


def _wait_for(page, expression: str, timeout_ms: int = 2000) -> bool:
    """Whether the JavaScript ``expression`` becomes true within ``timeout_ms``."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    try:
        page.wait_for_function(expression, timeout=timeout_ms)
        return True
    except PlaywrightTimeout:
        return False


def _wait_clickable(page, selector: str, want_some: bool) -> bool:
    """Wait (through the sidebars' CSS transitions) until some / none of the links are clickable."""
    return _wait_for(page, f"({CLICKABLE})({json.dumps(selector)}) {'>' if want_some else '==='} 0")


def _visible_toggle(page, toggle: str):
    """The one button of class ``toggle`` a reader sees (the themes also render hidden ones)."""
    buttons = page.locator(f"{toggle}:visible")
    return buttons.first if buttons.count() == 1 else None


def toggle_opens(page, toggle: str, links: str) -> list[str]:
    """Clicking the visible ``toggle`` makes ``links`` clickable (they were not before)."""
    width = page.viewport_size["width"]
    button = _visible_toggle(page, toggle)
    if button is None:
        return [f"{width} px: {page.locator(toggle + ':visible').count()} visible {toggle} buttons, not 1"]
    if _clickable(page, links):
        return [f"{width} px: {links} are clickable before {toggle} is clicked (nothing to open)"]
    button.click()
    if not _wait_clickable(page, links, want_some=True):
        return [f"{width} px: after a click on {toggle}, no {links} is clickable (the sidebar did not open)"]
    page.keyboard.press("Escape")  # closes the sidebar's dialog
    return []


def toggle_collapses(page, toggle: str = ".primary-toggle", links: str = PAGE_LIST) -> list[str]:
    """On a desktop the visible ``toggle`` hides the sidebar's ``links`` and a second click brings
    them back."""
    width = page.viewport_size["width"]
    button = _visible_toggle(page, toggle)
    if button is None:
        return [f"{width} px: {page.locator(toggle + ':visible').count()} visible {toggle} buttons, not 1"]
    if not _clickable(page, links):
        return [f"{width} px: {links} are not clickable before {toggle} is clicked"]
    button.click()
    if not _wait_clickable(page, links, want_some=False):
        return [f"{width} px: after a click on {toggle}, {links} are still clickable (the sidebar did not collapse)"]
    button.click()
    if not _wait_clickable(page, links, want_some=True):
        return [f"{width} px: after a second click on {toggle}, no {links} is clickable (the sidebar did not come back)"]
    return []


def cold_load_bytes(browser, url: str) -> tuple[int, dict[str, int]]:
    """Bytes a first visit fetches (a fresh context, nothing cached): the page and every resource,
    headers included, by the browser's Resource Timing."""
    ctx = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        page = ctx.new_page()
        page.goto(url, wait_until="load")
        page.wait_for_load_state("networkidle")
        sizes = page.evaluate("""() => Object.fromEntries(
            [...performance.getEntriesByType('navigation'), ...performance.getEntriesByType('resource')]
            .map(e => [e.name, e.transferSize]))""")
    finally:
        ctx.close()
    return sum(sizes.values()), sizes


def weight_problems(browser, url: str) -> list[str]:
    total, sizes = cold_load_bytes(browser, url)
    if total <= MAX_BYTES:
        return []
    heaviest = sorted(sizes.items(), key=lambda kv: -kv[1])[:4]
    return [f"{url}: a cold load fetches {total:,} bytes (more than {MAX_BYTES:,}); heaviest: "
            + ", ".join(f"{name.rsplit('/', 1)[-1]} {size:,}" for name, size in heaviest)]


def search_snippets(page, base: str, query: str) -> dict[str, str]:
    """Sphinx's search page for ``query``: each result's address and its snippet (a documented
    object's result shows its description instead: it has none)."""
    page.goto(f"{base}search.html?q={query}", wait_until="load")
    finished = _wait_for(page, """(() => { const s = document.querySelector('#search-results p.search-summary');
        return s !== null && /found|did not match/.test(s.textContent); })()""", 20_000)
    # the snippets arrive one by one (a fetch of each result's page)
    if not (finished and _wait_for(page, """[...document.querySelectorAll('#search-results ul.search > li')]
            .every(li => li.querySelector(':scope > p.context, :scope > span'))""", 20_000)):
        pytest.fail(f"search for {query!r}: the search did not finish, or a result got no snippet, within 20 s")
    return page.evaluate("""() => Object.fromEntries([...document.querySelectorAll('#search-results ul.search > li')]
        .filter(li => li.querySelector(':scope > p.context'))
        .map(li => [li.querySelector('a').getAttribute('href'), li.querySelector('p.context').textContent.replace(/\\s+/g, ' ')]))""")


HIDDEN_CODE = """() => [...document.querySelectorAll('article.bd-article details.hide.above-input .cell_input')]
    .flatMap(c => c.textContent.split('\\n')).map(l => l.replace(/\\s+/g, ' ').trim()).filter(l => l.length >= 10)"""


def snippet_problems(page, base: str, query: str, hidden: dict[str, list[str]]) -> list[str]:
    """No snippet of the results for ``query`` holds theme text, nor (for a page in ``hidden``,
    page name → its lines of hidden code) a line of the page's hidden code."""
    problems = []
    snippets = search_snippets(page, base, query)
    if not snippets:
        problems.append(f"search for {query!r}: no results")
    for href, text in snippets.items():
        for word in THEME_TEXT:
            if re.search(rf"\b{re.escape(word)}\b", text):
                problems.append(f"search for {query!r}: the snippet of {href} holds the theme's {word!r}: {text[:160]!r}")
        for line in hidden.get(href.split("#")[0], []):
            if line in text:
                problems.append(f"search for {query!r}: the snippet of {href} holds hidden code {line!r}")
    return problems


def doctree_words(site: Path, docname: str) -> tuple[str, str]:
    """The text of a page's hidden code cells (tagged hide-cell or hide-input), and the rest of
    its doctree (what Sphinx's index reads: prose, the formulas' TeX, visible code and outputs),
    from the doctree the build pickled."""
    import pickle

    from docutils import nodes

    doctree = pickle.loads((site / ".doctrees" / f"{docname}.doctree").read_bytes())
    hidden = []
    for cell in list(doctree.findall(nodes.container)):
        mode = cell.get("hide_mode")  # myst-nb's: "all" (hide-cell), "input", "input+output", "output"
        if mode == "all":
            hidden.append(cell)
        elif mode in ("input", "input+output"):
            hidden += [c for c in cell.children if c.get("nb_element") == "cell_code_source"]
    hidden_text = " ".join(node.astext() for node in hidden)
    for node in hidden:
        node.parent.remove(node)
    return hidden_text, doctree.astext()


def _index_keys(text: str) -> set[str]:
    """The keys Sphinx's English index files the words of ``text`` under (IndexBuilder.feed)."""
    from sphinx.search.en import SearchEnglish

    lang = SearchEnglish({})
    keys = set()
    for word in lang.split(text):
        stem = lang.stem(word).lower()
        key = stem if lang.word_filter(stem) else word
        if lang.word_filter(key):
            keys.add(key)
    return keys


def read_index(site: Path) -> dict:
    text = (site / "searchindex.js").read_text(encoding="utf-8")
    return json.loads(text[text.index("(") + 1:text.rindex(")")])


def indexed_hidden_words(index: dict, docname: str, hidden: str, visible: str) -> list[str]:
    """Index keys that only the page's hidden code holds, yet the index files under the page."""
    doc = index["docnames"].index(docname)
    only_hidden = _index_keys(hidden) - _index_keys(visible)

    def docs(entry):
        return {entry} if isinstance(entry, int) else set(entry or ())

    return sorted(k for k in only_hidden
                  if doc in docs(index["terms"].get(k)) | docs(index["titleterms"].get(k)))


CONTRAST = """() => {
    // WCAG contrast of each check table's caption and note against what is behind them
    const rgba = s => { const m = s.match(/^rgba?\\(([\\d.]+), ([\\d.]+), ([\\d.]+)(?:, ([\\d.]+))?\\)$/);
        if (!m) throw new Error(`unreadable colour ${s}`); return [+m[1], +m[2], +m[3], m[4] === undefined ? 1 : +m[4]]; };
    const over = (top, under) => top.slice(0, 3).map((c, i) => c * top[3] + under[i] * (1 - top[3])).concat([1]);
    const background = el => { const layers = [];
        for (let e = el; e; e = e.parentElement) { const c = rgba(getComputedStyle(e).backgroundColor);
            if (c[3] > 0) layers.push(c); if (c[3] === 1) break; }
        if (!layers.length || layers[layers.length - 1][3] !== 1) throw new Error('no opaque background behind ' + el.tagName);
        return layers.reduceRight((under, top) => over(top, under)); };
    const lum = c => { const [r, g, b] = c.slice(0, 3).map(v => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; });
        return 0.2126 * r + 0.7152 * g + 0.0722 * b; };
    const ratio = el => { const bg = background(el), fg = over(rgba(getComputedStyle(el).color), bg);
        const [a, b] = [lum(fg), lum(bg)].sort((x, y) => y - x); return (a + 0.05) / (b + 0.05); };
    return [...document.querySelectorAll('table.check-table caption, p.check-note')]
        .map(el => [el.tagName.toLowerCase() + (el.className ? '.' + el.className : ''), el.textContent.slice(0, 40), ratio(el)]);
}"""


def contrast_problems(page, url: str, theme: str) -> list[str]:
    """Every check table caption and note on the page at ``url`` in colour theme ``theme``."""
    page.goto(url, wait_until="load")
    page.evaluate("localStorage.clear()")  # no mode chosen: the theme follows the system's colour scheme
    page.emulate_media(color_scheme=theme)
    try:
        page.reload(wait_until="load")
        if not _wait_for(page, f"document.documentElement.dataset.theme === {json.dumps(theme)}"):
            return [f"{url}: the page did not take the {theme} theme"]
        found = page.evaluate(CONTRAST)
    finally:
        page.emulate_media(color_scheme="light")
    if not found:
        return [f"{url}: no check table caption or note to measure"]
    return [f"{url} ({theme}): {what} {text!r}… has contrast {ratio:.2f} < 4.5"
            for what, text, ratio in found if ratio < 4.5]


ICONS = """() => {
    // icons the theme draws: each rendered .fa-* element has a drawing (theme-fixes.css), and no
    // rendered ::before/::after shows a private-use character (a FontAwesome glyph with no font)
    const problems = [];
    const rendered = e => e.checkVisibility() && e.getBoundingClientRect().width > 0;
    for (const i of document.querySelectorAll('[class*="fa-"]')) {
        if (!i.checkVisibility() || !rendered(i.parentElement)) continue;  // (hidden on purpose: another mode's icon)
        const s = getComputedStyle(i);
        if (s.getPropertyValue('--site-icon').includes('transparent') || i.getBoundingClientRect().width === 0)
            problems.push(`icon ${i.className} is not drawn`);
    }
    for (const e of document.querySelectorAll('body *')) {
        if (e.closest('svg') || !rendered(e)) continue;
        for (const pseudo of ['::before', '::after']) {
            const c = getComputedStyle(e, pseudo).content;
            if (/[\\ue000-\\uf8ff]/.test(c)) problems.push(`${e.tagName.toLowerCase()}.${e.className}${pseudo} shows a FontAwesome character`);
        }
    }
    return problems;
}"""


SCROLL_BOXES = ("pre, .nboutput > .output_area, .cell_output > .output, .jp-RenderedHTMLCommon, "
                ".pst-scrollable-table-container")  # what the theme gives a tab stop when it scrolls
TAB_STOPS = """(selector) => [...document.querySelectorAll(selector)].map(el => ({
    set: el.hasAttribute('tabindex'), stop: el.tabIndex, shown: el.checkVisibility(),
    scrolls: el.scrollWidth > el.clientWidth || el.scrollHeight > el.clientHeight}))"""


def tab_stop_problems(page, url: str) -> list[str]:
    """Keyboard access to what scrolls, without measuring the whole page at load: the theme's
    load listener is replaced (html[data-tab-stops]); a box far below is not measured until the
    reader comes near it; every box measured has tabindex 0 if it scrolls and -1 if not; the first
    press of Tab gives every box its tab stop. (At 390 px, where tables and code scroll sideways.)"""
    size = page.viewport_size
    page.set_viewport_size({"width": 390, "height": 800})
    try:
        page.goto(url, wait_until="load")
        if page.evaluate("document.documentElement.dataset.tabStops") != "when-seen":
            return [f"{url}: the theme's load listener measures every scrolling box at once (no html[data-tab-stops])"]
        boxes = page.evaluate(TAB_STOPS, SCROLL_BOXES)
        problems = []
        if not boxes or boxes[-1]["set"]:
            problems.append(f"{url}: the last of {len(boxes)} boxes was measured before the reader came near it")
        if not any(b["scrolls"] for b in boxes):
            problems.append(f"{url}: no box scrolls at 390 px (nothing to test with)")
        # read to the end (the page grows as skipped sections are laid out: scroll until it stops)
        while page.evaluate("(() => { const y = scrollY; scrollBy(0, 600); return scrollY > y; })()"):
            page.wait_for_timeout(30)
        page.wait_for_timeout(200)
        after = page.evaluate(TAB_STOPS, SCROLL_BOXES)
        # (a box in a closed toggle, e.g. a hidden code cell, is not seen until the reader opens it)
        wrong = [k for k, b in enumerate(after) if b["shown"] and (not b["set"] or b["stop"] != (0 if b["scrolls"] else -1))]
        if wrong or not any(b["shown"] for b in after):
            problems.append(f"{url}: after reading to the end, {len(wrong)} of {sum(b['shown'] for b in after)} shown "
                            f"boxes have a wrong or no tab stop")
        page.goto(url, wait_until="load")
        page.keyboard.press("Tab")
        first_tab = page.evaluate(TAB_STOPS, SCROLL_BOXES)
        if not all(b["set"] and b["stop"] == (0 if b["scrolls"] else -1) for b in first_tab):
            problems.append(f"{url}: the first press of Tab did not give every box its tab stop")
        return problems
    finally:
        page.set_viewport_size(size)


def control_problems(page, url: str) -> list[str]:
    """The icons are drawn; the colour-mode button steps system → light → dark → system; "back to
    top" shows when the reader scrolls up (below 1200 px: sphinx-book-theme hides it on wider
    screens)."""
    page.goto(url, wait_until="load")
    problems = [f"{url}: {p}" for p in page.evaluate(ICONS)]
    button = _visible_toggle(page, ".theme-switch-button")
    if button is None:
        return problems + [f"{url}: no visible colour-mode button"]
    modes = []
    for _ in range(3):
        button.click()
        modes.append(page.evaluate("document.documentElement.dataset.mode"))
    if modes != ["light", "dark", "auto"]:
        problems.append(f"{url}: the colour-mode button went through {modes}, not ['light', 'dark', 'auto']")
    size = page.viewport_size
    page.set_viewport_size({"width": 800, "height": size["height"]})
    try:
        page.evaluate("window.scrollTo(0, 3000)")
        page.wait_for_timeout(100)
        page.evaluate("window.scrollTo(0, 2500)")
        if not _wait_for(page, "document.getElementById('pst-back-to-top').checkVisibility()"):
            problems.append(f"{url}: scrolling up did not show the back-to-top button")
    finally:
        page.set_viewport_size(size)
    return problems


# ---- the site and a copy broken on purpose -------------------------------------------------

def heaviest_pages(site: Path, n: int = 3) -> list[str]:
    """The ``n`` pages with the most bytes of their own on disk: the HTML and the images it shows."""
    def own_bytes(page: Path) -> int:
        images = set(re.findall(r'<img [^>]*src="([^"]+)"', page.read_text(encoding="utf-8")))
        return page.stat().st_size + sum((site / src).stat().st_size for src in images if (site / src).is_file())

    return sorted((p.name for p in site.glob("*.html")), key=lambda name: -own_bytes(site / name))[:n]


HIDDEN_PAGE = "rnn_bptt"  # a chapter whose imports cell is hidden (the search checks read it)


@pytest.fixture(scope="module")
def broken_site(built_site, tmp_path_factory) -> Path:
    """The built site with what this issue fixed undone: no theme-fixes.js (the toggles, search
    snippets), theme-fixes.css emptied (no icons), the dark-mode rule for check tables taken out
    of derivations.css, and FontAwesome's JavaScript back in a copy of the heaviest page
    (heavy.html). (The test below also files hidden code under HIDDEN_PAGE in its search index.)"""
    site = tmp_path_factory.mktemp("broken") / "site"
    shutil.copytree(built_site, site)
    static = site / "_static"
    (static / "theme-fixes.js").write_text("/* removed by tests/test_theme.py */\n")
    (static / "theme-fixes.css").write_text("/* removed by tests/test_theme.py */\n")
    css = (static / "derivations.css").read_text()
    css, n = re.subn(r'html\[data-theme="dark"\][^{]*check-table[^{]*\{[^}]*\}', "", css)
    assert n == 1, "derivations.css: the dark-mode check-table rule to remove is not there"
    (static / "derivations.css").write_text(css)
    heaviest = heaviest_pages(built_site, 1)[0]
    fontawesome = static / "scripts" / "fontawesome.js"
    assert fontawesome.is_file(), f"{fontawesome}: the theme's FontAwesome script to put back is missing"
    html = (site / heaviest).read_text()
    (site / "heavy.html").write_text(html.replace("</head>", '<script defer src="_static/scripts/fontawesome.js"></script></head>', 1))
    return site


@pytest.fixture(scope="module")
def broken_server(broken_site):
    httpd, url = _serve(broken_site)
    yield url
    httpd.shutdown()


@pytest.fixture(scope="module")
def reader(browser):
    """One tab for the checks that need no particular width (its cache kept, as a reader's)."""
    ctx = browser.new_context(viewport={"width": 1280, "height": 900})
    yield ctx.new_page()
    ctx.close()


@pytest.fixture
def tab(reader):
    """The reader's tab, and the script errors raised in it during one test."""
    errors = []
    listener = lambda e: errors.append(f"script error: {e}")  # noqa: E731
    reader.on("pageerror", listener)
    yield reader, errors
    reader.remove_listener("pageerror", listener)


def _at_width(browser, width: int, url: str):
    ctx = browser.new_context(viewport={"width": width, "height": 800})
    page = ctx.new_page()
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(url, wait_until="load")
    return ctx, page, errors


# ---- on the site ----------------------------------------------------------------------------

@pytest.mark.parametrize("width", [390, 800])
def test_toggles_open_the_sidebars_on_phones_and_tablets(browser, server, width):
    problems = []
    for toggle, links in ((".primary-toggle", PAGE_LIST), (".secondary-toggle", PAGE_CONTENTS)):
        ctx, page, errors = _at_width(browser, width, server + f"{HIDDEN_PAGE}.html")
        try:
            problems += toggle_opens(page, toggle, links) + [f"{width} px: script error {e}" for e in errors]
        finally:
            ctx.close()
    assert not problems, "\n".join(problems)


def test_the_desktop_toggle_collapses_the_page_list(browser, server):
    ctx, page, errors = _at_width(browser, 1366, server + f"{HIDDEN_PAGE}.html")
    try:
        problems = toggle_collapses(page) + [f"script error {e}" for e in errors]
    finally:
        ctx.close()
    assert not problems, "\n".join(problems)


def test_a_cold_load_of_the_heaviest_pages_weighs_at_most_1_mb(browser, server, built_site):
    problems = [p for name in heaviest_pages(built_site) for p in weight_problems(browser, server + name)]
    assert not problems, "\n".join(problems)


def test_search_snippets_hold_no_theme_text_and_no_hidden_code(tab, server):
    page, errors = tab
    page.goto(server + f"{HIDDEN_PAGE}.html", wait_until="domcontentloaded")
    hidden = {f"{HIDDEN_PAGE}.html": page.evaluate(HIDDEN_CODE)}
    assert any("import" in line for line in hidden[f"{HIDDEN_PAGE}.html"]), f"{HIDDEN_PAGE}.html: no hidden code to look for"
    # "notation": each chapter's Notation follows its hidden imports; a title word: the page's top
    problems = [p for q in ("notation", "backpropagation") for p in snippet_problems(page, server, q, hidden)]
    assert not problems + errors, "\n".join(problems + errors)


def test_the_search_index_holds_no_hidden_code(built_site):
    hidden, visible = doctree_words(built_site, HIDDEN_PAGE)
    assert len(_index_keys(hidden) - _index_keys(visible)) >= 5, "too few words only in hidden code to test with"
    leaked = indexed_hidden_words(read_index(built_site), HIDDEN_PAGE, hidden, visible)
    assert not leaked, f"{HIDDEN_PAGE}: the search index files words of hidden code only under it: {leaked}"


def test_check_tables_are_legible_in_dark_and_light_mode(tab, server, built_site):
    page, errors = tab
    pages = sorted(p.name for p in built_site.glob("*.html") if "check-note" in p.read_text())[:3]
    assert pages, "no page with a check table"
    problems = [p for name in pages for theme in ("dark", "light") for p in contrast_problems(page, server + name, theme)]
    assert not problems + errors, "\n".join(problems + errors)


def test_scrolling_boxes_get_tab_stops_as_the_reader_reaches_them(tab, server):
    page, errors = tab
    problems = tab_stop_problems(page, server + "notation.html") + tab_stop_problems(page, server + f"{HIDDEN_PAGE}.html")
    assert not problems + errors, "\n".join(problems + errors)


def test_icons_colour_mode_and_back_to_top(tab, server):
    page, errors = tab
    problems = control_problems(page, server + f"{HIDDEN_PAGE}.html")
    for other in ("index.html", "search.html"):  # other components: prev/next links, the search form
        page.goto(server + other, wait_until="load")
        problems += [f"{other}: {p}" for p in page.evaluate(ICONS)]
    assert not problems + errors, "\n".join(problems + errors)


# ---- each check fails on the broken copy ------------------------------------------------------

def test_each_check_fails_on_a_site_broken_on_purpose(browser, broken_server, broken_site, tab):
    page, _ = tab
    url = broken_server + f"{HIDDEN_PAGE}.html"
    found = {}
    for width in (390, 800):
        ctx, p, _ = _at_width(browser, width, url)
        try:
            found[f"primary {width}"] = toggle_opens(p, ".primary-toggle", PAGE_LIST)
        finally:
            ctx.close()
        ctx, p, _ = _at_width(browser, width, url)
        try:
            found[f"secondary {width}"] = toggle_opens(p, ".secondary-toggle", PAGE_CONTENTS)
        finally:
            ctx.close()
    ctx, p, _ = _at_width(browser, 1366, url)
    try:
        found["collapse"] = toggle_collapses(p)
    finally:
        ctx.close()
    found["weight"] = weight_problems(browser, broken_server + "heavy.html")
    found["contrast"] = contrast_problems(page, url, "dark")
    found["icons"] = control_problems(page, url)
    found["tab stops"] = tab_stop_problems(page, url)

    # the index as Sphinx writes it without light_theme's no-search marks: hidden code filed under the page
    hidden, visible = doctree_words(broken_site, HIDDEN_PAGE)
    file_under(broken_site, HIDDEN_PAGE, _index_keys(hidden) - _index_keys(visible))
    found["index"] = indexed_hidden_words(read_index(broken_site), HIDDEN_PAGE, hidden, visible)
    page.goto(url, wait_until="domcontentloaded")
    lines = {f"{HIDDEN_PAGE}.html": page.evaluate(HIDDEN_CODE)}
    found["snippet theme"] = snippet_problems(page, broken_server, "notation", lines)
    found["snippet hidden"] = snippet_problems(page, broken_server, "matplotlib", lines)

    expected = {  # what each check must say about the broken site
        "primary 390": "no nav.bd-docs-nav a is clickable", "primary 800": "no nav.bd-docs-nav a is clickable",
        "secondary 390": "no nav.page-toc a is clickable", "secondary 800": "no nav.page-toc a is clickable",
        "collapse": "still clickable (the sidebar did not collapse)",
        "weight": "heavy.html: a cold load fetches", "contrast": "has contrast", "icons": "is not drawn",
        "tab stops": "measures every scrolling box at once",
        "index": "", "snippet theme": "holds the theme's 'Contents'", "snippet hidden": "holds hidden code",
    }
    missed = {k: found[k] for k, needle in expected.items() if not any(needle in str(p) for p in found[k])}
    assert not missed, f"checks that did not fail on the broken site: {missed}"


def file_under(site: Path, docname: str, keys: set[str]) -> None:
    """Rewrite the site's search index with ``keys`` filed under page ``docname`` too."""
    index = read_index(site)
    doc = index["docnames"].index(docname)
    for key in keys:
        entry = index["terms"].get(key, [])
        index["terms"][key] = sorted(({entry} if isinstance(entry, int) else set(entry)) | {doc})
    (site / "searchindex.js").write_text(f"Search.setIndex({json.dumps(index)})", encoding="utf-8")
