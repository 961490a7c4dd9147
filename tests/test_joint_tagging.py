"""joint_tagging: every step symbolically; the whole tagger's gradient against this file's oracles."""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp

from derivations import joint_tagging as topic
from derivations.core import Derivation, StepError, evaluate
from reference import central_difference, close, mp_partial


@pytest.mark.parametrize("d", topic.derivations(), ids=lambda d: d.name)
def test_every_step_holds(d):
    assert len(d.check()) == len(d.steps) - 1 >= 2


def test_output_gradient_needs_one_hot():
    d = topic.output_derivation()
    assert d.steps[-1].given == (topic.ONE_HOT,)
    inst = {topic.N: 3, topic.i: 1}
    before = evaluate(d.steps[-2].expr, topic.OUT_DEFS, inst)
    after = evaluate(d.steps[-1].expr, topic.OUT_DEFS, inst)
    assert sp.simplify(before - after) != 0


def test_forgetting_the_weight_is_caught():
    """The unweighted softmax–CE gradient p − e is wrong for the α-biased objective."""
    d = Derivation("unweighted", "slip", sp.Derivative(topic.J, topic.y[topic.i]),
                   definitions=topic.OUT_DEFS, instances=[{topic.N: 3, topic.i: 2}])
    d.step(topic.p[topic.i] - topic.e[topic.i], "p − e, as without α", given=[topic.ONE_HOT])
    with pytest.raises(StepError, match="as without"):
        d.check()


def test_results_against_mp_differences():
    rng = np.random.default_rng(5)
    for r in topic.results():
        point = {s: rng.normal() for s in (r.of.free_symbols | r.expr.free_symbols)}
        point[topic.omega] = 10.0
        for eq in r.where:
            point[eq.lhs] = float(eq.rhs.subs(point))
        subs = {eq.lhs: eq.rhs for eq in r.where}
        assert close(float(r.expr.subs(subs).subs(point)), mp_partial(r.of.subs(subs), r.wrt, point))


def _loss_written_here(model, words, tags):
    """The tagger's objective in plain NumPy, written from the paper's equations, step by step."""
    P = model.params
    sg = lambda a: 1 / (1 + np.exp(-a))  # noqa: E731

    def lstm(q, xs):
        h = np.zeros(q["Wxi"].shape[0])
        c = np.zeros_like(h)
        out = []
        for x in xs:
            i = sg(q["Wxi"] @ x + q["Whi"] @ h + q["wci"] * c + q["bi"])
            f = sg(q["Wxf"] @ x + q["Whf"] @ h + q["wcf"] * c + q["bf"])
            c = f * c + i * np.tanh(q["Wxc"] @ x + q["Whc"] @ h + q["bc"])
            h = sg(q["Wxo"] @ x + q["Who"] @ h + q["wco"] * c + q["bo"]) * np.tanh(c)
            out.append(h)
        return out

    xs = [P["emb"][model.vocab.index(w)] for w in words]
    hf, hb = lstm(P["fwd"], xs), lstm(P["bwd"], xs[::-1])[::-1]
    s = np.zeros(P["Wwi"].shape[0])
    c = np.zeros_like(s)
    T = np.zeros(P["Wts"].shape[0])
    J = 0.0
    for t, tag in enumerate(tags):
        h = np.concatenate([hf[t], hb[t]])
        i = sg(P["Wwi"] @ h + P["Whi"] @ s + P["Wti"] @ T + P["bi"])
        f = sg(P["Wwf"] @ h + P["Whf"] @ s + P["Wtf"] @ T + P["bf"])
        c = f * c + i * np.tanh(P["Wwc"] @ h + P["Whc"] @ s + P["Wtc"] @ T + P["bc"])
        s = sg(P["Wwo"] @ h + P["Who"] @ s + P["wco"] * c + P["bo"]) * np.tanh(c)
        T = P["Wts"] @ s + P["bT"]
        y = P["Wy"] @ T + P["by"]
        logp = y - np.log(np.sum(np.exp(y)))
        J -= (1.0 if tag == "O" else model.alpha) * logp[model.tags.index(tag)]
    return J


@pytest.mark.parametrize("sentence", [0, 3])
def test_whole_model_gradient_against_differences(sentence):
    rng = np.random.default_rng(sentence)
    model = topic.TaggerModel.create(topic.VOCAB, topic.TAGS, emb=3, hidden=3, dec=4, rng=rng)
    words, tags = topic.CORPUS[sentence]
    J, G = model.grad(words, tags)
    assert close(J, _loss_written_here(model, words, tags), rtol=1e-12)
    eps = 1e-6
    picks = [(("emb",), None), (("fwd", "wcf"), None), (("bwd", "Whi"), None), (("Wti",), None),
             (("wco",), None), (("Wts",), None), (("Wy",), None), (("Wwo",), None)]
    for path, _ in picks:
        arr = model.params[path[0]] if len(path) == 1 else model.params[path[0]][path[1]]
        grad = G[path[0]] if len(path) == 1 else G[path[0]][path[1]]
        for idx in rng.choice(arr.size, size=2, replace=False):
            fd = central_difference(arr, idx, lambda: _loss_written_here(model, words, tags), eps)
            assert close(grad.flat[idx], fd, rtol=1e-5, atol=1e-7), path


def test_batch_of_padded_sentences_equals_the_sum_of_single_ones():
    """Sentences of 4, 5 and 6 words side by side (the shorter ones padded) give the sum of
    their one-at-a-time losses and gradients, which the tests above check against oracles."""
    model = topic.TaggerModel.create(topic.VOCAB, topic.TAGS, emb=3, hidden=3, dec=4,
                                     rng=np.random.default_rng(5))
    J, G = model.grad_batch(topic.CORPUS)
    singles = [model.grad(words, tags) for words, tags in topic.CORPUS]
    assert close(J, sum(j for j, _ in singles), rtol=1e-12)
    for path, g in topic._items(G):
        want = sum(topic._get(gs, path) for _, gs in singles)
        assert np.allclose(g, want, rtol=1e-10, atol=1e-13), path
    with pytest.raises(ValueError, match="3 words but 2 tags"):
        model.grad_batch([topic.CORPUS[0], ("New York is".split(), ["O", "O"])])


def test_alpha_scales_the_entity_terms_only():
    rng = np.random.default_rng(2)
    m1 = topic.TaggerModel.create(topic.VOCAB, topic.TAGS, alpha=1.0, rng=rng)
    m10 = topic.TaggerModel(m1.params, m1.vocab, m1.tags, alpha=10.0)
    words, tags = topic.CORPUS[1]
    _, c1 = m1.forward(words, tags)
    per_tag = [-np.log(st["p"][st["g"][0], 0]) for st in c1["steps"]]
    want = sum(v * (1 if t == "O" else 10) for v, t in zip(per_tag, tags))
    assert close(m10.loss(words, tags), want, rtol=1e-12)


def test_numeric_tables_pass():
    assert all(t.passed for t in topic.numeric_checks())


def test_training_lowers_the_loss_and_fits_the_corpus():
    model, hist = topic.train(steps=60)
    assert hist[-1] < 0.2 * hist[0]
    assert topic.predict(model, topic.CORPUS[0][0])[-1] == "S-CT-1"


@pytest.mark.parametrize("words, tags, needle", [
    ("New York".split(), ["O"], "2 words but 1 tags"),
    ("New Yorkk".split(), ["O", "O"], "unknown words: Yorkk"),
    ("New York".split(), ["O", "X"], "unknown tags: X"),
    ([], [], "empty sentence"),
    ([["New", "York"]], [["O", "O"]], "words must be strings (one sentence: a list of words and a list of tags), got list"),
])
def test_bad_input_one_line_errors(words, tags, needle):
    model = topic.TaggerModel.create(topic.VOCAB, topic.TAGS)
    with pytest.raises(ValueError) as err:
        model.loss(words, tags)
    assert needle in str(err.value) and "\n" not in str(err.value)


def test_seed_eq15_as_printed_is_not_the_softmax():
    """Seed eq. (15) prints p_t^i = exp(y_t^j) / Σ_{i=1}^{n_t} exp(y_t^j): the summand does not
    depend on i, so it is 1/n_t for every i, and its gradient (0) fails the oracles' check."""
    from derivations.core import Result
    from derivations.oracles import crosscheck

    ys = topic.YS
    yj = ys[1]  # any fixed j
    printed = sp.exp(yj) / sum(sp.exp(yj) for _ in ys)
    assert sp.simplify(printed - sp.Rational(1, len(ys))) == 0
    softmax_1 = sp.exp(ys[0]) / sum(sp.exp(v) for v in ys)
    right = sp.diff(softmax_1, ys[0])
    assert crosscheck([Result(softmax_1, ys[0], right)], points=2).passed
    assert not crosscheck([Result(softmax_1, ys[0], sp.diff(printed, ys[0]))], points=2).passed


# ---- the relation-classification branch -------------------------------------------------------------


def test_a_wrong_window_or_a_wrong_position_is_caught():
    """The pooled window's inputs shifted by one, or the gradient of a position that did not win,
    fail the checker."""
    kap, d = topic.kappa, topic.d_rc
    for slip, wrong in (("window off by one", (1 - topic.v_rc[2] ** 2) * topic.x_rc[kap, d]),
                        ("the first position", (1 - topic.v_rc[1] ** 2) * topic.x_rc[kap, d])):
        bad = Derivation("rc_slip", "slip", sp.Derivative(topic.m_rc, topic.F_rc[kap, d]), definitions=topic.RC_DEFS,
                         instances=[{kap: 1, d: 1}])
        bad.step(wrong, slip, given=[topic.pooled_condition()])
        with pytest.raises(StepError, match=slip):
            bad.check()


def test_the_pooling_rule_needs_its_condition():
    """Without 'position 2 is the unique maximum' the unit steps stay: the last step does not follow."""
    d = topic.pool_derivation()
    bad = Derivation("rc_pool_unconditioned", "slip", d.steps[0].expr, definitions=topic.POOL_DEFS)
    bad.step(d.steps[-1].expr, "as if the maximum were known")
    with pytest.raises(StepError):
        bad.check()


def _rc_loss_written_here(rc, x, gold):
    """The classifier's loss from its equations, position by position, in plain Python loops."""
    F, bF, V, bV = (rc.params[k] for k in ("F", "bF", "V", "bV"))
    filters, width, feats = F.shape
    m = []
    for f in range(filters):
        feats_t = [np.tanh(sum(F[f, kk, dd] * x[t + kk, dd] for kk in range(width) for dd in range(feats)) + bF[f])
                   for t in range(x.shape[0] - width + 1)]
        m.append(max(feats_t))
    u = V @ np.array(m) + bV
    return float(np.log(np.sum(np.exp(u))) - u[rc.relations.index(gold)])


@pytest.mark.parametrize("filters, width", [(1, 1), (3, 2), (2, 4)])
def test_rc_gradient_against_differences_away_from_ties(filters, width):
    rng = np.random.default_rng(10 * filters + width)
    x = rng.normal(size=(6, 5))
    rc = topic.RelationClassifier.create(5, filters=filters, width=width, rng=rng)
    gold = topic.RELATIONS[1]
    loss, G = rc.grad(x, gold)
    assert close(loss, _rc_loss_written_here(rc, x, gold), rtol=1e-12)
    h = 1e-6
    for key in ("F", "bF", "V", "bV", "x"):
        arr = x if key == "x" else rc.params[key]
        for idx in rng.choice(arr.size, size=min(4, arr.size), replace=False):
            fd = central_difference(arr, idx, lambda: _rc_loss_written_here(rc, x, gold), h)
            assert close(G[key].flat[idx], fd, rtol=1e-5, atol=1e-8), key


def test_at_a_tie_the_first_maximiser_gets_the_whole_gradient():
    rc, x = topic.tie_point()
    loss, G = rc.grad(x, topic.RELATIONS[0])
    width = rc.params["F"].shape[1]
    assert np.all(G["x"][width:] == 0) and np.any(G["x"][:width] != 0)   # only window 1's words
    _, _, cache = rc.forward(x)
    assert np.all(cache["star"] == 0)


def test_sympys_step_at_zero_is_one_half_and_not_a_subgradient_at_a_three_way_tie():
    u = sp.symbols("u1:4", real=True)
    g = [sp.diff(sp.Max(*u), ui).subs({v: 0 for v in u}) for ui in u]
    assert g == [sp.Rational(1, 2)] * 3
    # max(Δ) ≥ gᵀΔ fails at Δ = (1, 1, 1): 1 < 3/2; the first maximiser's e_1 satisfies it
    ones = np.ones((1, 3))
    assert topic.subgradient_slack(np.array(g, dtype=float), np.zeros(3), ones) == pytest.approx(-0.5)
    assert topic.subgradient_slack(np.array([1.0, 0, 0]), np.zeros(3), ones) == 0


def test_merge_layer_puts_embedding_beside_encoder_output():
    model = topic.TaggerModel.create(topic.VOCAB, topic.TAGS, emb=3, hidden=2, rng=np.random.default_rng(4))
    words = topic.CORPUS[1][0]
    x = topic.merge(model, words)
    assert x.shape == (len(words), 3 + 2 * 2)
    assert np.array_equal(x[:, :3], model.params["emb"][[model.vocab.index(w) for w in words]])


@pytest.mark.parametrize("shape, needle", [((5, 4), "need (words, 3)"), ((1, 3), "shorter than the filter width 2")])
def test_rc_bad_input_one_line_errors(shape, needle):
    rc = topic.RelationClassifier.create(3, filters=2, width=2)
    with pytest.raises(ValueError) as err:
        rc.forward(np.zeros(shape))
    assert needle in str(err.value) and "\n" not in str(err.value)


@pytest.mark.parametrize("bias", [40.0, 300.0])
def test_the_decoders_gate_slopes_keep_their_relative_precision_where_gates_saturate(bias):
    """With decoder biases ±bias every gate saturates; the slopes the backward pass uses must still
    be σ′ and tanh′ of the pre-activations to a few ulps (σ(1 − σ) and 1 − tanh² would be 0)."""
    import mpmath as mp

    rng = np.random.default_rng(0)
    model = topic.TaggerModel.create(topic.VOCAB, topic.TAGS, emb=3, hidden=3, dec=4, rng=rng)
    for gate, sign in (("i", 1), ("f", -1), ("c", 1), ("o", -1)):
        model.params[f"b{gate}"] = np.full_like(model.params[f"b{gate}"], sign * bias)
    words, tags = topic.CORPUS[0]
    _, cache = model.forward(words, tags)
    with mp.workdps(60):
        sig = lambda a: (lambda e: e / (1 + e) ** 2)(mp.exp(-abs(mp.mpf(a))))
        tanh = lambda a: 1 / mp.cosh(mp.mpf(a)) ** 2
        for st in cache["steps"]:
            for name, pre, slope in (("i", st["pre"]["i"], sig), ("f", st["pre"]["f"], sig),
                                     ("z", st["pre"]["c"], tanh), ("o", st["pre"]["o"], sig), ("tc", st["c_new"], tanh)):
                for a, got in zip(np.ravel(pre), np.ravel(st["slope"][name])):
                    ref = float(slope(a))
                    assert abs(got - ref) <= 6e-16 * ref + 1e-300, (name, a, got, ref)


def _mp_output_gradient(u, gold):
    """p − e of the scores ``u`` at 60 digits, and −log p_gold (mpmath: independent of the code)."""
    import mpmath as mp

    with mp.workdps(60):
        e = [mp.exp(mp.mpf(float(v))) for v in u]
        total = mp.fsum(e)
        # the gold entry p_k − 1 as −Σ_{j≠k} p_j: 1 − p_k can be far below 60 digits
        others = mp.fsum(q for r, q in enumerate(e) if r != gold)
        return [q / total if r != gold else -others / total for r, q in enumerate(e)], -mp.log(e[gold] / total)


def _ulps_allowed(u):
    """What the output gradient's entries may be off by, relatively: a few ulps, times the
    condition number |u_i − max u| of e^{u_i − max u} (the subtraction rounds)."""
    u = np.asarray(u, dtype=float)
    return (4 + np.abs(u - u.max())) * np.finfo(float).eps


def test_the_tagger_at_confident_scores_keeps_its_loss_finite_and_its_output_gradient_exact():
    """Output weights ×300 make the tag scores hundreds apart: log p of a wrong gold tag would be
    log 0 = −∞ and p_k − 1 would round to 0; the loss must be finite and ∂J/∂y as exact as p − e
    computed at 60 digits (a few ulps, relatively)."""
    import mpmath as mp

    rng = np.random.default_rng(3)
    model = topic.TaggerModel.create(topic.VOCAB, topic.TAGS, emb=3, hidden=3, dec=4, rng=rng)
    model.params["Wy"] = model.params["Wy"] * 300.0
    words, tags = topic.CORPUS[0]
    J, cache = model.forward(words, tags)
    assert np.isfinite(J)
    ref_J = 0
    for st in cache["steps"]:
        ref, loss = _mp_output_gradient(st["y"][:, 0], int(st["g"][0]))
        ref_J += float(st["w"][0]) * loss
        got = st["w"][0] * topic.ce_grad(st["y"][:, :1], (np.arange(len(ref)) == st["g"][0])[:, None].astype(float))[:, 0]
        allowed = _ulps_allowed(st["y"][:, 0])
        for g_, r, tol in zip(got, ref, allowed):
            r = float(st["w"][0]) * r
            assert abs(g_ - float(r)) <= tol * abs(float(r)) + 1e-300, (g_, r)
    assert close(J, float(ref_J), rtol=1e-13)
    G = model.backward(cache)
    leaves = [a for v in G.values() for a in (v.values() if isinstance(v, dict) else [v]) if a is not None]
    assert leaves and all(np.all(np.isfinite(a)) for a in leaves)


def test_the_relation_classifier_at_confident_scores():
    """The same for the relation classifier's softmax (scores ×400), and its pooled slope where the
    filters saturate (1 − m² would be 0 there; 1 − tanh² of g is not)."""
    import mpmath as mp

    rng = np.random.default_rng(7)
    rc = topic.RelationClassifier.create(5, filters=3, width=2, rng=rng)
    rc.params["V"] = rc.params["V"] * 400.0
    rc.params["F"] = rc.params["F"] * 60.0
    x = rng.normal(size=(6, 5))
    for gold in range(len(topic.RELATIONS)):
        _, loss, cache = rc.forward(x, gold)
        ref, ref_loss = _mp_output_gradient(cache["u"], gold)
        assert np.isfinite(loss) and close(loss, float(ref_loss), rtol=1e-13)
        G = rc.backward(cache)
        for g_, r, tol in zip(G["bV"], ref, _ulps_allowed(cache["u"])):
            assert abs(g_ - float(r)) <= tol * abs(float(r)) + 1e-300, (gold, g_, r)
    with mp.workdps(60):
        for f, (t, s) in enumerate(zip(cache["star"], cache["slope"])):
            gp = float(cache["g"][f, t])
            ref = float(1 / mp.cosh(mp.mpf(gp)) ** 2)
            assert abs(s - ref) <= (4 + 2 * abs(gp)) * np.finfo(float).eps * ref + 1e-300, (s, ref)
    assert np.min(cache["slope"]) < 1e-20  # the filters do saturate here (else the check says little)


def _rc_first_maximiser_gradient_written_here(rc, x, gold):
    """∂L/∂(F, bF, V, bV, x) from the classifier's equations in plain loops: g_{f,t}, v = tanh g,
    m_f = max_t v_{f,t} with t*_f the FIRST position attaining it (a subgradient at a tie),
    δm = Vᵀ(p − e), δg_f = δm_f (1 − m_f²), routed through window t*_f's filter F_f only."""
    F, bF, V, bV = (rc.params[k] for k in ("F", "bF", "V", "bV"))
    filters, width, feats = F.shape
    positions = x.shape[0] - width + 1
    m, star = np.zeros(filters), []
    for f in range(filters):
        v = [np.tanh(sum(F[f, kk, dd] * x[t + kk, dd] for kk in range(width) for dd in range(feats)) + bF[f])
             for t in range(positions)]
        m[f] = max(v)
        star.append(next(t for t in range(positions) if v[t] == m[f]))
    u = V @ m + bV
    p = np.exp(u - u.max()) / np.sum(np.exp(u - u.max()))
    e = np.zeros(len(u))
    e[rc.relations.index(gold) if isinstance(gold, str) else int(gold)] = 1.0
    du = p - e
    dm = np.array([sum(du[r] * V[r, f] for r in range(len(u))) for f in range(filters)])
    dg = dm * (1 - m ** 2)
    dF, dx = np.zeros_like(F), np.zeros_like(x)
    for f in range(filters):
        for kk in range(width):
            dF[f, kk] = dg[f] * x[star[f] + kk]
            dx[star[f] + kk] += dg[f] * F[f, kk]
    return {"F": dF, "bF": dg, "V": np.outer(du, m), "bV": du, "x": dx}, star


@pytest.mark.parametrize("gold", topic.RELATIONS)
def test_rc_backward_at_the_tie_point_is_the_first_maximisers_subgradient_in_value(gold):
    """At tie_table's tie point (every window equal, so every filter's positions tie exactly) the
    module's backward must equal, entry by entry, the first maximiser's subgradient computed here
    from the equations: not only which words get a gradient but its slope and its split over the
    pooled window's words. Then, at a nearby point with no tie, both against central differences."""
    rc, x = topic.tie_point()
    _, _, cache = rc.forward(x, gold)
    assert np.all(cache["v"] == cache["v"][:, :1])        # the tie is exact
    got = rc.backward(cache)
    ref, star = _rc_first_maximiser_gradient_written_here(rc, x, gold)
    assert star == [0] * rc.params["F"].shape[0] and list(cache["star"]) == star
    for key in ("F", "bF", "V", "bV", "x"):
        assert got[key].shape == ref[key].shape, key
        assert np.max(np.abs(got[key] - ref[key])) <= 1e-12, (key, got[key], ref[key])
    assert np.min(np.abs(ref["x"][:rc.params["F"].shape[1]])) > 1e-3   # the window's values are not trivially 0

    # away from the tie: the same reference, and central differences of the loss written here
    x1 = x + np.random.default_rng(11).normal(scale=0.5, size=x.shape)
    _, _, cache1 = rc.forward(x1, gold)
    v = np.sort(cache1["v"], axis=1)
    assert np.min(v[:, -1] - v[:, -2]) > 1e-3              # a clear gap: h = 1e-6 cannot cross it
    got1 = rc.backward(cache1)
    ref1, _ = _rc_first_maximiser_gradient_written_here(rc, x1, gold)
    h = 1e-6
    for key in ("F", "bF", "V", "bV", "x"):
        assert np.max(np.abs(got1[key] - ref1[key])) <= 1e-12, key
        arr = x1 if key == "x" else rc.params[key]
        for idx in range(arr.size):
            fd = central_difference(arr, idx, lambda: _rc_loss_written_here(rc, x1, gold), h)
            assert abs(got1[key].flat[idx] - fd) <= 1e-6 * abs(fd) + 1e-10, (key, idx, got1[key].flat[idx], fd)
