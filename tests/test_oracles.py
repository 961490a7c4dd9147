"""The numeric oracles: a right gradient passes every oracle, a wrong one fails every oracle."""

from __future__ import annotations

import mpmath
import numpy as np
import pytest
import sympy as sp

from derivations.core import DerivationError, Result, sym
from derivations.oracles import crosscheck, whole_gradient_table

x = sym("x_or", "x", real=True)
w = sym("w_or", "w", real=True)


def test_crosscheck_catches_wrong_gradient():
    good = Result(sp.log(1 + sp.exp(x * w)), x, w * sp.exp(x * w) / (1 + sp.exp(x * w)))
    table = crosscheck([good], points=4, seed=1)
    assert table.passed and len(table.rows) == 3
    wrong = Result(good.of, x, sp.exp(x * w) / (1 + sp.exp(x * w)))  # forgot the inner factor w
    bad = crosscheck([wrong], points=4, seed=1)
    assert not bad.passed and all(not r["passed"] for r in bad.rows)
    with pytest.raises(DerivationError, match="failed"):
        bad.assert_ok()


def test_crosscheck_skips_complex_step_where_not_analytic():
    hinge = Result(sp.Max(0, 1 - x * w), x, -w * sp.Heaviside(1 - x * w))
    table = crosscheck([hinge], points=4, seed=3)
    oracles = [r["oracle"] for r in table.rows]
    assert not any("complex" in o for o in oracles) and len(oracles) == 2
    assert table.passed


@pytest.mark.parametrize("err_ag, err_fd, passed", [
    (1e-12, 1e-9, [True, True]), (1e-5, 1e-9, [False, True]), (1e-12, 1e-3, [True, False]),
])
def test_whole_gradient_table_gates_each_oracle_on_its_tolerance(err_ag, err_fd, passed):
    table = whole_gradient_table("t", "n", entries=10, err_autograd=err_ag, err_directional=err_fd,
                                 directions=3, rtol=1e-7, dtol=1e-6)
    assert [r["passed"] for r in table.rows] == passed
    assert table.passed == all(passed)


def test_a_tables_numbers_are_marked_so_a_phone_does_not_break_them():
    from derivations.oracles import CheckTable

    table = CheckTable("t", ["name", "value", "count", "ok"],
                       rows=[{"name": "x", "value": 8.1e-3, "count": 3, "ok": True, "passed": True}])
    html = table._repr_html_()
    assert "<td class='num'>8.1e-03</td>" in html and "<td class='num'>3</td>" in html
    assert "<td>x</td>" in html and "<td>True</td>" in html  # words and flags stay plain


def test_crosscheck_names_each_oracle_as_the_pages_describe_it():
    from derivations import oracles

    table = crosscheck([Result(sp.sin(x) * w, x, sp.cos(x) * w)], points=2, seed=0)
    assert [r["oracle"] for r in table.rows] == [f"central differences (mpmath, {oracles.MP_DIGITS} digits)",
                                                 "complex step (h = 1e-20)", "reverse-mode autodiff (autograd)"]
    assert oracles.CS_STEP == 1e-20 and oracles.MP_STEP == mpmath.mpf("1e-20")
    assert all(r["evaluations"] == 2 and r["passed"] for r in table.rows)


def test_crosscheck_points_are_seeded():
    """The same seed gives the same points (the pages' numbers are reproducible), another seed
    other points."""
    res = [Result(sp.exp(x * w), x, w * sp.exp(x * w))]
    err = lambda seed: [r["max |derived − oracle|"] for r in crosscheck(res, points=3, seed=seed).rows]
    assert err(4) == err(4)
    assert err(4) != err(5)
    from derivations.oracles import _points

    assert _points(res[0], [x, w], np.random.default_rng(1), 3) == _points(res[0], [x, w], np.random.default_rng(1), 3)


def test_whole_gradient_table_says_what_it_compared_and_passes_at_its_tolerance():
    """What the pages show of a whole-model check, cell by cell, with the defaults' tolerances; an
    error equal to its tolerance passes (the tolerance is the largest error allowed)."""
    table = whole_gradient_table("A model", "a note", entries=12, err_autograd=1e-7, err_directional=1e-6,
                                 directions=5)
    assert (table.title, table.note) == ("A model", "a note")
    assert table.columns == ["oracle", "compared", "max relative error", "tolerance"]
    assert table.rows == [
        {"oracle": "reverse-mode autodiff (autograd)", "compared": "all 12 entries", "max relative error": 1e-7,
         "tolerance": "1e-07 (relative, per entry)", "passed": True},
        {"oracle": "central differences (float64)", "compared": "5 random directions", "max relative error": 1e-6,
         "tolerance": "1e-06 (relative)", "passed": True}]
    assert "all 12 entries" in table.text() and "1e-07 (relative, per entry)" in table._repr_html_()


def test_a_table_prints_as_aligned_columns_and_as_html_with_its_status():
    from derivations.oracles import CheckTable

    table = CheckTable("Title", ["name", "err"], note="the note",
                       rows=[{"name": "first", "err": 0.00123, "passed": True},
                             {"name": "b", "err": 2.0, "passed": False}])
    assert table.text().split("\n") == ["Title",
                                        "name   err      status",
                                        "first  1.2e-03  pass  ",
                                        "b      2.0e+00  FAIL  ",
                                        "the note"]
    html = table._repr_html_()
    assert html.startswith("<table class='check-table'><caption>Title</caption><thead><tr><th>name</th>"
                           "<th>err</th><th>status</th></tr></thead><tbody>")
    assert ("<tr><td>first</td><td class='num'>1.2e-03</td><td>✔ pass</td></tr>"
            "<tr><td>b</td><td class='num'>2.0e+00</td><td>✘ FAIL</td></tr></tbody></table>") in html
    assert html.endswith("<p class='check-note'>the note</p>")
    assert CheckTable("<&>", ["x"], rows=[{"x": "<b>", "passed": True}])._repr_html_().count("&lt;") == 2
    with pytest.raises(DerivationError, match="Title: failed: name=b, err=2.0"):
        table.assert_ok()


def test_a_generic_function_is_realized_before_the_oracles_run():
    """``realize`` swaps a function the oracles cannot differentiate for one they can, in both the
    claim and ``of``: right with it, and a wrong claim still refused."""
    g = sp.Function("g_or")
    u = sp.Symbol("u_or")
    realize = {g: sp.Lambda(u, sp.tanh(u))}
    right = Result(g(x) * w, x, (1 - sp.tanh(x) ** 2) * w, realize=realize)
    assert crosscheck([right], points=3, seed=0).passed
    wrong = Result(g(x) * w, x, (1 - sp.tanh(x)) * w, realize=realize)
    assert not crosscheck([wrong], points=3, seed=0).passed


def test_points_cover_each_symbols_domain():
    """Real symbols get both signs; positive and nonnegative ones (and indexed elements of a
    positive base) values in [0.1, 1)."""
    from derivations.oracles import _points

    p, q = sym("p_or", positive=True), sym("q_or", nonnegative=True)
    v = sp.IndexedBase(sym("v_or", positive=True))
    leaves = [x, p, q, v[1]]
    pts = _points(Result(x * p * q * v[1], x, p * q * v[1]), leaves, np.random.default_rng(0), 200)
    xs = [pt[x] for pt in pts]
    assert min(xs) < -1 and max(xs) > 1
    for leaf in (p, q, v[1]):
        vals = [pt[leaf] for pt in pts]
        assert 0.1 <= min(vals) < 0.15 and 0.95 < max(vals) < 1.0, leaf


def test_assert_ok_names_every_failing_row():
    from derivations.oracles import CheckTable

    table = CheckTable("T", ["a", "b"], rows=[{"a": 1, "b": "x", "passed": False}, {"a": 2, "b": "y", "passed": True},
                                             {"a": 3, "b": "z", "passed": False}])
    with pytest.raises(DerivationError) as err:
        table.assert_ok()
    assert str(err.value) == "T: failed: a=1, b=x; a=3, b=z"


@pytest.mark.filterwarnings("ignore:Output seems independent of input:UserWarning")  # (autograd, rightly)
def test_a_derivative_that_is_zero_because_of_is_constant_in_wrt_is_checked():
    """∂w/∂x = 0: neither side holds x, which is still the variable the oracles step along."""
    table = crosscheck([Result(w * w, x, sp.Integer(0))], points=2, seed=0)
    assert table.passed and all(r["evaluations"] == 2 for r in table.rows)
    assert not crosscheck([Result(w * w, x, w)], points=2, seed=0).passed


def test_crosscheck_defaults_are_the_ones_the_pages_state():
    """Five points from seed 0 under the title "Numeric cross-check", and the note says so."""
    res = [Result(sp.exp(x * w), x, w * sp.exp(x * w))]
    table = crosscheck(res)
    assert table.title == "Numeric cross-check"
    assert all(r["evaluations"] == 5 for r in table.rows)
    assert table.rows == crosscheck(res, points=5, seed=0).rows
    assert table.note == ("1 results × 5 seeded points (seed 0); "
                          "pass when |derived − oracle| ≤ 1e-11 + 1e-09·|oracle|.")
    assert crosscheck(res, points=2, seed=3, rtol=1e-6, atol=0.5).note == (
        "1 results × 2 seeded points (seed 3); pass when |derived − oracle| ≤ 0.5 + 1e-06·|oracle|.")


def test_crosscheck_table_has_one_row_per_oracle_with_its_columns():
    table = crosscheck([Result(sp.sin(x) * w, x, sp.cos(x) * w)], points=2, seed=0)
    columns = ["oracle", "evaluations", "max |derived − oracle|", "max relative error", "tolerance"]
    assert table.columns == columns
    for row in table.rows:
        assert set(row) == set(columns) | {"passed"}
        assert row["tolerance"] == "1e-11 + 1e-09·|oracle|"


def test_crosscheck_errors_are_measured_against_each_oracle():
    """A claim off by a factor of two: every oracle's absolute error is |w|/100 at the points the
    seed draws, and the relative error is 1 (the true derivative, w/100, is below 1 in size, where
    a relative error divided by max(|oracle|, 1) would be wrong)."""
    from derivations.core import _leaves
    from derivations.oracles import _points

    wrong = Result(x * w / 100, x, w / 50)
    table = crosscheck([wrong], points=3, seed=7)
    leaves = _leaves(wrong.of + wrong.expr)  # the order crosscheck draws the points in
    ws = [pt[w] for pt in _points(wrong, leaves, np.random.default_rng(7), 3)]
    assert max(abs(v) for v in ws) < 100
    for row in table.rows:
        assert row["max |derived − oracle|"] == pytest.approx(max(abs(v) for v in ws) / 100, rel=1e-9)
        assert row["max relative error"] == pytest.approx(1.0, rel=1e-9)
        assert not row["passed"]


def test_crosscheck_lists_each_failing_evaluation_and_none_when_all_pass():
    assert crosscheck([Result(x * w, x, w)], points=3, seed=0).failures == []
    bad = crosscheck([Result(x * w, x, 2 * w)], points=3, seed=0)
    assert len(bad.failures) == 3 * 3  # three points, three oracles (x w is analytic)
    assert all(f.startswith("d/dx_or: derived ") for f in bad.failures)
    assert sum(" vs central differences (mpmath, 50 digits) " in f for f in bad.failures) == 3
    assert sum(" vs complex step (h = 1e-20) " in f for f in bad.failures) == 3
    assert sum(" vs reverse-mode autodiff (autograd) " in f for f in bad.failures) == 3


def test_an_error_equal_to_the_tolerance_passes():
    """The tolerance is the largest error allowed: a claim every oracle reproduces exactly passes
    with no tolerance at all (x·w is linear in x: each oracle gives w to the last bit)."""
    table = crosscheck([Result(x * w, x, w)], points=3, seed=0, rtol=0.0, atol=0.0)
    assert all(r["max |derived − oracle|"] == 0.0 for r in table.rows)
    assert table.passed


def test_a_derivative_equal_to_its_function_is_checked():
    """d/dx (w eˣ) = w eˣ: both sides the same expression, and w is still one of its variables."""
    assert crosscheck([Result(w * sp.exp(x), x, w * sp.exp(x))], points=3, seed=0).passed
    assert not crosscheck([Result(w * sp.exp(x), x, sp.exp(x))], points=3, seed=0).passed


def test_the_autodiff_oracle_differentiates_max_min_and_piecewise_definitions():
    """Each printed as NumPy code the autodiff oracle runs (``reduce(maximum, …)``, ``select``)."""
    for right, wrong in [
        (Result(sp.Max(0, 1 - x * w), x, -w * sp.Heaviside(1 - x * w)),
         Result(sp.Max(0, 1 - x * w), x, w * sp.Heaviside(1 - x * w))),
        (Result(sp.Min(x * w, 3), x, w * sp.Heaviside(3 - x * w)),
         Result(sp.Min(x * w, 3), x, sp.Heaviside(3 - x * w))),
        (Result(sp.Piecewise((x ** 2 * w, x > 0), (x * w, True)), x, sp.Piecewise((2 * x * w, x > 0), (w, True))),
         Result(sp.Piecewise((x ** 2 * w, x > 0), (x * w, True)), x, sp.Piecewise((x * w, x > 0), (w, True)))),
    ]:
        table = crosscheck([right], points=6, seed=2)
        assert [r["oracle"] for r in table.rows][-1] == "reverse-mode autodiff (autograd)" and table.passed
        assert not crosscheck([wrong], points=6, seed=2).rows[-1]["passed"]


def test_crosscheck_of_nothing_is_refused():
    with pytest.raises(DerivationError, match="^Checks: fewer than two independent oracles applied$"):
        crosscheck([], title="Checks")


def test_a_missing_cell_is_empty_and_no_note_adds_nothing():
    from derivations.oracles import CheckTable

    table = CheckTable("T", ["a", "b"], rows=[{"a": 1.5, "passed": True}])
    assert table._repr_html_() == ("<table class='check-table'><caption>T</caption><thead><tr><th>a</th><th>b</th>"
                                   "<th>status</th></tr></thead><tbody><tr><td class='num'>1.5e+00</td><td></td>"
                                   "<td>✔ pass</td></tr></tbody></table>")
    assert table.text().split("\n") == ["T", "a        b  status", "1.5e+00     pass  "]
    assert CheckTable("Empty", ["name", "x"]).text().split("\n") == ["Empty", "name  x  status"]
