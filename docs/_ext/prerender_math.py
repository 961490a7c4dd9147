"""Sphinx math renderer that typesets every formula at build time with MathJax (in Node.js).

Pages arrive with their math already drawn, as SVG: no script typesets anything in the reader's
browser, nothing is fetched from a CDN, and a page shows its math as soon as it loads. The
pinned MathJax (``package-lock.json``) does the typesetting in one long-lived ``node`` process
per Sphinx process (``render_math.mjs``), one request per page.

- A TeX error is reported as an error at the formula's page and line (``-W`` fails the build),
  naming the formula; the page then shows the TeX marked as an error, never a half-drawn formula.
- Each page carries the glyph shapes it uses once (a hidden ``<svg>``), its formulas refer to
  them; ``_static/math/mathjax-svg.css`` holds MathJax's few rules for SVG output.
- A formula's accessible name is its TeX (``role="img"``, ``aria-label``).
- The TeX sent for display math is exactly what ``sphinx.ext.mathjax`` would put on the page
  (numbered equations, several equations in one block, ``\\\\`` inside one equation).

Enable with ``extensions += ["prerender_math"]`` and ``html_math_renderer = "prerender"``; set
``prerender_math_node_modules`` to the folder that holds the ``mathjax`` package (npm).
"""

from __future__ import annotations

import atexit
import json
import os
import shutil
import subprocess
from pathlib import Path

from html import escape

from docutils import nodes
from sphinx.errors import ConfigError, ExtensionError
from sphinx.locale import _
from sphinx.util import logging
from sphinx.util.math import get_node_equation_number

logger = logging.getLogger(__name__)

HERE = Path(__file__).resolve().parent
SCRIPT = HERE / "render_math.mjs"
CSS = "math/mathjax-svg.css"  # in _static


def inline_tex(node: nodes.math) -> str:
    return node.astext()


def display_tex(node: nodes.math_block) -> str:
    """The TeX of a display block, composed as ``sphinx.ext.mathjax`` composes it."""
    if node.get("no-wrap", node.get("nowrap", False)):
        return node.astext()
    parts = [p for p in node.astext().split("\n\n") if p.strip()]
    body = [r"\begin{split}" + p + r"\end{split}" if r"\\" in p else p for p in parts]
    if len(parts) > 1:
        return r"\begin{align}\begin{aligned}" + r"\\".join(body) + r"\end{aligned}\end{align}"
    return body[0] if body else ""


class _Renderer:
    """One ``node render_math.mjs`` process, owned by the Sphinx process that started it."""

    def __init__(self, node_modules: Path):
        node = shutil.which("node")
        if node is None:
            raise ExtensionError("Node.js ('node') is not on PATH: the site typesets its math at build "
                                 "time with the pinned MathJax (install Node.js and npm, then make html)")
        self.pid = os.getpid()
        self.proc = subprocess.Popen([node, str(SCRIPT), str(node_modules)], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True, encoding="utf-8")
        atexit.register(self.close)

    def render(self, items: list[tuple[str, bool]], local: bool = False) -> dict:
        self.proc.stdin.write(json.dumps({"items": items, "local": local}) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise ExtensionError(f"the MathJax process ended unexpectedly (exit {self.proc.wait()})")
        return json.loads(line)

    def close(self):
        if self.proc.poll() is None and os.getpid() == self.pid:
            self.proc.stdin.close()
            self.proc.wait(timeout=10)


_renderer: _Renderer | None = None
_pages: dict[str, dict] = {}  # page -> {(tex, display): html}, in this process
_defs: dict[str, str] = {}  # page -> its glyph shapes (a hidden <svg>)
_loose: dict[tuple[str, bool], str] = {}  # formulas outside a page's own text, self-contained


def _typeset(app, docname: str, items: list[tuple[str, bool]], where: list, local: bool = False) -> list[str]:
    """Typeset ``items`` (``where``: a docutils node of each, for error locations)."""
    global _renderer
    if _renderer is None or _renderer.pid != os.getpid():  # a forked worker starts its own
        _renderer = _Renderer(Path(app.config.prerender_math_node_modules))
    answer = _renderer.render(items, local)
    if "error" in answer:
        raise ExtensionError(f"{docname}: typesetting math failed: {answer['error']}")
    html = answer["html"]
    for i, message in answer["errors"].items():
        tex, display = items[int(i)]
        logger.error("%s in formula: %s", message, tex, location=where[int(i)])
        html[int(i)] = f'<code class="math-error">{escape(tex)}</code>'
    css = Path(app.outdir) / "_static" / CSS
    if not css.is_file() or css.read_text(encoding="utf-8") != answer["css"]:
        css.parent.mkdir(parents=True, exist_ok=True)
        css.write_text(answer["css"], encoding="utf-8")
    if not local:
        _defs[docname] = answer["defs"]
    return html


def _collect(app, doctree, docname):
    """Typeset all of a page's math in one request, once its doctree is final."""
    found = {(inline_tex(n), False): n for n in doctree.findall(nodes.math)}
    found.update({(display_tex(n), True): n for n in doctree.findall(nodes.math_block)})
    items = sorted(found)
    html = _typeset(app, docname, items, [found[k] for k in items]) if items else []
    _pages[docname] = dict(zip(items, html))


def _rendered(self, node, key) -> str:
    page = _pages.get(self.builder.current_docname, {})
    if key in page:
        return page[key]
    if key not in _loose:  # e.g. a heading's math in the navigation of another page
        _loose[key] = _typeset(self.builder.app, self.builder.current_docname, [key], [node], local=True)[0]
    return _loose[key]


def visit_math(self, node):
    self.body.append(self.starttag(node, "span", "", CLASS="math notranslate nohighlight"))
    self.body.append(_rendered(self, node, (inline_tex(node), False)) + "</span>")
    raise nodes.SkipNode


def visit_displaymath(self, node):
    self.body.append(self.starttag(node, "div", CLASS="math notranslate nohighlight"))
    if node["number"] and not node.get("no-wrap", node.get("nowrap", False)):
        self.body.append(f'<span class="eqno">({get_node_equation_number(self, node)})')
        self.add_permalink_ref(node, _("Link to this equation"))
        self.body.append("</span>")
    self.body.append(_rendered(self, node, (display_tex(node), True)) + "</div>\n")
    raise nodes.SkipNode


def _page_context(app, pagename, templatename, context, doctree):
    """A page with math links the stylesheet and carries its glyph shapes."""
    if not _pages.get(pagename):
        return
    app.add_css_file(CSS)  # inside html-page-context: for this page only
    context["body"] = context.get("body", "") + _defs.pop(pagename, "")


def _check(app):
    if app.builder.format != "html" or app.builder.math_renderer_name != "prerender":
        return
    mathjax = Path(app.config.prerender_math_node_modules) / "mathjax"
    if not (mathjax / "package.json").is_file():
        raise ConfigError(f"local MathJax copy missing at {mathjax}: run 'npm ci' (make html does it). "
                          "The site typesets its own math and never loads it from a CDN.")


def setup(app):
    app.add_config_value("prerender_math_node_modules", "node_modules", "env", types=[str])
    app.add_html_math_renderer("prerender", (visit_math, None), (visit_displaymath, None))
    app.connect("builder-inited", _check)
    app.connect("doctree-resolved", _collect)
    app.connect("html-page-context", _page_context)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
