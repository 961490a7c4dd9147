"""Helpers the pages use to show derivations: glue them as labelled math, show check tables.

A page never retypes a derived result: it calls :func:`glue_derivation` and places the glued
math with ``{glue:math}`` and a ``:label:``, so ``{eq}`` references work.
"""

from __future__ import annotations

from IPython.display import HTML, Markdown, Math, display
from myst_nb import glue

from types import ModuleType

import sympy as sp
from sympy.core.function import UndefinedFunction

from .core import Derivation, Induction, latex, latex_names_of
from .render import equations, notation_of, used_symbols
from .oracles import CheckTable


def glue_derivation(d: Derivation | Induction) -> None:
    """Check ``d`` (raising if a step fails) and glue it under ``d.label`` for ``{glue:math}``.

    An :class:`~derivations.core.Induction` is glued in three pieces, which the page places with
    its own words between them: the claim for every index, ``lhs = rhs (proved for all n ≥ n₀ by
    induction)``, under ``d.label``; the base case under ``d.label + "-base"``; the inductive step
    under ``d.label + "-step"``.
    """
    if isinstance(d, Induction):
        glue(d.label, Math(d.claim_latex()), display=False)
        glue(d.base.label, Math(d.base.latex()), display=False)
        glue(d.step.label, Math(d.step.latex()), display=False)
        return
    glue(d.label, Math(d.latex()), display=False)


def glue_definitions(name: str, d: Derivation) -> None:
    """Glue the definitions a derivation uses (``δ := …``) under ``name``."""
    glue(name, Math(d.definitions_latex()), display=False)


def glue_expr(name: str, expr, *, names_of: ModuleType) -> None:
    """Glue one SymPy expression (an object the tests also check) as math, with the LaTeX names
    the module ``names_of`` (the page's topic) gave its symbols: two topics may name one SymPy
    symbol differently (``z2`` is :math:`z_{2}` in one and :math:`z^{(2)}` in another)."""
    with latex_names_of(names_of.__name__):
        several = isinstance(expr, (sp.Tuple, list, tuple))
        glue(name, Math(equations(expr) if several else latex(expr)), display=False)


def show_table(table: CheckTable) -> None:
    """Display a numeric check table; the cell fails (and so the build) if any row fails."""
    display(HTML(table._repr_html_()))
    table.assert_ok()


def _shown(d: Derivation | Induction) -> list:
    # a condition's shown form is a caption (``W_ci = W_cf = 0`` as one symbol): its symbols are
    # those of its substitutions, which the steps show anyway
    if isinstance(d, Induction):
        return [*d.sides(d.index), *_shown(d.base), *_shown(d.step)]
    return [st.expr for st in d.steps] + ([d.lhs] if d.lhs is not None else [])


def undefined_symbols(module: ModuleType, derivations) -> list:
    """What the page's derivations show but the module's notation list does not explain."""
    known = set(notation_of(module.__name__))
    used = set()
    for d in derivations:
        for e in _shown(d):
            used |= used_symbols(sp.sympify(e))
    return sorted(used - known, key=str)


def show_notation(module: ModuleType, derivations) -> None:
    """Show the topic's notation list (symbol, meaning, shape), made from the module's own
    symbols, so it cannot drift from the code; the cell fails (and so the build) if a derivation
    shows a symbol the list does not explain."""
    missing = undefined_symbols(module, derivations)
    if missing:
        raise AssertionError(f"{module.__name__}: the derivations show symbols with no meaning in the "
                             f"notation list (give sym()/indexed() a meaning=): {', '.join(map(str, missing))}")
    rows = ["| Symbol | Meaning | Shape |", "|:--|:--|:--|"]
    with latex_names_of(module.__name__):
        for obj, (meaning, shape) in notation_of(module.__name__).items():
            tex = latex(sp.Symbol(obj.__name__)) if isinstance(obj, UndefinedFunction) else latex(obj)
            rows.append(f"| ${tex}$ | {meaning} | {shape or ''} |")
    display(Markdown("\n".join(rows)))
