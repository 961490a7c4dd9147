"""Display math cut into rows (docs/_ext/math_layout.py): which blocks are laid out, and how."""

from __future__ import annotations

import pytest

import math_layout as ml  # docs/_ext is on the path (conftest)


def test_a_derivation_becomes_rows_with_notes():
    tex = "\\begin{aligned}\nJ &= a + b \\\\\n &= c && \\text{(}\\text{by }x^2\\text{)}\n\\end{aligned}"
    rows = ml.layout(tex)
    assert [(r.lhs, r.rhs) for r in rows] == [("J", "= a + b"), ("", "= c")]
    assert rows[1].note == [("text", "(by "), ("math", "x^2"), ("text", ")")]


@pytest.mark.parametrize("wrap", [
    "@",
    "\\displaystyle @",
    "\\begin{split}\\displaystyle @\\end{split}",            # glue:math of a Math object, as Sphinx composes it
    "\\begin{align}\\begin{aligned}@\\end{aligned}\\end{align}",
])
def test_wrappers_are_looked_through(wrap):
    inner = "\\begin{aligned}a &= b \\\\ &= c\\end{aligned}"
    rows = ml.layout(wrap.replace("@", inner))
    assert [(r.lhs, r.rhs) for r in rows] == [("a", "= b"), ("", "= c")]


def test_a_single_formula_is_cut_at_its_first_relation():
    (row,) = ml.layout(r"\frac{\partial J}{\partial x_{i}} = \sum_{k} w_{k} + \left(a = b\right)")
    assert row.lhs == r"\frac{\partial J}{\partial x_{i}}" and row.rhs.startswith("= \\sum")
    (row,) = ml.layout(r"x \le y")
    assert (row.lhs, row.rhs) == ("x", r"\le y")
    (row,) = ml.layout(r"a + b")
    assert (row.lhs, row.rhs) == ("", "a + b")
    (row,) = ml.layout(r"= a")  # nothing left of the relation: one piece
    assert (row.lhs, row.rhs) == ("", "= a")


def test_lines_without_alignment_points_are_formulas_of_their_own():
    rows = ml.layout(r"\begin{align}\begin{aligned}A = b, \qquad C = d\\E \le f\end{aligned}\end{align}")
    assert [(r.lhs, r.rhs) for r in rows] == [("A", r"= b, \qquad C = d"), ("E", r"\le f")]


def test_line_spacing_and_environments_inside_cells():
    tex = r"\begin{aligned}A &= \begin{cases} 1 & x \\ 0 & y\end{cases} \\[4pt] &= B\end{aligned}"
    rows = ml.layout(tex)
    assert len(rows) == 2 and rows[0].rhs.startswith(r"= \begin{cases}") and rows[1].rhs == "= B"


def test_blocks_it_does_not_understand_are_left_whole():
    assert ml.layout(r"\begin{aligned}a & b & c\end{aligned}") is None  # three columns
    assert ml.layout(r"\begin{aligned}a & b & c & d\end{aligned}") is None  # third column not empty
    assert ml.layout("") is None


def test_notes_with_escapes_and_spacing():
    assert ml.note_pieces(r"\text{a \{set\} of}\ x") == [("text", "a {set} of "), ("math", "x")]
    with pytest.raises(ValueError, match="unbalanced"):
        ml.note_pieces(r"\text{never closed")


def test_html_puts_each_piece_in_its_place():
    rows = ml.layout(r"\begin{aligned}J &= a && \text{(}\text{see }y\text{)} \\ &= b\end{aligned}")
    drawn = {item: f"<svg>{item[0]}</svg>" for item in ml.items(rows)}
    html = ml.html(rows, drawn)
    assert html.count('class="math-row"') == 2
    assert '<span class="math-lhs"><svg>\\displaystyle J</svg></span>' in html
    assert '<span class="math-rhs"><svg>\\displaystyle {}\\nobreak = a</svg></span>' in html
    assert '<span class="math-note">(see <svg>y</svg>)</span>' in html
    assert all(not display for _tex, display in drawn)  # every piece in-line: MathJax may break it


def test_note_text_is_escaped():
    rows = ml.layout(r"\begin{aligned}a &= b && \text{(<b>)}\end{aligned}")
    assert "&lt;b&gt;" in ml.html(rows, {item: "" for item in ml.items(rows)})
