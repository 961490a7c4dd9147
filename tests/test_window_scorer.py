"""window_scorer: steps, results, the seed's shapes, the worked example and the kink."""

from __future__ import annotations

import re

import numpy as np
import pytest
import sympy as sp

from derivations import window_scorer as topic
from derivations.oracles import crosscheck
from conftest import ROOT
from reference import close, mp_partial


@pytest.mark.parametrize("d", topic.derivations(), ids=lambda d: d.name)
def test_every_step_holds(d):
    assert len(d.check()) == len(d.steps) - 1 >= 2


def test_results_against_mp_differences():
    rng = np.random.default_rng(3)
    for r in topic.results():
        point = {q: rng.normal() for q in r.of.free_symbols | r.expr.free_symbols}
        assert close(float(r.expr.xreplace({q: sp.Float(v) for q, v in point.items()})), mp_partial(r.of, r.wrt, point)), r.wrt


def test_dropping_the_corrupt_window_fails():
    """∂J/∂W_ij without the corrupt window's term (only −δ_i x_j) is not the gradient."""
    wrong = []
    for r in topic.results()[:4]:
        xc_syms = [q for q in r.expr.free_symbols if q.name.startswith("x_c")]
        wrong.append(type(r)(r.of, r.wrt, r.expr.subs({q: 0 for q in xc_syms})))
    assert not crosscheck(wrong, points=2).passed


@pytest.mark.parametrize("dim, window, hidden", [(4, 5, 8), (3, 7, 2), (1, 1, 1)])
def test_shape_table_follows_the_sizes(dim, window, hidden):
    shapes = {row["name"]: row["shape"] for row in topic.shape_table(dim, window, hidden)}
    assert shapes["x"] == (dim * window,) and shapes["W"] == (hidden, dim * window)
    assert shapes["U"] == (hidden,) and shapes["s = Uᵀa"] == ()


def test_wrong_shapes_give_clear_errors():
    params = topic.init_params(4, 5, 8)
    with pytest.raises(ValueError, match="length 20 .5 words × 4 dims."):
        topic.score(params, np.zeros(21))
    bad = dict(params, U=np.zeros(7))
    with pytest.raises(ValueError, match="must be vectors of length 8"):
        topic.score(bad, np.zeros(20))
    with pytest.raises(ValueError, match="window must be a positive integer"):
        topic.init_params(4, 0, 8)
    with pytest.raises(ValueError, match="not in the embedding table"):
        topic.window_vector(["museums", "louvre"], topic.embedding_table())


def _loss_flat(params, x, xc, delta=1.0):
    def s_of(v):
        z = params["W"] @ v + params["b"]
        return params["U"] @ (1 / (1 + np.exp(-z)))
    return max(delta + s_of(xc) - s_of(x), 0.0)


def test_backward_against_differences_with_both_windows():
    params, table, x, xc, g = topic.worked_example()
    assert g["J"] > 0.1  # away from the kink
    h = 1e-6
    for key in ("W", "b", "U"):
        for idx in list(np.ndindex(params[key].shape))[:12]:
            p_hi = {q: np.array(v, copy=True) if q in "WbU" else v for q, v in params.items()}
            p_lo = {q: np.array(v, copy=True) if q in "WbU" else v for q, v in params.items()}
            p_hi[key][idx] += h
            p_lo[key][idx] -= h
            num = (_loss_flat(p_hi, x, xc) - _loss_flat(p_lo, x, xc)) / (2 * h)
            assert close(g["d" + key][idx], num, rtol=1e-6, atol=1e-9), (key, idx)
    for name, vec in (("dx", x), ("dx_c", xc)):
        for q in range(0, 20, 3):
            e = np.zeros(20)
            e[q] = h
            args_hi = (x + e, xc) if name == "dx" else (x, xc + e)
            args_lo = (x - e, xc) if name == "dx" else (x, xc - e)
            num = (_loss_flat(params, *args_hi) - _loss_flat(params, *args_lo)) / (2 * h)
            assert close(g[name][q], num, rtol=1e-6, atol=1e-9)


def test_shared_words_get_both_contributions():
    params, table, x, xc, g = topic.worked_example()
    emb = topic.embedding_gradient(g, table)
    # "paris" is word 3 of the true window and word 5 of the corrupt one
    assert np.allclose(emb["paris"], g["dx"][8:12] + g["dx_c"][16:20])
    assert np.allclose(emb["not"], g["dx_c"][0:4]) and np.allclose(emb["amazing"], g["dx"][16:20])


def test_flat_branch_and_kink():
    params = topic.init_params(2, 1, 3)
    x, xc = np.array([1.0, 0.0]), np.array([0.0, 1.0])
    s, sc = topic.score(params, x)["s"], topic.score(params, xc)["s"]
    g = topic.backward(params, x, xc, delta=sc - s - 5.0)  # J < 0 branch: all zero
    assert g["J"] == 0 and not np.any(g["dW"]) and not np.any(g["dx"])
    with pytest.raises(ValueError, match="kink"):
        topic.backward(params, x, xc, delta=s - sc)


def test_numeric_tables_pass():
    assert all(t.passed for t in topic.numeric_checks())


def test_no_sentence_puts_the_max_margin_loss_below_zero():
    """𝒥 = max(Δ + s_c − s, 0) is never negative: its flat side and its kink are conditions on
    u = Δ + s_c − s, and a sentence, title or reason saying "𝒥 < 0" (or the kink "at 𝒥 = 0") is wrong."""
    rng = np.random.default_rng(0)
    s_, sc_ = rng.normal(scale=3, size=(2, 1000))
    assert all(topic.max_margin(a, b, delta=1.0) >= 0 for a, b in zip(s_, sc_))
    loss = r"(?:\bJ|𝒥|\\mathcal\{J\})"
    wrong = [re.compile(loss + r"\s*(?:<|\\lt|&lt;)\s*0"), re.compile(r"at\s*[:$`a-z{]*" + loss + r"\s*=\s*0[$`]*\s*\(the kink")]
    found = []
    for path in [*(ROOT / "derivations").glob("*.py"), *(ROOT / "docs").glob("*.md")]:
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            found += [f"{path.name}:{n}: {line.strip()}" for pattern in wrong if pattern.search(line)]
    for d in topic.derivations():
        found += [f"title of {d.name}: {d.title}" for pattern in wrong if pattern.search(d.title)]
    assert found == []


@pytest.mark.parametrize("big", [40.0, 300.0, 700.0])
def test_the_gradients_keep_their_relative_precision_where_the_hidden_units_saturate(big):
    """dW = −(U ∘ σ'(z)) xᵀ with the corrupt window at 0 (so its term vanishes): each entry to a few
    ulps of mpmath's, where σ(1 − σ) would give 0."""
    import mpmath as mp

    params = topic.init_params(dim=1, window=2, hidden=3, seed=0)
    params["W"] = np.array([[big, 0.0], [-big, 0.0], [1.0, 0.0]])
    params["b"], params["U"] = np.zeros(3), np.full(3, 0.1)
    x_, x_c = np.array([1.0, 2.0]), np.zeros(2)
    out = topic.backward(params, x_, x_c)
    z = params["W"] @ x_
    with mp.workdps(60):
        for r in range(3):
            e = mp.exp(-abs(mp.mpf(z[r])))
            for c in range(2):
                ref = float(-mp.mpf(0.1) * e / (1 + e) ** 2 * x_[c])
                assert abs(out["dW"][r, c] - ref) <= 1e-15 * abs(ref), (r, c, out["dW"][r, c], ref)
