"""Every executable page, as the notebook a reader downloads (made from its MyST source by conf.py
with jupytext), runs from top to bottom in a fresh kernel, outside Sphinx and outside the docs folder."""

from __future__ import annotations

import importlib.util
import re

import nbformat
import pytest
from nbclient import NotebookClient

from conftest import ROOT

PAGES = sorted(p for p in (ROOT / "docs").glob("*.md") if "file_format: mystnb" in p.read_text(encoding="utf-8")[:200])


def _conf():
    spec = importlib.util.spec_from_file_location("site_conf_notebooks", ROOT / "conf.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


CONF = _conf()


def test_every_executable_page_has_a_notebook():
    assert len(PAGES) >= 15
    for page in PAGES:
        nb = CONF.notebook_of(page)
        nbformat.validate(nb)
        code = [c.source for c in nb.cells if c.cell_type == "code"]
        cells = re.findall(r"```\{code-cell\}", page.read_text(encoding="utf-8"))
        assert len(code) == len(cells), page.stem  # every cell of the page, none added
        assert nb.metadata["kernelspec"]["name"] == "python3" and "jupytext" not in nb.metadata


def _run(page, tmp_path):
    nb = CONF.notebook_of(page)
    path = tmp_path / f"{page.stem}.ipynb"
    nbformat.write(nb, str(path))
    client = NotebookClient(nbformat.read(str(path), as_version=4), timeout=900, kernel_name="python3",
                            resources={"metadata": {"path": str(tmp_path)}})
    executed = client.execute()  # raises CellExecutionError, with the cell and its traceback, on any error
    errors = [o for c in executed.cells if c.cell_type == "code" for o in c.get("outputs", [])
              if o.get("output_type") == "error"]
    assert not errors
    assert all(c.get("execution_count") for c in executed.cells if c.cell_type == "code" and c.source.strip())


REPORTS = [p for p in PAGES if p.stem in CONF.REPORT_PAGES]


@pytest.mark.parametrize("page", [p for p in PAGES if p not in REPORTS], ids=lambda p: p.stem)
def test_the_downloaded_notebook_runs_in_a_fresh_kernel(page, tmp_path, monkeypatch):
    monkeypatch.delenv("DERIVATIONS_CHECK_RECORDS", raising=False)  # a reader's machine: no build records
    _run(page, tmp_path)


@pytest.mark.xdist_group("site")  # with the site's build, whose pages recorded what they checked
@pytest.mark.parametrize("page", REPORTS, ids=lambda p: p.stem)
def test_the_report_notebooks_run_in_a_fresh_kernel(page, tmp_path, monkeypatch, built_site):
    """The rules and "what is checked" notebooks read what every topic's page recorded. Outside a
    build they check every topic themselves (a minute on two cores; tests/test_checked.py tests that
    path); here they read the records the session's build wrote, as they do in the build."""
    records = CONF._records_dir(CONF)
    assert all((records / f"{name}.json").is_file() for name in CONF.TOPIC_PAGES), records
    monkeypatch.setenv("DERIVATIONS_CHECK_RECORDS", str(records))
    _run(page, tmp_path)


# ---- the page links: repository, edit, downloads -------------------------------------------------------


@pytest.mark.xdist_group("site")  # the tests that use the built site share one worker
def test_every_page_link_points_at_something_that_exists(built_site):
    """Each built page's links: the repository (as configured), "edit this page" at a source file
    that exists in this repository, its source and its notebook as files of the built site."""
    from html.parser import HTMLParser
    from urllib.parse import urljoin, urlparse

    class Links(HTMLParser):
        def __init__(self):
            super().__init__()
            self.inside, self.links = False, []

        def handle_starttag(self, tag, attrs):
            attrs = dict(attrs)
            if tag == "nav" and "page-links" in (attrs.get("class") or ""):
                self.inside = True
            elif tag == "a" and self.inside:
                self.links.append(attrs["href"])

        def handle_endtag(self, tag):
            if tag == "nav":
                self.inside = False

    checked_pages = 0
    for page in sorted(built_site.glob("*.html")):
        if page.stem in ("search", "genindex", "py-modindex"):
            continue
        parser = Links()
        parser.feed(page.read_text(encoding="utf-8"))
        assert parser.links, f"{page.name} has no page links"
        assert parser.links[0] == CONF.repository_url
        edit = [u for u in parser.links if "/edit/" in u]
        assert len(edit) == 1, page.name
        rel = edit[0].split(f"/edit/{CONF.repository_branch}/", 1)[1]
        assert (ROOT / rel).is_file(), (page.name, rel)
        for href in parser.links[2:]:
            target = urlparse(urljoin(f"file://{page}", href)).path
            assert href.startswith(("_sources/", "_notebooks/")) and (built_site / href).is_file(), (page.name, href)
            assert target.endswith((".md", ".ipynb"))
        source = ROOT / rel
        if "file_format: mystnb" in source.read_text(encoding="utf-8")[:200]:
            assert any(h.endswith(f"_notebooks/{page.stem}.ipynb") for h in parser.links), page.name
            nbformat.validate(nbformat.read(str(built_site / "_notebooks" / f"{page.stem}.ipynb"), as_version=4))
        checked_pages += 1
    assert checked_pages >= 20
