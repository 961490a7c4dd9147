"""rnn_bptt: every step symbolically, the results and BPTT against this file's own oracles."""

from __future__ import annotations


import itertools

import autograd
import mpmath
import autograd.numpy as anp
import numpy as np
import pytest
import sympy as sp

from derivations import rnn_bptt as topic
from derivations.core import Derivation, StepError
from reference import close
from reference import planted as _planted


@pytest.mark.parametrize("d", [d for d in topic.derivations() if isinstance(d, Derivation)], ids=lambda d: d.name)
def test_every_step_holds(d):
    checks = d.check()
    assert len(checks) == len(d.steps) - 1 >= 1


@pytest.mark.parametrize("ind", topic.inductions(), ids=lambda d: d.name)
def test_every_claim_is_proved_for_every_number_of_steps(ind):
    assert ind in topic.derivations()
    assert all(ch.method == "symbolic" for ch in ind.check())
    assert ind.proved_for() in ("all t ≥ k", "all t ≤ T")
    assert not ind.step.instances[0]  # the step holds for a symbolic t (and k, τ)


def test_the_jacobian_product_in_the_wrong_order_is_refused():
    """A new step's factor on the right of the product (the order of numbers, not of matrices)."""
    ind = topic.jacobian_induction(2)
    P, D, W_ = topic._product(2), topic._slopes(topic.t + 1, 2), topic._W(2)
    bad = _planted(ind, "step", 3, sp.MatMul(P(topic.k + 1, topic.t), D, W_, evaluate=False))
    with pytest.raises(StepError, match=r"rnn_jacobian_all_t_n2_step, step 3 \('induction hypothesis'\)"):
        bad.check()


def test_a_wrong_base_case_is_refused():
    ind = topic.jacobian_induction(2)
    bad = _planted(ind, "base", 1, topic._named("2I", 2 * sp.eye(2), ()))
    with pytest.raises(StepError, match=r"rnn_jacobian_all_t_n2_base, step 1"):
        bad.check()


def test_the_claim_with_w_and_diag_swapped_cannot_borrow_the_claim_at_t_plus_1():
    """Π (W diag(1 − h²)) is the identity at t = k, like the true product, and false after. Citing
    the claim at t + 1 to 'prove' it is refused: the hypothesis is the claim at t."""
    N, t, k = 2, topic.t, topic.k
    swapped = topic.MatrixProduct("Pi_swapped", lambda s: sp.MatMul(topic._W(N), topic._slopes(s, N), evaluate=False),
                                  r"W \operatorname{diag}(1 - (h^{(s)})^2)", size=N, bound="s")
    ind = topic.Induction("swapped", "swapped", t, k, lambda s: (topic._state_jacobian(s, N), swapped(k + 1, s)))
    ind.base_case().step(swapped(k + 1, k), "the empty product")
    good = topic.jacobian_induction(N).step
    st = ind.inductive_step(definitions={**{key: v for key, v in good.definitions.items()
                                            if not str(key).startswith("Pi_rnn")}, **swapped.last_factor(k + 1, t + 1)})
    st.step(swapped(k + 1, t + 1), "the claim at t + 1", given=[ind.hypothesis])
    ind.base.check()
    with pytest.raises(StepError, match=r"swapped_step, step 1"):
        ind.check()


def test_the_recursion_with_w_untransposed_is_refused():
    ind = topic.bptt_induction(2)
    wrong = sp.MatAdd(topic._output_error(topic.t, 2, 2),
                      sp.MatMul(topic._W(2), topic._slopes(topic.t + 1, 2), topic._g(topic.t + 1, 2), evaluate=False),
                      evaluate=False)
    bad = _planted(ind, "step", 3, wrong)
    with pytest.raises(StepError, match=r"rnn_bptt_all_t_n2_step, step 3"):
        bad.check()


def test_every_parameter_entry_against_mp_differences():
    """All 16 entries of ∂L/∂θ at τ = 2, n = 2 (not only the published ones) against 40 digits."""
    S = topic.RESULT_SIZES
    loss, _, _ = topic.forward_symbolic(S["T"], S["n"], S["m"], S["q"])
    p = topic.model_symbols(S["T"], S["n"], S["m"], S["q"])
    grads = topic.bptt_symbolic(S["T"], S["n"], S["m"], S["q"])
    where = {ys[-1]: 1 - sum(ys[:-1]) for ys in p["y"]}
    loss_w = loss.subs(where)
    rng = np.random.default_rng(7)
    syms = sorted(loss_w.free_symbols, key=str)
    point = [rng.normal() for _ in syms]
    f = sp.lambdify(syms, loss_w, "mpmath")  # one compiled loss; a 4-point difference at 40 digits
    with mpmath.workdps(40):
        step = mpmath.mpf("1e-15")
        for name in ("W", "U", "b", "V", "c", "h0"):
            for a, b in itertools.product(range(p[name].rows), range(p[name].cols)):
                at = syms.index(p[name][a, b])
                def shifted(dx):
                    x = [mpmath.mpf(v) for v in point]
                    x[at] += dx
                    return f(*x)
                want = float((8 * (shifted(step) - shifted(-step)) - (shifted(2 * step) - shifted(-2 * step))) / (12 * step))
                got = float(sp.lambdify(syms, grads[name][a, b].subs(where))(*point))
                assert close(got, want), (name, a, b, got, want)


def _loss_here(flat, shapes, xs, ys):
    """The RNN loss written again here, for autograd (−Σ y log softmax(o))."""
    p, at = {}, 0
    for name, shape in shapes:
        size = int(np.prod(shape))
        p[name] = anp.reshape(flat[at:at + size], shape)
        at += size
    h, total = p["h0"], 0.0
    for x, y in zip(xs, ys):
        h = anp.tanh(p["b"] + anp.dot(p["W"], h) + anp.dot(p["U"], x))
        o = p["c"] + anp.dot(p["V"], h)
        total = total - anp.sum(y * (o - anp.log(anp.sum(anp.exp(o)))))
    return total


@pytest.mark.parametrize("steps, hidden", [(1, 2), (5, 3), (20, 8)])
def test_backward_against_autograd(steps, hidden):
    rng = np.random.default_rng(steps)
    p = topic.init_params(hidden, 2, 3, rng)
    xs = rng.normal(size=(steps, 2))
    ys = np.eye(3)[rng.integers(0, 3, size=steps)]
    shapes = [(k, np.shape(p[k])) for k in ("W", "U", "V", "b", "c", "h0")]
    flat = np.concatenate([np.ravel(p[k]) for k, _ in shapes])
    want = autograd.grad(_loss_here)(flat, shapes, xs, ys)
    got = topic.backward(p, xs, ys)
    ours = np.concatenate([np.ravel(got[k]) for k, _ in shapes])
    np.testing.assert_allclose(ours, want, rtol=1e-9, atol=1e-12)
    assert close(topic.loss(p, xs, ys), float(_loss_here(flat, shapes, xs, ys)), rtol=1e-12)


def test_unrolled_products_equal_recursion():
    rng = np.random.default_rng(4)
    p = topic.init_params(4, 2, 3, rng)
    xs, ys = rng.normal(size=(9, 2)), np.eye(3)[rng.integers(0, 3, size=9)]
    assert np.allclose(topic.unrolled_hidden_gradient(p, xs, ys, 0), topic.backward(p, xs, ys)["h0"],
                       rtol=1e-12, atol=1e-14)


def test_erratum_10_21_printed_order_is_undefined():
    """The book's Wᵀ g diag(…) is (n×n)(n×1)(n×n): undefined for n ≥ 2; the corrected order is n×1."""
    with pytest.raises(sp.ShapeError):
        topic.eq_10_21_printed(2)
    assert topic.eq_10_21_printed(1).shape == (1, 1)
    assert topic.eq_10_21_corrected(3).shape == (3, 1)
    assert topic.erratum_10_21().passed
    # and the corrected order is the recursion: compare with numbers at n = 3
    rng = np.random.default_rng(0)
    Wn, g, hn = rng.normal(size=(3, 3)), rng.normal(size=3), np.tanh(rng.normal(size=3))
    fd = np.array([(np.tanh(Wn @ (e * 1e-7) + np.arctanh(hn)) - np.tanh(Wn @ (-e * 1e-7) + np.arctanh(hn)))
                   / 2e-7 for e in np.eye(3)]).T  # ∂h(t+1)/∂h(t) by differences
    assert np.allclose(fd.T @ g, Wn.T @ np.diag(1 - hn ** 2) @ g, atol=1e-8)


def test_a_transposed_jacobian_fails_the_check():
    """W_ji instead of W_ij (the slip that eq. 10.21's printed order invites): the checker refuses it."""
    good = topic.one_step_derivation()
    bad = topic.Derivation("bad_one_step", "wrong", good.steps[0].expr, definitions=good.definitions,
                           instances=good.instances[1:2])  # n = 2, i = 1, j = 2
    bad.step((1 - topic.h_t[topic.i] ** 2) * topic.W[topic.j, topic.i], "slip")
    with pytest.raises(StepError, match="bad_one_step, step 1"):
        bad.check()


def test_wrong_result_fails_numeric_crosscheck():
    r = topic.results()[0]
    wrong = topic.Result(r.of, r.wrt, -r.expr, r.where)
    assert not topic.crosscheck([wrong], points=1).passed


def test_gamma_refuses_a_wrong_slope_identity(monkeypatch):
    monkeypatch.setitem(topic._SLOPE_OF_VALUE, "tanh", (1 - topic._U**3, (-1, 1)))
    with pytest.raises(topic.DerivationError, match="is not"):
        topic._gamma("tanh")


@pytest.mark.parametrize("activation, gam", [("tanh", 1), ("sigmoid", sp.Rational(1, 4))])
def test_gamma(activation, gam):
    assert topic.gamma(activation) == gam
    z = np.linspace(-6, 6, 2001)
    slope = 1 - np.tanh(z) ** 2 if activation == "tanh" else np.exp(-z) / (1 + np.exp(-z)) ** 2
    assert abs(slope.max() - float(gam)) < 1e-9


@pytest.mark.parametrize("lam", [0.5, 1.0, 1.7])
def test_jacobian_norms_against_finite_differences_and_bound(lam):
    rng = np.random.default_rng(int(lam * 10))
    W = topic.scaled_orthogonal(4, lam, rng)
    xs = rng.normal(size=(6, 4))
    hs = topic.run_rnn(W, xs)
    norms = topic.jacobian_norms(W, hs)
    # ∂h(τ)/∂h(τ−3) by central differences of the run restarted at step τ−3
    def tail(h):
        for x in xs[3:]:
            h = np.tanh(W @ h + x)
        return h
    J = np.array([(tail(hs[3] + 1e-6 * e) - tail(hs[3] - 1e-6 * e)) / 2e-6 for e in np.eye(4)]).T
    assert abs(norms[3] - np.linalg.norm(J, 2)) < 1e-7
    assert np.all(norms <= lam ** np.arange(7) * (1 + 1e-12))


def test_bound_table_passes():
    assert topic.bound_table().passed


@pytest.mark.parametrize("steps", [1, 4])
def test_symbolic_jacobian_product(steps):
    out = topic.check_jacobian_product(steps, 2)
    assert out["monomials"] == 4 * 2 ** (steps - 1)


def test_bad_input_one_line_errors():
    rng = np.random.default_rng(0)
    p = topic.init_params(3, 2, 2, rng)
    cases = [(lambda: topic.forward(p, np.zeros((0, 2))), "T >= 1"),
             (lambda: topic.backward(p, np.zeros((2, 2)), np.ones((2, 2))), "sum to one"),
             (lambda: topic.backward(p, np.zeros((2, 2)), np.ones((3, 2)) / 2), "targets ys must have shape"),
             (lambda: topic.jacobian_norms(np.zeros((2, 3)), np.zeros((3, 2))), "square"),
             (lambda: topic.jacobian_norms(np.eye(2), np.zeros((3, 2)), "relu6"), "unknown activation"),
             (lambda: topic.check_jacobian_product(0), "steps >= 1"),
             (lambda: topic.norm_bound(np.eye(2), 0), "at least 1")]
    for call, needle in cases:
        with pytest.raises(ValueError, match=needle) as err:
            call()
        assert "\n" not in str(err.value)


def test_numeric_tables_pass():
    assert all(t.passed for t in topic.numeric_checks())


def test_the_displayed_norm_bound_is_the_one_evaluated_and_checked():
    """The page shows topic.NORM_BOUND; norm_bound() evaluates its right side (checked here
    against (γλ₁)^ℓ computed from NumPy's SVD), and bound_table compares it with measured norms."""
    assert isinstance(topic.NORM_BOUND, sp.LessThan)
    assert sp.simplify(topic.NORM_BOUND.rhs - (topic.GAMMA * topic.LAMBDA_1) ** topic.LAG) == 0
    W = np.random.default_rng(5).normal(size=(4, 4))
    lam = np.linalg.svd(W, compute_uv=False)[0]
    for activation, gam in (("tanh", 1.0), ("sigmoid", 0.25)):
        np.testing.assert_allclose(topic.norm_bound(W, 6, activation), (gam * lam) ** np.arange(7), rtol=1e-13)
    assert topic.bound_table().passed


@pytest.mark.parametrize("big", [20.0, 40.0, 350.0])
def test_backward_keeps_its_relative_precision_where_tanh_saturates(big):
    """One step with pre-activations ±big: ∂L/∂b = tanh'(a) ∘ Vᵀ(ŷ − y), each entry to a few ulps
    of mpmath's, where 1 − h² would give 0."""
    import mpmath as mp

    rng = np.random.default_rng(0)
    p = topic.init_params(3, 2, 3, rng)
    p["W"], p["h0"] = np.zeros((3, 3)), np.zeros(3)
    p["U"], p["b"] = np.array([[big, 0.0], [-big, 0.0], [0.5, 0.0]]), np.zeros(3)
    xs, ys = np.array([[1.0, 0.0]]), np.eye(3)[[1]]
    got = topic.backward(p, xs, ys)["b"]
    hs, yhats = topic.forward(p, xs)
    carried = p["V"].T @ (yhats[0] - ys[0])
    with mp.workdps(60):
        for r, a in enumerate((big, -big, 0.5)):
            ref = float(carried[r] / mp.cosh(mp.mpf(a)) ** 2)
            assert abs(got[r] - ref) <= 4e-16 * abs(ref) + 1e-300, (r, got[r], ref)


@pytest.mark.parametrize("lam", [0.5, 1.0, 1.7])
def test_sigmoid_jacobian_norms_against_finite_differences_and_bound(lam):
    """The sigmoid path of jacobian_norms (bound_table's second half, whose verdict is one-sided:
    a slope too small would still be under the bound): ‖∂h(τ)/∂h(τ−ℓ)‖₂ at every lag ℓ = 1 … τ
    against central differences of the run restarted at step τ − ℓ, with σ written here. W has
    every singular value λ/γ = 4λ, so γλ₁ = λ as in the tanh test and the norms are not tiny."""
    rng = np.random.default_rng(int(lam * 10) + 100)
    W = topic.scaled_orthogonal(4, 4 * lam, rng)
    xs = rng.normal(size=(6, 4))
    sig = lambda a: 1 / (1 + np.exp(-a))
    hs = topic.run_rnn(W, xs, activation="sigmoid")
    h = np.zeros(4)
    for t, x in enumerate(xs, 1):   # the run itself, with σ written here
        h = sig(W @ h + x)
        assert np.allclose(hs[t], h, rtol=1e-14, atol=0)
    norms = topic.jacobian_norms(W, hs, "sigmoid")
    assert norms.shape == (7,) and norms[0] == 1.0

    def tail(h, start):
        for x in xs[start:]:
            h = sig(W @ h + x)
        return h
    for lag in range(1, 7):
        start = 6 - lag   # ∂h(6)/∂h(start)
        J = np.array([(tail(hs[start] + 1e-6 * e, start) - tail(hs[start] - 1e-6 * e, start)) / 2e-6
                      for e in np.eye(4)]).T
        assert abs(norms[lag] - np.linalg.norm(J, 2)) < 1e-8, (lag, norms[lag], np.linalg.norm(J, 2))
    assert norms[1] > 0.05   # the check is not of numbers near 0
    assert np.all(norms <= lam ** np.arange(7) * (1 + 1e-12))
