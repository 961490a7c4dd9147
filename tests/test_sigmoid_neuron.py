"""sigmoid_neuron: every step symbolically, every result and the NumPy code against oracles here."""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp

from derivations import sigmoid_neuron as topic
from derivations.core import Derivation, StepError
from derivations.oracles import crosscheck
from reference import close, mp_partial


@pytest.mark.parametrize("d", topic.derivations(), ids=lambda d: d.name)
def test_every_step_holds(d):
    assert len(d.check()) == len(d.steps) - 1 >= 3


def test_results_against_mp_differences():
    rng = np.random.default_rng(7)
    for r in topic.results():
        point = {q: rng.normal() for q in r.of.free_symbols}
        assert close(float(r.expr.xreplace({q: sp.Float(v) for q, v in point.items()})), mp_partial(r.of, r.wrt, point)), r.wrt


def test_a_wrong_sigma_prime_fails():
    """σ' = −e^{−u}/(1 + e^{−u}) (a slip seen in transcriptions of the notes) fails the checker."""
    u = topic.u
    bad = Derivation("bad_sigma_prime", "wrong", sp.Derivative(topic.logistic(u), u))
    bad.step(-sp.exp(-u) / (1 + sp.exp(-u)), "a wrong derivative")
    with pytest.raises(StepError):
        bad.check()


def test_a_wrong_result_fails_the_oracles():
    r = topic.results()[0]
    wrong = type(r)(r.of, r.wrt, r.expr * 2)
    assert not crosscheck([wrong], points=2).passed


@pytest.mark.parametrize("size", [1, 5, 50])
def test_numpy_backward_against_differences(size):
    rng = np.random.default_rng(size)
    w, x, b = rng.normal(size=size), rng.normal(size=size), float(rng.normal())
    g = topic.neuron_backward(w, x, b)
    h = 1e-6
    for q in range(size):
        e = np.zeros(size)
        e[q] = h
        fw = (topic.neuron_forward(w + e, x, b) - topic.neuron_forward(w - e, x, b)) / (2 * h)
        fx = (topic.neuron_forward(w, x + e, b) - topic.neuron_forward(w, x - e, b)) / (2 * h)
        assert close(g["dw"][q], fw, rtol=1e-6, atol=1e-9) and close(g["dx"][q], fx, rtol=1e-6, atol=1e-9)
    fb = (topic.neuron_forward(w, x, b + h) - topic.neuron_forward(w, x, b - h)) / (2 * h)
    assert close(g["db"], fb, rtol=1e-6, atol=1e-9)


def test_sigmoid_is_finite_and_exact_at_extremes():
    assert np.allclose(topic.sigmoid(np.array([-800.0, 0.0, 800.0])), [0.0, 0.5, 1.0])


def test_bad_shapes_give_clear_errors():
    with pytest.raises(ValueError, match="equal-length vectors"):
        topic.neuron_forward(np.zeros(2), np.zeros(3), 0.0)
    with pytest.raises(ValueError, match="bias b must be a scalar"):
        topic.neuron_backward(np.zeros(2), np.zeros(2), np.zeros(2))


def test_numeric_tables_pass():
    assert all(t.passed for t in topic.numeric_checks())


SATURATED = [-700.0, -300.0, -40.0, -5.0, 0.0, 0.5, 5.0, 37.0, 40.0, 300.0, 700.0]


def _mp_sigmoid_slope(t):
    import mpmath as mp

    with mp.workdps(60):
        e = mp.exp(-abs(mp.mpf(t)))
        return e / (1 + e) ** 2


@pytest.mark.parametrize("z", SATURATED)
def test_the_gradients_keep_their_relative_precision_where_the_neuron_saturates(z):
    out = topic.neuron_backward(np.array([1.0]), np.array([z]), 0.0)  # z = w·x + b
    ref = _mp_sigmoid_slope(z)
    assert abs(float(out["db"]) - float(ref)) <= 4e-16 * float(ref), (z, out["db"], ref)


@pytest.mark.parametrize("t", SATURATED[1:-1] + [350.0, -350.0])
def test_tanh_slope_is_accurate_to_a_few_ulps_relative(t):
    import mpmath as mp

    with mp.workdps(60):
        ref = 1 / mp.cosh(mp.mpf(t)) ** 2
    assert abs(float(topic.tanh_slope(t)) - float(ref)) <= 6e-16 * float(ref), (t, ref)
