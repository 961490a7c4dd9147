"""Helpers the pages use to show derivations: glue them as labelled math, show check tables.

A page never retypes a derived result: it calls :func:`glue_derivation` and places the glued
math with ``{glue:math}`` and a ``:label:``, so ``{eq}`` references work.
"""

from __future__ import annotations

from IPython.display import HTML, Math, display
from myst_nb import glue

from types import ModuleType

from .core import Derivation, latex, latex_names_of
from .oracles import CheckTable


def glue_derivation(d: Derivation) -> None:
    """Check ``d`` (raising if a step fails) and glue it under ``d.label`` for ``{glue:math}``."""
    glue(d.label, Math(d.latex()), display=False)


def glue_definitions(name: str, d: Derivation) -> None:
    """Glue the definitions a derivation uses (``δ := …``) under ``name``."""
    glue(name, Math(d.definitions_latex()), display=False)


def glue_expr(name: str, expr, *, names_of: ModuleType) -> None:
    """Glue one SymPy expression (an object the tests also check) as math, with the LaTeX names
    the module ``names_of`` (the page's topic) gave its symbols: two topics may name one SymPy
    symbol differently (``z2`` is :math:`z_{2}` in one and :math:`z^{(2)}` in another)."""
    with latex_names_of(names_of.__name__):
        glue(name, Math(latex(expr)), display=False)


def show_table(table: CheckTable) -> None:
    """Display a numeric check table; the cell fails (and so the build) if any row fails."""
    display(HTML(table._repr_html_()))
    table.assert_ok()
