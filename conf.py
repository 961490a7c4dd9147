"""Sphinx configuration (at the repository root; build with ``sphinx-build -c . docs _build/html``)."""

from __future__ import annotations

import hashlib
import os
import sys
from pathlib import Path


ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "docs" / "_ext"))
import forked_kernel  # noqa: E402  (the site's own extension, in docs/_ext)
from derivations import SLOWEST_FIRST  # noqa: E402  (the package's __init__ only: no SymPy)
# The notebook kernels inherit the environment: let them import the package from this checkout.
os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))

project = "Gradients that cannot be wrong"
author = "The derivations team"
copyright = "2026, the derivations team"
release = "0.1"

extensions = [
    "forked_kernel",  # first: docs/_ext, page kernels forked from a process with the libraries imported
    "myst_nb",
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "prerender_math",  # docs/_ext: math typeset at build time with the pinned MathJax
    "sphinx_copybutton",
    "sphinx_togglebutton",
    "sphinxcontrib.bibtex",
    "light_theme",  # docs/_ext: the theme without FontAwesome's and Bootstrap's JavaScript
]

root_doc = "index"
# Figures (executed cells with a caption and a name) are numbered; {numref} cites them by number.
numfig = True
numfig_format = {"figure": "Fig. %s"}  # (tables, code blocks: Sphinx's defaults)
exclude_patterns = ["_build", "**.ipynb_checkpoints", "references.bib"]
suppress_warnings = []
nitpicky = False

# ---- notebooks ---------------------------------------------------------------------------
myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence", "deflist"]
myst_heading_anchors = 3
nb_execution_mode = os.environ.get("NB_EXECUTION_MODE", "cache")
nb_execution_raise_on_error = True  # a failing cell fails the build
nb_kernel_rgx_aliases = {"^python3$": forked_kernel.KERNEL_NAME}  # docs/_ext/forked_kernel.py
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


# NB_CACHE_ROOT: another folder for the cache (two builds of one checkout at once must not share it)
nb_execution_cache_path = str(Path(os.environ.get("NB_CACHE_ROOT", ROOT / "_build" / ".jupyter_cache")) / _source_hash())

# ---- citations ---------------------------------------------------------------------------
# One author–year style: the list is sorted by author, year and title and labelled "Zheng et al.,
# 2017a" (a letter where two entries share their authors and year), and a citation shows that
# label in round brackets, "(Zheng et al., 2017a)", so a citation and its entry read alike. Every
# entry carries a DOI or a stable link (the style prints them as links).
bibtex_bibfiles = ["docs/references.bib"]
bibtex_default_style = "authoryear"
bibtex_reference_style = "author_year_label"


def _register_citation_styles() -> None:
    from collections import Counter
    from dataclasses import field, make_dataclass

    import pybtex.plugin
    import sphinxcontrib.bibtex.plugin
    from pybtex.backends.plaintext import Backend as PlainText
    from pybtex.richtext import Text
    from pybtex.style.formatting.unsrt import Style as Unsrt
    from pybtex.style.labels import BaseLabelStyle
    from pybtex.style.names.plain import NameStyle
    from pybtex.style.sorting.author_year_title import SortingStyle
    from sphinxcontrib.bibtex.style.referencing import BracketStyle
    from sphinxcontrib.bibtex.style.referencing.label import LabelReferenceStyle

    plain = PlainText()  # (render_as("text") would look the backend up among the entry points each time)

    def authors(entry) -> str:
        people = entry.persons.get("author") or entry.persons.get("editor") or []
        last = [Text.from_latex(" ".join(p.prelast_names + p.last_names)).render(plain) for p in people]
        if not last:
            return Text.from_latex(entry.fields.get("title", "Anonymous")).render(plain)
        return last[0] if len(last) == 1 else " and ".join(last) if len(last) == 2 else f"{last[0]} et al."

    class AuthorYearLabels(BaseLabelStyle):
        def format_labels(self, sorted_entries):
            labels = [f"{authors(e)}, {e.fields.get('year', 'n.d.')}" for e in sorted_entries]
            count, seen = Counter(labels), Counter()
            for label in labels:
                seen[label] += 1
                yield label + ("abcdefghijklmnopqrstuvwxyz"[seen[label] - 1] if count[label] > 1 else "")

    class AuthorYear(Unsrt):
        # classes, not names: pybtex looks a name up among the installed entry points every time
        # a bibliography is formatted (14 times a build, 40 ms each here)
        default_label_style = AuthorYearLabels
        default_name_style = NameStyle
        default_sorting_style = SortingStyle

    def round_brackets():
        return BracketStyle(left="(", right=")", sep="; ", sep2="; ", last_sep="; ")

    # (make_dataclass, not @dataclass: with this file's string annotations, @dataclass looks the
    # module up in sys.modules, where conf.py is not when a test loads it from its path)
    AuthorYearLabel = make_dataclass("AuthorYearLabel", [("bracket_parenthetical", BracketStyle,
                                                          field(default_factory=round_brackets))],
                                     bases=(LabelReferenceStyle,))

    pybtex.plugin.register_plugin("pybtex.style.formatting", "authoryear", AuthorYear)
    sphinxcontrib.bibtex.plugin.register_plugin("sphinxcontrib.bibtex.style.referencing", "author_year_label",
                                                AuthorYearLabel)


_register_citation_styles()

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
html_show_sourcelink = False  # the page's own links (docs/_templates/page-links.html) offer the source
html_sourcelink_suffix = ""   # _sources/<page>.md, not <page>.md.txt

# ---- the repository, "edit this page", and each page as a notebook and as its source ---------------
#: The project's public home (a placeholder until it has one) and the branch pages are edited on.
repository_url = "https://github.com/example/gradients-that-cannot-be-wrong"
repository_branch = "main"
#: Where the built site keeps each executable page as a notebook (generated from its MyST source).
NOTEBOOKS = "_notebooks"
html_theme_options["article_footer_items"] = ["page-links.html"]
# No general index or module index pages: the API pages are short and the search finds every
# documented name (each index page costs every build, even a no-change one, a third of a second).
html_use_index = False
html_domain_indices = False
# No request may leave the site: no Google fonts, no analytics, nothing from a CDN.
html_baseurl = ""

# The theme, lightened and repaired (issue 11): docs/_ext/light_theme.py (the theme's stylesheet
# cut to what the site uses, hidden code kept out of the search), docs/_templates (no FontAwesome
# or Bootstrap JavaScript, the search index on the search page only, a colour-mode button) and
# docs/_static/theme-fixes.{css,js} (icons as inline SVG; the sidebar toggles of
# pydata/pydata-sphinx-theme#2451, colour mode, "back to top", search snippets from the article).
templates_path = ["docs/_templates"]
html_css_files += ["theme-fixes.css"]
html_js_files = ["theme-fixes.js"]

# ---- math, typeset at build time ------------------------------------------------------------
# docs/_ext/prerender_math.py typesets every formula with the MathJax pinned in package-lock.json
# (run by Node.js): pages carry finished math and its fonts, no script and no CDN.
html_math_renderer = "prerender"
prerender_math_node_modules = str(ROOT / "node_modules")

autodoc_member_order = "bysource"
autodoc_default_options = {"members": True, "undoc-members": False}
autodoc_use_type_comments = False  # no "# type:" comments here; reading them re-parses every source


# ---- a balanced parallel read ---------------------------------------------------------------
# With -j, Sphinx splits the pages to read into as many fixed runs of consecutive names as there
# are processes. Executing a notebook page costs seconds (a kernel, its checks, its figures), the
# other pages little, so fixed runs leave one process idle while the other still works. While
# reading, each page is its own task instead (the API pages one task together: they share the
# package import), heaviest first, and a free process takes the next one.


def _read_cost(path: Path) -> float:
    """Rough seconds to read a page on two cores (only the order of the tasks depends on it): a
    topic's page by the topic's place in ``derivations.SLOWEST_FIRST`` (its checks are most of
    it), another executed page by its cells, an API page by its modules. The pages that report on
    every topic (:data:`REPORT_PAGES`) come last: they read what the others recorded."""
    text = path.read_text(encoding="utf-8") if path.is_file() else ""
    if path.stem in REPORT_PAGES:
        return -1.0  # below every other page: no report page may take a process a topic's page needs
    if "file_format: mystnb" in text:
        if path.stem in SLOWEST_FIRST:
            return 1.0 + 0.4 * (len(SLOWEST_FIRST) - SLOWEST_FIRST.index(path.stem))
        return 1.5 + 0.1 * text.count("```{code-cell}")
    return 0.25 * text.count(".. automodule::") + 0.1


def _is_api(docname: str) -> bool:
    return docname.split("/")[-1].startswith("api")


def _read_tasks(docnames, nproc, maxbatch=10):
    """Replaces sphinx.util.parallel.make_chunks while reading: one task per page, the API pages
    (next to each other in ``docnames``) one task together. ``docnames`` come heaviest first;
    Sphinx starts the first ``nproc`` tasks at once and then the most recently added waiting one,
    so the rest go in lightest first."""
    tasks = []
    for d in docnames:
        if _is_api(d) and tasks and _is_api(tasks[-1][0]):
            tasks[-1].append(d)
        else:
            tasks.append([d])
    return tasks[:nproc] + tasks[nproc:][::-1]


_sphinx_make_chunks = None  # Sphinx's own, while _read_tasks stands in for it


def _order_read(app, env, docnames):
    global _sphinx_make_chunks
    if app.parallel <= 1 or len(docnames) < 2:
        # one process reads in this order: the report pages after the topics they report on
        docnames.sort(key=lambda d: d.split("/")[-1] in REPORT_PAGES)
        return
    import sphinx.builders

    cost = {d: _read_cost(Path(env.doc2path(d))) for d in docnames}
    api = sum(cost[d] for d in docnames if _is_api(d)) + 1.0  # together, and the package import
    docnames.sort(key=lambda d: -(api if _is_api(d) else cost[d]))  # stable: API pages stay together
    _sphinx_make_chunks, sphinx.builders.make_chunks = sphinx.builders.make_chunks, _read_tasks


def _restore_chunks(app, env):
    global _sphinx_make_chunks
    if _sphinx_make_chunks is not None:
        import sphinx.builders

        sphinx.builders.make_chunks, _sphinx_make_chunks = _sphinx_make_chunks, None  # writing: Sphinx's runs


def _create_execution_cache(app, env, docnames):
    """Create jupyter-cache's database before the reader processes start: two of them creating
    it at once race ("table nbcache already exists")."""
    if docnames and app.config.nb_execution_mode == "cache":
        from jupyter_cache import get_cache

        get_cache(app.config.nb_execution_cache_path).list_cache_records()


def _truncate_only_over_the_limit():
    """jupyter-cache trims its cache after storing each page (``truncate_caches``) with two
    queries: the newest ``limit`` records to keep, then every record not among them to delete. A
    record another reader process creates between the two is deleted before that process has
    written its notebook, and the build fails with "Notebook file does not exist for cache record"
    (seen in a clean build of this site with three readers). Trimming only when the cache holds
    more records than its limit (1,000 by default; the site has 27 pages) never runs those queries."""
    from jupyter_cache.cache import main
    from jupyter_cache.cache.db import NbCacheRecord

    original = main.JupyterCacheBase.truncate_caches
    if getattr(original, "only_over_the_limit", False):
        return

    def truncate_caches(self):
        if len(NbCacheRecord.records_all(self.db)) > self.get_cache_limit():
            original(self)

    truncate_caches.only_over_the_limit = True
    main.JupyterCacheBase.truncate_caches = truncate_caches


# ---- a no-change rebuild does not renumber -----------------------------------------------------
# With numbered figures (numfig), Sphinx renumbers every section and figure of the book after each
# read: it loads every page's doctree from its pickle and walks it (2.7 s of a 5.8 s no-change
# rebuild here). The numbers depend only on the pages' doctrees and the toctree, so when this
# build read no page and removed none, they are the ones the environment already holds.


def _nothing_read_yet(app):
    app._derivations_read_any = False


def _note_reading(app, env, docnames):
    if docnames:
        app._derivations_read_any = True


def _note_purge(app, env, docname):
    app._derivations_read_any = True  # a page removed, or one about to be read again


def _numbers_only_when_something_was_read(app):
    """Wrap the toctree collector's ``env-get-updated`` listener (Sphinx connected it, bound to
    the collector, before this file's setup ran)."""
    from sphinx.environment.collectors.toctree import TocTreeCollector

    listeners = app.events.listeners["env-get-updated"]
    for k, listener in enumerate(listeners):
        renumber = listener.handler
        if isinstance(getattr(renumber, "__self__", None), TocTreeCollector):

            def get_updated_docs(app, env, _renumber=renumber):
                if not getattr(app, "_derivations_read_any", True):
                    return []  # nothing read, nothing removed: every number stands
                return _renumber(app, env)

            listeners[k] = listener._replace(handler=get_updated_docs)
            return
    raise RuntimeError("conf.py: Sphinx's toctree collector is not listening to env-get-updated")


def _template_cache(app):
    """Keep the theme's compiled Jinja templates between builds (next to the doctrees): a build
    with nothing to write still renders the search page, and compiling the theme's templates for
    it costs more than the rest of that build."""
    from jinja2 import FileSystemBytecodeCache

    templates = getattr(app.builder, "templates", None)
    if templates is not None and hasattr(templates, "environment"):
        folder = Path(app.doctreedir) / "jinja-cache"
        folder.mkdir(parents=True, exist_ok=True)
        templates.environment.bytecode_cache = FileSystemBytecodeCache(str(folder))


def _skip_sympy_internals(app, what, name, obj, skip, options):
    """Keep SymPy's machinery out of the API pages: a generic function ``f = Function("f")`` is a
    class SymPy makes at run time (not our API), and SymPy gives every function class its own
    ``default_assumptions``, ``is_*`` and ``name`` attributes.

    A class or function a module imports from elsewhere (``dataclass``, ``NamedTuple``, IPython's
    ``HTML``) is skipped here, before autodoc loads it: autodoc would drop it later anyway, after
    parsing the source of the module it comes from.
    """
    import inspect

    import sympy

    if isinstance(obj, sympy.core.function.UndefinedFunction):
        return True
    if what == "class" and (name in ("default_assumptions", "name") or name.startswith("is_")):
        return True
    if what == "module" and (inspect.isclass(obj) or inspect.isroutine(obj)) \
            and not str(getattr(obj, "__module__", "")).startswith("derivations"):
        return True
    if what == "module" and inspect.isclass(obj) and issubclass(obj, sympy.Basic):
        _no_sympy_sources(obj)
    return None


def _readable_values():
    """Module constants that hold SymPy objects (a definition ``δ := i ↦ f'(z_i) U_i``) show on the
    API pages in the engine's plain-text notation (``derivations.render.text``), not as SymPy's
    ``srepr`` (``Lambda(i, Derivative(f(z[i]), z[i])*U[i])``)."""
    import sphinx.util.inspect as sphinx_inspect

    describe = sphinx_inspect.object_description
    if getattr(describe, "readable", False):
        return

    def readable(obj, *, _seen=frozenset()):
        sympy = sys.modules.get("sympy")
        if sympy is not None and isinstance(obj, (sympy.Basic, sympy.MatrixBase)):
            from derivations.render import text

            return text(obj)
        return describe(obj, _seen=_seen)

    readable.readable = True
    sphinx_inspect.object_description = readable


def _no_sympy_sources(cls):
    """Our SymPy subclasses (``lstm_gates.sigma``) document only their own members, but autodoc
    parses the source of every module in the class's MRO (SymPy's ``function``, ``expr``,
    ``basic``, …) for attribute comments: give those modules an empty analysis instead."""
    from sphinx.pycode import ModuleAnalyzer

    for base in cls.__mro__[1:]:
        mod = base.__module__
        if mod.startswith("sympy.") and ("module", mod) not in ModuleAnalyzer.cache:
            ModuleAnalyzer.cache["module", mod] = ModuleAnalyzer.for_string("", mod)


# ---- what every topic's page records for the report pages ------------------------------------------
# Each topic's page ends, while the site builds, with one more (hidden) cell that writes a record of
# what the page checked: every step's method, every numeric table (derivations/checked.py). It runs
# in the page's own kernel after everything is checked and cached there, so it costs next to
# nothing, and the report pages (rules, notation, "what is checked") read the records instead
# of checking every topic a second time. The records are kept beside the execution cache of this
# version of derivations/; a report page waits for a topic whose page is still being read and
# checks a topic with no record itself, so the records make the build faster, never different.
#: The pages that report on every topic (read last).
REPORT_PAGES = ("rules", "notation", "checked")
RECORD_CELL = ("\n\n```{code-cell} python\n:tags: [remove-cell]\n"
               "from derivations import checked as _record\n_record.write_record(%r)\n```\n")


def _topics(root: Path = ROOT) -> tuple[str, ...]:
    """``derivations.registry.TOPICS``, read from its source (importing the registry imports SymPy)."""
    import ast

    tree = ast.parse((root / "derivations" / "registry.py").read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", "") == "TOPICS" for t in node.targets):
            return tuple(ast.literal_eval(node.value))
    raise RuntimeError("derivations/registry.py defines no TOPICS")


TOPIC_PAGES = _topics()


def _records_dir(config) -> Path:
    return Path(config.nb_execution_cache_path) / "check-records"


def _records_env(app, config):
    """The page kernels inherit the environment: tell them where this build keeps the records."""
    os.environ["DERIVATIONS_CHECK_RECORDS"] = str(_records_dir(config))


def _add_record_cell(app, docname, source):
    if docname in TOPIC_PAGES and "file_format: mystnb" in source[0]:
        source[0] = source[0].rstrip("\n") + RECORD_CELL % docname
        folder = _records_dir(app.config)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{docname}.started").touch()  # a report page waits for a page being read, not a queued one


def _note_pending(app, env, docnames):
    """Before reading: which topics' pages this build reads (the report pages wait for those)."""
    import json

    folder = _records_dir(app.config)
    folder.mkdir(parents=True, exist_ok=True)
    pending = sorted(d for d in docnames if d in TOPIC_PAGES)
    for name in pending:
        (folder / f"{name}.read").unlink(missing_ok=True)
        (folder / f"{name}.started").unlink(missing_ok=True)
    (folder / "pending.json").write_text(json.dumps(pending))


def _note_read(app, doctree):
    """A topic's page is read (its kernel, if it ran, has written its record)."""
    if app.env.docname in TOPIC_PAGES:
        folder = _records_dir(app.config)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{app.env.docname}.read").touch()


def notebook_of(path: Path):
    """The page at ``path`` (a MyST notebook) as a Jupyter notebook, converted by jupytext: the
    notebook a reader downloads and runs."""
    import jupytext

    nb = jupytext.read(path, fmt="md:myst")
    nb.metadata.pop("jupytext", None)  # a notebook of its own, not one paired with the page
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return nb


def _page_links(app, pagename, templatename, context, doctree):
    """Links for the page template (docs/_templates/page-links.html): the repository, "edit this
    page", the page's source and, for an executable page, the notebook made from it (written
    here, next to the page)."""
    links = [("Repository", repository_url)]
    source = Path(app.env.doc2path(pagename)) if pagename in app.env.found_docs else None
    if source is not None and source.is_file():
        if source.is_relative_to(ROOT):  # (a site built from elsewhere, e.g. a test's, has no file here)
            rel = source.relative_to(ROOT).as_posix()
            links.append(("Edit this page", f"{repository_url}/edit/{repository_branch}/{rel}"))
        links.append(("Source (.md)", context["pathto"](f"_sources/{pagename}{source.suffix}", 1)))
        if "file_format: mystnb" in source.read_text(encoding="utf-8")[:200]:
            import nbformat

            target = Path(app.outdir) / NOTEBOOKS / f"{pagename}.ipynb"
            if not target.is_file() or target.stat().st_mtime < source.stat().st_mtime:
                target.parent.mkdir(parents=True, exist_ok=True)
                nbformat.write(notebook_of(source), str(target))
            links.append(("Notebook (.ipynb)", context["pathto"](f"{NOTEBOOKS}/{pagename}.ipynb", 1)))
    context["page_links"] = links


def setup(app):
    app.connect("config-inited", _records_env)
    app.connect("source-read", _add_record_cell)
    app.connect("env-before-read-docs", _note_pending)
    app.connect("doctree-read", _note_read)
    app.connect("html-page-context", _page_links)
    _readable_values()
    app.connect("autodoc-skip-member", _skip_sympy_internals)
    app.connect("builder-inited", _template_cache)
    app.connect("env-before-read-docs", _create_execution_cache)
    _truncate_only_over_the_limit()
    app.connect("env-before-read-docs", _order_read)
    app.connect("env-updated", _restore_chunks)
    _numbers_only_when_something_was_read(app)
    app.connect("env-before-read-docs", _note_reading)
    app.connect("env-purge-doc", _note_purge)
    app.connect("builder-inited", _nothing_read_yet)
