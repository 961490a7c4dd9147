"""Sphinx configuration (at the repository root; build with ``sphinx-build -c . docs _build/html``)."""

from __future__ import annotations

import hashlib
import os
import sys
from pathlib import Path


ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "docs" / "_ext"))
# The notebook kernels inherit the environment: let them import the package from this checkout.
os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))

project = "Gradients that cannot be wrong"
author = "The derivations team"
copyright = "2026, the derivations team"
release = "0.1"

extensions = [
    "myst_nb",
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "prerender_math",  # docs/_ext: math typeset at build time with the pinned MathJax
    "sphinx_copybutton",
    "sphinx_togglebutton",
    "sphinxcontrib.bibtex",
]

root_doc = "index"
exclude_patterns = ["_build", "**.ipynb_checkpoints", "references.bib"]
suppress_warnings = []
nitpicky = False

# ---- notebooks ---------------------------------------------------------------------------
myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence", "deflist"]
myst_heading_anchors = 3
nb_execution_mode = os.environ.get("NB_EXECUTION_MODE", "cache")
nb_execution_raise_on_error = True  # a failing cell fails the build
nb_execution_show_tb = True
nb_execution_timeout = 300
nb_merge_streams = True
# Keep SymPy output as math rather than as images.
nb_mime_priority_overrides = [("html", "text/latex", 5)]


def _source_hash(root: Path = ROOT) -> str:
    """A hash of the package's source: jupyter-cache keys a page on its own cells only, so a
    change in ``derivations/`` must change the cache location or pages keep stale output."""
    h = hashlib.sha256()
    for path in sorted((root / "derivations").rglob("*.py")):
        h.update(path.relative_to(root).as_posix().encode())
        h.update(path.read_bytes())
    return h.hexdigest()[:16]


nb_execution_cache_path = str(ROOT / "_build" / ".jupyter_cache" / _source_hash())

# ---- citations ---------------------------------------------------------------------------
bibtex_bibfiles = ["docs/references.bib"]
bibtex_default_style = "plain"
bibtex_reference_style = "author_year"

# ---- HTML --------------------------------------------------------------------------------
html_theme = "sphinx_book_theme"
html_title = "Gradients that cannot be wrong"
html_static_path = ["docs/_static"]
html_css_files = ["derivations.css"]
html_theme_options = {
    "show_toc_level": 2,
    "use_download_button": False,
    "use_fullscreen_button": False,
    "use_repository_button": False,
    "home_page_in_toc": True,
}
html_last_updated_fmt = None
html_show_sourcelink = False
# No request may leave the site: no Google fonts, no analytics, nothing from a CDN.
html_baseurl = ""

# ---- math, typeset at build time ------------------------------------------------------------
# docs/_ext/prerender_math.py typesets every formula with the MathJax pinned in package-lock.json
# (run by Node.js): pages carry finished math and its fonts, no script and no CDN.
html_math_renderer = "prerender"
prerender_math_node_modules = str(ROOT / "node_modules")

autodoc_member_order = "bysource"
autodoc_default_options = {"members": True, "undoc-members": False}


# ---- a balanced parallel read ---------------------------------------------------------------
# With -j, Sphinx reads the pages in fixed chunks of consecutive names, one process per chunk.
# Executing a notebook page costs seconds (a kernel, SymPy, its checks); the other pages cost
# little. Order the pages so that each chunk gets about the same work.


def _read_cost(path: Path) -> float:
    text = path.read_text(encoding="utf-8") if path.is_file() else ""
    if "file_format: mystnb" in text:
        return 3.0 + 0.25 * text.count("```{code-cell}")
    return 1.0 * text.count(".. automodule::") + 0.2


def _balance_read(app, env, docnames):
    from sphinx.util.parallel import make_chunks

    if app.parallel <= 1 or len(docnames) < 2:
        return
    sizes = [len(c) for c in make_chunks(list(docnames), app.parallel)]
    chunks = [[] for _ in sizes]
    load = [0.0] * len(sizes)
    costs = {d: _read_cost(Path(env.doc2path(d))) for d in docnames}
    for doc in sorted(docnames, key=lambda d: -costs[d]):  # heaviest first, to the lightest chunk with room
        k = min((i for i in range(len(sizes)) if len(chunks[i]) < sizes[i]), key=lambda i: load[i])
        chunks[k].append(doc)
        load[k] += costs[doc]
    docnames[:] = [d for c in chunks for d in c]


def setup(app):
    app.connect("env-before-read-docs", _balance_read)
