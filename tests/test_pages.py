"""The page helpers: what they glue is the checked object, rendered with the page topic's names."""

from __future__ import annotations

import types

import pytest
import sympy as sp

from derivations import pages
from derivations.core import Derivation, DerivationError, StepError, sym
from derivations.oracles import CheckTable


@pytest.fixture
def glued(monkeypatch):
    out = {}
    monkeypatch.setattr(pages, "glue", lambda name, obj, display: out.__setitem__(name, obj.data))
    return out


def _module_with_name(modname: str, latex_name: str) -> types.ModuleType:
    """A module that names the SymPy symbol ``zz2`` its own way (as two topics may)."""
    mod = types.ModuleType(modname)
    exec(f"from derivations.core import sym\nZ = sym('zz2', {latex_name!r}, real=True)", mod.__dict__)
    return mod


def test_glue_expr_uses_the_names_of_the_given_topic(glued):
    a = _module_with_name("pages_test_a", r"z_{2}")
    b = _module_with_name("pages_test_b", r"z^{(2)}")  # imported last: the global name
    assert a.Z == b.Z
    pages.glue_expr("x", a.Z + 1, names_of=a)
    pages.glue_expr("y", a.Z + 1, names_of=b)
    assert "z_{2}" in glued["x"] and "z^{(2)}" not in glued["x"]
    assert "z^{(2)}" in glued["y"]


def test_glue_expr_needs_the_topic():
    with pytest.raises(TypeError):
        pages.glue_expr("x", sp.Symbol("q"))


def test_glue_derivation_checks_first(glued):
    x = sym("pages_x", "x", real=True)
    d = Derivation("pages_wrong", "a wrong step", sp.Derivative(x**2, x), label="pages-wrong")
    d.step(3 * x, "power rule, mistyped")
    with pytest.raises(StepError, match="pages_wrong, step 1"):
        pages.glue_derivation(d)
    assert "pages-wrong" not in glued
    good = Derivation("pages_right", "the power rule", sp.Derivative(x**2, x), label="pages-right")
    good.step(2 * x, "power rule")
    pages.glue_derivation(good)
    assert "2 x" in glued["pages-right"]


def test_show_table_fails_the_cell_when_a_row_fails(monkeypatch):
    monkeypatch.setattr(pages, "display", lambda *a, **k: None)
    table = CheckTable("t", ["oracle"], note="")
    table.rows.append({"oracle": "one", "passed": True})
    pages.show_table(table)
    table.rows.append({"oracle": "two", "passed": False})
    with pytest.raises(DerivationError, match="oracle=two"):
        pages.show_table(table)
