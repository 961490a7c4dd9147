"""joint_tagging: every step symbolically; the whole tagger's gradient against this file's oracles."""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp

from derivations import joint_tagging as topic
from derivations.core import Derivation, StepError, evaluate
from reference import close, mp_partial


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
            old = arr.flat[idx]
            arr.flat[idx] = old + eps
            up = _loss_written_here(model, words, tags)
            arr.flat[idx] = old - eps
            down = _loss_written_here(model, words, tags)
            arr.flat[idx] = old
            assert close(grad.flat[idx], (up - down) / (2 * eps), rtol=1e-5, atol=1e-7), path


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
