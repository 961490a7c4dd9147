"""The site builds strictly (-W), executes its pages, serves its own math, fails on a failing cell."""

from __future__ import annotations

import importlib.util
import re
import shutil
from pathlib import Path

import pytest

pytestmark = pytest.mark.xdist_group("site")  # one worker builds the site once

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


def test_build_is_clean_and_has_every_page(built_site):
    for md in (ROOT / "docs").rglob("*.md"):
        rel = md.relative_to(ROOT / "docs").with_suffix(".html")
        assert (built_site / rel).is_file(), rel
    stderr = (built_site / "build-stderr.txt").read_text()
    # Sphinx's own warnings and errors (ipykernel's note about TCP transport is not one)
    assert not re.search(r"(WARNING|ERROR|CRITICAL):", stderr), stderr


def test_pages_show_checked_derivations_and_tables(built_site):
    html = (built_site / "softmax_ce.html").read_text()
    for label in ("softmax-jacobian", "ce-gradient", "logsumexp-shift", "softmax-shift"):
        assert f'id="equation-{label}"' in html, label
    assert r"\begin{aligned}" in html and "check-table" in html
    assert "✘ FAIL" not in html and html.count("✔ pass") >= 3
    assert "<img" in html  # the figure


def test_math_is_local_and_no_url_leaves_the_site(built_site):
    assert (built_site / "_static" / "mathjax" / "tex-mml-chtml.js").is_file()
    for page in built_site.rglob("*.html"):
        text = page.read_text()
        for m in re.finditer(r'<(?:script|link|img)[^>]+(?:src|href)="([^"]+)"', text):
            assert not re.match(r"(https?:)?//", m.group(1)), (page.name, m.group(1))


def test_missing_mathjax_fails_instead_of_cdn(monkeypatch, tmp_path):
    conf = _conf()
    monkeypatch.setattr(conf, "MATHJAX_SRC", tmp_path / "nothing")

    class App:
        class config:
            mathjax_path = conf.mathjax_path

    with pytest.raises(conf.ConfigError, match="local MathJax copy missing"):
        conf._check_mathjax(App)


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
