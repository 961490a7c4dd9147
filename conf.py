"""Sphinx configuration (at the repository root; build with ``sphinx-build -c . docs _build/html``)."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
from pathlib import Path

from sphinx.errors import ConfigError

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT))
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
    "sphinx.ext.mathjax",
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

# ---- math, served from the site itself ------------------------------------------------------
NODE_MODULES = ROOT / "node_modules"
MATHJAX_SRC = NODE_MODULES / "mathjax"
MATHJAX_FONT_SRC = NODE_MODULES / "@mathjax" / "mathjax-newcm-font"
mathjax_path = "mathjax/tex-mml-chtml.js"  # relative to _static
mathjax4_config = {
    "loader": {"paths": {"fonts": "[mathjax]/fonts"}},
    # Typeset fast: no semantic enrichment, speech or Braille generation on load (each costs
    # seconds on a long page); the menu still offers them to a reader who wants them.
    "options": {"menuOptions": {"settings": {"enrich": False, "speech": False, "braille": False,
                                             "collapsible": False}}},
}

autodoc_member_order = "bysource"
autodoc_default_options = {"members": True, "undoc-members": False}


def _mathjax_version(path: Path) -> str:
    return json.loads((path / "package.json").read_text())["version"]


def _check_mathjax(app):
    """Fail the build when the local MathJax copy is missing: never fall back to a CDN."""
    for path in (MATHJAX_SRC, MATHJAX_FONT_SRC):
        if not (path / "package.json").is_file():
            raise ConfigError(
                f"local MathJax copy missing at {path}: run 'npm ci' (make html does it). "
                "The site serves its own math and never loads it from a CDN."
            )
    if app.config.mathjax_path.startswith(("http:", "https:", "//")):
        raise ConfigError("mathjax_path must be the local copy, not a URL")


def _copy_mathjax(app, exception):
    """Copy the pinned MathJax and its font into _static/mathjax (once per version)."""
    if exception is not None or app.builder.format != "html":
        return
    dest = Path(app.outdir) / "_static" / "mathjax"
    stamp = dest / ".version"
    want = f"{_mathjax_version(MATHJAX_SRC)}+{_mathjax_version(MATHJAX_FONT_SRC)}"
    if stamp.is_file() and stamp.read_text() == want:
        return
    if dest.exists():
        shutil.rmtree(dest)
    skip = shutil.ignore_patterns("node-main*", "*.md", "require.mjs", "*.cjs")
    shutil.copytree(MATHJAX_SRC, dest, ignore=skip)
    font_dest = dest / "fonts" / "mathjax-newcm-font"
    font_dest.mkdir(parents=True)
    shutil.copytree(MATHJAX_FONT_SRC / "chtml", font_dest / "chtml")
    shutil.copy2(MATHJAX_FONT_SRC / "chtml.js", font_dest / "chtml.js")
    stamp.write_text(want)


def setup(app):
    app.connect("builder-inited", _check_mathjax)
    app.connect("build-finished", _copy_mathjax)
