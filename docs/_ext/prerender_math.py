"""Sphinx math renderer that typesets every formula at build time with MathJax (in Node.js).

Pages arrive with their math already drawn, as SVG: no script typesets anything in the reader's
browser, nothing is fetched from a CDN, and a page shows its math as soon as it loads. The
pinned MathJax (``package-lock.json``) does the typesetting in one ``node`` process per build
(``render_math.mjs``, on a Unix socket), one request per page, while the page is read: the
drawn formulas are stored in the page's doctree, so writing the page (and an incremental build
that only rewrites it) needs no typesetting.

- A TeX error is reported as an error at the formula's page and line (``-W`` fails the build),
  naming the formula; the page then shows the TeX marked as an error, never a half-drawn formula.
- Each page carries the glyph shapes it uses once (a hidden ``<svg>``), its formulas refer to
  them; ``_static/math/mathjax-svg.css`` holds MathJax's few rules for SVG output.
- A formula's accessible name is its TeX (``role="img"``, ``aria-label``).
- The TeX sent for display math is exactly what ``sphinx.ext.mathjax`` would put on the page
  (numbered equations, several equations in one block, ``\\\\`` inside one equation).
- Math outside a page's own text (a heading with math, shown in another page's navigation) is
  typeset when it is written, each formula with its own glyphs.

Enable with ``extensions += ["prerender_math"]`` and ``html_math_renderer = "prerender"``; set
``prerender_math_node_modules`` to the folder that holds the ``mathjax`` package (npm).
"""

from __future__ import annotations

import atexit
import hashlib
import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
from html import escape
from pathlib import Path

from docutils import nodes
from sphinx.errors import ConfigError, ExtensionError
from sphinx.locale import _
from sphinx.util import logging
from sphinx.util.math import get_node_equation_number

import math_layout

logger = logging.getLogger(__name__)

HERE = Path(__file__).resolve().parent
SCRIPT = HERE / "render_math.mjs"
CSS = "math/mathjax-svg.css"  # in _static
ENV_SOCKET = "PRERENDER_MATH_SOCKET"  # where this build's MathJax process listens
HTML = "prerendered_html"  # node attribute: the drawn formula
ROWS = "prerendered_rows"  # node attribute: the formula is laid out as rows (math_layout)
DEFS = "prerendered_math_defs"  # document attribute: the page's glyph shapes


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


class _Server:
    """The build's ``node render_math.mjs``, owned by the process that started it."""

    def __init__(self, node_modules: Path):
        node = shutil.which("node")
        if node is None:
            raise ExtensionError("Node.js ('node') is not on PATH: the site typesets its math at build "
                                 "time with the pinned MathJax (install Node.js and npm, then make html)")
        self.folder = tempfile.mkdtemp(prefix="prerender-math-")
        self.path = os.path.join(self.folder, "socket")
        self.owner = os.getpid()
        self.proc = subprocess.Popen([node, str(SCRIPT), str(node_modules), self.path], stdin=subprocess.PIPE)
        os.environ[ENV_SOCKET] = self.path  # processes forked from here (parallel readers) use it too
        atexit.register(self.close)

    def close(self):
        if os.getpid() != self.owner:
            return
        if self.proc.poll() is None:
            self.proc.stdin.close()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        shutil.rmtree(self.folder, ignore_errors=True)
        if os.environ.get(ENV_SOCKET) == self.path:
            del os.environ[ENV_SOCKET]


_server: _Server | None = None


def _start(app) -> None:
    global _server
    if os.environ.get(ENV_SOCKET) is None:
        _server = _Server(Path(app.config.prerender_math_node_modules))


def _stop(app=None, exception=None) -> None:
    global _server
    if _server is not None and _server.owner == os.getpid():
        _server.close()
        _server = None


def _request(app, items: list[tuple[str, bool]], local: bool) -> dict:
    _start(app)
    path = os.environ[ENV_SOCKET]
    conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    deadline = time.monotonic() + 60
    while True:  # the socket appears once MathJax has loaded
        try:
            conn.connect(path)
            break
        except (FileNotFoundError, ConnectionRefusedError):
            if _server is not None and _server.owner == os.getpid() and _server.proc.poll() is not None:
                raise ExtensionError(f"the MathJax process ended (exit {_server.proc.returncode})") from None
            if time.monotonic() > deadline:
                raise ExtensionError(f"the MathJax process does not answer at {path}") from None
            time.sleep(0.05)
    with conn, conn.makefile("rw", encoding="utf-8") as stream:
        stream.write(json.dumps({"items": items, "local": local}) + "\n")
        stream.flush()
        line = stream.readline()
    if not line:
        raise ExtensionError("the MathJax process closed the connection without an answer")
    answer = json.loads(line)
    if "error" in answer:
        raise ExtensionError(f"typesetting math failed: {answer['error']}")
    return answer


def _typeset(app, found: dict, local: bool = False) -> dict:
    """Typeset ``found`` ({(tex, display): a node of it}); TeX errors are logged at their node."""
    items = sorted(found)
    answer = _request(app, items, local)
    html = answer["html"]
    for i, message in answer["errors"].items():
        tex, _display = items[int(i)]
        logger.error("%s in formula: %s", message, tex, location=found[items[int(i)]])
        html[int(i)] = f'<code class="math-error">{escape(tex)}</code>'
    answer["by_item"] = dict(zip(items, html))
    return answer


def _key(node) -> tuple[str, bool]:
    return (display_tex(node), True) if isinstance(node, nodes.math_block) else (inline_tex(node), False)


def _on_read(app, doctree):
    """Typeset the page's math while it is read (in parallel with other pages)."""
    if app.builder.format != "html" or app.builder.math_renderer_name != "prerender":
        return
    math = [n for n in doctree.findall(lambda n: isinstance(n, (nodes.math, nodes.math_block)))]
    if not math:
        return
    found, laid_out = {}, {}
    for n in reversed(math):
        rows = math_layout.layout(display_tex(n)) if isinstance(n, nodes.math_block) else None
        if rows is None:
            found[_key(n)] = n
        else:
            laid_out[id(n)] = rows
            found.update({item: n for item in math_layout.items(rows)})
    answer = _typeset(app, found)
    for n in math:
        if id(n) in laid_out:
            n[HTML] = math_layout.html(laid_out[id(n)], answer["by_item"])
            n[ROWS] = True
        else:
            n[HTML] = answer["by_item"][_key(n)]
    doctree[DEFS] = answer["defs"]


_loose: dict[tuple[str, bool], str] = {}


def _rendered(self, node) -> str:
    if HTML in node:
        return node[HTML]
    key = _key(node)  # math outside a page's own text, e.g. a heading in another page's navigation
    if key not in _loose:
        _loose[key] = _typeset(self.builder.app, {key: node}, local=True)["by_item"][key]
    return _loose[key]


def visit_math(self, node):
    self.body.append(self.starttag(node, "span", "", CLASS="math notranslate nohighlight"))
    self.body.append(_rendered(self, node) + "</span>")
    raise nodes.SkipNode


def visit_displaymath(self, node):
    rows = " math-rows" if node.get(ROWS) else ""
    self.body.append(self.starttag(node, "div", CLASS="math notranslate nohighlight" + rows))
    if node["number"] and not node.get("no-wrap", node.get("nowrap", False)):
        self.body.append(f'<span class="eqno">({get_node_equation_number(self, node)})')
        self.add_permalink_ref(node, _("Link to this equation"))
        self.body.append("</span>")
    self.body.append(_rendered(self, node) + "</div>\n")
    raise nodes.SkipNode


def _page_context(app, pagename, templatename, context, doctree):
    """A page with math links the stylesheet and carries its glyph shapes."""
    if doctree is None or not doctree.get(DEFS):
        return
    app.add_css_file(CSS)  # inside html-page-context: for this page only
    context["body"] = context.get("body", "") + doctree[DEFS]


def _version(app) -> str:
    """What the drawn formulas depend on besides the TeX: MathJax's version and our script."""
    package = Path(app.config.prerender_math_node_modules) / "mathjax" / "package.json"
    h = hashlib.sha256(package.read_bytes() + SCRIPT.read_bytes() + Path(__file__).read_bytes()
                       + Path(math_layout.__file__).read_bytes())
    return h.hexdigest()[:16]


def _check(app):
    if app.builder.format != "html" or app.builder.math_renderer_name != "prerender":
        return
    mathjax = Path(app.config.prerender_math_node_modules) / "mathjax"
    if not (mathjax / "package.json").is_file():
        raise ConfigError(f"local MathJax copy missing at {mathjax}: run 'npm ci' (make html does it). "
                          "The site typesets its own math and never loads it from a CDN.")


def _outdated(app, env, added, changed, removed):
    """Pages drawn by another MathJax (or another version of this extension) are read again."""
    if app.builder.format != "html" or app.builder.math_renderer_name != "prerender":
        return []
    version = _version(app)
    if getattr(env, "prerender_math_version", None) != version:
        env.prerender_math_version = version
        return sorted(env.found_docs - added)
    return []


def _before_read(app, env, docnames):
    if docnames and app.builder.format == "html" and app.builder.math_renderer_name == "prerender":
        _start(app)  # loads MathJax while Sphinx starts reading


def _finish(app, exception):
    try:
        if exception is None and app.builder.format == "html" and app.builder.math_renderer_name == "prerender":
            css = Path(app.outdir) / "_static" / CSS
            if css.is_file() and os.environ.get(ENV_SOCKET) is None:
                return  # nothing typeset in this build (e.g. nothing changed): no MathJax to start
            text = _request(app, [], local=True)["css"]
            if not css.is_file() or css.read_text(encoding="utf-8") != text:
                css.parent.mkdir(parents=True, exist_ok=True)
                css.write_text(text, encoding="utf-8")
    finally:
        _stop()


def setup(app):
    app.add_config_value("prerender_math_node_modules", "node_modules", "env", types=[str])
    app.add_html_math_renderer("prerender", (visit_math, None), (visit_displaymath, None))
    app.connect("builder-inited", _check)
    app.connect("env-get-outdated", _outdated)
    app.connect("env-before-read-docs", _before_read)
    app.connect("doctree-read", _on_read)
    app.connect("html-page-context", _page_context)
    app.connect("build-finished", _finish)
    return {"version": "1.1", "parallel_read_safe": True, "parallel_write_safe": True}
