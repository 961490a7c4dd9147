"""gumbel_max: every step checked, planted slips caught, samplers and tests against this file's oracles."""

from __future__ import annotations

import warnings

import mpmath
import numpy as np
import pytest
import sympy as sp

from derivations import gumbel_max as topic
from derivations.core import Change, Derivation, StepError, evaluate
from reference import close, mp_partial

DZ = (topic.z, -sp.oo, sp.oo)
TOTAL = sp.Sum(topic.pi[topic.i], (topic.i, 1, topic.n))
_KEEP = object()


# ---- the derivations ---------------------------------------------------------------------------

@pytest.mark.parametrize("d", topic.derivations(), ids=lambda d: d.name)
def test_every_step_holds(d):
    checks = d.check()
    assert len(checks) == len(d.steps) - 1 >= 1


def test_theorem_checked_for_n_2_to_5():
    sizes = {inst[topic.n] for inst in topic.theorem_derivation().instances}
    assert sizes == {2, 3, 4, 5}


def _copy(d, index=None, expr=None, *, change=_KEEP, instances=None):
    """``d`` rebuilt step by step with the same definitions (and instances), step ``index``
    replaced by ``expr`` (and its change of variables by ``change``, when given)."""
    out = Derivation(d.name + "_copy", d.title, d.steps[0].expr, definitions=d.definitions,
                     instances=d.instances if instances is None else instances, lhs=d.lhs)
    for k, st in enumerate(d.steps[1:], start=1):
        planted = k == index
        out.step(expr if planted else st.expr, st.why, given=st.given,
                 change=change if planted and change is not _KEEP else st.change)
    return out


def _caught_at(d, index):
    with pytest.raises(StepError) as err:
        d.check()
    assert err.value.index == index, str(err.value)


@pytest.mark.parametrize("make, index", [
    (topic.theorem_derivation, 4), (topic.theorem_derivation, 3), (topic.difference_derivation, 5),
    (topic.difference_derivation, 4), (topic.sampler_derivation, 4),
    (lambda: topic.cold_limit_derivations()[2], 1)], ids=["theorem-4", "theorem-3", "difference-5",
                                                          "difference-4", "sampler-4", "tie-1"])
def test_copy_with_the_published_step_checks(make, index):
    """The control for the planted slips below: the same copy with the step as published passes,
    so what they catch is the slip, not the copying."""
    d = make()
    step = d.steps[index]
    assert _copy(d, index, step.expr, change=step.change).check()


def test_theorem_holds_for_a_middle_winner():
    """k strictly between 1 and n (both partial products non-empty) is not among the published
    instances; the same chain must hold there too."""
    d = _copy(topic.theorem_derivation(), instances=[{topic.n: 3, topic.k: 2}, {topic.n: 4, topic.k: 3},
                                                      {topic.n: 5, topic.k: 3}])
    assert len(d.check()) == 4


def test_theorem_last_step_without_the_normaliser_is_caught():
    _caught_at(_copy(topic.theorem_derivation(), 4, topic.pi[topic.k]), 4)


def test_substitution_without_the_jacobian_factor_is_caught():
    """t = e^{-z} applied to an integrand that lacks e^{-z}: the transformed integrand carries 1/t."""
    th = topic.theorem_derivation()
    sub = th.steps[3]
    d = Derivation("no_jacobian", th.title, sp.Integral(topic.pi[topic.k] * sp.exp(-sp.exp(-topic.z) * TOTAL), DZ),
                   definitions=th.definitions, instances=th.instances)
    d.step(sub.expr, sub.why, change=sub.change)
    _caught_at(d, 1)


@pytest.mark.parametrize("new", [sp.exp(topic.z), 2 * sp.exp(-topic.z), sp.exp(-2 * topic.z),
                                 sp.exp(-topic.z) + 1],
                         ids=["t=e^z", "t=2e^-z", "t=e^-2z", "t=e^-z+1"])
def test_substitution_with_the_wrong_change_is_caught(new):
    d = _copy(topic.theorem_derivation(), 3, topic.theorem_derivation().steps[3].expr,
              change=Change(topic.z, topic.t, new))
    _caught_at(d, 3)


def test_difference_claimed_as_sigma_of_minus_x_is_caught():
    _caught_at(_copy(topic.difference_derivation(), 5, topic.sigma(-topic.x)), 5)


def test_difference_claimed_as_one_over_one_plus_exp_x_is_caught():
    _caught_at(_copy(topic.difference_derivation(), 4, 1 / (1 + sp.exp(topic.x))), 4)


@pytest.mark.parametrize("wrong", [-sp.log(sp.log(topic.U)), sp.log(-sp.log(topic.U)), -sp.log(topic.U)],
                         ids=["-log(log U)", "log(-log U)", "-log U"])
def test_wrong_sampler_step_is_caught(wrong):
    _caught_at(_copy(topic.sampler_derivation(), 4, wrong), 4)


def test_cold_tie_claimed_as_one_is_caught():
    _caught_at(_copy(topic.cold_limit_derivations()[2], 1, sp.Integer(1)), 1)


def test_integrals_with_different_integrands_are_refused():
    """A step between two integrals over z whose integrands differ: a sign slip in the k-th
    exponent (the integrals differ) and dropping the k-th factor F(z − a_k)."""
    th, a, F, i, k, n, z = (topic.theorem_derivation(), topic.a, topic.F, topic.i, topic.k, topic.n,
                            topic.z)
    sign = sp.Integral(topic._mul(sp.exp(-(z + a[k])), sp.Product(F(z - a[i]), (i, 1, n))), DZ)
    dropped = sp.Integral(topic._mul(sp.exp(-(z - a[k])), sp.Product(F(z - a[i]), (i, 1, k - 1)),
                                     sp.Product(F(z - a[i]), (i, k + 1, n))), DZ)
    for wrong in (sign, dropped):
        _caught_at(_copy(th, 1, wrong), 1)


def test_integrals_with_different_integrands_are_refused_even_when_equal():
    """The checker compares integrands over a shared range; it never accepts a step by calling two
    different integrands' integrals equal (here z ↦ z + 1, a shift that keeps the value)."""
    th = topic.theorem_derivation()
    s2 = th.steps[2].expr
    _caught_at(_copy(th, 2, sp.Integral(s2.function.xreplace({topic.z: topic.z + 1}), s2.limits)), 2)


# ---- the statements the chains start from and end at, against quadrature written here ---------

def _mp_gumbel_cdf(v):
    return mpmath.exp(-mpmath.exp(-v))


def _mp_gumbel_pdf(v):
    return mpmath.exp(-v) * mpmath.exp(-mpmath.exp(-v))


@pytest.mark.parametrize("size, kk", [(2, 1), (3, 2), (4, 4)])
def test_theorem_start_and_result_against_quadrature(size, kk):
    """P(argmax(a + g) = k) = ∫ f(z − a_k) Π_{i≠k} F(z − a_i) dz by mpmath quadrature of the
    integrand written here, equal to π_k/Σπ; the module's start and result agree with both."""
    th = topic.theorem_derivation()
    rng = np.random.default_rng(size)
    w = rng.uniform(0.1, 3.0, size=size)
    start = evaluate(th.steps[0].expr, th.definitions, {topic.n: size, topic.k: kk})
    assert isinstance(start, sp.Integral) and start.limits == (DZ,)
    pis = [topic.pi[r] for r in range(1, size + 1)]
    module_integrand = sp.lambdify([topic.z, *pis], start.function, "mpmath")
    result = float(evaluate(th.result, {}, {topic.n: size, topic.k: kk}).xreplace(dict(zip(pis, w))))
    with mpmath.workdps(30):
        a_ = [mpmath.log(mpmath.mpf(v)) for v in w]

        def integrand(zv):
            out = _mp_gumbel_pdf(zv - a_[kk - 1])
            for r in range(size):
                if r != kk - 1:
                    out *= _mp_gumbel_cdf(zv - a_[r])
            return out

        for zv in (-3.0, -0.5, 0.0, 1.2, 4.0):
            assert close(float(module_integrand(zv, *w)), float(integrand(zv)), rtol=1e-13)
        # below z = −15 the integrand is under exp(−0.2·e¹⁵) (and mpmath would chase its exponent)
        prob = float(mpmath.quad(integrand, [-15, -5, 0, 5, mpmath.inf]))
    want = w[kk - 1] / w.sum()
    assert close(prob, want, rtol=1e-12)
    assert close(result, want, rtol=1e-13)


@pytest.mark.parametrize("xv", [-2.5, 0.0, 0.7, 3.0])
def test_difference_start_and_result_against_quadrature(xv):
    d = topic.difference_derivation()
    start = evaluate(d.steps[0].expr, d.definitions)
    module_integrand = sp.lambdify([topic.s, topic.x], start.function, "mpmath")
    with mpmath.workdps(30):
        for sv in (-2.0, 0.3, 1.5):
            assert close(float(module_integrand(sv, xv)), float(_mp_gumbel_pdf(sv) * _mp_gumbel_cdf(xv + sv)),
                         rtol=1e-13)
        prob = mpmath.quad(lambda sv: _mp_gumbel_pdf(sv) * _mp_gumbel_cdf(xv + sv), [-15, -5, 0, 5, mpmath.inf])
        want = 1 / (1 + mpmath.exp(-xv))
    assert close(float(prob), float(want), rtol=1e-12)
    assert close(float(evaluate(d.result, d.definitions).subs(topic.x, xv)), float(want), rtol=1e-13)


def test_cold_tie_start_tends_to_one_over_m():
    """The tie's softmax entry at a small temperature, evaluated here, is near the claimed 1/m."""
    tie = topic.cold_limit_derivations()[2]
    for size, mm in ((4, 2), (5, 3)):
        lim = evaluate(tie.steps[0].expr, tie.definitions, {topic.n: size, topic.m: mm})
        assert isinstance(lim, sp.Limit)
        gaps = {topic.d[r]: sp.Rational(1, 2) + r for r in range(mm + 1, size + 1)}
        near = lim.args[0].xreplace(gaps).subs(topic.tau, sp.Rational(1, 100))
        assert abs(float(near) - 1 / mm) < 1e-20


# ---- samplers ---------------------------------------------------------------------------------

class _ExtremeIntegers:
    """A generator stand-in whose integers are the ends of uniform_open's grid {0, …, 2⁵² − 1}."""

    KS = np.array([0, 1, 2**51 - 1, 2**51, 2**52 - 2, 2**52 - 1], dtype=np.int64)

    def integers(self, low, high, size=None, dtype=None):
        assert (low, high) == (0, 2**52)
        return np.resize(self.KS, size)


def test_gumbel_from_uniform_finite_at_the_grid_ends():
    """The smallest U, 2⁻⁵³, and the largest, 1 − 2⁻⁵³ (the double just below 1), give finite samples."""
    g = topic.gumbel_from_uniform([0.5 / 2**52, np.nextafter(1.0, 0.0)])
    assert np.isfinite(g).all()
    with mpmath.workdps(40):
        assert close(g[1], float(-mpmath.log(-mpmath.log(1 - mpmath.mpf(2) ** -53))), rtol=1e-15)


def test_gumbel_from_uniform_quiet_at_the_smallest_u():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert np.isfinite(topic.gumbel_from_uniform(0.5 / 2**52))


def test_uniform_open_strictly_inside_at_the_extremes():
    u = topic.uniform_open(_ExtremeIntegers(), 6)
    assert ((u > 0) & (u < 1)).all(), u.tolist()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert np.isfinite(topic.sample_gumbel(_ExtremeIntegers(), 6)).all()
        assert np.isfinite(topic.logistic_noise(_ExtremeIntegers(), 6)).all()


def test_uniform_open_strictly_inside():
    u = topic.uniform_open(np.random.default_rng(3), 1_000_000)
    assert u.min() > 0 and u.max() < 1
    assert np.isfinite(topic.sample_gumbel(np.random.default_rng(4), 100_000)).all()
    assert np.isfinite(topic.logistic_noise(np.random.default_rng(5), 100_000)).all()


@pytest.mark.parametrize("u", [1e-300, 2.0**-54, 1e-10, 0.1, 0.25, 0.5, 0.5000001, 0.7, 0.9, 0.999,
                               1 - 1e-8, 1 - 1e-12, float(np.nextafter(1.0, 0.0))])
def test_gumbel_from_uniform_against_mpmath(u):
    with mpmath.workdps(40):
        want = float(-mpmath.log(-mpmath.log(mpmath.mpf(u))))  # mpf(u) is the double exactly
    got = topic.gumbel_from_uniform(u)
    assert abs(got - want) <= 1e-15 * abs(want), (got, want)
    assert topic.gumbel_from_uniform(np.array([u, u]))[1] == got


def test_sample_gumbel_moments():
    """Mean γ (Euler) and variance π²/6 of the standard Gumbel (5 standard errors)."""
    g = topic.sample_gumbel(np.random.default_rng(7), 400_000)
    se = np.sqrt(np.pi**2 / 6 / g.size)
    assert abs(g.mean() - float(mpmath.euler)) < 5 * se
    assert abs(g.var() - np.pi**2 / 6) < 5 * np.sqrt((27 / 5 - 1) * (np.pi**2 / 6) ** 2 / g.size)


def test_zero_weight_class_never_drawn():
    draws = topic.gumbel_max_sample([0.0, 1.0, 2.0], np.random.default_rng(8), 50_000)
    assert draws.min() >= 1 and set(np.unique(draws)) == {1, 2}


# ---- goodness-of-fit tests ----------------------------------------------------------------------

def _pearson(counts, weights):
    total = sum(counts)
    expected = [total * w / sum(weights) for w in weights]
    return sum((c - e) ** 2 / e for c, e in zip(counts, expected))


@pytest.mark.parametrize("counts, weights", [([230, 310, 460], [2, 3, 5]), ([500, 300, 200], [0.2, 0.3, 0.5]),
                                             ([41, 33, 26], [1, 1, 1])])
def test_chi_square_two_degrees_of_freedom(counts, weights):
    stat, df, p = topic.chi_square(counts, weights)
    want = _pearson(counts, weights)
    assert df == 2 and close(stat, want, rtol=1e-13)
    with mpmath.workdps(30):
        assert close(p, float(mpmath.exp(-mpmath.mpf(want) / 2)), rtol=1e-12, atol=0)


@pytest.mark.parametrize("counts, weights", [([12, 25, 33, 70, 60], [0.05, 0.1, 0.15, 0.3, 0.4]),
                                             ([100, 0, 0, 0, 100], [1, 1, 1, 1, 1])])
def test_chi_square_four_degrees_of_freedom(counts, weights):
    stat, df, p = topic.chi_square(counts, weights)
    want = _pearson(counts, weights)
    assert df == 4 and close(stat, want, rtol=1e-13)
    with mpmath.workdps(30):
        x = mpmath.mpf(want)
        assert close(p, float(mpmath.exp(-x / 2) * (1 + x / 2)), rtol=1e-12, atol=0)


def _brute_ks(samples, cdf):
    """sup |F_N − F| from the empirical CDF's two one-sided limits at every sample, by counting."""
    worst = 0.0
    for v in samples:
        right = sum(1 for w in samples if w <= v) / len(samples)
        left = sum(1 for w in samples if w < v) / len(samples)
        worst = max(worst, abs(right - cdf(v)), abs(left - cdf(v)))
    return worst


def _mp_kolmogorov_sf(lam):
    """P(K > λ) of the asymptotic Kolmogorov law: the alternating series where it converges fast,
    and 1 − the theta-function form √(2π)/λ Σ exp(−(2r − 1)²π²/(8λ²)) for small λ."""
    with mpmath.workdps(30):
        lam = mpmath.mpf(lam)
        if lam >= 0.5:
            return float(2 * mpmath.nsum(lambda r: (-1) ** (r - 1) * mpmath.exp(-2 * r**2 * lam**2), [1, mpmath.inf]))
        return float(1 - mpmath.sqrt(2 * mpmath.pi) / lam
                     * mpmath.nsum(lambda r: mpmath.exp(-(2 * r - 1) ** 2 * mpmath.pi**2 / (8 * lam**2)), [1, mpmath.inf]))


@pytest.mark.parametrize("ties", [False, True])
def test_ks_statistic_against_brute_force(ties):
    rng = np.random.default_rng(12)
    xs = rng.gumbel(size=300)
    if ties:
        xs = np.round(xs, 1)
    cdf = lambda v: float(np.exp(-np.exp(-v)))  # noqa: E731
    D, p = topic.ks_test(xs, lambda v: np.exp(-np.exp(-v)))
    want = _brute_ks(list(xs), cdf)
    assert close(D, want, rtol=1e-12)
    assert close(p, _mp_kolmogorov_sf(np.sqrt(xs.size) * want), rtol=1e-9, atol=1e-12)


def test_kolmogorov_reference_value():
    """The oracle itself: P(K > 1.36) ≈ 0.0495 (the classic 5 % critical value), by both forms."""
    assert abs(_mp_kolmogorov_sf(1.36) - 0.0495) < 1e-4
    with mpmath.workdps(30):
        lam = mpmath.mpf("0.6")
        theta = 1 - mpmath.sqrt(2 * mpmath.pi) / lam * mpmath.nsum(
            lambda r: mpmath.exp(-(2 * r - 1) ** 2 * mpmath.pi**2 / (8 * lam**2)), [1, mpmath.inf])
    assert close(_mp_kolmogorov_sf(0.6), float(theta), rtol=1e-12)


@pytest.mark.parametrize("lam", [0.6, 1.0, 1.36, 2.0])
def test_ks_p_value_at_designed_statistic(lam):
    """Samples at the midpoints (r − ½)/N against the CDF v ↦ v + δ: D = ½/N + δ exactly, so
    √N·D is the chosen λ."""
    N = 10_000
    delta = lam / np.sqrt(N) - 0.5 / N
    xs = (np.arange(1, N + 1) - 0.5) / N
    D, p = topic.ks_test(xs, lambda v: np.clip(v + delta, 0.0, 1.0))
    assert close(D, lam / np.sqrt(N), rtol=1e-9)
    assert close(p, _mp_kolmogorov_sf(lam), rtol=1e-8)
    if lam == 1.36:
        assert abs(p - 0.0495) < 1e-4


def test_ks_p_value_of_a_perfect_fit():
    N = 10_000
    D, p = topic.ks_test((np.arange(1, N + 1) - 0.5) / N, lambda v: v)
    assert close(D, 0.5 / N, rtol=1e-9)
    assert p > 0.99, p


# ---- Monte Carlo table ----------------------------------------------------------------------------

def _chi_rows(table):
    return [r for r in table.rows if "chi-square" in r["against"]]


def test_monte_carlo_table_passes_for_the_module_sampler():
    table = topic.monte_carlo_table()
    assert table.passed and len(_chi_rows(table)) == 3 and len(table.rows) == 6


def test_monte_carlo_table_passes_for_an_independent_correct_sampler():
    """The control: argmax(log π + g) with NumPy's own Gumbel noise passes the same rows."""
    def numpy_gumbel_max(probs, rng, size):
        return np.argmax(np.log(np.asarray(probs)) + rng.gumbel(size=(size, len(probs))), axis=1)

    assert all(r["passed"] for r in _chi_rows(topic.monte_carlo_table(sampler=numpy_gumbel_max, seed=2)))


def test_monte_carlo_table_fails_for_argmax_of_pi_plus_g():
    """argmax(π + g) draws softmax(π), not π: every chi-square row must fail."""
    def wrong(probs, rng, size):
        return np.argmax(np.asarray(probs) + rng.gumbel(size=(size, len(probs))), axis=1)

    table = topic.monte_carlo_table(sampler=wrong)
    chi = _chi_rows(table)
    assert len(chi) == 3 and not any(r["passed"] for r in chi)
    assert all(r["p-value"] < 1e-10 for r in chi)
    assert not table.passed


# ---- bad input ------------------------------------------------------------------------------------

@pytest.mark.parametrize("bad", [[0.2, -0.3, 0.5], [0.2, np.nan, 0.5], [0.0, 0.0, 0.0], [[0.2, 0.8], [0.5, 0.5]],
                                 [1.0], [], [np.inf, 1.0]],
                         ids=["negative", "nan", "all-zero", "2-D", "one-class", "empty", "inf"])
def test_bad_weights_give_one_clear_error(bad):
    for call in (lambda: topic.gumbel_max_sample(bad, np.random.default_rng(0), 10),
                 lambda: topic.check_weights(bad),
                 lambda: topic.chi_square(np.ones(np.size(bad)), bad)):
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            with pytest.raises(ValueError, match="class weights must") as err:
                call()
        assert "\n" not in str(err.value)


# ---- results --------------------------------------------------------------------------------------

def test_results_against_mp_differences():
    rng = np.random.default_rng(11)
    rs = topic.results()
    assert len(rs) == 2 + 9
    for r in rs:
        for _ in range(3):
            point = {s: rng.normal() for s in (r.of.free_symbols | r.expr.free_symbols)}
            want = mp_partial(r.of, r.wrt, point)
            got = float(r.expr.subs(point))
            assert close(got, want), (r.name, r.wrt, got, want)


def test_density_and_sigmoid_results_against_closed_forms():
    """F(x) = exp(−e^{−x}) with F' = e^{−x} F, σ(x) = 1/(1 + e^{−x}) with σ' = e^{−x}/(1 + e^{−x})²."""
    rF, rs = topic.results()[:2]
    for xv in (-2.0, -0.3, 0.0, 1.1, 4.0):
        e = np.exp(-xv)
        assert close(float(rF.of.subs(topic.x, xv)), np.exp(-e), rtol=1e-14)
        assert close(float(rF.expr.subs(topic.x, xv)), e * np.exp(-e), rtol=1e-14)
        assert close(float(rs.of.subs(topic.x, xv)), 1 / (1 + e), rtol=1e-14)
        assert close(float(rs.expr.subs(topic.x, xv)), e / (1 + e) ** 2, rtol=1e-13)


def test_softmax_jacobian_results_at_n_3():
    """d/da_j exp(a_k)/Σ exp(a), written here, against the published expression for every (k, j),
    by mp differences and by the closed form p_k(δ_kj − p_j) in NumPy."""
    A = topic.A
    rs = {(r.name, r.wrt): r for r in topic.results()[2:]}
    assert len(rs) == 9
    rng = np.random.default_rng(21)
    for _ in range(3):
        av = rng.normal(size=3) * 2
        point = dict(zip(A, av))
        p = np.exp(av - av.max()) / np.exp(av - av.max()).sum()
        for kk in range(3):
            mine = sp.exp(A[kk]) / (sp.exp(A[0]) + sp.exp(A[1]) + sp.exp(A[2]))
            for jj in range(3):
                r = rs[(f"P_{{{kk + 1}}}", A[jj])]
                assert close(float(r.of.subs(point)), p[kk], rtol=1e-13)
                got = float(r.expr.subs(point))
                assert close(got, mp_partial(mine, A[jj], point)), (kk, jj)
                assert close(got, p[kk] * ((kk == jj) - p[jj]), rtol=1e-12, atol=1e-15), (kk, jj)


def test_numeric_tables_pass_and_use_two_oracles():
    tables = topic.numeric_checks()
    assert len(tables) == 2 and all(t.passed for t in tables)
    oracles = [r["oracle"] for r in tables[0].rows]
    assert any("autograd" in o for o in oracles) and any("mpmath" in o or "complex" in o for o in oracles)
    assert all(r["evaluations"] == 11 * 5 for r in tables[0].rows)


def test_chi_square_with_a_zero_weight_class_and_mismatched_counts():
    """A class of weight 0 leaves the statistic and one degree of freedom; a count in it is
    impossible (p = 0); counts and weights of different lengths are one clear error."""
    stat, df, p = topic.chi_square([30, 0, 70], [0.3, 0.0, 0.7])
    assert (stat, df) == (0.0, 1) and p == 1.0
    assert topic.chi_square([30, 1, 69], [0.3, 0.0, 0.7])[2] == 0.0
    with pytest.raises(ValueError, match="3 counts for 2 classes"):
        topic.chi_square([1, 2, 3], [0.5, 0.5])
