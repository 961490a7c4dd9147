"""gumbel_softmax: every step symbolically, planted mistakes caught, every number against this
file's own oracles (Jang et al. eq. 3 and a torch-style log-density typed here, mpmath
differences and quadrature, an explicit enumeration of E[f(z)])."""

from __future__ import annotations

import math

import mpmath
import numpy as np
import pytest
import sympy as sp

from derivations import gumbel_max
from derivations import gumbel_softmax as topic
from derivations.core import Derivation, StepError, evaluate
from reference import close, mp_partial

# ---- oracles written here (none of them calls the module's formulas) ---------------------------


def softmax(v):
    """softmax along the last axis, shifted by the maximum."""
    v = np.asarray(v, dtype=float)
    e = np.exp(v - v.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def jang_eq3(yv, probs, T):
    """Jang et al. eq. 3 in mpmath: Γ(n) τ^{n−1} (Σ_i π_i y_i^{−τ})^{−n} Π_i π_i y_i^{−τ−1}."""
    yv = [mpmath.mpf(v) for v in yv]
    probs = [mpmath.mpf(v) for v in probs]
    T = mpmath.mpf(T)
    size = len(yv)
    total = mpmath.fsum(p * v ** (-T) for p, v in zip(probs, yv))
    prod = mpmath.fprod(p * v ** (-T - 1) for p, v in zip(probs, yv))
    return mpmath.gamma(size) * T ** (size - 1) * total ** (-size) * prod


def torch_style_log_prob(yv, probs, T):
    r"""log p(y) the way torch.distributions.RelaxedOneHotCategorical computes it, in mpmath.

    torch samples x = log y from ExpRelaxedCategorical, whose log_prob is
        lgamma(K) + (K − 1) log τ + Σ_k log_softmax(logits − τ x)_k,
    and pushes it through y = exp(x) (ExpTransform), subtracting log|det| = Σ_k x_k over all K
    entries. Why all K (and not only the K − 1 free coordinates): the ExpConcrete density of
    Maddison et al. is a density in the log-ratio coordinates v_k = x_k − x_K (k < K), and
    |det ∂v/∂y_{1:K−1}| = Π_{k=1}^{K} 1/y_k (the module's determinant with τ = 1: each v_k
    depends on y_K = 1 − Σ y_j too). So log p(y) = ExpConcrete(x) − Σ_{k=1}^{K} x_k; expanding
    log_softmax gives Σ_k (log π_k − τ x_k) − K logsumexp(log π − τ x), and exponentiating
    reproduces eq. 3 exactly (asserted below against ``jang_eq3``). log_softmax is unchanged by
    shifting the logits, so un-normalised π is fine.
    """
    xs = [mpmath.log(mpmath.mpf(v)) for v in yv]
    logits = [mpmath.log(mpmath.mpf(p)) for p in probs]
    T = mpmath.mpf(T)
    K = len(xs)
    score = [a - T * x for a, x in zip(logits, xs)]
    top = max(score)
    lse = top + mpmath.log(mpmath.fsum(mpmath.exp(sc - top) for sc in score))
    log_softmax_sum = mpmath.fsum(sc - lse for sc in score)
    return mpmath.loggamma(K) + (K - 1) * mpmath.log(T) + log_softmax_sum - mpmath.fsum(xs)


def mp_relaxed(perturbed, T):
    """softmax(perturbed/τ) at 50 digits (no overflow, −inf entries allowed): the reference for
    the sampler at extreme τ and logits. ``perturbed`` is the float vector l + g itself."""
    with mpmath.workdps(50):
        s = [mpmath.mpf(v) / mpmath.mpf(T) for v in perturbed]
        top = max(s)
        e = [mpmath.exp(v - top) if v != -mpmath.inf else mpmath.mpf(0) for v in s]
        tot = mpmath.fsum(e)
        return np.array([float(v / tot) for v in e])


def first_argmax(row):
    """The first index of the largest entry, by a plain loop."""
    best = 0
    for k, v in enumerate(row):
        if v > row[best]:
            best = k
    return best


# ---- 1. every derivation checks, at the sizes the issue asks for --------------------------------


@pytest.mark.parametrize("d", topic.derivations(), ids=lambda d: d.name)
def test_every_step_holds(d):
    checks = d.check()
    assert len(checks) == len(d.steps) - 1 >= 2


def test_checked_at_the_required_sizes():
    jac = topic.jacobian_derivation().instances
    assert {inst[topic.n] for inst in jac} == {2, 3, 4, 5}
    # a diagonal and an off-diagonal entry at every size
    for size in (2, 3, 4, 5):
        at = [inst for inst in jac if inst[topic.n] == size]
        assert any(inst[topic.i] == inst[topic.j] for inst in at)
        assert any(inst[topic.i] != inst[topic.j] for inst in at)
        assert all(1 <= inst[topic.i] <= size and 1 <= inst[topic.j] <= size for inst in at)
    assert {inst[topic.n] for inst in topic.tau_derivation().instances} >= {2, 3, 4}
    names = {d.name for d in topic.derivations()}
    assert {f"concrete_determinant_{v}" for v in (2, 3, 4)} <= names
    for d in (topic.log_ratio_density_derivation(), topic.inverse_derivation(), topic.density_derivation()):
        assert {inst[topic.n] for inst in d.instances} == {2, 3, 4}, d.name
    # the ratios need no size: checked with n and i symbolic, or else at n = 2, 3, 4
    ratio = topic.ratio_derivation().instances
    assert ratio == [{}] or {inst[topic.n] for inst in ratio} == {2, 3, 4}


def test_determinant_is_a_real_determinant_of_the_stated_size():
    """The start of the determinant derivation at size k is a (k−1)×(k−1) determinant of ∂u/∂y."""
    for size in (2, 3, 4):
        start = topic.determinant_derivation(size).steps[0].expr
        assert isinstance(start, sp.Determinant)
        assert start.arg.shape == (size - 1, size - 1)


# ---- 2. planted mistakes are caught ---------------------------------------------------------------


def planted(d: Derivation, k: int, expr) -> Derivation:
    """A copy of ``d`` (same start, definitions, instances, reasons, conditions, changes of
    variables) whose step ``k`` is ``expr``."""
    copy = Derivation(d.name + "_planted", d.title, d.steps[0].expr, definitions=d.definitions,
                      instances=d.instances, lhs=d.lhs)
    for idx, st in enumerate(d.steps[1:], start=1):
        copy.step(expr if idx == k else st.expr, st.why, given=st.given, change=st.change)
    return copy


def assert_caught(d: Derivation, k: int, expr):
    with pytest.raises(StepError) as err:
        planted(d, k, expr).check()
    # caught exactly at the planted step: every step before it (unchanged) still checked
    assert err.value.index == k
    assert "the two sides differ" in str(err.value)


y, i, j, m, n, s, tau = topic.y, topic.i, topic.j, topic.m, topic.n, topic.s, topic.tau
delta = sp.KroneckerDelta


def test_jacobian_sign_flip_in_last_step_is_caught():
    assert_caught(topic.jacobian_derivation(), 3, -y[i] * (delta(i, j) - y[j]) / tau)


def test_jacobian_without_one_over_tau_is_caught():
    """y_i(δ_ij − y_j) is the plain softmax Jacobian: wrong here by the factor 1/τ."""
    assert_caught(topic.jacobian_derivation(), 3, y[i] * (delta(i, j) - y[j]))


def test_jacobian_wrong_middle_step_is_caught():
    """∂s_m/∂l_j written as δ_mj (the 1/τ dropped in the second of three steps)."""
    sc = topic.softmax_ce
    jac = sc.jacobian_derivation().result.xreplace({sc.yhat[sc.k]: y[i], sc.yhat[sc.i]: y[m],
                                                    sc.k: i, sc.i: m})
    assert_caught(topic.jacobian_derivation(), 2, sp.Sum(jac * delta(m, j), (m, 1, n)))


def test_dtau_wrong_sign_is_caught():
    assert_caught(topic.tau_derivation(), 3, y[i] * (s[i] - sp.Sum(y[m] * s[m], (m, 1, n))) / tau)


def test_density_without_tau_power_is_caught():
    assert_caught(topic.density_derivation(), 2, topic.JANG_EQ3 / tau ** (n - 1))


@pytest.mark.parametrize("size", [2, 3, 4])
def test_determinant_without_tau_power_is_caught(size):
    ys, _ = topic._free_coordinates(size)
    d = topic.determinant_derivation(size)
    assert d.result == tau ** (size - 1) * sp.Mul(*[1 / v for v in ys])  # what is being broken
    assert_caught(d, 3, sp.Mul(*[1 / v for v in ys]))


def _substituted(power):
    """The log-ratio derivation's second step, t = e^{−w}, with t**power in place of t**(n−1)."""
    c = topic.c
    prod_c = sp.Product(c[i], (i, 1, n - 1))
    sum_c = sp.Sum(c[i], (i, 1, n - 1))
    return sp.Integral(sp.Mul(prod_c, topic.t ** power, sp.exp(-topic.t * (1 + sum_c)), evaluate=False),
                       (topic.t, 0, sp.oo))


def test_substitution_rebuilt_here_matches_the_module():
    """The planted copies below differ from the module's step only in the power of t."""
    assert sp.simplify(_substituted(n - 1).function - topic.log_ratio_density_derivation().steps[2].expr.function) == 0


@pytest.mark.parametrize("power", [n, sp.Integer(0)], ids=["t**n", "t**0"])
def test_substitution_without_t_power_n_minus_1_is_refused(power):
    assert_caught(topic.log_ratio_density_derivation(), 2, _substituted(power))


def test_planted_copy_with_the_correct_step_still_checks():
    """The control: the copying itself does not break a derivation (so a caught mistake is the
    planted one)."""
    planted(topic.log_ratio_density_derivation(), 2, _substituted(n - 1)).check()
    ys, _ = topic._free_coordinates(3)
    planted(topic.determinant_derivation(3), 3, tau ** 2 * sp.Mul(*[1 / v for v in ys])).check()


# ---- 3. the derived end form is Jang et al. eq. 3 ------------------------------------------------


def test_density_derivation_ends_in_jang_eq3():
    assert topic.density_derivation().result == topic.JANG_EQ3


@pytest.mark.parametrize("size", [2, 3, 4])
def test_jang_eq3_as_derived_equals_the_paper(size):
    Y = sp.symbols(f"Y1:{size + 1}", positive=True)
    P = sp.symbols(f"P1:{size + 1}", positive=True)
    T = sp.Symbol("T", positive=True)
    # typed from the paper: Γ(n) τ^{n−1} (Σ π_i y_i^{−τ})^{−n} Π π_i y_i^{−τ−1}
    paper = (sp.gamma(size) * T ** (size - 1) * sum(p * v ** (-T) for p, v in zip(P, Y)) ** (-size)
             * sp.Mul(*[p * v ** (-T - 1) for p, v in zip(P, Y)]))
    derived = evaluate(topic.JANG_EQ3, {}, {topic.n: size}).xreplace(
        {**{topic.y[k + 1]: Y[k] for k in range(size)}, **{topic.pi[k + 1]: P[k] for k in range(size)},
         topic.tau: T})
    assert derived.free_symbols == set(Y) | set(P) | {T}
    f_paper = sp.lambdify((*Y, *P, T), paper, "mpmath")
    f_derived = sp.lambdify((*Y, *P, T), derived, "mpmath")
    rng = np.random.default_rng(100 + size)
    with mpmath.workdps(50):
        for _ in range(6):
            args = [mpmath.mpf(v) for v in (*rng.dirichlet(np.ones(size)), *rng.uniform(0.1, 3, size),
                                             rng.uniform(0.2, 3))]
            a, b = f_derived(*args), f_paper(*args)
            assert abs(a - b) <= mpmath.mpf("1e-25") * abs(b)


# ---- 4. the numeric density ------------------------------------------------------------------------


@pytest.mark.parametrize("size", [2, 3, 4])
def test_density_against_eq3_typed_here(size):
    rng = np.random.default_rng(20 + size)
    for _ in range(10):
        probs = rng.dirichlet(np.ones(size)) * rng.uniform(0.5, 5)  # need not sum to one
        pt = rng.dirichlet(np.ones(size))
        T = float(rng.uniform(0.2, 3))
        want = float(jang_eq3(pt, probs, T))
        got = float(topic.density(pt, probs, T))
        assert close(got, want, rtol=1e-12, atol=0), (pt, probs, T, got, want)
    # a batch of points: shape (..., n) → (...)
    pts = rng.dirichlet(np.ones(size), size=(2, 5))
    probs = rng.dirichlet(np.ones(size))
    got = topic.density(pts, probs, 0.7)
    assert got.shape == (2, 5)
    want = [[float(jang_eq3(p, probs, 0.7)) for p in row] for row in pts]
    assert np.allclose(got, want, rtol=1e-12, atol=0)


@pytest.mark.parametrize("probs, T", [([0.3, 0.7], 0.5), ([0.6, 0.4], 1.5), ([0.1, 0.9], 0.3), ([2.0, 5.0], 2.0)])
def test_density_integrates_to_one_for_two_classes(probs, T):
    """∫_0^1 p(y₁, 1 − y₁) dy₁ = 1 by mpmath.quad, in the logit v = log(y₁/y₂) so that neither
    coordinate is rounded to 0 or 1: y₁ = σ(v), y₂ = σ(−v), dy₁ = y₁ y₂ dv. The integrand decays
    like e^{−τ|v|}, so |v| ≤ 70/τ leaves out less than e^{−60}."""
    def integrand(v):
        v = float(v)
        y1, y2 = 1 / (1 + math.exp(-v)), 1 / (1 + math.exp(v))
        return float(topic.density([y1, y2], probs, T)) * y1 * y2

    mode = math.log(probs[0] / probs[1]) / T
    reach = 70 / T
    total = mpmath.quad(integrand, [-reach, mode - 10 / T, mode, mode + 10 / T, reach])
    assert abs(float(total) - 1) <= 1e-10


@pytest.mark.parametrize("size", [2, 3, 4])
def test_log_space_density_against_torch_style_formula(size):
    rng = np.random.default_rng(40 + size)
    with mpmath.workdps(40):
        for _ in range(10):
            probs = rng.dirichlet(np.ones(size)) * rng.uniform(0.5, 5)
            pt = rng.dirichlet(np.ones(size))
            T = float(rng.uniform(0.2, 3))
            ref = torch_style_log_prob(pt, probs, T)
            # the reasoning in torch_style_log_prob's docstring: torch's form is log of eq. 3
            assert abs(ref - mpmath.log(jang_eq3(pt, probs, T))) <= mpmath.mpf("1e-30") * max(1, abs(ref))
            got = topic.exp_concrete_log_density(pt, probs, T)
            assert close(got, float(ref), rtol=1e-12, atol=1e-12), (got, ref)


def test_log_space_density_where_the_density_underflows():
    """Far into a corner of the simplex the density itself is tiny; the log form stays accurate."""
    pt = np.array([1e-200, 1 - 2e-200, 1e-200])
    probs, T = [0.2, 0.3, 0.5], 0.5
    with mpmath.workdps(40):
        ref = float(torch_style_log_prob(pt, probs, T))
    assert close(topic.exp_concrete_log_density(pt, probs, T), ref, rtol=1e-12)


# ---- 5. gradients ----------------------------------------------------------------------------------


def test_results_against_mp_differences():
    rs = topic.results()
    assert {str(r.wrt) for r in rs} == {"l1", "l2", "l3", "tau"} and len(rs) == 12
    rng = np.random.default_rng(11)
    for r in rs:
        for _ in range(3):
            point = {v: rng.normal() for v in (r.of.free_symbols | r.expr.free_symbols)}
            point[topic.tau] = rng.uniform(0.2, 2)  # the temperature is positive
            for eq in r.where:
                point[eq.lhs] = float(eq.rhs.subs(point))
            want = mp_partial(r.of.subs({eq.lhs: eq.rhs for eq in r.where}), r.wrt, point)
            got = float(r.expr.subs(point))
            assert close(got, want), (r.of, r.wrt, got, want)


def _point(rng, size):
    return rng.normal(size=size), rng.normal(size=size), float(rng.uniform(0.2, 2))


def test_derived_jacobian_at_n4_against_numpy_differences():
    """The derivation's last step, evaluated at n = 4 for every (i, j), against central
    differences of a softmax written here; and the matrix against (diag(y) − y yᵀ)/τ."""
    size = 4
    rng = np.random.default_rng(3)
    lv, gv, T = _point(rng, size)
    values = {**{topic.l[k + 1]: lv[k] for k in range(size)}, **{topic.g[k + 1]: gv[k] for k in range(size)},
              topic.tau: T}
    derived = np.array([[float(evaluate(topic.jacobian_derivation().result, topic.DEFINITIONS,
                                        {n: size, i: a, j: b}).xreplace(values))
                         for b in range(1, size + 1)] for a in range(1, size + 1)])
    eps = 1e-6
    num = np.array([(softmax((lv + eps * e + gv) / T) - softmax((lv - eps * e + gv) / T)) / (2 * eps)
                    for e in np.eye(size)]).T  # num[a, b] = ∂y_a/∂l_b
    yv = softmax((lv + gv) / T)
    assert np.allclose(derived, num, atol=1e-9)
    assert np.allclose(derived, (np.diag(yv) - np.outer(yv, yv)) / T, atol=1e-14)
    dtau = np.array([float(evaluate(topic.tau_derivation().result, topic.DEFINITIONS,
                                    {n: size, i: a}).xreplace(values)) for a in range(1, size + 1)])
    num_tau = (softmax((lv + gv) / (T + eps)) - softmax((lv + gv) / (T - eps))) / (2 * eps)
    assert np.allclose(dtau, num_tau, atol=1e-9)


def test_module_relaxed_jacobian_by_differences():
    """topic.relaxed is softmax(·/τ), and its differences are (diag(y) − y yᵀ)/τ and
    −y(s − y·s)/τ with s = (l + g)/τ."""
    rng = np.random.default_rng(8)
    eps = 1e-6
    for size in (2, 3, 5):
        lv, gv, T = _point(rng, size)
        yv = topic.relaxed(lv + gv, T)
        assert np.allclose(yv, softmax((lv + gv) / T), rtol=1e-14, atol=0)
        num = np.array([(topic.relaxed(lv + eps * e + gv, T) - topic.relaxed(lv - eps * e + gv, T)) / (2 * eps)
                        for e in np.eye(size)]).T
        assert np.allclose(num, (np.diag(yv) - np.outer(yv, yv)) / T, atol=1e-9)
        sv = (lv + gv) / T
        num_tau = (topic.relaxed(lv + gv, T + eps) - topic.relaxed(lv + gv, T - eps)) / (2 * eps)
        assert np.allclose(num_tau, -yv * (sv - yv @ sv) / T, atol=1e-9)


# ---- 6. the sampler ----------------------------------------------------------------------------------

BAD_TEMPERATURES = [(0, "got 0"), (0.0, "got 0.0"), (-1.0, "got -1.0"), (-1e-300, "got -1e-300"),
                    (math.inf, "got inf"), (-math.inf, "got -inf"), (math.nan, "got nan"),
                    (np.array([0.5]), "got array([0.5])"), (np.array([0.5, 1.0]), "got array([0.5, 1. ])")]


@pytest.mark.parametrize("hard", [False, True], ids=["relaxed", "hard"])
@pytest.mark.parametrize("bad, fragment", BAD_TEMPERATURES, ids=lambda v: repr(v) if not isinstance(v, str) else "")
def test_sampler_refuses_bad_temperatures(bad, fragment, hard):
    with pytest.raises(ValueError) as err:
        topic.sample(np.zeros(3), bad, np.random.default_rng(0), 2, hard=hard)
    msg = str(err.value)
    assert "the temperature must be a finite number > 0" in msg and fragment in msg, msg
    assert "\n" not in msg


BAD_LOGITS = [([0.0, math.nan, 1.0], "logits must be finite", "nan"),
              ([0.0, math.inf, 1.0], "logits must be finite", "inf"),
              ([-math.inf, -math.inf, -math.inf], "logits must be finite", "-inf"),
              (np.zeros((2, 2)), "logits must be a vector of at least 2 entries", "shape (2, 2)"),
              ([0.5], "logits must be a vector of at least 2 entries", "shape (1,)"),
              ([], "logits must be a vector of at least 2 entries", "shape (0,)")]


@pytest.mark.parametrize("bad, fragment, shown", BAD_LOGITS, ids=["nan", "+inf", "all -inf", "2-D", "one class", "empty"])
def test_sampler_refuses_bad_logits(bad, fragment, shown):
    with pytest.raises(ValueError) as err:
        topic.sample(bad, 1.0, np.random.default_rng(0), 2)
    msg = str(err.value)
    assert fragment in msg and shown in msg, msg


class ExtremeDraw:
    """A stand-in generator whose integers are all the lowest (or all the highest) value asked for:
    the extreme uniforms gumbel_max.uniform_open can produce, whatever grid it uses."""

    def __init__(self, top: bool):
        self.top = top

    def integers(self, low, high, size=None, dtype=None):
        return np.full(size, high - 1 if self.top else low, dtype=dtype)


#: The extreme uniforms: the sampler's own, 0.5/2⁵³ as the issue gives it, and the largest float
#: below 1. (The issue's 1 − 0.5/2⁵³ is not a float: it rounds to 1.0, where g = +inf.)
U_EXTREMES = [float(gumbel_max.uniform_open(ExtremeDraw(False), 1)[0]),
              float(gumbel_max.uniform_open(ExtremeDraw(True), 1)[0]), 0.5 / 2**53, float(np.nextafter(1.0, 0.0))]
G_LOW = float(gumbel_max.gumbel_from_uniform(min(U_EXTREMES)))
G_HIGH = float(gumbel_max.gumbel_from_uniform(max(U_EXTREMES)))
EXTREME_NOISE = np.array([[G_LOW, G_LOW, G_LOW], [G_HIGH, G_HIGH, G_HIGH], [G_LOW, G_HIGH, G_LOW],
                          [G_HIGH, G_LOW, G_LOW], [G_LOW, G_LOW, G_HIGH], [0.0, 0.0, 0.0]])
EXTREME_LOGITS = [[1e300, -1e300, 0.0], [0.0, -math.inf, 0.0], [1e300, 1e300, 0.0], [-1e300, -1e300, -1e300],
                  [0.3, -0.2, 0.1], [1.7e308, -1.7e308, 0.0]]


def test_extreme_uniforms_give_finite_noise():
    assert all(0 < u < 1 for u in U_EXTREMES)
    g = gumbel_max.gumbel_from_uniform(U_EXTREMES)
    assert np.isfinite(g).all() and G_LOW < -3 and G_HIGH > 30
    # g = −log(−log U) at 40 digits: accurate at both ends
    with mpmath.workdps(40):
        want = [float(-mpmath.log(-mpmath.log(mpmath.mpf(u)))) for u in U_EXTREMES]
    assert np.allclose(g, want, rtol=1e-12, atol=0)


@pytest.mark.filterwarnings("error::RuntimeWarning")  # no overflow warning leaks out
@pytest.mark.parametrize("T", [1e-300, 1e-10, 1.0, 1e10, 1e300])
@pytest.mark.parametrize("logits", EXTREME_LOGITS, ids=str)
def test_sampler_finite_and_right_at_extremes(logits, T):
    rng = np.random.default_rng(1)
    noises = np.concatenate([EXTREME_NOISE, gumbel_max.sample_gumbel(rng, (4, 3))])
    got = topic.sample(logits, T, rng, len(noises), noise=noises)
    assert got.shape == (len(noises), 3)
    assert np.isfinite(got).all()
    assert ((got >= 0) & (got <= 1)).all()
    assert np.allclose(got.sum(axis=1), 1.0, atol=1e-12)
    lg = np.array(logits)
    for row, g_row in zip(got, noises):
        assert np.allclose(row, mp_relaxed(lg + g_row, T), rtol=1e-12, atol=1e-15), (row, lg + g_row)
    hard = topic.sample(logits, T, rng, len(noises), noise=noises, hard=True)
    assert np.isfinite(hard).all()
    assert [first_argmax(lg + g_row) for g_row in noises] == hard.argmax(axis=1).tolist()


def test_sampler_from_its_own_noise_at_extremes():
    """Without ``noise=``: still finite at the extreme temperatures and logits."""
    rng = np.random.default_rng(2)
    with np.errstate(over="ignore"):
        for logits in EXTREME_LOGITS:
            for T in (1e-300, 1e-10, 1e10, 1e300):
                got = topic.sample(logits, T, rng, 500)
                assert np.isfinite(got).all() and np.allclose(got.sum(axis=1), 1, atol=1e-12)


@pytest.mark.parametrize("top", [False, True], ids=["smallest U", "largest U"])
def test_sampler_noise_at_the_extreme_draws(top):
    """The module promises U is never 0 or 1 and a sample never inf or NaN: a generator whose every
    draw is the lowest (highest) integer uniform_open asks for gives the extreme uniform."""
    for T in (1e-300, 1.0, 1e300):
        got = topic.sample([0.0, -1.0, 2.0], T, ExtremeDraw(top), 3)
        assert np.isfinite(got).all() and np.allclose(got.sum(axis=1), 1.0, atol=1e-12)
        # every class drew the same noise, so this is softmax(l/τ) itself
        assert np.allclose(got, mp_relaxed(np.array([0.0, -1.0, 2.0]), T), rtol=1e-12, atol=1e-15)


def test_hard_sample_is_one_hot_argmax_first_on_ties():
    rng = np.random.default_rng(6)
    logits = np.array([0.4, -1.0, 0.4, 0.0])
    noise = gumbel_max.sample_gumbel(rng, (2000, 4))
    noise[:50] = 0.0  # exact ties between classes 0 and 2
    hard = topic.sample(logits, 0.5, rng, len(noise), noise=noise, hard=True)
    assert set(np.unique(hard)) <= {0.0, 1.0} and (hard.sum(axis=1) == 1).all()
    want = [first_argmax(logits + row) for row in noise]
    assert hard.argmax(axis=1).tolist() == want
    assert (hard[:50, 0] == 1).all()
    # without noise=: the same noise as gumbel_max.sample_gumbel from the same seed
    hard2 = topic.sample(logits, 0.5, np.random.default_rng(7), 300, hard=True)
    noise2 = gumbel_max.sample_gumbel(np.random.default_rng(7), (300, 4))
    assert hard2.argmax(axis=1).tolist() == [first_argmax(logits + row) for row in noise2]


def test_hard_sample_frequencies_are_the_softmax():
    """Gumbel-max: P(z = e_k) = softmax(l)_k (within 5 standard errors at 100,000 draws)."""
    logits = np.array([0.5, -0.2, 0.1])
    N = 100_000
    freq = topic.sample(logits, 1.0, np.random.default_rng(12), N, hard=True).mean(axis=0)
    p = softmax(logits)
    assert (np.abs(freq - p) <= 5 * np.sqrt(p * (1 - p) / N)).all()


def test_relaxed_samples_sum_to_one():
    rng = np.random.default_rng(13)
    for size in (2, 3, 7):
        for T in (0.05, 0.5, 5.0):
            lv = rng.normal(size=size) * 3
            got = topic.sample(lv, T, rng, 1000)
            assert got.shape == (1000, size)
            assert np.allclose(got.sum(axis=1), 1.0, atol=1e-12) and (got > 0).all()


def test_relaxed_tends_to_hard_and_to_uniform():
    rng = np.random.default_rng(14)
    logits = rng.normal(size=4)
    noise = gumbel_max.sample_gumbel(rng, (200, 4))
    cold = topic.sample(logits, 1e-6, rng, 200, noise=noise)
    hard = topic.sample(logits, 1e-6, rng, 200, noise=noise, hard=True)
    assert np.allclose(cold, hard, atol=1e-9)
    hot = topic.sample(logits, 1e9, rng, 200, noise=noise)
    assert np.allclose(hot, 0.25, atol=1e-8)


# ---- 7. the tables and the exact gradient -----------------------------------------------------------


def test_numeric_tables_pass():
    tables = topic.numeric_checks()
    assert len(tables) == 4 and all(t.passed for t in tables)
    assert all(row["passed"] for t in tables for row in t.rows)
    oracles = [r["oracle"] for r in tables[0].rows]
    assert any("autograd" in o for o in oracles) and any("mpmath" in o or "complex" in o for o in oracles)


def test_estimator_table_claims():
    rows = topic.numeric_checks()[3].rows
    sf = [r for r in rows if r["estimator"] == "score function"]
    assert [r["τ"] for r in sf] == list(topic.STUDY_TAUS)
    assert all(r["claim"] == "unbiased" and r["max |bias| / standard error"] <= 4 for r in sf)
    for name in ("straight-through", "relaxed"):
        biased = [r for r in rows if r["estimator"] == name]
        assert [r["τ"] for r in biased] == list(topic.BIAS_RESOLVED)
        assert all(r["claim"] == "biased" and r["max |bias| / standard error"] > 4 for r in biased)


def expected_f(logits):
    """E[f(z)] = Σ_k softmax(l)_k f(e_k), enumerated over the three one-hot outcomes, in mpmath;
    f(v) = Σ_i w_i (v_i − c_i)² with the study's weights and centres."""
    w, c = topic.F_WEIGHTS, topic.F_CENTRE
    e = [mpmath.exp(v) for v in logits]
    tot = mpmath.fsum(e)
    total = 0
    for k in range(3):
        onehot = [1 if q == k else 0 for q in range(3)]
        fk = mpmath.fsum(mpmath.mpf(w[q]) * (onehot[q] - mpmath.mpf(c[q])) ** 2 for q in range(3))
        total += e[k] / tot * fk
    return total


@pytest.mark.parametrize("seed", [None, 0, 1])
def test_exact_gradient_against_enumeration(seed):
    logits = topic.STUDY_LOGITS if seed is None else np.random.default_rng(seed).normal(size=3) * 2
    with mpmath.workdps(40):
        h = mpmath.mpf("1e-15")
        base = [mpmath.mpf(v) for v in logits]
        want = []
        for k in range(3):
            up = [v + (h if q == k else 0) for q, v in enumerate(base)]
            down = [v - (h if q == k else 0) for q, v in enumerate(base)]
            want.append(float((expected_f(up) - expected_f(down)) / (2 * h)))
    got = topic.exact_gradient(np.asarray(logits))
    assert np.allclose(got, want, rtol=1e-12, atol=1e-14), (got, want)


def test_estimators_recomputed_here():
    """estimators() from one seeded noise draw, against the three estimators written here."""
    T, N, seed = 0.5, 2000, 21
    got = topic.estimators(T, np.random.default_rng(seed), N)
    lg = topic.STUDY_LOGITS
    noise = gumbel_max.sample_gumbel(np.random.default_rng(seed), (N, 3))
    yv = softmax((lg + noise) / T)
    zv = np.eye(3)[[first_argmax(row) for row in lg + noise]]
    w, c = topic.F_WEIGHTS, topic.F_CENTRE
    p = softmax(lg)
    jac = (np.einsum("sa,ab->sab", yv, np.eye(3)) - np.einsum("sa,sb->sab", yv, yv)) / T  # ∂y_a/∂l_b

    def chain(v):  # (∂y/∂l)ᵀ v, sample by sample
        return np.einsum("sab,sa->sb", jac, v)

    assert np.allclose(got["straight-through"], chain(2 * w * (zv - c)), rtol=1e-12, atol=1e-14)
    assert np.allclose(got["relaxed"], chain(2 * w * (yv - c)), rtol=1e-12, atol=1e-14)
    fz = np.sum(w * (zv - c) ** 2, axis=1)
    assert np.allclose(got["score function"], fz[:, None] * (zv - p), rtol=1e-12, atol=1e-14)


# ---- 8. a planted wrong estimator fails the same check -----------------------------------------------


def bias_ratio(est, exact):
    """max_i |mean_i − exact_i| / SE_i, the estimator table's statistic."""
    se = est.std(axis=0, ddof=1) / np.sqrt(len(est))
    return float(np.max(np.abs(est.mean(axis=0) - exact) / se))


def test_wrong_score_function_estimators_are_caught():
    T, N, seed = 0.5, 100_000, 31
    exact = topic.exact_gradient()
    est = topic.estimators(T, np.random.default_rng(seed), N)
    sf = est["score function"]
    assert bias_ratio(sf, exact) <= 4  # the control: the right estimator passes
    assert bias_ratio(-sf, exact) > 4  # −f(z)(e_z − π)
    # y in place of z: f(y)(y − π) with the same noise
    noise = gumbel_max.sample_gumbel(np.random.default_rng(seed), (N, 3))
    yv = topic.sample(topic.STUDY_LOGITS, T, None, N, noise=noise)
    p = softmax(topic.STUDY_LOGITS)
    with_y = np.sum(topic.F_WEIGHTS * (yv - topic.F_CENTRE) ** 2, axis=1)[:, None] * (yv - p)
    assert bias_ratio(with_y, exact) > 4
    # and the score f(z)(e_z − π) with π taken uniform instead of softmax(l)
    zv = topic.sample(topic.STUDY_LOGITS, T, None, N, noise=noise, hard=True)
    fz = np.sum(topic.F_WEIGHTS * (zv - topic.F_CENTRE) ** 2, axis=1)[:, None]
    assert bias_ratio(fz * (zv - 1 / 3), exact) > 4


@pytest.mark.parametrize("bad_tau", [True, "0.5", np.array(0.5), 1j])
def test_temperature_must_be_a_real_number(bad_tau):
    with pytest.raises(ValueError, match="finite number > 0"):
        topic.sample(np.zeros(3), bad_tau, np.random.default_rng(0), 1)


def test_given_noise_is_checked_for_shape_and_finiteness():
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match=r"noise must be finite with shape \(2, 3\)"):
        topic.sample(np.zeros(3), 1.0, rng, 2, noise=np.zeros(3))
    with pytest.raises(ValueError, match="noise must be finite"):
        topic.sample(np.zeros(3), 1.0, rng, 1, noise=np.array([[0.0, np.inf, 0.0]]))


def test_density_refuses_points_off_the_simplex():
    for pt in ([0.5, 0.6], [0.0, 1.0], [-0.1, 1.1]):
        with pytest.raises(ValueError, match="inside the simplex"):
            topic.density(pt, [0.5, 0.5], 1.0)


def test_estimator_study_aggregates_recomputed_here(monkeypatch):
    """The study behind the variance panel and the error bars, at 2,000 samples per τ (the module
    reads STUDY_SAMPLES at call time; the undecorated functions are called, so the cached 100,000-
    sample study is neither used nor replaced): per τ and estimator, bias = mean − exact gradient,
    standard error = std(ddof = 1)/√N per component and variance = Σ_i var_i(ddof = 1), recomputed
    here from estimators() drawn in the same order from the same seed, to 1e-12."""
    N, seed = 2000, 17
    monkeypatch.setattr(topic, "STUDY_SAMPLES", N)
    monkeypatch.setattr(topic, "_estimator_study", topic._estimator_study.__wrapped__)  # uncached
    got = topic.estimator_study.__wrapped__(seed)
    # the exact gradient by enumeration: ∂/∂l_k Σ_j π_j f(e_j) = π_k (f(e_k) − Σ_j π_j f(e_j))
    p = softmax(topic.STUDY_LOGITS)
    fk = np.array([np.sum(topic.F_WEIGHTS * (np.eye(3)[k] - topic.F_CENTRE) ** 2) for k in range(3)])
    exact = p * (fk - p @ fk)
    assert list(got["taus"]) == list(topic.STUDY_TAUS) and np.allclose(got["exact"], exact, rtol=1e-13, atol=0)
    rng = np.random.default_rng(seed)
    names = ("straight-through", "relaxed", "score function")
    for k, T in enumerate(topic.STUDY_TAUS):
        est = topic.estimators(T, rng, N)
        assert tuple(est) == names
        for name in names:
            x = est[name]
            assert x.shape == (N, 3)
            mean = np.array([math.fsum(x[:, c]) / N for c in range(3)])
            var = np.array([math.fsum((x[:, c] - mean[c]) ** 2) / (N - 1) for c in range(3)])
            row = got[name]
            assert len(row["bias"]) == len(row["se"]) == len(row["variance"]) == len(topic.STUDY_TAUS)
            assert np.shape(row["bias"][k]) == np.shape(row["se"][k]) == (3,) and np.ndim(row["variance"][k]) == 0
            assert np.max(np.abs(row["bias"][k] - (mean - exact))) <= 1e-12, (name, T, row["bias"][k], mean - exact)
            assert np.allclose(row["se"][k], np.sqrt(var / N), rtol=1e-12, atol=0), (name, T, row["se"][k])
            assert close(row["variance"][k], math.fsum(var), rtol=1e-12, atol=0), (name, T, row["variance"][k])
