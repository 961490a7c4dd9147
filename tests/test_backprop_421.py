"""backprop_421: the seed's chain, the loss gradient, the walk, the vectorized rule at many shapes."""

from __future__ import annotations

import dataclasses

import autograd
import autograd.numpy as anp
import numpy as np
import pytest
import sympy as sp

from derivations import backprop_421 as topic
from derivations.core import Derivation, DerivationError, StepError
from reference import close, mp_partial
from reference import planted as _planted


@pytest.mark.parametrize("d", [d for d in topic.derivations() if isinstance(d, Derivation)], ids=lambda d: d.name)
def test_every_step_holds(d):
    assert len(d.check()) == len(d.steps) - 1 >= 4


@pytest.mark.parametrize("N", topic.INDUCTION_WIDTHS)
def test_the_delta_rule_is_proved_for_every_layer(N):
    ind = topic.delta_rule_induction(N)
    assert ind in topic.derivations()
    assert all(ch.method == "symbolic" for ch in ind.check()) and ind.proved_for() == "all l ≤ L"


def test_the_delta_rule_without_the_transpose_is_refused():
    """δ^(l) = f'(z^(l)) ∘ (W^(l) δ^(l+1)): the shapes agree for square layers, the numbers do not."""
    ind = topic.delta_rule_induction(2)
    l_ = topic.layer
    W_plain = topic.NamedMatrix(r"W^{(l)}", sp.Matrix(2, 2, lambda r, c: topic.W_l[l_, r + 1, c + 1]))
    bad = _planted(ind, "step", 2, sp.MatMul(topic._slopes_of(l_, 2), W_plain, topic._grad_z(l_ + 1, 2),
                                             evaluate=False))
    with pytest.raises(StepError, match=r"delta_rule_all_layers_n2_step, step 2"):
        bad.check()


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


# ---- the seed's eq. (7): one step of gradient descent ---------------------------------------


def test_the_derived_loss_gradient_matches_differences_of_the_forward_pass():
    params, x_, x_c = topic.seeded_421(0)
    g = topic.loss_gradient_W1(params, x_, x_c)
    h = 1e-6
    for r in range(2):
        for c in range(4):
            up, down = ([dict(layer) for layer in params] for _ in range(2))
            up[0]["W"], down[0]["W"] = params[0]["W"].copy(), params[0]["W"].copy()
            up[0]["W"][r, c] += h
            down[0]["W"][r, c] -= h
            fd = (topic._margin(up, x_, x_c) - topic._margin(down, x_, x_c)) / (2 * h)
            assert abs(fd - g[r, c]) < 1e-8, (r, c, fd, g[r, c])


def test_one_descent_step_lowers_the_loss_to_first_order():
    table = topic.descent_table()
    assert table.passed and len(table.rows) == 5
    assert all(r["decrease"] > 0 for r in table.rows)


@pytest.mark.parametrize("wrong", ["seed eq. 10", "sign", "half"])
def test_a_wrong_gradient_fails_the_descent_check(wrong):
    if wrong == "seed eq. 10":
        results_ = topic.seed_eq10_results()
    else:
        factor = -1 if wrong == "sign" else 0.5
        results_ = [dataclasses.replace(r, expr=factor * r.expr) for r in topic.results()]
    assert not topic.descent_table(results_=results_).passed


def test_the_taylor_bound_covers_the_curvature_along_every_step():
    values = topic.descent_values(0)
    params, x_, x_c = topic.seeded_421(0)
    g, B = values["grad"], values["B"]

    def phi(t):
        return topic._margin([{"W": params[0]["W"] - t * g, "b": params[0]["b"]}, params[1]], x_, x_c)

    h = 1e-3
    for t in np.linspace(0, 1, 11):  # the longest step, α = 1
        second = (phi(t + h) - 2 * phi(t) + phi(t - h)) / h**2  # gᵀHg along the segment
        assert abs(second) <= B, (t, second, B)
    assert B < 100 * max(abs((phi(t + h) - 2 * phi(t) + phi(t - h)) / h**2) for t in (0.0, 0.5, 1.0))  # a bound, not vacuous (27× here)


@pytest.mark.parametrize("big", [40.0, 300.0, 700.0])
def test_the_delta_rule_keeps_its_relative_precision_where_hidden_units_saturate(big):
    import mpmath as mp

    params = topic.mlp_init([2, 3, 1], seed=0)
    params[0]["W"] = np.array([[big, 0.0], [-big, 0.0], [0.5, 0.0]])
    params[0]["b"] = np.zeros(3)
    g = topic.mlp_backward(params, np.array([1.0, 1.0]))
    with mp.workdps(60):
        for r, z in enumerate((big, -big, 0.5)):
            e = mp.exp(-abs(mp.mpf(z)))
            ref = float(e / (1 + e) ** 2 * mp.mpf(params[1]["W"][0, r]))  # δ(2) = σ'(z(2)) ∘ W(2)ᵀ δ(3)
            assert abs(g["delta"][2][r] - ref) <= 1e-15 * abs(ref), (r, g["delta"][2][r], ref)
