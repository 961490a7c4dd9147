"""The site builds strictly (-W), executes its pages, typesets its own math at build time, and fails on a
failing cell or a TeX error."""

from __future__ import annotations

import importlib.util
import re
import shutil
from pathlib import Path

import pytest

SITE = pytest.mark.xdist_group("site")  # the tests that use the built site share one worker

from conftest import ROOT, sphinx_build
from derivations import registry


def _conf():
    spec = importlib.util.spec_from_file_location("site_conf", ROOT / "conf.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_every_topic_has_module_page_and_test():
    for name in registry.TOPICS:
        assert (ROOT / "derivations" / f"{name}.py").is_file()
        assert list((ROOT / "docs").rglob(f"{name}.md")), name
        assert (ROOT / "tests" / f"test_{name}.py").is_file()


def test_every_module_of_the_package_has_an_api_page():
    documented = set()
    for md in (ROOT / "docs").glob("api*.md"):
        documented |= set(re.findall(r"^\.\. automodule:: derivations\.(\w+)", md.read_text(), re.M))
    modules = {p.stem for p in (ROOT / "derivations").glob("*.py")} - {"__init__", "__main__"}
    assert modules - documented == set(), "modules without an API page"
    assert documented - modules == set(), "API pages for modules that do not exist"


@pytest.mark.parametrize("nproc", [2, 3, 4])
def test_report_pages_never_hold_a_process_a_topic_page_needs(tmp_path, nproc):
    """The parallel read, run by Sphinx's own ParallelTasks with the order conf.py gives it: a
    report page waits for the topic pages being read (as checked.records does) and checks a
    queued one itself. The order starts every topic page first; where a fast task frees a process
    while Sphinx is still queueing (the race this test's 20 ms tasks provoke), a report page that
    starts early must still never wait in vain."""
    from sphinx.util.parallel import ParallelTasks

    conf = _conf()
    docs = sorted(p.stem for p in (ROOT / "docs").glob("*.md"))
    cost = {d: conf._read_cost(ROOT / "docs" / f"{d}.md") for d in docs}
    api = sum(cost[d] for d in docs if conf._is_api(d)) + 1.0
    docs.sort(key=lambda d: -(api if conf._is_api(d) else cost[d]))  # as _order_read sorts them
    topics = [d for d in docs if d in conf.TOPIC_PAGES and d not in conf.REPORT_PAGES]

    def read(chunk):
        import time

        for d in chunk:
            if d in conf.REPORT_PAGES:
                deadline = time.monotonic() + 20
                while any((tmp_path / f"{t}.started").exists() and not (tmp_path / t).exists() for t in topics):
                    if time.monotonic() > deadline:
                        return f"{d} waited in vain"
                    time.sleep(0.01)
            else:
                (tmp_path / f"{d}.started").touch()
                time.sleep(0.02)
                (tmp_path / d).touch()
        return None

    outcomes = []
    tasks = ParallelTasks(nproc)
    for chunk in conf._read_tasks(docs, nproc):
        tasks.add_task(read, chunk, lambda chunk, result: outcomes.append(result))
    tasks.join()
    assert [o for o in outcomes if o] == []
    assert all(cost[r] < min(cost[t] for t in topics) for r in conf.REPORT_PAGES)


def test_a_rebuild_renumbers_when_a_page_moves_and_keeps_the_numbers_when_nothing_changed(tmp_path):
    """conf.py skips Sphinx's renumbering when a build reads and removes no page: the numbers must
    still follow a change (here the toctree's order) and stay when nothing changed."""
    src, out = tmp_path / "src", tmp_path / "out"
    src.mkdir()
    table = "```{{list-table}} {title}\n:name: {name}\n\n* - x\n```\n"
    (src / "a.md").write_text("# A\n\n" + table.format(title="First", name="tab-a"))
    (src / "b.md").write_text("# B\n\nSee {numref}`tab-b`.\n\n" + table.format(title="Second", name="tab-b"))

    def index(order):
        (src / "index.md").write_text("# Book\n\n```{toctree}\n:numbered:\n\n" + "\n".join(order) + "\n```\n")

    def b_says():
        html = (out / "b.html").read_text()
        return re.search(r"See <a[^>]*><span class=\"std std-numref\">Table ([\d.]+)", html).group(1)

    index(["a", "b"])
    assert sphinx_build(src, out).returncode == 0
    assert b_says() == "2.1"
    assert sphinx_build(src, out).returncode == 0  # nothing changed
    assert b_says() == "2.1"
    index(["b", "a"])
    assert sphinx_build(src, out).returncode == 0
    assert b_says() == "1.1"


@SITE
def test_build_is_clean_and_has_every_page(built_site):
    for md in (ROOT / "docs").rglob("*.md"):
        rel = md.relative_to(ROOT / "docs").with_suffix(".html")
        assert (built_site / rel).is_file(), rel
    stderr = (built_site / "build-stderr.txt").read_text()
    # Sphinx's own warnings and errors (ipykernel's note about TCP transport is not one)
    assert not re.search(r"(WARNING|ERROR|CRITICAL):", stderr), stderr


@SITE
def test_pages_show_checked_derivations_and_tables(built_site):
    html = (built_site / "softmax_ce.html").read_text()
    for label in ("softmax-jacobian", "ce-gradient", "logsumexp-shift", "softmax-shift"):
        assert f'id="equation-{label}"' in html, label
    assert 'class="math-row"' in html and "check-table" in html  # derivations laid out as rows
    assert "✘ FAIL" not in html and html.count("✔ pass") >= 3
    assert "<img" in html  # the figure


@SITE
def test_math_is_typeset_at_build_time_and_no_url_leaves_the_site(built_site):
    html = (built_site / "softmax_ce.html").read_text()
    assert "mjx-container" in html and '<svg xmlns="http://www.w3.org/2000/svg" style="display: none"' in html
    assert (built_site / "_static" / "math" / "mathjax-svg.css").is_file()
    for page in built_site.rglob("*.html"):
        text = page.read_text()
        assert "MathJax.startup" not in text and "tex-mml" not in text, page.name  # no script typesets
        for m in re.finditer(r'<(?:script|link|img)[^>]+(?:src|href)="([^"]+)"', text):
            assert not re.match(r"(https?:)?//", m.group(1)), (page.name, m.group(1))
        # every formula on the page was typeset: none is left as TeX between \( \) or \[ \]
        for m in re.finditer(r'<(span|div) class="math notranslate nohighlight"[^>]*>(.*?)</\1>', text, re.S):
            assert m.group(2).lstrip().startswith(("<mjx-container", '<span class="eqno">')), (page.name, m.group(2)[:80])


def test_missing_mathjax_fails_instead_of_cdn(tmp_path):
    import prerender_math

    class App:
        class builder:
            format = "html"
            math_renderer_name = "prerender"

        class config:
            prerender_math_node_modules = str(tmp_path / "nothing")

    with pytest.raises(prerender_math.ConfigError, match="local MathJax copy missing"):
        prerender_math._check(App)


def _tiny_site(tmp_path, body: str) -> Path:
    src = tmp_path / "src"
    src.mkdir()
    (src / "index.md").write_text("# Math\n\n" + body + "\n")
    return src


def test_a_tex_error_fails_the_build_naming_page_and_formula(tmp_path):
    proc = sphinx_build(_tiny_site(tmp_path, "Fine: $x^2$. Broken: $\\frac{1}{\\notamacro{2}}$."), tmp_path / "out")
    assert proc.returncode != 0
    out = proc.stdout + proc.stderr
    assert "index.md:3: ERROR: TeX error: Undefined control sequence \\notamacro in formula: " \
           "\\frac{1}{\\notamacro{2}}" in out, out[-2000:]
    assert "Traceback" not in out


def test_display_math_is_composed_as_sphinx_mathjax_composes_it(tmp_path):
    """The TeX sent to MathJax for a block is what sphinx.ext.mathjax would have put on the page."""
    from docutils import nodes
    from prerender_math import display_tex

    def block(text, **kw):
        return nodes.math_block(text, text, **kw)

    assert display_tex(block("a = b")) == "a = b"
    assert display_tex(block(r"a &= b \\ &= c")) == r"\begin{split}a &= b \\ &= c\end{split}"
    assert display_tex(block("a = b\n\nc = d")) == r"\begin{align}\begin{aligned}a = b\\c = d\end{aligned}\end{align}"
    assert display_tex(block(r"\begin{align}x\end{align}", nowrap=True)) == r"\begin{align}x\end{align}"


def test_cache_key_changes_with_package_source(tmp_path):
    conf = _conf()
    shutil.copytree(ROOT / "derivations", tmp_path / "derivations",
                    ignore=shutil.ignore_patterns("__pycache__"))
    before = conf._source_hash(tmp_path)
    assert before == conf._source_hash(ROOT)
    core = tmp_path / "derivations" / "core.py"
    core.write_text(core.read_text() + "\n# changed\n")
    assert conf._source_hash(tmp_path) != before


def test_failing_cell_fails_the_build(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    (src / "index.md").write_text(
        "---\nfile_format: mystnb\nkernelspec:\n  name: python3\n  display_name: Python 3\n---\n"
        "# Broken\n\n```{code-cell} python\nraise RuntimeError('this cell fails on purpose')\n```\n")
    proc = sphinx_build(src, tmp_path / "out", "-D", "nb_execution_mode=force")
    assert proc.returncode != 0
    assert "this cell fails on purpose" in proc.stdout + proc.stderr


NOTEBOOK = "---\nfile_format: mystnb\nkernelspec:\n  name: python3\n  display_name: Python 3\n---\n"


def test_each_page_runs_in_its_own_forked_kernel(tmp_path):
    """Pages run in kernels forked from a warm process (docs/_ext/forked_kernel.py), and nothing
    one page does is seen by the next."""
    src = tmp_path / "src"
    src.mkdir()
    cell = "```{code-cell} python\nimport builtins, os\n%s\n```\n"
    (src / "index.md").write_text(NOTEBOOK + "# First\n\n" + cell % (
        "print('forked:', os.environ.get('DERIVATIONS_FORKED_KERNEL'))\n"
        "print('numpy preloaded:', 'numpy' in __import__('sys').modules)\n"
        "import sys; m = sys.modules.get('derivations.gumbel_softmax')\n"
        "print('project preloaded from:', m and os.path.dirname(os.path.dirname(m.__file__)))\n"
        "builtins.LEFT_BEHIND = True") + "\n```{toctree}\nsecond\n```\n")
    (src / "second.md").write_text(NOTEBOOK + "# Second\n\n" + cell % "print('sees the first page:', hasattr(builtins, 'LEFT_BEHIND'))")
    proc = sphinx_build(src, tmp_path / "out", "-D", "nb_execution_mode=force")
    assert proc.returncode == 0, proc.stderr[-3000:]
    first = (tmp_path / "out" / "index.html").read_text()
    assert "forked: 1" in first and "numpy preloaded: True" in first
    # the project's modules too, and this checkout's (the zygote lives for this build only)
    assert f"project preloaded from: {ROOT}" in first
    assert "sees the first page: False" in (tmp_path / "out" / "second.html").read_text()
    assert "ordinary kernel" not in proc.stderr


def test_the_kernel_zygote_survives_a_launcher_that_leaves_and_stops_on_sigterm(tmp_path):
    import socket
    import subprocess
    import sys
    import time

    import forked_kernel

    path = str(tmp_path / "socket")
    proc = subprocess.Popen([sys.executable, forked_kernel.__file__, path])
    try:
        deadline = time.monotonic() + 60
        while not (tmp_path / "socket").exists():
            assert proc.poll() is None and time.monotonic() < deadline, "the zygote did not start"
            time.sleep(0.05)
        for _ in range(2):  # a launcher that says nothing and goes away: the zygote hangs up on it
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
                s.connect(path)
                s.shutdown(socket.SHUT_WR)
                s.settimeout(60)
                assert s.recv(64) == b""
        assert proc.poll() is None, "the zygote died with its launcher"
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.connect(path)  # still serving
        proc.terminate()
        assert proc.wait(timeout=10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()


def test_the_kernel_zygote_stops_at_once_when_asked_while_importing(tmp_path):
    """A build with nothing to execute stops the zygote while it may still be importing NumPy,
    SymPy, …: it must end then, not after the imports. Here its first import never finishes."""
    import os
    import subprocess
    import sys
    import time

    import forked_kernel

    fake = tmp_path / "fake"
    fake.mkdir()
    (fake / "numpy.py").write_text("import time\ntime.sleep(600)\n")
    path = str(tmp_path / "socket")
    env = {**os.environ, "PYTHONPATH": str(fake)}
    proc = subprocess.Popen([sys.executable, forked_kernel.__file__, path], env=env)
    try:
        deadline = time.monotonic() + 60
        while not (tmp_path / "socket").exists():  # bound and listening before the imports
            assert proc.poll() is None and time.monotonic() < deadline, "the zygote did not start"
            time.sleep(0.01)
        proc.terminate()
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()


def _labels() -> dict[str, str]:
    """Every equation label a page defines (``:label: x``), with the page it is on."""
    return {m.group(1): p.stem for p in (ROOT / "docs").glob("*.md")
            for m in re.finditer(r":label:\s*(\S+)", p.read_text(encoding="utf-8"))}


def cross_page_references_without_page(sources: dict[str, str], labels: dict[str, str]) -> list[str]:
    """``{eq}`` references to another page's equation that do not name and link that page
    (a ``{doc}`` link to it in the same sentence or the one before): on the page they look local."""
    bad = []
    for page, text in sources.items():
        for m in re.finditer(r"\{eq\}`([^`]+)`", text):
            home = labels.get(m.group(1))
            if home and home != page:
                near = text[max(0, m.start() - 200):m.end() + 120]
                if not re.search(r"\{doc\}`(?:[^`<]*<)?%s>?`" % re.escape(home), near):
                    bad.append(f"{page}: {{eq}}`{m.group(1)}` is on {home} but the text does not say so")
    return bad


def test_references_to_another_pages_equation_name_that_page():
    sources = {p.stem: p.read_text(encoding="utf-8") for p in (ROOT / "docs").glob("*.md")}
    labels = _labels()
    assert not cross_page_references_without_page(sources, labels)
    # the check can fail: a bare reference to the LSTM chapter's equation from another page
    planted = {"joint_tagging": "As {eq}`lstm-gates-dh-dc` shows."}
    assert cross_page_references_without_page(planted, labels)


@SITE
def test_no_label_name_shows_in_the_text(built_site):
    """A reader never sees a label's name (``eq. lstm-gates-dh-dc``): in the built pages' text,
    outside tags and attributes, no equation label occurs."""
    labels = sorted(_labels(), key=len, reverse=True)
    pattern = re.compile(r"(?<![\w-])(%s)(?![\w-])" % "|".join(map(re.escape, labels)))
    found = []
    for page in sorted(built_site.glob("*.html")):
        html = re.sub(r"<(script|style|pre)\b.*?</\1>", " ", page.read_text(encoding="utf-8"), flags=re.S)  # code may name them
        text = re.sub(r"<[^>]*>", " ", html)
        found += [f"{page.name}: {m.group(1)}" for m in pattern.finditer(text)]
    assert not found, found[:10]


def test_the_execution_cache_is_trimmed_only_over_its_limit(tmp_path, monkeypatch):
    """jupyter-cache's trim (two queries: the records to keep, then all others to delete) can
    delete a page another reader has just registered; the site's patch runs it only when the
    cache holds more records than its limit, and then it still trims."""
    import nbformat
    from jupyter_cache import get_cache
    from jupyter_cache.cache import main
    from jupyter_cache.base import CacheBundleIn
    from jupyter_cache.cache.db import NbCacheRecord

    monkeypatch.setattr(main.JupyterCacheBase, "truncate_caches", main.JupyterCacheBase.truncate_caches)
    _conf()._truncate_only_over_the_limit()
    cache = get_cache(str(tmp_path / "cache"))

    def store(k):
        nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(f"x = {k}", execution_count=1)])
        nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
        cache.cache_notebook_bundle(CacheBundleIn(nb, f"page{k}.md"), check_validity=False, overwrite=True)

    racy = NbCacheRecord.records_to_delete

    def refuse(*args, **kwargs):
        raise AssertionError("the racy trim ran under the limit")
    monkeypatch.setattr(NbCacheRecord, "records_to_delete", refuse)
    for k in range(3):
        store(k)
    assert len(cache.list_cache_records()) == 3
    monkeypatch.setattr(NbCacheRecord, "records_to_delete", racy)
    cache.change_cache_limit(2)
    store(3)                                          # over the limit: the oldest goes
    assert sorted(r.uri for r in cache.list_cache_records()) == ["page2.md", "page3.md"]
