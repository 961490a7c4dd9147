"""The theme, lightened and repaired (issue 11): a Sphinx extension for this site.

sphinx-book-theme 1.4.0 (the newest) pins pydata-sphinx-theme 0.20.0, whose pages load
FontAwesome's JavaScript (1.56 MB, for a dozen icons) and fonts, Bootstrap's JavaScript (82 kB, for
one dropdown and tooltips), a 377 kB stylesheet (all of Bootstrap's and FontAwesome's CSS) and, on
every page, the search index (for a search-as-you-type this site turns off); and whose sidebar
toggles listen on hidden buttons (pydata/pydata-sphinx-theme#2451,
executablebooks/sphinx-book-theme#988). With the templates in docs/_templates and
docs/_static/theme-fixes.{css,js}, this extension:

- writes, after every HTML build, the theme's stylesheet cut to what the site uses (no
  FontAwesome rules, no rules for classes no page or loaded script names);
- gives the templates the cut stylesheet's name and the theme's digest (``html_context``);
- marks hidden code cells ``no-search``, so the search index and its snippets skip them.

tests/test_theme.py checks each in a browser (and that each check fails on a broken page).
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pydata_sphinx_theme


PST_CSS = Path(pydata_sphinx_theme.__file__).parent / "theme/pydata_sphinx_theme/static/styles/pydata-sphinx-theme.css"
PST_CSS_CUT = "styles/pydata-sphinx-theme-cut.css"  # in _static/, written by _write_cut_css
NOT_LOADED_JS = {"fontawesome.js", "bootstrap.js"}  # the theme's scripts no page loads


_SELECTORS = re.compile(r",(?![^()]*\))")  # the commas between a rule's selectors
_CLASS = re.compile(r"\.(-?[_a-zA-Z][\w-]*)")
_FA_CLASS = re.compile(r"fa(?:-[\w-]+|[srb])?")  # (a class name)
_NOT = re.compile(r":not\([^()]*\)")
_FUNCTIONAL = re.compile(r":(?:is|where|has)\(")


def _css_pieces(css: str):
    """Split a stylesheet into its top-level pieces: each rule with the comments before it (its
    body with nested rules), or a statement such as ``@charset``. Strings and comments are
    skipped when matching braces; the pieces joined are the stylesheet."""
    start, depth = 0, 0
    for m in re.finditer(r'/\*.*?\*/|"(?:\\.|[^"\\])*"|\'(?:\\.|[^\'\\])*\'|[{};]', css, re.S):
        tok = m.group()
        if tok == "{":
            depth += 1
        elif tok == "}":
            depth -= 1
        if depth == 0 and tok in "};":
            yield css[start:m.end()]
            start = m.end()
    if depth != 0:
        raise ValueError("unbalanced braces in the stylesheet")
    yield css[start:]


def _split_rule(piece: str) -> tuple[str, str] | None:
    """(prelude, body) of a rule; None for a statement or a comment."""
    text = (re.sub(r"/\*.*?\*/", "", piece, flags=re.S) if "/*" in piece else piece).strip()
    if "{" not in text:
        return None
    return text[:text.index("{")].strip(), text[text.index("{") + 1:-1]


def _is_fontawesome(prelude: str, body: str) -> bool:
    """Whether a rule of pydata-sphinx-theme.css is FontAwesome's: its @font-face and
    @keyframes fa-*, its :root variables (all --fa-*), or a rule whose every selector names
    FontAwesome's classes only (.fa, .fas, .fa-solid, :is(.fas,…)::before, .fa-ul>li; not .fade,
    nor the theme's ``.theme-switch.fa-moon`` or ``#pst-back-to-top .fa-arrow-up``)."""
    if not any(k in prelude or k in body for k in (".fa", "fa-", "--fa", "Font Awesome")):
        return False  # (most rules: a quick answer)
    if prelude.startswith("@font-face"):
        return "Font Awesome" in body
    if prelude.startswith("@keyframes"):
        return re.match(r"@keyframes\s+fa-", prelude) is not None
    if prelude in (":host,:root", ":root,:host"):
        return all(d.strip().startswith("--fa") for d in body.split(";") if d.strip())
    def fontawesome_only(selector):
        classes = _CLASS.findall(selector)
        return bool(classes) and "#" not in selector and all(_FA_CLASS.fullmatch(c) for c in classes)

    return all(fontawesome_only(s) for s in _SELECTORS.split(prelude))


def _is_unused(prelude: str, used: set[str]) -> bool:
    """Whether no selector of a rule can match: each names a class that no page and no script of
    the site uses. (A class inside :not() does not count; :is(), :where() and :has() keep the
    rule.)"""
    if prelude.startswith("@") or _FUNCTIONAL.search(prelude):
        return False
    for selector in _SELECTORS.split(prelude):
        if all(c in used for c in _CLASS.findall(_NOT.sub("", selector))):
            return False
    return True


def _cut(css: str, used: set[str]) -> str:
    """``css`` without FontAwesome's rules and without the rules no page can use; an @media or
    @supports block keeps what it needs of its rules."""
    kept = []
    for piece in _css_pieces(css):
        rule = _split_rule(piece)
        if rule is None:
            kept.append(piece)
        elif rule[0].startswith(("@media", "@supports")):
            inner = _cut(rule[1], used)
            if inner.strip():
                kept.append(f"{rule[0]}{{{inner}}}")
        elif not (_is_fontawesome(*rule) or _is_unused(rule[0], used)):
            kept.append(piece)
    return "".join(kept)


def _used_classes(outdir: Path) -> set[str]:
    """Every class a page of the built site names, and every word of the scripts it loads (the
    classes they add: "active", "pst-squeeze", …). (About 50 ms for this site.)"""
    used = set()
    for page in outdir.glob("**/*.html"):
        for names in re.findall(rb"class=[\"']([^\"']*)", page.read_bytes()):
            used.update(names.decode().split())
    for script in (outdir / "_static").glob("**/*.js"):
        if script.name not in NOT_LOADED_JS:
            used.update(re.findall(r"[\w-]+", script.read_text(encoding="utf-8")))
    return used


def _write_cut_css(app, exception):
    """pydata-sphinx-theme.css cut to what this site uses, next to the theme's own in
    _static/styles, at the end of every HTML build (when every page is written; written again
    when the theme or the classes the site uses change). Cut: FontAwesome's rules (75 kB: a rule
    per icon of the whole set, @font-face rules that fetch a 115 kB web font;
    docs/_static/theme-fixes.css draws the icons the pages use) and the rules for classes the site
    never uses (217 kB, most of Bootstrap's: the site loads none of Bootstrap's JavaScript and
    uses few of its components). tests/test_theme.py looks at the pages in a browser."""
    if exception is not None or app.builder.format != "html":
        return
    source = PST_CSS.read_bytes()
    used = _used_classes(Path(app.outdir))
    # what the cut depends on: the theme's stylesheet, the classes used, the cutting code (here)
    stamp = hashlib.sha256(source + " ".join(sorted(used)).encode() + Path(__file__).read_bytes()).hexdigest()[:16]
    footer = f"\n/* pydata-sphinx-theme.css cut for this site by docs/_ext/light_theme.py ({stamp}) */\n"  # (@charset comes first)
    out = Path(app.outdir) / "_static" / PST_CSS_CUT
    if out.is_file() and out.read_text(encoding="utf-8").endswith(footer):
        return
    css = source.decode("utf-8")
    cut = _cut(css, used).replace("/*# sourceMappingURL=pydata-sphinx-theme.css.map*/", "")  # (maps the whole file)
    left = [s for s in ("Font Awesome", "fontawesome", "--fa:") if s in cut]
    if left or not 0.05 * len(css) < len(cut) < 0.75 * len(css):  # (FontAwesome's rules are 20%)
        raise RuntimeError(f"light_theme: cutting {PST_CSS} kept {len(cut)} of {len(css)} characters, "
                           f"mentioning {left or 'no FontAwesome'}: has the theme changed? See _is_fontawesome, _is_unused")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(cut + footer, encoding="utf-8")


def _hidden_code_not_searched(app, doctree, docname):
    """A code cell tagged hide-cell or hide-input holds a page's plumbing (imports, glue): leave it
    out of the search. myst-nb wraps it in a HideCodeCellNode (a <details> in HTML); the class
    ``no-search`` keeps Sphinx's index from reading it and theme-fixes.js drops it from snippets."""
    from myst_nb.sphinx_ import HideCodeCellNode

    for node in doctree.findall(HideCodeCellNode):
        if any(child.get("nb_element") == "cell_code_source" for child in node.children):
            node["classes"].append("no-search")


def _context(app, config):
    """The templates' names: the cut stylesheet, and the ?digest= of the theme's files (the
    browser's cache key), which changes with the theme."""
    config.html_context = {**config.html_context, "pst_css_cut": PST_CSS_CUT,
                           "pst_digest": hashlib.sha256(PST_CSS.read_bytes()).hexdigest()[:16]}


def setup(app):
    app.connect("config-inited", _context)
    app.connect("doctree-resolved", _hidden_code_not_searched)
    app.connect("build-finished", _write_cut_css)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
