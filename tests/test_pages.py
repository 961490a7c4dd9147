"""The page helpers: what they glue is the checked object, rendered with the page topic's names."""

from __future__ import annotations

import types

import pytest
import sympy as sp

from derivations import pages
from derivations.core import Derivation, DerivationError, StepError, sym
from derivations.oracles import CheckTable


@pytest.fixture
def glue_calls(monkeypatch):
    """Every glue call: name → (the glued object, its display flag)."""
    calls = {}

    def fake(name, obj, display):
        calls[name] = (obj, display)
    monkeypatch.setattr(pages, "glue", fake)
    return calls


def _module_with_name(modname: str, latex_name: str, symbol: str = "zz2", meaning: str | None = None) -> types.ModuleType:
    """A module that names the SymPy symbol ``symbol`` its own way (as two topics may), and
    explains it when given a ``meaning``."""
    mod = types.ModuleType(modname)
    exec(f"from derivations.core import sym\nZ = sym({symbol!r}, {latex_name!r}, real=True, meaning={meaning!r})",
         mod.__dict__)
    return mod


def test_glue_expr_uses_the_names_of_the_given_topic(glue_calls):
    a = _module_with_name("pages_test_a", r"z_{2}")
    b = _module_with_name("pages_test_b", r"z^{(2)}")  # imported last: the global name
    assert a.Z == b.Z
    pages.glue_expr("x", a.Z + 1, names_of=a)
    pages.glue_expr("y", a.Z + 1, names_of=b)
    assert "z_{2}" in glue_calls["x"][0].data and "z^{(2)}" not in glue_calls["x"][0].data
    assert "z^{(2)}" in glue_calls["y"][0].data


def test_glue_expr_needs_the_topic():
    with pytest.raises(TypeError):
        pages.glue_expr("x", sp.Symbol("q"))


def test_glue_derivation_checks_first(glue_calls):
    x = sym("pages_x", "x", real=True)
    d = Derivation("pages_wrong", "a wrong step", sp.Derivative(x**2, x), label="pages-wrong")
    d.step(3 * x, "power rule, mistyped")
    with pytest.raises(StepError, match="pages_wrong, step 1"):
        pages.glue_derivation(d)
    assert "pages-wrong" not in glue_calls
    good = Derivation("pages_right", "the power rule", sp.Derivative(x**2, x), label="pages-right")
    good.step(2 * x, "power rule")
    pages.glue_derivation(good)
    assert "2 x" in glue_calls["pages-right"][0].data


def test_show_table_fails_the_cell_when_a_row_fails(monkeypatch):
    monkeypatch.setattr(pages, "display", lambda *a, **k: None)
    table = CheckTable("t", ["oracle"], note="")
    table.rows.append({"oracle": "one", "passed": True})
    pages.show_table(table)
    table.rows.append({"oracle": "two", "passed": False})
    with pytest.raises(DerivationError, match="oracle=two"):
        pages.show_table(table)


def test_an_induction_is_glued_in_three_pieces_as_math_not_shown_in_place(glue_calls):
    """The claim under the induction's label, the base case and the inductive step under theirs,
    each as math for {glue:math} (display=False: the page places it)."""
    from IPython.display import Math

    from derivations import indrnn
    from derivations.core import Induction

    ind = next(d for d in indrnn.derivations() if isinstance(d, Induction))
    pages.glue_derivation(ind)
    assert set(glue_calls) == {ind.label, ind.base.label, ind.step.label}
    assert len({ind.label, ind.base.label, ind.step.label}) == 3
    want = {ind.label: ind.claim_latex(), ind.base.label: ind.base.latex(), ind.step.label: ind.step.latex()}
    for name, (obj, shown) in glue_calls.items():
        assert isinstance(obj, Math) and obj.data == want[name] and shown is False


def test_a_derivation_is_glued_as_math_for_the_page_to_place(glue_calls):
    x = sym("pages_g", "g", real=True)
    d = Derivation("pages_glued", "the power rule", sp.Derivative(x**3, x), label="pages-glued").step(3 * x**2, "power rule")
    pages.glue_derivation(d)
    obj, shown = glue_calls["pages-glued"]
    assert obj.data == d.latex() and shown is False


def test_glue_expr_puts_several_results_one_per_line(glue_calls):
    from derivations.render import equations

    x = sym("pages_e", "e", real=True)
    mod = types.ModuleType("pages_test_e")
    pages.glue_expr("one", x + 1, names_of=mod)
    pages.glue_expr("several", [sp.Eq(x, 1), x + 2], names_of=mod)
    pages.glue_expr("tuple", (sp.Eq(x, 1), x + 2), names_of=mod)
    assert glue_calls["one"][0].data == pages.latex(x + 1)
    assert glue_calls["several"][0].data == equations([sp.Eq(x, 1), x + 2]) == glue_calls["tuple"][0].data
    assert "\\\\" in glue_calls["several"][0].data or "&" in glue_calls["several"][0].data   # rows, not a tuple
    assert all(shown is False for _, shown in glue_calls.values())


def test_the_notation_list_is_a_table_of_symbol_meaning_and_shape(monkeypatch):
    """A Markdown table: header, alignment row, then one row per symbol of the module in its
    order, the shape column empty where a symbol has none."""
    from derivations import sigmoid_neuron
    from derivations.render import notation_of

    shown = []
    monkeypatch.setattr(pages, "display", lambda obj: shown.append(obj.data))
    pages.show_notation(sigmoid_neuron, sigmoid_neuron.derivations())
    lines = shown[0].split("\n")
    entries = notation_of(sigmoid_neuron.__name__)
    assert lines[:2] == ["| Symbol | Meaning | Shape |", "|:--|:--|:--|"]
    assert len(lines) == 2 + len(entries)
    for line, (meaning, shape) in zip(lines[2:], entries.values()):
        assert line.startswith("| $") and line.endswith(f" | {meaning} | {shape or ''} |")
    assert any(shape is None for _, shape in entries.values()) and any(shape for _, shape in entries.values())


def test_a_symbol_shown_only_on_the_left_side_needs_a_meaning_too():
    x = sym("pages_l", "l", real=True, meaning="a variable")
    J = sym("pages_J", "J", real=True)                      # no meaning: not in the notation list
    mod = types.ModuleType(__name__)
    d = Derivation("pages_lhs", "with a left side", sp.Derivative(x**2, x), lhs=sp.Derivative(J, x)).step(2 * x, "power rule")
    assert J in pages.undefined_symbols(mod, [d])
    assert x not in pages.undefined_symbols(mod, [d])


def test_the_notation_list_uses_the_topics_own_names(monkeypatch):
    """Two topics name one SymPy symbol differently: each list shows its own name; a generic
    function (σ of gumbel_max) shows as its letter."""
    from derivations import gumbel_max

    a = _module_with_name("pages_test_na", r"z_{3}", "zz3", "a test symbol")
    _module_with_name("pages_test_nb", r"z^{(3)}", "zz3", "a test symbol")   # made last: the global name
    shown = []
    monkeypatch.setattr(pages, "display", lambda obj: shown.append(obj.data))
    pages.show_notation(a, [])
    assert shown[-1].split("\n")[2] == "| $z_{3}$ | a test symbol |  |"
    pages.show_notation(gumbel_max, gumbel_max.derivations())
    assert any(line.startswith(r"| $\sigma$ | ") for line in shown[-1].split("\n"))


def test_every_unexplained_symbol_is_named_in_the_error():
    u, v = sym("pages_u", "u", real=True), sym("pages_v", "v", real=True)    # no meanings
    w = sym("pages_w", "w", real=True, meaning="a variable")
    mod = types.ModuleType(__name__)
    # u only in the first line of one derivation, v in another: both shown, both must be explained
    d1 = Derivation("pages_u", "u in the first line", sp.Derivative(w**2 + u, w)).step(2 * w, "power rule")
    d2 = Derivation("pages_v", "v throughout", sp.Derivative(v * w, w)).step(v, "a constant factor")
    assert set(pages.undefined_symbols(mod, [d1, d2])) == {u, v}
    with pytest.raises(AssertionError, match="pages_u, pages_v"):
        pages.show_notation(mod, [d1, d2])


def test_show_table_displays_the_tables_html(monkeypatch):
    shown = []
    monkeypatch.setattr(pages, "display", lambda obj: shown.append(obj))
    table = CheckTable("t", ["oracle"], note="")
    table.rows.append({"oracle": "one", "passed": True})
    pages.show_table(table)
    assert len(shown) == 1 and shown[0].data == table._repr_html_()


def test_definitions_are_glued_as_math(glue_calls):
    x = sym("pages_d", "d", real=True)
    delta = sym("pages_delta", r"\delta", real=True)
    d = Derivation("pages_defs", "with a definition", sp.Derivative(delta, x), definitions={delta: x**2})
    pages.glue_definitions("pages-defs", d)
    obj, shown = glue_calls["pages-defs"]
    assert obj.data == d.definitions_latex() and "\\delta" in obj.data and shown is False
