"""The notation lists: every symbol a page's derivations show has a meaning in its topic's module,
and the check that enforces this (``show_notation`` fails the page's cell) catches a symbol without one."""

from __future__ import annotations

import re
import types
from pathlib import Path

import pytest
import sympy as sp
from sympy.core.function import UndefinedFunction

from derivations import pages, registry
from derivations.core import Derivation, latex
from derivations.render import LATEX_NAMES, MODULE_NAMES, latex_names_of, notation_of, used_symbols

ROOT = Path(__file__).resolve().parents[1]
TOPICS = registry.names()


def _module(name: str):
    return registry.load(name).module


def _derivative_variables(d: Derivation) -> set:
    """What a derivation differentiates by (``b`` in ∂a/∂b): shown, but not a free symbol when the
    differentiated expression does not hold it, so :func:`used_symbols` alone can miss it."""
    out = set()
    for e in pages._shown(d):
        for der in sp.sympify(e).atoms(sp.Derivative):
            for v in der.variables:
                if not isinstance(v, sp.Dummy):  # a bound variable (σ'(z) is Subs(dσ(ξ)/dξ, ξ, z))
                    out |= used_symbols(v) if isinstance(v, sp.Indexed) else {v}
    return out


@pytest.mark.parametrize("name", TOPICS)
def test_every_symbol_the_derivations_show_has_a_meaning(name):
    module = _module(name)
    assert pages.undefined_symbols(module, module.derivations()) == []


@pytest.mark.parametrize("name", TOPICS)
def test_what_a_derivation_differentiates_by_has_a_meaning(name):
    module = _module(name)
    known = set(notation_of(module.__name__))
    missing = {v for d in module.derivations() for v in _derivative_variables(d)} - known
    assert not missing, sorted(map(str, missing))


@pytest.mark.parametrize("name", TOPICS)
def test_every_entry_is_a_short_phrase_that_fits_a_table_row(name):
    module = _module(name)
    module.derivations()  # some symbols are made (and registered) when a derivation is built
    entries = notation_of(module.__name__)
    assert entries, f"{name} has no notation list"
    with latex_names_of(module.__name__):
        for obj, (meaning, shape) in entries.items():
            assert isinstance(meaning, str) and meaning.strip(), (name, obj)
            assert shape is None or (isinstance(shape, str) and shape.strip()), (name, obj, shape)
            tex = latex(sp.Symbol(obj.__name__)) if isinstance(obj, UndefinedFunction) else latex(obj)
            for cell in (meaning, shape or "", tex):
                # the list is shown as a Markdown table: a bar would split the row, an odd number
                # of dollar signs would leave the rest of the row in math mode
                assert "|" not in cell, (name, obj, cell)
                assert cell.count("$") % 2 == 0, (name, obj, cell)
            assert len(meaning) <= 120, (name, obj, meaning)


@pytest.mark.parametrize("name", TOPICS)
def test_each_page_shows_its_notation_before_its_first_derivation(name):
    text = (ROOT / "docs" / f"{name}.md").read_text()
    imported = re.search(rf"from derivations import {name} as (\w+)", text)
    alias = imported.group(1) if imported else name
    call = text.find(f"show_notation({alias}, {alias}.derivations())")
    assert call >= 0, f"docs/{name}.md does not show its notation list"
    first_math = text.find("{glue:math}")
    assert first_math < 0 or call < first_math, f"docs/{name}.md shows a derivation before its notation"


def test_no_listed_symbol_borrows_the_name_another_topic_gave_it():
    """A symbol a topic does not name prints, inside the topic's scope, with the name another topic
    gave an equal symbol (indrnn's ``T`` would print as rnn_bptt's τ): name it, or keep the default."""
    modules = [_module(name) for name in TOPICS]
    for module in modules:
        module.derivations()
    for module in modules:
        own = MODULE_NAMES.get(module.__name__, {})
        for obj in notation_of(module.__name__):
            if isinstance(obj, sp.Symbol) and obj not in own and obj in LATEX_NAMES:
                assert LATEX_NAMES[obj] == sp.latex(obj), (module.__name__, obj, LATEX_NAMES[obj])


def test_formulas_the_recurrent_pages_glue_besides_derivations_are_explained():
    """rnn_bptt and indrnn glue expressions that are not derivations; their symbols are listed too."""
    rnn, ind = _module("rnn_bptt"), _module("indrnn")
    rnn_exprs = [sp.Derivative(rnn.L, rnn.W[rnn.i, rnn.j]), *rnn.PARAMETER_GRADIENTS.values(),
                 rnn.NORM_BOUND, rnn.slope_identity("tanh"), rnn.slope_identity("sigmoid")]
    ind_exprs = [sp.Eq(sp.Derivative(ind.J, ind.hI[ind.nI, ind.t_sym]), ind.GENERAL), *ind.range_bounds()]
    for module, exprs in ((rnn, rnn_exprs), (ind, ind_exprs)):
        known = set(notation_of(module.__name__))
        missing = set().union(*(used_symbols(sp.sympify(e)) for e in exprs)) - known
        assert not missing, (module.__name__, sorted(map(str, missing)))


# ---- the check itself -------------------------------------------------------------------------

_PLANTED = '''
import sympy as sp
from derivations.core import Derivation, indexed, notation, sym

x = sym("notation_x", "x", meaning="a defined input", real=True)
fresh = sym("notation_fresh", r"\\xi", real=True)          # made without a meaning
w = indexed("notation_w", "w", real=True)                 # an indexed base without one
g = sp.Function("notation_g")                             # a generic function without one
h = sp.Function("notation_h")
notation(h, "a defined function")

D = Derivation("planted", "a derivation with undefined symbols", sp.Derivative(fresh * x**2, x))
D.step(2 * fresh * x, "power rule")
E = Derivation("planted_more", "more of them", g(w[1]) + h(x))
E.step(h(x) + g(w[1]), "reorder")
'''


@pytest.fixture
def planted():
    module = types.ModuleType("notation_test_planted")
    exec(_PLANTED, module.__dict__)
    return module


def test_a_symbol_made_without_a_meaning_is_reported(planted):
    assert pages.undefined_symbols(planted, [planted.D]) == [planted.fresh]


def test_an_indexed_base_and_a_generic_function_without_a_meaning_are_reported(planted):
    missing = pages.undefined_symbols(planted, [planted.E])
    assert set(missing) == {planted.g, planted.w.label}


def test_show_notation_fails_the_cell_naming_the_missing_symbol(planted, monkeypatch):
    shown = []
    monkeypatch.setattr(pages, "display", shown.append)
    with pytest.raises(AssertionError, match="notation_fresh"):
        pages.show_notation(planted, [planted.D])
    assert shown == []  # nothing is displayed for an incomplete list


def test_show_notation_lists_every_entry_in_the_order_made(planted, monkeypatch):
    shown = []
    monkeypatch.setattr(pages, "display", shown.append)
    d = Derivation("planted_ok", "only defined symbols", sp.Derivative(planted.x**3, planted.x))
    d.step(3 * planted.x**2, "power rule")
    pages.show_notation(planted, [d])
    (table,) = shown
    rows = table.data.splitlines()
    assert rows[0] == "| Symbol | Meaning | Shape |"
    assert [r.split("|")[2].strip() for r in rows[2:]] == ["a defined input", "a defined function"]
    assert rows[2].startswith("| $x$ |")
