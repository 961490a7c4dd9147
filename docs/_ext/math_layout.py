r"""Display math as rows that fit any column: the layout half of ``prerender_math``.

A display formula is cut, at build time, into the pieces a narrow screen needs to move
independently:

- an ``aligned`` block (``lhs &= rhs && \text{(note)}`` per line, the convention of
  :func:`derivations.render.rows`, and any hand-written ``aligned``/``split``) becomes one row per
  line, each row a left-hand side, a right-hand side and a note;
- a single formula (or each line of a block without alignment points) becomes one row, cut at
  its first top-level relation (``=``, ``:=``, ``\le``…).

Each piece is typeset on its own (by MathJax, with line breaking for in-line math switched on),
so a long right-hand side breaks at ``+`` and ``−`` wherever the column ends, with a hanging
indent that shows the break; a note is HTML text with in-line math, so it wraps like prose and
goes under its step when the column is narrow (``math-layout.css``).

Blocks this module does not understand (several ``&`` pairs per line, an environment it does not
know at the top) are typeset whole, as before.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html import escape

#: The wrappers a display block may come in (from Sphinx's composition, or hand-written).
_WRAPPERS = [(r"\begin{align}", r"\end{align}"), (r"\begin{split}", r"\end{split}"),
             (r"\begin{aligned}", r"\end{aligned}")]
_RELATION = re.compile(r"(:=|=|\\le\b|\\ge\b|\\leq\b|\\geq\b|\\approx\b|\\equiv\b|<|>|\\propto\b|\\sim\b)")


@dataclass
class Row:
    lhs: str = ""
    rhs: str = ""
    note: list[tuple[str, str]] = field(default_factory=list)  # ("text", s) or ("math", tex)


def _top_level(tex: str):
    """Yield (index, char) of characters outside braces and environments."""
    depth = env = 0
    i = 0
    while i < len(tex):
        c = tex[i]
        if c == "\\":
            m = re.match(r"\\(begin|end)\{[^}]*\}", tex[i:])
            if m:
                env += 1 if m.group(1) == "begin" else -1
                i += m.end()
                continue
            if depth == 0 and env == 0:
                yield i, tex[i:i + 2]
            i += 2
            continue
        if c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
        elif depth == 0 and env == 0:
            yield i, c
        i += 1


def split_top(tex: str, sep: str) -> list[str]:
    r"""Split at top-level ``sep`` (``&`` or ``\\``); a ``\\`` may carry ``[spacing]``.

    >>> split_top(r"a & b \\ c & {d & e}", "&")
    ['a ', ' b \\\\ c ', ' {d & e}']
    """
    parts, start = [], 0
    for i, tok in _top_level(tex):
        if tok == sep or (sep == "\\\\" and tok == "\\\\"):
            end = i + len(sep)
            parts.append(tex[start:i])
            if sep == "\\\\":
                m = re.match(r"\s*\[[^\]]*\]", tex[end:])
                if m:
                    end += m.end()
            start = end
    parts.append(tex[start:])
    return parts


def _one_environment(tex: str) -> bool:
    """Whether ``tex`` is one environment from its first character to its last."""
    env = 0
    for m in re.finditer(r"\\(begin|end)\{[^}]*\}", tex):
        env += 1 if m.group(1) == "begin" else -1
        if env == 0:
            return m.end() == len(tex)
    return False


def _unwrap(tex: str) -> tuple[str, bool]:
    """Strip the outer align/split/aligned wrappers; say whether any was there."""
    # IPython's Math (what glue:math shows) hands its TeX over as "\displaystyle …"
    tex, wrapped = tex.strip(), False
    changed = True
    while changed:
        changed = False
        if tex.startswith("\\displaystyle"):
            tex, changed = tex[len("\\displaystyle"):].strip(), True
        for begin, end in _WRAPPERS:
            if tex.startswith(begin) and tex.endswith(end) and _one_environment(tex):
                tex, wrapped, changed = tex[len(begin):-len(end)].strip(), True, True
    return tex, wrapped


def note_pieces(tex: str) -> list[tuple[str, str]]:
    r"""A note's LaTeX as text and math pieces: ``\text{…}`` is text, the rest math.

    >>> note_pieces(r"\text{(}x^2\text{ and }y\ \text{[n]}\text{)}")
    [('text', '('), ('math', 'x^2'), ('text', ' and '), ('math', 'y'), ('text', ' [n])')]
    """
    out, i, math = [], 0, ""
    while i < len(tex):
        m = re.match(r"\\text\s*\{", tex[i:])
        if m:
            depth, j = 1, i + m.end()
            while depth:
                if j >= len(tex):
                    raise ValueError(f"unbalanced \\text{{…}} in {tex!r}")
                depth += {"{": 1, "}": -1}.get(tex[j], 0) if tex[j - 1] != "\\" else 0
                j += 1
            if math:
                out.append(("math", math))
                math = ""
            body = tex[i + m.end():j - 1]
            body = body.replace(r"\{", "{").replace(r"\}", "}").replace(r"\textbackslash ", "\\")
            out.append(("text", body))
            i = j
        else:
            math += tex[i]
            i += 1
    if math:
        out.append(("math", math))
    spaced = []
    for kind, s in out:  # spacing commands at a math piece's ends are spaces of the text
        if kind == "math":
            m = re.match(r"^((?:\s|\\[ ,;:!]|\\q?quad\b)*)(.*?)((?:\s|\\[ ,;:!]|\\q?quad\b)*)$", s, re.S)
            if m.group(1):
                spaced.append(("text", " "))
            if m.group(2):
                spaced.append(("math", m.group(2)))
            if m.group(3) and m.group(2):
                spaced.append(("text", " "))
        else:
            spaced.append((kind, s))
    merged: list[tuple[str, str]] = []
    for kind, s in spaced:
        if merged and kind == "text" and merged[-1][0] == "text":
            merged[-1] = ("text", merged[-1][1] + s)
        else:
            merged.append((kind, s))
    return merged


def layout(tex: str) -> list[Row] | None:
    """The rows of a display block, or None if it should be typeset whole."""
    body, _wrapped = _unwrap(tex)
    lines = [l for l in split_top(body, "\\\\") if l.strip()]
    if not lines:
        return None
    rows = []
    for line in lines:
        cells = split_top(line, "&")
        if len(cells) == 1:  # a formula of its own (one of several paragraphs of a math block)
            rel = next((i for i, t in _top_level(line) if _RELATION.match(line, i) and i > 0), None)
            if rel is None or not line[:rel].strip():
                rows.append(Row(rhs=line.strip()))
            else:
                rows.append(Row(lhs=line[:rel].strip(), rhs=line[rel:].strip()))
        elif len(cells) == 2:
            rows.append(Row(lhs=cells[0].strip(), rhs=cells[1].strip()))
        elif len(cells) == 4 and not cells[2].strip():
            rows.append(Row(lhs=cells[0].strip(), rhs=cells[1].strip(), note=note_pieces(cells[3].strip())))
        else:
            return None
    return rows


def items(rows: list[Row]) -> list[tuple[str, bool]]:
    """The formulas to typeset for ``rows`` (all in-line, the sides in display style)."""
    out = []
    for r in rows:
        if r.lhs:
            out.append((lhs_tex(r.lhs), False))
        if r.rhs:
            out.append((rhs_tex(r.rhs), False))
        out += [(s, False) for kind, s in r.note if kind == "math"]
    return out


def lhs_tex(tex: str) -> str:
    return r"\displaystyle " + tex


def rhs_tex(tex: str) -> str:
    # "{}" first: a leading relation is spaced as in "aligned" (TeX's empty left operand); no
    # line may break before it (the first line would be empty)
    return r"\displaystyle {}\nobreak " + tex if _RELATION.match(tex) else r"\displaystyle " + tex


def html(rows: list[Row], drawn: dict[tuple[str, bool], str]) -> str:
    """The rows as HTML; ``drawn`` maps each of :func:`items` to its typeset HTML."""
    out = ['<div class="math-grid">']
    for r in rows:
        out.append('<div class="math-row">')
        if r.lhs:
            out.append(f'<span class="math-lhs">{drawn[(lhs_tex(r.lhs), False)]}</span>')
        rest = f'<span class="math-rhs">{drawn[(rhs_tex(r.rhs), False)]}</span>' if r.rhs else ""
        if r.note:
            note = "".join(escape(s) if kind == "text" else drawn[(s, False)] for kind, s in r.note)
            rest += f'<span class="math-note">{note}</span>'
        out.append(f'<span class="math-rest">{rest}</span></div>')
    out.append("</div>")
    return "".join(out)
