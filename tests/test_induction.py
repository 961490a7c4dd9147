"""Proofs by induction: a claim for every n holds only when its base case and its inductive step do,
the induction hypothesis is usable at its own index only, matrix products keep their order; and the
checker's definitions have no size limit (chains of any finite length, a true cycle named)."""

from __future__ import annotations

import time

import pytest
import sympy as sp

from derivations import indrnn
from derivations.core import (Derivation, DerivationError, Induction, InductionError, MatrixProduct,
                              NamedMatrix, StepError, evaluate, expand_definitions, peel, sym)

n = sym("n_ind", "n", integer=True, positive=True)
i = sym("i_ind", "i", integer=True, positive=True)
a = sp.IndexedBase(sym("a_ind", "a", real=True))
c = sym("c_ind", "c", real=True)


def S(m):
    """Σ_{i=1}^{m} (a_{i+1} − a_i), a sum SymPy cannot evaluate in closed form."""
    return sp.Sum(a[i + 1] - a[i], (i, 1, m))


def telescope(rhs=lambda m: a[m + 1] - a[1], *, base_end=None, step_ends=None, cite=True):
    """The claim S(m) = rhs(m) for m ≥ 1, with the usual proof (its ends replaceable)."""
    ind = Induction("telescope", "A telescoping sum", n, 1, lambda m: (S(m), rhs(m)))
    ind.base_case().step(base_end if base_end is not None else rhs(1), "one term")
    st = ind.inductive_step(definitions=peel(S(n + 1)))
    st.step(S(n) + a[n + 2] - a[n + 1], "the sum's last term")
    for k, e in enumerate(step_ends or [rhs(n) + a[n + 2] - a[n + 1], rhs(n + 1)]):
        st.step(e, "induction hypothesis" if k == 0 else "algebra", given=[ind.hypothesis] if cite and k == 0 else ())
    return ind


def test_a_right_induction_is_proved_for_all_n():
    ind = telescope()
    checks = ind.check()
    assert len(checks) == 1 + 3 and all(ch.method == "symbolic" for ch in checks)
    assert ind.proved_for() == "all n_ind ≥ 1"
    assert "proved for all n_ind ≥ 1 by induction on n_ind" in ind.summary()
    tex = ind.latex()
    assert r"\text{proved for all }n \ge 1\text{ by induction on }n" in tex
    assert "base case" in tex and "inductive step" in tex and r"\text{; using }\text{the claim at }n" in tex
    assert "(induction hypothesis; using the claim at n_ind)" in ind.text()


def test_a_wrong_base_case_is_refused():
    """S(m) = a_{m+1} − a_1 + c: the step holds (c is carried along), the base case does not."""
    ind = telescope(lambda m: a[m + 1] - a[1] + c)
    ind.step.check()  # the inductive step alone is fine
    with pytest.raises(StepError, match=r"telescope_base, step 1 \('one term'\)"):
        ind.check()


def test_a_wrong_step_is_refused():
    """A sign slip in the middle of the inductive step (its chain still ends at the claim)."""
    ind = telescope(step_ends=[a[n + 1] + a[1] + a[n + 2] - a[n + 1], a[n + 2] - a[1]])
    with pytest.raises(StepError, match=r"telescope_step, step 2 \('induction hypothesis'\)"):
        ind.check()


def test_a_step_using_the_hypothesis_at_n_plus_1_is_refused():
    """A false claim whose base case holds, 'proved' by citing the claim at n + 1 (circular): the
    hypothesis is the claim at n only, so the checker does not have what the step needs."""
    false = lambda m: a[m + 1] - a[1] + (m - 1) * c  # noqa: E731  (true at m = 1 only)
    ind = Induction("circular", "A circular step", n, 1, lambda m: (S(m), false(m)))
    ind.base_case().step(a[2] - a[1], "one term")
    st = ind.inductive_step(definitions=peel(S(n + 1)))
    st.step(false(n + 1), "induction hypothesis (at n + 1)", given=[ind.hypothesis])
    with pytest.raises(StepError, match=r"circular_step, step 1"):
        ind.check()
    # the hypothesis is the claim at n, and replaces nothing at n + 1
    lhs_n, lhs_n1 = ind.hypothesis.subs[0].lhs, S(n + 1)
    assert lhs_n == S(n)
    assert ind.hypothesis.apply(lhs_n1, {}, {}) == lhs_n1
    assert ind.hypothesis.apply(lhs_n, {}, {}) == false(n)


def test_the_hypothesis_is_usable_only_in_its_own_step():
    ind = telescope()
    other = Derivation("elsewhere", "elsewhere", S(n)).step(a[n + 1] - a[1], "the claim", given=[ind.hypothesis])
    with pytest.raises(DerivationError, match="only that induction's step may use"):
        other.check()
    # …and its base case may not use it either
    bad = telescope()
    bad.base.steps[1].given = (bad.hypothesis,)
    with pytest.raises(InductionError, match="base case may not use"):
        bad.check()


def test_a_step_that_never_cites_the_hypothesis_is_not_an_induction():
    ind = telescope(cite=False)
    with pytest.raises(InductionError, match="never uses the induction hypothesis"):
        ind.check()


def test_a_step_checked_at_a_fixed_index_is_not_an_induction():
    ind = telescope()
    ind.step.instances = [{n: 3}]
    with pytest.raises(InductionError, match="fixes n_ind"):
        ind.check()


def test_a_chain_must_end_at_the_claim():
    ind = telescope()
    ind.step.steps = ind.step.steps[:2]  # stops at S(n) + a_{n+2} − a_{n+1}
    ind.step.steps[1].given = (ind.hypothesis,)
    with pytest.raises(InductionError, match="inductive step ends at"):
        ind.check()


def test_a_hypothesis_that_does_not_depend_on_the_index_is_refused():
    x = sym("x_ind", real=True)
    ind = Induction("constant", "A claim that does not move", n, 1, lambda m: (x, x))
    ind.base_case().step(x, "as is")
    ind.inductive_step().step(x, "hypothesis", given=[ind.hypothesis])
    with pytest.raises(InductionError, match="does not depend on n_ind"):
        ind.check()


# ---- matrices: the order of a product is kept ------------------------------------------------

t = sym("t_ind", "t", integer=True, positive=True)
M = sp.IndexedBase(sym("M_ind", "M", real=True))
J = sp.Function("J_ind")


def _M(s, N):
    return NamedMatrix(f"M_{{{sp.latex(s)}}}", sp.Matrix(N, N, lambda r, q: M[s, r + 1, q + 1]))


def _X(s, N):
    """X(s) := M_s X(s − 1): the recursion, with X(t) an unknown matrix of t."""
    return NamedMatrix(f"X_{{{sp.latex(s)}}}", sp.Matrix(N, N, lambda r, q: J(s, r + 1, q + 1)))


def product_induction(N, order="left"):
    """X(t) = Π_{i=1}^{t} M_i (latest factor on the left) from X(0) = I and X(t+1) = M_{t+1} X(t)."""
    P = MatrixProduct(f"P_ind{N}", lambda s: _M(s, N), "M_i", size=N)
    ind = Induction(f"prod{N}", "An ordered product", t, 0, lambda s: (_X(s, N), P(1, s)))
    ind.base_case(definitions={J(0, r + 1, q + 1): int(r == q) for r in range(N) for q in range(N)}) \
        .step(NamedMatrix("I", sp.eye(N)), "X(0) = I").step(P(1, 0), "the empty product")
    rec = {J(t + 1, r + 1, q + 1): (_M(t + 1, N).entries * _X(t, N).entries)[r, q] for r in range(N) for q in range(N)}
    st = ind.inductive_step(definitions={**rec, **P.last_factor(1, t + 1)})
    st.step(sp.MatMul(_M(t + 1, N), _X(t, N), evaluate=False), "the recursion")
    st.step(sp.MatMul(_M(t + 1, N), P(1, t), evaluate=False), "induction hypothesis", given=[ind.hypothesis])
    last = sp.MatMul(_M(t + 1, N), P(1, t), evaluate=False) if order == "left" else \
        sp.MatMul(P(1, t), _M(t + 1, N), evaluate=False)
    st.step(last, "as written")
    st.step(P(1, t + 1), "the product's last factor, on the left")
    return ind


@pytest.mark.parametrize("N", [2, 3])
def test_an_ordered_matrix_product_is_proved_entry_by_entry(N):
    ind = product_induction(N)
    assert all(ch.method == "symbolic" for ch in ind.check())
    assert r"\prod_{i=1}^{t + 1} M_i" in ind.step.latex()


def test_a_matrix_product_in_the_wrong_order_is_refused():
    """M_{t+1} Π = Π M_{t+1} holds for numbers, not for matrices: refused at 2 units."""
    with pytest.raises(StepError, match=r"prod2_step, step 3 \('as written'\)"):
        product_induction(2, order="right").check()


# ---- Task B: definition chains of any finite length ---------------------------------------------

def test_a_chain_of_a_thousand_definitions_expands():
    xs = [sym(f"x{s}_chain", real=True) for s in range(1001)]
    defs = {xs[s]: xs[s - 1] + 1 for s in range(1, 1001)}
    assert expand_definitions(xs[1000], defs) == xs[0] + 1000


def test_a_definition_that_refers_to_itself_is_named():
    p, q, r = (sym(f"{v}_cyc", real=True) for v in "pqr")
    with pytest.raises(DerivationError, match=r"definitions do not terminate \(a definition refers to itself\)"):
        expand_definitions(p, {p: p + 1})
    with pytest.raises(DerivationError, match="refers to itself.*p_cyc"):
        expand_definitions(r, {p: q + 1, q: 2 * p, r: p})
    d = Derivation("cycle", "a cycle", sp.Derivative(p, r), definitions={p: q + r, q: p ** 2})
    d.step(sp.Integer(1), "?")
    with pytest.raises(DerivationError, match="refers to itself"):
        d.check()


def test_the_indrnn_chain_checks_at_T_100():
    """The concrete chain (issue 17): it failed from T = 26 on a fixed round limit."""
    t0 = time.perf_counter()
    d = indrnn.chain_derivation(100, 1)
    assert [ch.method for ch in d.check()] == ["symbolic"] * 3
    assert time.perf_counter() - t0 < 60  # about 3 s on this machine


def test_evaluate_differentiates_through_a_long_chain_without_nesting():
    """∂x_n/∂x_0 with x_s := sin(x_{s−1}) at n = 300 (SymPy's own diff of the nested expression
    would exceed Python's recursion limit): the product of the cosines, by the chain rule."""
    xs = [sym(f"y{s}_chain", real=True) for s in range(301)]
    defs = {xs[s]: sp.sin(xs[s - 1]) for s in range(1, 301)}
    got = evaluate(sp.Derivative(xs[300], xs[0]), defs)
    assert isinstance(got, sp.Mul) and len([f for f in got.args if isinstance(f, sp.cos)]) == 300


def test_an_induction_prints_its_claim_base_case_and_step():
    """The terminal form: the claim, what it is proved for, then the base case and the inductive
    step each indented under its heading (the step names the index the hypothesis holds at)."""
    from derivations.core import text

    ind = telescope()
    indent = lambda block: "\n".join("    " + ln for ln in block.splitlines())  # noqa: E731
    assert ind.text() == "\n".join([
        "A telescoping sum",
        f"    {text(S(n))} = {text(a[n + 1] - a[1])}",
        f"    proved for all {text(n)} ≥ 1 by induction on {text(n)}",
        f"  base case, {text(n)} = 1:", indent(ind.base.text()),
        f"  inductive step, from {text(n)} to {text(n)} + 1 (hypothesis: the claim at {text(n)}):",
        indent(ind.step.text())])
    assert ind.summary() == (f"proved for all {text(n)} ≥ 1 by induction on {text(n)}: base case 1 step, "
                             f"inductive step 3 steps at a symbolic {text(n)}")


def test_an_induction_renders_as_rows_in_latex_words_only():
    """The LaTeX block: the claim with its note, then each part under a heading written in LaTeX
    (no plain-text names such as n_ind inside \\text{})."""
    from derivations.core import latex
    from derivations.render import rows

    ind = telescope()
    m = latex(n)
    note = r"\text{proved for all }%s \ge 1\text{ by induction on }%s" % (m, m)
    assert ind.claim_latex() == rows([(latex(S(n)), "= " + latex(a[n + 1] - a[1]), note)])
    assert ind.latex() == rows(
        [(latex(S(n)), "= " + latex(a[n + 1] - a[1]), note),
         ("", r"\text{base case, }%s = 1\text{:}" % m, "")] + ind.base._rows()
        + [("", r"\text{inductive step, from }%s\text{ to }%s\text{:}" % (m, latex(n + 1)), "")] + ind.step._rows())
    assert "_ind" not in ind.latex()


def test_a_downward_induction_says_so():
    """A claim proved from t + 1 down to t (BPTT's recursion) is proved for all t ≤ T."""
    from derivations.core import latex, text

    ind = next(d for d in indrnn.derivations() if isinstance(d, Induction))
    t = ind.index
    assert ind.proved_for() == f"all {text(t)} ≤ {text(ind.first)}"
    assert f"  inductive step, from {text(t)} + 1 to {text(t)} (hypothesis: the claim at {text(t + 1)}):" \
        in ind.text().splitlines()
    assert r"\text{inductive step, from }%s\text{ to }%s\text{:}" % (latex(t + 1), latex(t)) in ind.latex()
    assert r"\le" in ind.claim_latex()


def test_the_base_case_and_step_are_named_after_their_induction():
    """Each part is a derivation of its own, named, titled and labelled after the induction (the
    pages glue them by these labels), in the induction's module's notation, with the instances
    and left side it was given."""
    ind = telescope()
    assert (ind.label, ind.about, ind.module) == ("telescope", "", __name__)
    assert (ind.base.name, ind.base.title, ind.base.label) == ("telescope_base", "A telescoping sum: base case",
                                                                "telescope-base")
    assert (ind.step.name, ind.step.title, ind.step.label) == ("telescope_step", "A telescoping sum: inductive step",
                                                                "telescope-step")
    assert ind.base.module == ind.step.module == __name__
    assert Induction("x_y", "t", n, 1, lambda m: (S(m), S(m)), label="chosen").label == "chosen"
    lhs = sym("L_ind", "L")
    other = Induction("parts", "Parts", n, 1, lambda m: (S(m), a[m + 1] - a[1]))
    base = other.base_case(instances=[{c: 2}], lhs=lhs)
    step = other.inductive_step(definitions=peel(S(n + 1)), instances=[{c: 3}], lhs=lhs)
    assert base.instances == [{c: 2}] and step.instances == [{c: 3}]
    assert base.lhs == lhs and step.lhs == lhs
    assert base.steps[0].expr == S(1) and step.steps[0].expr == S(n + 1)  # the claim at n₀, and at n + 1


def test_a_downward_induction_steps_from_the_claim_at_t_plus_one_to_the_claim_at_t():
    """Downward (BPTT from T back to t): the step starts at the claim at t and may use the claim at
    t + 1; a step that used the claim at t (its own target) would prove nothing."""
    from derivations.core import InductionError

    ind = next(d for d in indrnn.derivations() if isinstance(d, Induction))
    t = ind.index
    assert ind.hypothesis_at == t + 1 and ind.target_at == t
    assert ind.step.steps[0].expr == ind.sides(t)[0]
    with pytest.raises(InductionError, match=r"^shape: the claim's sides differ in shape \(2 vs 1 entries\)$"):
        Induction("shape", "Shape", n, 1, lambda m: (sp.ImmutableMatrix([S(m), S(m)]), S(m)))


def test_a_matrix_product_is_named_in_latex_and_text():
    from derivations.core import latex, text

    N = 2
    P = MatrixProduct(f"P_names{N}", lambda s: _M(s, N), r"M_{i}", size=N, body_text="M_i", shows=[c])
    k = sym("k_names", "k", integer=True)
    named = P(1, k)
    assert latex(named) == r"{\prod_{i=1}^{k} M_{i}}" and text(named) == "Π_(i=1)^(k_names) M_i"
    assert tuple(named.shown_symbols) == (c,)
    plain = MatrixProduct(f"P_plain{N}", lambda s: _M(s, N), r"M_{i}", size=N)
    assert text(plain(1, k)) == r"Π_(i=1)^(k_names) M_{i}"  # no text form given: the LaTeX body
    assert P._opaque(P(1, k)) and not P._opaque(P(1, 2))


def test_a_matrix_product_takes_out_its_first_or_last_factor_in_order():
    """Π_{i=lo}^{hi} M_i = M_hi Π_{i=lo}^{hi−1} M_i = (Π_{i=lo+1}^{hi} M_i) M_lo, entry by entry, for
    2 × 2 factors whose entries are free: the order of the factors shows in every entry."""
    N = 2
    P = MatrixProduct(f"P_ends{N}", lambda s: _M(s, N), "M_i", size=N)
    Mt = lambda s: sp.Matrix(N, N, lambda r, q: M[s, r + 1, q + 1])  # noqa: E731
    unknown = lambda lo, hi: sp.Matrix(N, N, lambda r, q: P.unknown[r + 1, q + 1, lo, hi])  # noqa: E731
    first, last = P.first_factor(1, t), P.last_factor(1, t)
    assert first == dict(zip(unknown(1, t), unknown(2, t) * Mt(1)))
    assert last == dict(zip(unknown(1, t), Mt(t) * unknown(1, t - 1)))
    assert P.first_factor(1, 3) == {} and P.last_factor(1, 3) == {}  # written out: nothing to define
    assert P(1, 2).entries == Mt(2) * Mt(1) and P(1, 0).entries == sp.eye(N)


def test_a_definition_that_never_ends_is_named():
    """Definitions of an indexed base or a function that refer to themselves are not symbols, so
    they cannot be closed like a chain: the expansion stops after its rounds and names them."""
    from derivations.core import instances_grid

    b = sp.IndexedBase(sym("b_loop", real=True))
    F = sp.Function("F_loop")
    with pytest.raises(DerivationError, match=r"^definitions do not terminate \(a definition refers to itself\): b_loop$"):
        evaluate(b[1], {b: sp.Lambda(i, b[i + 1] + 1)})
    with pytest.raises(DerivationError, match=r"^function definitions do not terminate \(a definition refers to "
                                              r"itself\): F_loop$"):
        evaluate(F(c), {F: sp.Lambda(c, F(c) + 1)})
    assert instances_grid(n=range(2, 4), k=[1, 5]) == [{"n": 2, "k": 1}, {"n": 2, "k": 5},
                                                       {"n": 3, "k": 1}, {"n": 3, "k": 5}]


def test_an_induction_displays_its_latex_block_in_a_notebook():
    ind = telescope()
    assert ind._repr_latex_() == "$$" + ind.latex() + "$$"
