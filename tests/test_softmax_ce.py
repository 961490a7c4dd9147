"""softmax_ce: every step symbolically, every result against this file's own oracles."""

from __future__ import annotations

import mpmath
import numpy as np
import pytest
import sympy as sp

from derivations import softmax_ce as topic
from derivations.core import evaluate
from reference import close, mp_partial


@pytest.mark.parametrize("d", topic.derivations(), ids=lambda d: d.name)
def test_every_step_holds(d):
    checks = d.check()
    assert len(checks) == len(d.steps) - 1 >= 2


def test_gradient_checked_for_n_2_to_6():
    sizes = {inst[topic.n] for inst in topic.gradient_derivation().instances}
    assert sizes == {2, 3, 4, 5, 6}


def test_gradient_needs_sum_to_one():
    """Without Σy = 1 the gradient is ŷ_i Σy − y_i, and that differs from ŷ_i − y_i."""
    d = topic.gradient_derivation()
    assert d.steps[-1].given == (topic.SUM_TO_ONE,)
    for size in (2, 4):
        inst = {topic.n: size, topic.i: 1}
        before = evaluate(d.steps[-2].expr, topic.DEFINITIONS, inst)
        after = evaluate(d.steps[-1].expr, topic.DEFINITIONS, inst)
        assert sp.simplify(before - after) != 0


def _explicit_ce(size):
    zs = sp.symbols(f"u1:{size + 1}", real=True)
    ys = sp.symbols(f"t1:{size + 1}", real=True)
    den = sum(sp.exp(v) for v in zs)
    return zs, ys, -sum(t * sp.log(sp.exp(v) / den) for t, v in zip(ys, zs))


@pytest.mark.parametrize("size", [2, 3, 5])
def test_gradient_formula_against_mp_differences(size):
    """ŷ − y (from the module's numeric code) against 40-digit differences of CE written here."""
    rng = np.random.default_rng(size)
    zs, ys, ce = _explicit_ce(size)
    for _ in range(3):
        zv = rng.normal(size=size) * 3
        yv = rng.dirichlet(np.ones(size))
        point = {**dict(zip(zs, zv)), **dict(zip(ys, yv))}
        got = topic.cross_entropy_grad(zv, yv)
        for c in range(size):
            assert close(got[c], mp_partial(ce, zs[c], point))


def test_results_against_mp_differences():
    rng = np.random.default_rng(11)
    for r in topic.results():
        for _ in range(3):
            point = {s: rng.normal() for s in (r.of.free_symbols | r.expr.free_symbols)}
            for eq in r.where:
                point[eq.lhs] = float(eq.rhs.subs(point))
            want = mp_partial(r.of.subs({eq.lhs: eq.rhs for eq in r.where}), r.wrt, point)
            got = float(r.expr.subs(point))
            assert close(got, want), (r.wrt, got, want)


def test_jacobian_matrix_is_diag_minus_outer():
    rng = np.random.default_rng(5)
    zv = rng.normal(size=4)
    p = topic.softmax(zv)
    eps = 1e-6
    num = np.array([(topic.softmax(zv + eps * e) - topic.softmax(zv - eps * e)) / (2 * eps)
                    for e in np.eye(4)]).T
    assert np.allclose(num, np.diag(p) - np.outer(p, p), atol=1e-9)


@pytest.mark.parametrize("logits", [[1000.0, -1000.0, 0.0], [-1000.0, -1001.0, -999.0], [710.0, 0.0, -710.0]])
def test_stable_forms_at_extreme_logits(logits):
    zv = np.array(logits)
    yv = np.array([0.2, 0.5, 0.3])
    with mpmath.workdps(60):
        e = [mpmath.exp(mpmath.mpf(v)) for v in logits]
        p = [t / mpmath.fsum(e) for t in e]
        ce = -mpmath.fsum(mpmath.mpf(t) * mpmath.log(q) for t, q in zip(yv, p))
    assert np.all(np.isfinite(topic.softmax(zv)))
    assert np.allclose(topic.softmax(zv), [float(q) for q in p], atol=1e-15)
    assert close(float(topic.cross_entropy(zv, yv)), float(ce), rtol=1e-12, atol=1e-12)
    assert np.allclose(topic.cross_entropy_grad(zv, yv), [float(q) - t for q, t in zip(p, yv)], atol=1e-15)
    assert not np.all(np.isfinite(topic.naive_softmax(zv)))


def test_bad_shapes_give_clear_errors():
    with pytest.raises(ValueError, match="does not match logits shape"):
        topic.cross_entropy(np.zeros(3), np.zeros(4))
    with pytest.raises(ValueError, match="non-empty vector"):
        topic.softmax(np.zeros((2, 2)))


def test_numeric_tables_pass_and_use_two_oracles():
    tables = topic.numeric_checks()
    assert all(t.passed for t in tables)
    oracles = [r["oracle"] for r in tables[0].rows]
    assert any("autograd" in o for o in oracles) and any("mpmath" in o or "complex" in o for o in oracles)


def _mp_ce_grad(logits, target):
    """ŷ Σy − y at 80 digits (mpmath: shares nothing with the NumPy code)."""
    with mpmath.workdps(80):
        e = [mpmath.exp(mpmath.mpf(v)) for v in logits]
        total = mpmath.fsum(e)
        ysum = mpmath.fsum(mpmath.mpf(t) for t in target)
        return [q / total * ysum - mpmath.mpf(t) for q, t in zip(e, target)]


def _relative_errors(got, ref):
    return [abs(float((mpmath.mpf(float(g)) - r) / r)) if r != 0 else abs(float(g)) for g, r in zip(got, ref)]


@pytest.mark.parametrize("gap", [1.0, 20.0, 40.0, 100.0, 300.0, 700.0])
@pytest.mark.parametrize("true", [0, 1, 2])
def test_the_gradient_is_accurate_in_relative_terms_at_any_gap(gap, true):
    """The true class of a confident prediction: −Σ_{j≠k} ŷ_j ≈ −e^{−gap}, to a few ulps, and every
    other entry too (a winner, a loser, the middle class as the target)."""
    logits = [gap, 0.0, gap / 2]  # every entry's gap to the largest ≤ 700: e^{-gap} stays a normal float
    target = [1.0 if q == true else 0.0 for q in range(3)]
    errs = _relative_errors(topic.cross_entropy_grad(np.array(logits), np.array(target)), _mp_ce_grad(logits, target))
    assert max(errs) <= 8 * np.finfo(float).eps, errs


def test_the_plain_form_would_fail_that_test():
    """softmax(z) − y (the form this replaced) rounds the winner's entry to 0 at a gap of 40: the
    test above can fail."""
    logits, target = [40.0, 0.0, -20.0], [1.0, 0.0, 0.0]
    plain = topic.softmax(np.array(logits)) - np.array(target)
    assert max(_relative_errors(plain, _mp_ce_grad(logits, target))) > 0.5


@pytest.mark.parametrize("seed", range(5))
def test_soft_targets_and_columns_match_the_reference(seed):
    """Any target (not summing to one), and the column-wise form the tagger uses."""
    rng = np.random.default_rng(seed)
    V = rng.normal(0, 30, size=(5, 4))
    Y = rng.uniform(0, 1, size=(5, 4))
    got = topic.ce_grad(V, Y, axis=0)
    for b in range(4):
        ref = _mp_ce_grad(V[:, b].tolist(), Y[:, b].tolist())
        assert np.allclose(got[:, b], [float(r) for r in ref], rtol=1e-12, atol=1e-15)
    assert np.allclose(topic.ce_grad(V.T, Y.T, axis=1), got.T, rtol=0, atol=0)


def test_sum_of_others_and_log_softmax():
    v = np.array([3.0, 1e-30, 2e-30, 4.0])
    assert topic.sum_of_others(v).tolist() == [4.0 + 3e-30, 7.0, 7.0, 3.0 + 3e-30]
    with mpmath.workdps(50):
        logits = [800.0, 0.0, -5.0]
        ref = [mpmath.mpf(x) - mpmath.log(mpmath.fsum(mpmath.exp(mpmath.mpf(u)) for u in logits)) for x in logits]
    got = topic.log_softmax(np.array(logits))
    assert np.all(np.isfinite(got)) and np.allclose(got, [float(r) for r in ref], rtol=1e-15)
    with np.errstate(divide="ignore"):
        assert np.log(topic.softmax(np.array(logits)))[1] == -np.inf  # what log_softmax avoids


@pytest.mark.parametrize("size", [2, 3, 5])
def test_the_accurate_form_is_the_gradient_symbolically(size):
    """ce_grad's formula (its docstring) equals ŷ_i Σy − y_i in exact arithmetic, every i."""
    e = sp.symbols(f"e1:{size + 1}", positive=True)
    yy = sp.symbols(f"y1:{size + 1}", nonnegative=True)
    total = sum(e)
    for q in range(size):
        others_y = sum(yy[r] for r in range(size) if r != q)
        others_e = sum(e[r] for r in range(size) if r != q)
        accurate = (e[q] * others_y - yy[q] * others_e) / total
        assert sp.simplify(accurate - (e[q] / total * sum(yy) - yy[q])) == 0
