"""indrnn: the per-neuron chain symbolically, eq. 4 and the |u| range against this file's own oracles."""

from __future__ import annotations


import autograd
import autograd.numpy as anp
import numpy as np
import pytest

from derivations import indrnn as topic
from derivations.core import Derivation, DerivationError, StepError
from reference import close, mp_partial
from reference import planted as _planted


@pytest.mark.parametrize("d", [d for d in topic.derivations() if isinstance(d, Derivation)], ids=lambda d: d.name)
def test_every_step_holds(d):
    assert len(d.check()) == len(d.steps) - 1 >= 2


def test_eq4_is_proved_for_every_t():
    ind = topic.eq4_induction()
    assert ind in topic.derivations()
    assert all(ch.method == "symbolic" for ch in ind.check()) and ind.proved_for() == "all t ≤ T"
    # what it proves at t is, at every checked (T, t), the general form the concrete chains match
    assert ind.sides(topic.t_sym)[1] == topic.GENERAL


def test_eq4_with_a_wrong_power_of_u_is_refused():
    ind = topic.eq4_induction()
    wrong = ind.step.steps[4].expr * topic.u  # u_n^(T−t+1)
    bad = _planted(ind, "step", 3, wrong)
    with pytest.raises(StepError, match=r"indrnn_eq4_all_t_step, step 3"):
        bad.check()


@pytest.mark.parametrize("steps, start", topic.CHECKED)
def test_general_product_form(steps, start):
    assert topic.general_form_matches(steps, start)


def test_results_against_mp_differences():
    rng = np.random.default_rng(3)
    for r in topic.results():
        point = {s: rng.normal() for s in r.of.free_symbols | r.expr.free_symbols}
        assert close(float(r.expr.subs(point)), mp_partial(r.of, r.wrt, point))


def _tail(h, xs, w, u, b):
    for x in xs:
        h = anp.tanh(anp.dot(w, x) + u * h + b)
    return anp.sum(h ** 3) / 3   # J = Σ h_T³/3, so ∂J/∂h_T = h_T²


@pytest.mark.parametrize("start", [0, 50, 99])
def test_eq4_at_T_100_against_autograd(start):
    rng = np.random.default_rng(start)
    xs = rng.normal(size=(100, 2))
    w, b = 0.1 * rng.normal(size=(3, 2)), 0.01 * rng.normal(size=3)
    u = rng.uniform(0.97, 1.03, size=3)
    hs, zs = topic.forward(xs, w, u, b, activation="tanh")
    want = autograd.grad(_tail)(hs[start], xs[start:], w, u, b)
    got = hs[-1] ** 2 * topic.gradient_factors(zs, u, "tanh")[start]
    np.testing.assert_allclose(got, want, rtol=1e-10)


def test_a_wrong_power_of_u_fails():
    """u_n^(T−t+1) (an off-by-one in the exponent) must be refused by the checker."""
    good = topic.chain_derivation(4, 1)
    bad = Derivation("bad_power", "wrong", good.steps[0].expr, definitions=good.definitions)
    bad.step(good.result * topic.u, "off by one")
    with pytest.raises(DerivationError):  # the step differs (symbolically, then no numeric rescue)
        bad.check()


@pytest.mark.parametrize("eps, gamma, T, t", [(0.1, 10.0, 100, 0), (1e-3, 2.0, 1000, 10), (0.5, 1.0, 3, 2)])
def test_range_endpoints_give_eps_and_gamma(eps, gamma, T, t):
    lo, hi = topic.recurrent_weight_range(eps, gamma, T, t)
    assert close(lo ** (T - t), eps, rtol=1e-12) and close(hi ** (T - t), gamma, rtol=1e-12)
    lo2, hi2 = topic.recurrent_weight_range(eps, gamma, T, t, slope_product=0.25)
    assert close(lo2 ** (T - t) * 0.25, eps, rtol=1e-12) and close(hi2 ** (T - t) * 0.25, gamma, rtol=1e-12)
    assert topic.relu_range(gamma, T, t) == (0.0, pytest.approx(gamma ** (1 / (T - t)), rel=1e-14))


def test_range_demo_inside_and_outside():
    table = topic.range_demo()
    assert table.passed and len(table.rows) == 5


@pytest.mark.parametrize("kwargs, needle", [
    (dict(eps=1.0, gamma=1.0, T=10), "0 < eps < gamma"),
    (dict(eps=0.1, gamma=1.0, T=0), "T >= 1"),
    (dict(eps=0.1, gamma=1.0, T=5, t=5), "0 <= t < T"),
    (dict(eps=0.1, gamma=1.0, T=5, slope_product=0.0), "slope_product"),
])
def test_bad_range_arguments(kwargs, needle):
    with pytest.raises(ValueError, match=needle) as err:
        topic.recurrent_weight_range(**kwargs)
    assert "\n" not in str(err.value)


def test_bad_shapes():
    with pytest.raises(ValueError, match="need u"):
        topic.forward(np.ones((3, 2)), np.ones((2, 3)), np.ones(2), np.ones(2))
    with pytest.raises(ValueError, match="T >= 1"):
        topic.forward(np.ones((0, 2)), np.ones((2, 2)), np.ones(2), np.ones(2))
    with pytest.raises(ValueError, match="unknown activation"):
        topic.forward(np.ones((3, 2)), np.ones((2, 2)), np.ones(2), np.ones(2), activation="gelu")


def test_numeric_tables_pass():
    assert all(t.passed for t in topic.numeric_checks())


@pytest.mark.parametrize("z", [0.3, -5.0, 20.0, -40.0, 350.0])
def test_the_tanh_slope_keeps_its_relative_precision_where_tanh_saturates(z):
    import mpmath as mp

    with mp.workdps(60):
        ref = float(1 / mp.cosh(mp.mpf(z)) ** 2)
    got = float(topic.ACTIVATIONS["tanh"][1](np.array([z]))[0])
    assert abs(got - ref) <= 6e-16 * ref, (z, got, ref)
