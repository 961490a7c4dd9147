"""The engine: a wrong step and a wrong gradient are caught; right ones pass; rendering is honest."""

from __future__ import annotations

import pytest
import sympy as sp

from derivations.core import (Condition, Derivation, DerivationError, Result, StepError, evaluate,
                              latex, shown_product, sym, text)

x = sym("x_core", "x", real=True)
w = sym("w_core", "w", real=True)
z = sym("z_core", "z", real=True)
a = sym("a_core", "a", real=True)
f = sp.Function("f")


def test_correct_chain_is_symbolic():
    d = Derivation("ok", "ok", sp.Derivative(sp.sin(x) ** 2, x))
    d.step(2 * sp.sin(x) * sp.cos(x), "chain rule").step(sp.sin(2 * x), "double angle")
    assert [c.method for c in d.check()] == ["symbolic", "symbolic"]


def test_wrong_step_names_step_and_both_sides():
    d = Derivation("chain", "a chain", sp.Derivative(sp.sin(x) ** 2, x))
    d.step(2 * sp.sin(x) * sp.cos(x), "chain rule").step(sp.cos(2 * x), "a slip")
    with pytest.raises(StepError) as err:
        d.check()
    msg = str(err.value)
    assert "chain, step 2 ('a slip')" in msg
    assert "2*sin(x_core)*cos(x_core)" in msg and "cos(2*x_core)" in msg
    assert err.value.index == 2


def test_wrong_step_never_renders():
    d = Derivation("bad", "bad", sp.Derivative(x**3, x)).step(3 * x, "wrong power rule")
    with pytest.raises(StepError):
        d.latex()
    with pytest.raises(StepError):
        d.text()


def test_definitions_make_delta_provable():
    # s = w2 f(z), z = w1 x: ∂s/∂w1 = w2 f'(z) x = δ x with δ := w2 f'(z)
    w1, w2, s, delta = (sym(n + "_def", real=True) for n in ("w1", "w2", "s", "delta"))
    defs = {s: w2 * f(z), z: w1 * x, delta: w2 * sp.Derivative(f(z), z)}
    d = Derivation("delta", "delta rule", sp.Derivative(s, w1), definitions=defs)
    d.step(w2 * sp.Derivative(f(z), z) * sp.Derivative(z, w1), "chain rule through z")
    d.step(w2 * sp.Derivative(f(z), z) * x, "z is linear in w1")
    d.step(delta * x, "definition of δ")
    assert all(c.method == "symbolic" for c in d.check())
    # …and the same chain with a wrong factor fails at the step that introduces it
    bad = Derivation("delta_bad", "delta rule", sp.Derivative(s, w1), definitions=defs)
    bad.step(w2 * sp.Derivative(f(z), z) * w1, "z is linear in w1 (wrong: should be x)")
    with pytest.raises(StepError, match="step 1"):
        bad.check()


def test_generic_activation_prints_as_f_prime():
    e = 3 * sp.Derivative(f(z), z)
    assert text(e) == "3*f'(z_core)"
    assert "f'" in latex(e) and "Derivative" not in latex(e) and r"\frac{d" not in latex(e)
    # the form SymPy's chain rule produces (Subs) prints the same way
    assert "f'" in latex(sp.diff(f(x**2), x))


def test_step_true_only_for_one_activation_is_caught():
    # f'(z) = f(z)(1 - f(z)) holds for the sigmoid only; for a generic f it is wrong
    d = Derivation("sig", "sigmoid only", sp.Derivative(f(z), z)).step(f(z) * (1 - f(z)), "σ' = σ(1−σ)")
    with pytest.raises(StepError):
        d.check()


def test_numeric_fallback_is_labelled():
    # SymPy cannot simplify this difference to 0; the checker falls back to 30-digit numbers
    lhs = sp.Derivative(sp.atan(x) + sp.atan(1 / x), x)
    d = Derivation("numeric", "numeric", lhs).step(sp.Integer(0), "atan x + atan 1/x is constant")
    checks = d.check()
    assert checks[0].method in {"symbolic", "numeric"}
    if checks[0].method == "numeric":
        assert "verified numerically" in d.latex()


def test_numeric_fallback_label_is_rendered(monkeypatch):
    import derivations.core as core

    monkeypatch.setattr(core, "_is_zero_symbolically", lambda diff, order=None, simplify=True: False)
    d = Derivation("forced", "forced", sp.Derivative(x**2, x)).step(2 * x, "power rule")
    assert d.check()[0].method == "numeric"
    assert "verified numerically" in d.latex() and "[verified numerically]" in d.text()
    bad = Derivation("forced_bad", "forced", sp.Derivative(x**2, x)).step(2 * x + 1e-20, "almost")
    with pytest.raises(StepError, match="relative difference"):
        bad.check()


def test_condition_is_used_only_from_its_step_and_is_shown():
    y1, y2 = sym("y1_c", real=True), sym("y2_c", real=True)
    cond = Condition(sp.Eq(y1 + y2, 1), (sp.Eq(y2, 1 - y1),))
    d = Derivation("cond", "cond", a * (y1 + y2)).step(a, "targets sum to one", given=[cond])
    assert d.check()[0].method == "symbolic"
    assert "using" in d.latex() and "using" in d.text()
    no_cond = Derivation("nocond", "no cond", a * (y1 + y2)).step(a, "targets sum to one")
    with pytest.raises(StepError):
        no_cond.check()


def test_sized_instances_are_all_checked():
    n, k = sym("n_s", integer=True, positive=True), sym("k_s", integer=True, positive=True)
    v = sp.IndexedBase(sym("v_s", real=True))
    good = Derivation("sum", "sum", sp.Sum(2 * v[k], (k, 1, n)),
                      instances=[{n: s} for s in range(1, 6)])
    good.step(2 * sp.Sum(v[k], (k, 1, n)), "linearity")
    assert good.check()[0].instances == 5
    # true for n = 1 only: caught at n = 2
    bad = Derivation("sum_bad", "sum", sp.Sum(v[k], (k, 1, n)), instances=[{n: s} for s in range(1, 4)])
    bad.step(v[1], "only the first term")
    with pytest.raises(StepError, match="n_s = 2"):
        bad.check()


def test_evaluate_respects_intermediate_variables():
    # ∂a/∂z with a := f(z), z := w x is f'(z), not f'(z)·x
    defs = {a: f(z), z: w * x}
    got = evaluate(sp.Derivative(a, z), defs)
    want = evaluate(sp.Derivative(f(z), z), defs)
    assert sp.simplify(got - want) == 0
    assert not sp.simplify(got - evaluate(sp.Derivative(a, w), defs)) == 0


def test_result_symbolic_check_catches_wrong_result():
    Result(sp.exp(2 * x), x, 2 * sp.exp(2 * x)).check_symbolic()
    with pytest.raises(DerivationError):
        Result(sp.exp(2 * x), x, sp.exp(2 * x)).check_symbolic()


def test_reason_needs_text():
    with pytest.raises(ValueError):
        Derivation("r", "r", x).step(x, "")


def test_lambda_definition_does_not_capture_a_sum_index():
    from derivations.core import _instantiate_definitions, expand_definitions

    n, j, k = (sym(f"{c}_cap", integer=True, positive=True) for c in "njk")
    v = sp.IndexedBase(sym("v_cap", real=True))
    o = sp.IndexedBase(sym("o_cap", real=True))
    # o[k] := v[k] Σ_j v[j], used at the index j itself: the sum's j must stay its own
    defs = _instantiate_definitions({o: sp.Lambda(k, v[k] * sp.Sum(v[j], (j, 1, n)))}, {})
    used = expand_definitions(o[j], defs).xreplace({j: 2, n: 3})
    want = v[2] * sum(v[r] for r in range(1, 4))
    assert sp.expand(used.doit() - want) == 0


def test_matrix_of_derivatives_is_not_zeroed():
    from derivations.core import _elements

    m = sp.MatMul(sp.ImmutableMatrix([[sp.Derivative(f(x), x)]]), sp.ImmutableMatrix([[2]]), evaluate=False)
    (entry,) = _elements(m)
    assert entry.has(sp.Derivative)


def test_each_module_renders_with_its_own_latex_names():
    """Two topics may give an equal symbol different LaTeX names; each renders with its own."""
    import derivations.core as core

    made = {}
    for module, tex in (("topic_a", "q_{1}"), ("topic_b", "q^{(1)}")):
        env = {"__name__": module, "sym": core.sym, "Derivation": Derivation, "sp": sp}
        exec("q = sym('q1_names', %r, real=True)\n"
             "d = Derivation('d', 'd', sp.Derivative(q**2, q)).step(2 * q, 'power rule')" % tex, env)
        made[module] = env["d"]
    assert "q_{1}" in made["topic_a"].latex() and "q^{(1)}" not in made["topic_a"].latex()
    assert "q^{(1)}" in made["topic_b"].latex() and "q_{1}" not in made["topic_b"].latex()


def test_a_wrong_step_is_refuted_before_simplify(monkeypatch):
    """A step the cheap attempts cannot prove is first probed at one random point; a wrong one
    fails there, without the costly simplify (which is kept for steps that look right)."""
    import derivations.core as core

    calls = []
    real = sp.simplify
    monkeypatch.setattr(core.sp, "simplify", lambda e, *a, **k: calls.append(e) or real(e, *a, **k))
    wrong = Derivation("wrong", "wrong", sp.Derivative(sp.sin(x) ** 2, x)).step(sp.sin(2 * x) + x, "slip")
    with pytest.raises(StepError, match="relative difference"):
        wrong.check()
    assert calls == []
    right = Derivation("right", "right", sp.cos(x) ** 2 - sp.sin(x) ** 2).step(sp.cos(2 * x), "double angle")
    assert right.check()[0].method == "symbolic" and calls  # proved, by simplify


def test_a_wrapper_inside_the_engine_does_not_change_whose_symbol_it_is():
    """mutmut wraps every function of a mutated module in a trampoline (in mutmut's own module) that
    calls a copy of the function (in the engine's module): the symbol still belongs to the module
    that called ``sym``, not to the engine or to mutmut."""
    from derivations import core
    from derivations.render import NOTATION

    engine = {"__name__": "derivations.core", "sym": core.sym}
    exec("def copy_of_sym(*args, **kwargs):\n    return sym(*args, **kwargs)\n", engine)
    outer = {"__name__": "mutmut.mutation.trampoline", "inner": engine["copy_of_sym"]}
    exec("def trampoline(*args, **kwargs):\n    return inner(*args, **kwargs)\n", outer)
    x = outer["trampoline"]("x_wrapped", meaning="a symbol made through a wrapper")
    assert NOTATION[__name__][x] == ("a symbol made through a wrapper", None)
    assert x not in NOTATION.get("derivations.core", {}) and x not in NOTATION.get("mutmut.mutation.trampoline", {})


# ---- the guarantees the engine's docstrings make ------------------------------------------------


def test_every_entry_of_a_matrix_step_is_checked():
    """A matrix step wrong in its last entry only is refused, at that entry."""
    lhs = sp.ImmutableMatrix([[sp.Derivative(x**2, x), sp.Derivative(x, x)], [sp.Integer(0), sp.Derivative(x**3, x)]])
    right = sp.ImmutableMatrix([[2 * x, 1], [0, 3 * x**2]])
    assert Derivation("m_ok", "matrix", lhs).step(right, "power rule").check()[0].method == "symbolic"
    wrong = sp.ImmutableMatrix([[2 * x, 1], [0, 3 * x**2 + x]])
    with pytest.raises(StepError):
        Derivation("m_bad", "matrix", lhs).step(wrong, "power rule").check()


def test_a_condition_never_applies_before_the_step_that_gives_it():
    y1, y2 = sym("y1_g", real=True), sym("y2_g", real=True)
    cond = Condition(sp.Eq(y1 + y2, 1), (sp.Eq(y2, 1 - y1),))
    d = Derivation("early", "early", a * (y1 + y2))
    d.step(a, "targets sum to one (but the condition comes a step later)")
    d.step(a, "the same", given=[cond])
    with pytest.raises(StepError) as err:
        d.check()
    assert "step 1" in str(err.value)


@pytest.mark.parametrize("positive", [False, True])
def test_the_numeric_fallback_samples_the_whole_domain_of_each_symbol(monkeypatch, positive):
    """√(t²) = t holds for t ≥ 0 only: for a real t the fallback must try negative values and
    refuse the step; for a positive t it must accept it."""
    import derivations.core as core

    monkeypatch.setattr(core, "_is_zero_symbolically", lambda diff, order=None, simplify=True: False)
    t = sym("t_dom", positive=True) if positive else sym("t_dom_real", real=True)
    d = Derivation("dom", "domain", sp.sqrt(t**2)).step(t, "the root of a square")
    if positive:
        assert d.check()[0].method == "numeric"
    else:
        with pytest.raises(StepError):
            d.check()


# ---- engine paths a mutation run of core found unguarded ------------------------------------------


def test_a_result_is_proved_symbolically_when_it_can_be():
    """A result with a symbolic exponent cannot be sampled (an integer symbol has no random
    value), so only the symbolic comparison can accept it: a check that fell through to numbers
    for a right result would raise."""
    n = sym("n_res", integer=True, positive=True)
    Result(x**n, x, n * x ** (n - 1)).check_symbolic()
    with pytest.raises(DerivationError, match="cannot sample integer symbol"):
        Result(x**n, x, n * x**n).check_symbolic()


def test_a_wrong_result_is_named_with_its_claim():
    with pytest.raises(DerivationError) as err:
        Result(sp.sin(w * x), w, x * sp.sin(w * x)).check_symbolic()
    assert str(err.value) == f"result d({text(sp.sin(w * x))}…)/d{w} is wrong: claimed {text(x * sp.sin(w * x))}"


def test_peel_takes_out_the_first_or_last_term_of_a_sum_or_product():
    from derivations.core import peel

    k, t, T = sp.symbols("k_p t_p T_p", integer=True)
    g = sp.IndexedBase("g_p")
    S, P = sp.Sum(g[k], (k, t, T)), sp.Product(g[k], (k, t, T))
    assert peel(S) == {S: sp.Sum(g[k], (k, t, T - 1)) + g[T]}
    assert peel(S, "first") == {S: g[t] + sp.Sum(g[k], (k, t + 1, T))}
    assert peel(P) == {P: sp.Product(g[k], (k, t, T - 1)) * g[T]}
    assert peel(P, "first") == {P: g[t] * sp.Product(g[k], (k, t + 1, T))}
    with pytest.raises(ValueError, match=r"^peel takes a sum or a product over one index, got g_p\[k_p\]$"):
        peel(g[k])
    with pytest.raises(ValueError, match="over one index"):
        peel(sp.Sum(g[k] * g[t], (k, 1, T), (t, 1, T)))
    with pytest.raises(ValueError, match=r"^end must be 'first' or 'last', got 'middle'$"):
        peel(S, "middle")


def test_a_generic_function_of_several_arguments_is_realized_with_its_partials():
    """The numeric fallback replaces G(u, v) by one random smooth function, and ∂G/∂u, ∂²G/∂u∂v by
    that function's own derivatives (the same function for the same name and seed); the function
    couples its arguments, so a step that swaps them is refuted."""
    from derivations.core import _canon, _realize_generic

    G = sp.Function("G_several")
    u, v = sym("u_sev", real=True), sym("v_sev", real=True)
    point = {u: sp.Float("0.3", 40), v: sp.Float("-0.7", 40)}
    base = _realize_generic(G(u, v), 5)
    assert base.free_symbols == {u, v}
    for wrt in [(u,), (v,), (u, v), (u, u)]:
        realized = _realize_generic(_canon(sp.Derivative(G(u, v), *wrt)), 5)
        assert abs(sp.N((realized - sp.diff(base, *wrt)).xreplace(point), 30)) < 1e-25, wrt
    assert abs(sp.N((base - base.xreplace({u: v, v: u})).xreplace(point), 30)) > 1e-3
    assert _realize_generic(G(u, v), 6) != base  # a new function for another seed
    d = Derivation("swap", "swap", sp.Derivative(G(u, v), u) * u).step(sp.Derivative(G(v, u), v) * u, "symmetry?")
    with pytest.raises(StepError):
        d.check()


def _numeric_only(monkeypatch):
    import derivations.core as core

    monkeypatch.setattr(core, "_is_zero_symbolically", lambda diff, order=None, simplify=True: False)


def test_a_derivation_prints_as_a_chain_with_reasons(monkeypatch):
    """The terminal form: the title, ``lhs = E_0`` indented four spaces, then ``  = E_k    (reason)``
    with the reason's $ signs gone, the conditions it uses, and the numeric fallback said."""
    y1, y2 = sym("y1_txt", real=True), sym("y2_txt", real=True)
    cond = Condition(sp.Eq(y1 + y2, 1), (sp.Eq(y2, 1 - y1),))
    lhs = sym("J_txt", "J")
    d = Derivation("txt", "A short chain", sp.Derivative(a * x**2, x), lhs=lhs)
    d.step(2 * a * x, "power rule, $x^2$").step(2 * a * x * (y1 + y2), "times one", given=[cond])
    assert d.text() == "\n".join([
        "A short chain",
        f"    {text(lhs)} = {text(sp.Derivative(a * x**2, x))}",
        f"  = {text(2 * a * x)}    (power rule, x^2)",
        f"  = {text(2 * a * x * (y1 + y2))}    (times one; using {cond.text()})"])
    _numeric_only(monkeypatch)
    e = Derivation("txt_num", "Numbers only", sp.sin(x) ** 2 + sp.cos(x) ** 2).step(sp.Integer(1), "Pythagoras")
    assert e.text() == "\n".join(["Numbers only", f"    {text(sp.sin(x) ** 2 + sp.cos(x) ** 2)}",
                                  "  = 1    (Pythagoras [verified numerically])"])


def test_a_derivation_renders_as_rows_with_its_left_side_or_its_first_line(monkeypatch):
    from derivations.render import reason_latex

    lhs = sym("J_rows", "J")
    start, mid, end = sp.Derivative(x**3, x), 3 * x**2, 3 * x * x
    with_lhs = Derivation("r1", "rows", start, lhs=lhs).step(mid, "power rule").step(end, "$x^2 = x x$")
    assert with_lhs._rows() == [(latex(lhs), "= " + latex(start), ""),
                                ("", "= " + latex(mid), reason_latex("power rule")),
                                ("", "= " + latex(end), reason_latex("$x^2 = x x$"))]
    without = Derivation("r2", "rows", start).step(mid, "power rule").step(end, "$x^2 = x x$")
    assert without._rows() == [(latex(start), "= " + latex(mid), reason_latex("power rule")),
                               ("", "= " + latex(end), reason_latex("$x^2 = x x$"))]
    assert Derivation("r3", "rows", start)._rows() == [("", latex(start), "")]
    y1, y2 = sym("y1_rows", real=True), sym("y2_rows", real=True)
    cond = Condition(sp.Eq(y1 + y2, 1), (sp.Eq(y2, 1 - y1),))
    used = Derivation("r4", "rows", a * (y1 + y2)).step(a, "sum to one", given=[cond])
    assert used._rows() == [(latex(a * (y1 + y2)), "= " + latex(a),
                             reason_latex("sum to one") + r"\text{; using }" + cond.latex())]
    _numeric_only(monkeypatch)
    num = Derivation("r5", "rows", sp.sin(x) ** 2 + sp.cos(x) ** 2).step(sp.Integer(1), "Pythagoras")
    assert num._rows()[0][2] == reason_latex("Pythagoras") + r"\ \text{[verified numerically: 6 points, 30 digits]}"


def test_a_vector_chain_renders_entry_by_entry_with_the_reasons_once():
    from derivations.render import reason_latex

    v0 = sp.ImmutableMatrix([sp.Derivative(x**2, x), sp.Derivative(w * x, x)])
    v1 = sp.ImmutableMatrix([2 * x, w])
    rows_ = Derivation("vec", "vector", v0).step(v1, "term by term")._rows()
    assert rows_ == [(latex(v0[0]), "= " + latex(v1[0]), reason_latex("term by term")),
                     (latex(v0[1]), "= " + latex(v1[1]), "")]


def test_the_definitions_render_as_aligned_rows():
    F = sp.Function("F_defs")
    b1, b2 = sp.IndexedBase(sym("b_defs", "b", real=True)), sp.IndexedBase(sym("c_defs", "c", real=True))
    i, j = sp.symbols("i_defs j_defs", integer=True)
    d = Derivation("defs", "defs", x, definitions={
        F: sp.Lambda(z, z**2), b1: sp.Lambda(i, x * i), b2: sp.Lambda((i, j), i * j), w: 2 * x})
    assert d.definitions_latex() == ("\\begin{aligned}\n"
                                     + " \\\\\n".join([f"{latex(F(z))} &:= {latex(z**2)}",
                                                       f"{latex(b1[i])} &:= {latex(x * i)}",
                                                       f"{latex(b2[i, j])} &:= {latex(i * j)}",
                                                       f"{latex(w)} &:= {latex(2 * x)}"])
                                     + "\n\\end{aligned}")


def test_integrals_and_limits_are_compared_by_their_operands_only_over_the_same_range():
    """A generic integrand SymPy cannot integrate: equal integrands over one range give equal
    integrals, and nothing is concluded across different ranges, variables or points."""
    t = sym("t_int", real=True)
    g = sp.Function("g_int")
    same = Derivation("int_same", "int", sp.Integral(2 * g(t), (t, 0, 1)))
    assert same.step(sp.Integral(g(t) + g(t), (t, 0, 1)), "2g = g + g").check()[0].method == "symbolic"
    for wrong in (sp.Integral(g(t) + g(t), (t, 0, 2)), sp.Integral(2 * g(t) + 1, (t, 0, 1)),
                  sp.Integral(g(t) + g(t), (sym("s_int", real=True), 0, 1))):
        with pytest.raises(StepError):
            Derivation("int_bad", "int", sp.Integral(2 * g(t), (t, 0, 1))).step(wrong, "the same?").check()
    lim = Derivation("lim_same", "lim", sp.Limit(2 * g(t) / t, t, 0))
    assert lim.step(sp.Limit((g(t) + g(t)) / t, t, 0), "2g = g + g").check()[0].method == "symbolic"
    s_ = sym("s_int", real=True)  # the limit over another variable: 2g(t)/t, a constant in s
    for wrong in (sp.Limit((g(t) + g(t)) / t, t, 1), sp.Limit((g(t) + g(t)) / t, t, 0, "-"),
                  sp.Limit(g(t) / t, t, 0), sp.Limit((g(t) + g(t)) / t, s_, 0)):
        with pytest.raises((StepError, DerivationError)):
            Derivation("lim_bad", "lim", sp.Limit(2 * g(t) / t, t, 0)).step(wrong, "the same?").check()


def test_a_shown_product_keeps_its_factors_as_written():
    p = shown_product(x, 2, x)
    assert p.args == (x, 2, x) and p != 2 * x**2 and sp.expand(p) == 2 * x**2


def test_partial_derivatives_of_a_function_of_several_arguments_are_named_by_position():
    from derivations.core import _PARTIAL_OF, _canon

    G = sp.Function("G_pos")
    u, v = sym("u_pos", real=True), sym("v_pos", real=True)
    d1, d12 = _canon(sp.Derivative(G(u, v), u)), _canon(sp.Derivative(G(u, v), u, v))
    assert d1.func.__name__ == "∂1G_pos" and d1.args == (u, v)
    assert d12.func.__name__ == "∂1,2G_pos" and _canon(sp.Derivative(G(u, v), v, u)).func is d12.func
    assert _canon(sp.Derivative(G(u, v), v)).func.__name__ == "∂2G_pos"
    assert _PARTIAL_OF[d1.func] == (G, (0,)) and _PARTIAL_OF[d12.func] == (G, (0, 1))
    assert _canon(sp.Derivative(G(u, v), u)).func is d1.func  # one function per partial, reused


def test_a_derivation_summary_counts_its_methods(monkeypatch):
    n = sym("n_sum", integer=True, positive=True)
    d = Derivation("sum_sym", "s", sp.Derivative(x**2, x), instances=[{n: 2}, {n: 3}]).step(2 * x, "power rule")
    assert d.summary() == "1 steps: 1 symbolic, 0 numeric at 2 instance(s)"
    _numeric_only(monkeypatch)
    e = Derivation("sum_num", "s", sp.sin(x) ** 2 + sp.cos(x) ** 2).step(sp.Integer(1), "Pythagoras").step(
        sp.Integer(1), "again")
    assert e.summary() == "2 steps: 0 symbolic, 2 numeric"


def test_vectors_then_a_matrix_expression_render_entry_by_entry_then_whole():
    """A chain of column vectors that gives way to a matrix expression: the vector steps entry by
    entry (the reasons once, on the first entry), then the whole vector (its left side, or its
    first line) equal to the matrix expression and the steps after it."""
    from derivations.core import NamedMatrix
    from derivations.render import reason_latex

    A = NamedMatrix("A", sp.ImmutableMatrix([[w, 0], [0, w]]))
    b = NamedMatrix("b", sp.ImmutableMatrix([x, z]))
    v0 = sp.ImmutableMatrix([sp.Derivative(w * x**2 / 2, x), sp.Derivative(w * z**2 / 2, z)])
    v1 = sp.ImmutableMatrix([w * x, w * z])
    v2, v3 = sp.MatMul(A, b, evaluate=False), sp.MatMul(A, b, evaluate=False)
    why = [reason_latex(r) for r in ("power rule", "as a product", "the same")]

    def chain(lhs=None):
        return Derivation("mix", "mix", v0, lhs=lhs).step(v1, "power rule").step(v2, "as a product") \
            .step(v3, "the same")

    body = [(latex(v0[0]), "= " + latex(v1[0]), why[0]), (latex(v0[1]), "= " + latex(v1[1]), "")]
    assert chain()._rows() == body + [(latex(v0), "= " + latex(v2), why[1]), ("", "= " + latex(v3), why[2])]
    g = sym("g_mix", "g")
    assert chain(g)._rows() == [(latex(g), "= " + latex(v0), "")] + body + [
        (latex(g), "= " + latex(v2), why[1]), ("", "= " + latex(v3), why[2])]


def test_a_chain_of_small_square_matrices_renders_whole():
    M0 = sp.ImmutableMatrix([[sp.Derivative(x**2, x), 0], [0, sp.Derivative(x**3, x)]])
    M1 = sp.ImmutableMatrix([[2 * x, 0], [0, 3 * x**2]])
    from derivations.render import reason_latex

    assert Derivation("sq", "sq", M0).step(M1, "power rule")._rows() == [
        (latex(M0), "= " + latex(M1), reason_latex("power rule"))]


def test_only_the_step_verified_numerically_says_so(monkeypatch):
    import derivations.core as core
    from derivations.render import reason_latex

    proved = core._is_zero_symbolically
    one = 2 * x * (sp.sin(x) ** 2 + sp.cos(x) ** 2)

    def only_not_the_second(diff, order=None, simplify=True):  # SymPy "cannot" prove the second step
        return diff != 2 * x - one and proved(diff, order, simplify=simplify)

    monkeypatch.setattr(core, "_is_zero_symbolically", only_not_the_second)
    d = Derivation("mixed", "mixed", sp.Derivative(x**2, x)).step(2 * x, "power rule").step(one, "times one") \
        .step(sp.sin(x) ** 2 * 2 * x + 2 * x * sp.cos(x) ** 2, "expanded")
    assert [c.method for c in d.check()] == ["symbolic", "numeric", "symbolic"]
    notes = [row[2] for row in d._rows()]
    assert notes == [reason_latex("power rule"),
                     reason_latex("times one") + r"\ \text{[verified numerically: 6 points, 30 digits]}",
                     reason_latex("expanded")]
    assert [ln.endswith("[verified numerically])") for ln in d.text().splitlines()[2:]] == [False, True, False]


def test_an_integral_sympy_cannot_evaluate_or_only_with_conditions_is_an_error_not_a_guess():
    from derivations.core import _doit_operators

    t = sym("t_op", real=True)
    c_real, c_pos = sym("c_op_real", real=True), sym("c_op_pos", positive=True)
    g = sp.Function("g_op")
    hard = sp.Integral(sp.exp(sp.sin(t) ** 3 + t**5), (t, 0, 1))
    with pytest.raises(DerivationError) as err:
        _doit_operators(hard + 1)
    assert str(err.value) == (f"SymPy cannot evaluate {text(hard)} (write both sides as the same operation, "
                              "or declare the change of variables)")
    ok = Derivation("int_pos", "i", sp.Integral(sp.exp(-c_pos * t), (t, 0, sp.oo))).step(1 / c_pos, "∫e^{-ct} = 1/c")
    assert ok.check()[0].method == "symbolic"
    with pytest.raises(StepError, match="SymPy cannot evaluate"):  # for a real c it holds only when c > 0
        Derivation("int_real", "i", sp.Integral(sp.exp(-c_real * t), (t, 0, sp.oo))).step(
            1 / c_real, "∫e^{-ct} = 1/c").check()
    k = sym("k_op", real=True)  # ∫_0^x t^k dt is x^(k+1)/(k+1) only for k ≠ −1: SymPy says so, by cases
    with pytest.raises(StepError, match="SymPy cannot evaluate"):
        Derivation("int_cases", "i", sp.Integral(t**k, (t, 0, c_pos))).step(
            c_pos ** (k + 1) / (k + 1), "power rule").check()
    nested = sp.Integral(sp.Integral(t * z, (t, 0, 1)), (z, 0, 2))  # the inner one first
    assert _doit_operators(nested) == 1
    assert _doit_operators(sp.Integral(g(t), (t, 0, 1)) * 0 + x) == x


def test_a_change_of_variables_that_cannot_apply_is_named():
    from derivations.core import Change

    t, s_ = sym("t_cv", positive=True), sym("s_cv", real=True)
    start = sp.Integral(sp.exp(-t), (t, 0, sp.oo))
    with pytest.raises(StepError) as err:
        Derivation("cv_none", "cv", start).step(sp.Integral(sp.exp(-x), (x, 0, sp.oo)), "substitute",
                                                change=Change(z, s_, sp.exp(-z))).check()
    assert f"the change of variables {s_} = {text(sp.exp(-z))} finds no integral over {z}" in str(err.value)
    with pytest.raises(StepError) as err:
        Derivation("cv_range", "cv", start).step(sp.Integral(sp.Integer(1), (s_, 0, 2)),
                                                 "substitute", change=Change(t, s_, sp.exp(-t))).check()
    assert (f"the change of variables {s_} = {text(sp.exp(-t))} does not give the next line's integral "
            "(its range or variable differ)") in str(err.value)


def test_the_hypothesis_is_evaluated_at_the_instance_of_the_step():
    """An inductive step checked at several instances (here the sizes c and d): the hypothesis's
    sides take each instance's values, or the step could not use it."""
    from derivations.core import Induction, peel

    n = sym("n_hi", integer=True, positive=True)
    i = sym("i_hi", integer=True, positive=True)
    c, d = sym("c_hi", integer=True, positive=True), sym("d_hi", integer=True, positive=True)
    q = sp.IndexedBase(sym("q_hi", real=True))

    def S(m):
        return sp.Sum(c * (q[i + 1] - q[i]) + d, (i, 1, m))

    ind = Induction("scaled", "A scaled telescoping sum", n, 1, lambda m: (S(m), c * (q[m + 1] - q[1]) + d * m))
    ind.base_case(instances=[{c: 2, d: 5}, {c: 3, d: 7}]).step(c * (q[2] - q[1]) + d, "one term")
    st = ind.inductive_step(definitions=peel(S(n + 1)), instances=[{c: 2, d: 5}, {c: 3, d: 7}])
    st.step(S(n) + c * (q[n + 2] - q[n + 1]) + d, "the sum's last term")
    st.step(c * (q[n + 1] - q[1]) + d * n + c * (q[n + 2] - q[n + 1]) + d, "induction hypothesis",
            given=[ind.hypothesis])
    st.step(c * (q[n + 2] - q[1]) + d * (n + 1), "algebra")
    assert all(ch.method == "symbolic" for ch in ind.check())


def test_an_indexed_base_carries_its_name_meaning_shape_and_assumptions():
    from derivations.core import indexed, notation
    from derivations.render import MODULE_NAMES, notation_of

    i, j = sym("i_ix", "i", integer=True), sym("j_ix", "j", integer=True)
    q = indexed("q_ix", r"\tilde{q}", meaning="a test weight", shape="H × D", positive=True)
    assert q.label.is_positive and q[i, j].is_positive and q.label.name == "q_ix"
    assert MODULE_NAMES[__name__][q.label] == r"\tilde{q}" and latex(q[i, j]) == r"\tilde{q}_{ij}"
    assert notation_of(__name__)[q.label] == ("a test weight", "H × D")
    assert latex(indexed("r_ix", "r")[i, j]) == "r_{ij}"           # one-letter indices run together …
    assert latex(indexed("s_ix", "s", separate=True)[i, j]) == "s_{i,j}"  # … unless asked apart
    assert not indexed("u_ix", "u", real=True).label.is_positive
    notation(x, "the input", "D")
    assert notation_of(__name__)[x] == ("the input", "D")


def test_long_sides_are_cut_in_messages_at_their_stated_widths():
    from derivations.core import _short

    exact, over = sp.Symbol("e" * 300), sp.Symbol("o" * 301)
    assert _short(exact) == "e" * 300
    assert _short(over) == "o" * 300 + "… (301 characters)"
    assert _short(over, 10) == "o" * 10 + "… (301 characters)"
    long_left = sp.Add(*[sym(f"long_{q:03d}", real=True) for q in range(120)])  # about 1,400 characters
    with pytest.raises(StepError) as err:
        Derivation("long", "long", long_left).step(long_left + 1, "plus one?").check()
    assert f"  left:  {text(long_left)}\n  right: {text(long_left + 1)}\n" in str(err.value)
    assert 300 < len(text(long_left)) < 2000


def test_a_condition_shows_what_it_says_not_how_it_is_applied():
    y1, y2 = sym("y1_show", real=True), sym("y2_show", real=True)
    shown = sp.Eq(y1 + y2, 1)
    cond = Condition(shown, (sp.Eq(y2, 1 - y1),))
    assert cond.latex() == latex(shown) and cond.text() == text(shown)


def test_notebooks_display_the_same_latex_the_pages_glue():
    from derivations.core import NamedMatrix

    d = Derivation("repr", "repr", sp.Derivative(x**2, x)).step(2 * x, "power rule")
    assert d._repr_latex_() == "$$" + d.latex() + "$$"
    r = Result(x**2 * w, w, x**2, name=r"\mathcal{J}")
    assert r.latex() == latex(x**2) and r._repr_latex_() == "$$" + r.latex_equation() + "$$"
    assert r.latex_equation() == r"\frac{\partial \mathcal{J}}{\partial %s} = %s" % (latex(w), latex(x**2))
    A = NamedMatrix("A", sp.ImmutableMatrix([[w, x], [z, a]]))
    assert A.as_explicit() == sp.ImmutableMatrix([[w, x], [z, a]]) and A[1, 0] == z and A[0, 1] == x


def test_a_symbol_registers_its_name_and_meaning_with_the_module_that_made_it():
    from derivations.render import MODULE_NAMES, notation_of

    s = sym("s_reg", r"\varsigma", meaning="a test size", shape="1", positive=True)
    assert s.is_positive and MODULE_NAMES[__name__][s] == r"\varsigma" and latex(s) == r"\varsigma"
    assert notation_of(__name__)[s] == ("a test size", "1")
    plain = sym("plain_reg")
    assert plain not in MODULE_NAMES.get(__name__, {}) and plain not in notation_of(__name__)


def test_derivatives_of_generic_functions_become_named_opaque_functions():
    """f''(z) is one function named f'' (reused), and SymPy's Subs(∂G(ξ, y)/∂ξ, ξ, z + 1) from the
    chain rule through a composite argument is ∂1G(z + 1, y)."""
    from derivations.core import _canon

    second = _canon(sp.Derivative(f(z), (z, 2)))
    assert second.func.__name__ == "f''" and second.args == (z,)
    assert _canon(sp.Derivative(f(x), (x, 2))).func is second.func
    assert _canon(sp.Derivative(f(z), z)).func.__name__ == "f'"
    G = sp.Function("G_subs")
    y = sym("y_subs", real=True)
    chained = sp.diff(G(z + 1, y), z)  # SymPy writes Subs(Derivative(G(ξ, y), ξ), ξ, z + 1)
    assert isinstance(chained, sp.Subs)
    canon = _canon(chained)
    assert canon.func.__name__ == "∂1G_subs" and canon.args == (z + 1, y)
    assert _canon(sp.Derivative(G(z, y), y)).func.__name__ == "∂2G_subs"


def test_a_matrix_is_too_wide_to_set_inline_only_past_the_row_limit():
    """The layout limit is strict: a row of exactly WIDE_MATRIX_ROW visible characters still fits
    (two 30-letter names, counted by hand), one more does not; the widest row decides, not the
    sum over rows."""
    from derivations.core import WIDE_MATRIX_ROW, _too_wide

    assert WIDE_MATRIX_ROW == 60
    left, fits, over = sp.Symbol("q" * 30), sp.Symbol("r" * 30), sp.Symbol("r" * 31)
    assert not _too_wide(sp.Matrix([[left, fits]]))
    assert _too_wide(sp.Matrix([[left, over]]))
    assert not _too_wide(sp.Matrix([[left], [over]]))
