"""The errata page's claims: each seed formula fails the numeric check, each correction passes."""

from __future__ import annotations

import numpy as np
import pytest

from derivations import backprop_421 as topic
from derivations.core import evaluate
from derivations.oracles import crosscheck
from reference import close, mp_partial


def _points(r, seed):
    rng = np.random.default_rng(seed)
    return [{q: rng.normal() for q in r.of.free_symbols | r.expr.free_symbols} for _ in range(3)]


def test_seed_eq10_fails_and_corrected_passes():
    """Eq. (10): ∂J/∂W(1)_ij = W(2)_i f'(z(2)_i) a(1)_j is ∂s/∂W, not ∂J/∂W."""
    seed_version = topic.seed_eq10_results()
    assert not crosscheck(seed_version, points=2).passed
    for r in seed_version[::3]:
        pt = _points(r, 0)[0]
        assert not close(float(r.expr.subs(pt)), mp_partial(r.of, r.wrt, pt))
    corrected = [r for r in topic.results() if r.name == r"\mathcal{J}"]
    assert crosscheck(corrected, points=2).passed
    for r in corrected[::3]:
        for pt in _points(r, 1)[:2]:
            assert close(float(r.expr.subs(pt)), mp_partial(r.of, r.wrt, pt))


def test_seed_eq10_is_the_score_gradient():
    """What eq. (10) writes is right for s: the same expression passes against ∂s/∂W."""
    of_s = topic.flat(evaluate(topic.s, topic.MODEL))
    fixed = [type(r)(of_s, r.wrt, r.expr) for r in topic.seed_eq10_results()]
    assert crosscheck(fixed, points=2).passed


def test_seed_steps_8_9_loss_gradient_fails():
    """Steps 8–9 / eq. (12): 'the gradient of the loss' = a(1)_4 f'(z(2)_1) W(2)_1: wrong for J."""
    w14 = topic.FLAT_SYMBOLS[topic.W1[1, 4]]
    seed_eq12 = topic.flat(evaluate(topic.walk_derivation().result, topic.MODEL))
    of_J = topic.flat(evaluate(topic.J, topic.BRANCH))
    wrong = type(topic.results()[0])(of_J, w14, seed_eq12)
    assert not crosscheck([wrong], points=2).passed
    right = next(r for r in topic.results() if r.wrt == w14 and r.name == r"\mathcal{J}")
    assert crosscheck([right], points=2).passed


def test_seed_eq13_for_J_fails_but_holds_for_s():
    """Eq. (13) ∂J/∂W(1)_ij = δ(2)_i a(1)_j: the δ form of eq. (10), same slip."""
    eq13 = topic.chain_derivation().result  # δ(2)_i a(1)_j
    of_J = topic.flat(evaluate(topic.J, topic.BRANCH))
    of_s = topic.flat(evaluate(topic.s, topic.MODEL))
    inst = {topic.i: 2, topic.j: 3}
    expr = topic.flat(evaluate(eq13, topic.MODEL, inst))
    wrt = topic.FLAT_SYMBOLS[topic.W1[2, 3]]
    Res = type(topic.results()[0])
    assert not crosscheck([Res(of_J, wrt, expr)], points=2).passed
    assert crosscheck([Res(of_s, wrt, expr)], points=2).passed


def test_seed_index_ranges_are_swapped():
    """The seed says 'For i = 1, 2, 3, 4; j = 1, 2' but W(1) is 2×4: i is the hidden unit (1, 2)."""
    W = topic.mlp_init([4, 2, 1])[0]["W"]
    assert W.shape == (2, 4)
    with pytest.raises(IndexError):
        W[3 - 1, 0]  # i = 3 would be a third hidden unit, which Figure 3 does not have
