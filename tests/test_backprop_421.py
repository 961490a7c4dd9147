"""backprop_421: the seed's chain, the loss gradient, the walk, the vectorized rule at many shapes."""

from __future__ import annotations

import autograd
import autograd.numpy as anp
import numpy as np
import pytest
import sympy as sp

from derivations import backprop_421 as topic
from derivations.core import Derivation, DerivationError, StepError
from reference import close, mp_partial


@pytest.mark.parametrize("d", topic.derivations(), ids=lambda d: d.name)
def test_every_step_holds(d):
    assert len(d.check()) == len(d.steps) - 1 >= 4


def test_chain_checked_at_every_weight():
    pairs = {(inst[topic.i], inst[topic.j]) for inst in topic.chain_derivation().instances}
    assert pairs == {(r, c) for r in (1, 2) for c in (1, 2, 3, 4)}


def test_chain_with_the_transcription_slip_fails():
    """∂z(2)_i/∂W(1)_ij written as a(2)_j instead of a(1)_j is caught by the checker."""
    d = Derivation("slip", "slip", sp.Derivative(topic.s, topic.W1[topic.i, topic.j]),
                   definitions=topic.MODEL, instances=[{topic.i: 1, topic.j: 2}])
    d.step(topic.W2[topic.i] * sp.Derivative(topic.f(topic.z2[topic.i]), topic.z2[topic.i]) * topic.a2[topic.j],
           "slip")
    with pytest.raises(StepError):
        d.check()


def test_results_against_mp_differences():
    rng = np.random.default_rng(5)
    for r in topic.results():
        point = {q: rng.normal() for q in r.of.free_symbols | r.expr.free_symbols}
        assert close(float(r.expr.xreplace({q: sp.Float(v) for q, v in point.items()})), mp_partial(r.of, r.wrt, point)), r.wrt


def _autograd_s(params, x, v):
    def s_of(flat):
        a, pos = x, 0
        for q, p in enumerate(params):
            nW, nb = p["W"].size, p["b"].size
            W = anp.reshape(flat[pos:pos + nW], p["W"].shape)
            z = anp.dot(W, a) + flat[pos + nW:pos + nW + nb]
            pos += nW + nb
            a = 1 / (1 + anp.exp(-z)) if q < len(params) - 1 else z
        return anp.dot(v, a)
    flat = np.concatenate([np.concatenate([p["W"].ravel(), p["b"]]) for p in params])
    return autograd.grad(s_of)(flat)


@pytest.mark.parametrize("widths", [(4, 2, 1), (3, 5, 4, 2), (6, 1, 3), (2, 3, 3, 2, 1), (64, 64, 1)])
def test_mlp_backward_against_autograd(widths):
    params = topic.mlp_init(widths, seed=len(widths))
    rng = np.random.default_rng(1)
    x, v = rng.normal(size=widths[0]), rng.normal(size=widths[-1])
    g = topic.mlp_backward(params, x, v)
    got = np.concatenate([np.concatenate([dW.ravel(), db]) for dW, db in zip(g["dW"], g["db"])])
    assert np.allclose(got, _autograd_s(params, x, v), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("widths", [(4, 2, 1), (3, 5, 4, 2), (2, 2, 2, 2, 1)])
def test_vectorized_rule_symbolic(widths):
    row = topic.verify_vectorized_rule(widths)
    n_w = sum(a * b for a, b in zip(widths[:-1], widths[1:]))
    assert row["weights"] == n_w and row["biases"] == sum(widths[1:])


def test_vectorized_rule_with_W_instead_of_W_transpose_fails(monkeypatch):
    """A wrong rule (no transpose: δ(k) = f'(z) ∘ (W δ)) must be rejected; on a square layer the
    shapes agree, so only the element-by-element check can catch it."""
    real_T = sp.MatrixBase.T
    monkeypatch.setattr(sp.MatrixBase, "T", property(lambda M: M if M.shape[0] == M.shape[1] > 1 else real_T.fget(M)))
    with pytest.raises(DerivationError, match="vectorized rule fails"):
        topic.verify_vectorized_rule([2, 3, 3, 1])


def test_walk_numbers_match():
    assert topic.walk_table().passed
    rows = topic.walk_values()
    params, x, _ = topic.seeded_421()
    assert close(rows[1]["mlp_backward"], params[1]["W"][0, 0])


def test_bad_shapes_give_clear_errors():
    with pytest.raises(ValueError, match="at least two positive integers"):
        topic.mlp_init([4])
    params = topic.mlp_init([4, 2, 1])
    with pytest.raises(ValueError, match="expects a vector of length 4"):
        topic.mlp_forward(params, np.zeros(5))
    with pytest.raises(ValueError, match="read-out v"):
        topic.mlp_backward(params, np.zeros(4), v=np.zeros(2))


def test_numeric_tables_pass():
    assert all(t.passed for t in topic.numeric_checks())
