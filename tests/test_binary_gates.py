"""binary_gates: every step checked, planted mistakes caught (a wrong gate derivative, a BPTT that
forgets the temperature, a wrong bound), and every number against this file's own oracles (mpmath
quadrature of the logistic density, a G2-LSTM typed here with central differences)."""

from __future__ import annotations

import mpmath
import numpy as np
import pytest
import sympy as sp

from derivations import binary_gates as topic
from derivations import lstm_gates
from derivations.core import Derivation, Result, StepError
from derivations.oracles import crosscheck
from reference import central_difference, close, mp_partial

# ---- oracles written here ------------------------------------------------------------------------


def sig(v):
    return 1 / (1 + np.exp(-v))


def mp_open_probability(a, t, e):
    """P(σ((a + L)/t) ≥ 1 − e) by integrating the logistic density of L over the event
    L ≥ t·log((1 − e)/e) − a, with mpmath (50 digits)."""
    with mpmath.workdps(50):
        a, t, e = mpmath.mpf(a), mpmath.mpf(t), mpmath.mpf(e)
        lo = t * mpmath.log((1 - e) / e) - a
        return float(mpmath.quad(lambda x: mpmath.exp(-x) / (1 + mpmath.exp(-x)) ** 2, [lo, mpmath.inf]))


def plain_g2_loss(p, xs, dhs, noise, t):
    """J = Σ_t ⟨dhs_t, h_t⟩ of a G2-LSTM, one unit and one sequence at a time (no matrices)."""
    H = p["Wxi"].shape[0]
    D, T, B = xs.shape[1], xs.shape[0], xs.shape[2]
    J = 0.0
    for b in range(B):
        h, c = np.zeros(H), np.zeros(H)
        for s in range(T):
            x = xs[s, :, b]
            pre = {g: np.array([sum(p[f"Wx{g}"][k, m] * x[m] for m in range(D))
                                + sum(p[f"Wh{g}"][k, m] * h[m] for m in range(H)) + p[f"b{g}"][k]
                                for k in range(H)]) for g in "ifco"}
            i = sig((pre["i"] + p["wci"] * c + noise[s, :H, b]) / t)
            f = sig((pre["f"] + p["wcf"] * c + noise[s, H:, b]) / t)
            c = f * c + i * np.tanh(pre["c"])
            o = sig(pre["o"] + p["wco"] * c)
            h = o * np.tanh(c)
            J += float(np.dot(dhs[s, :, b], h))
    return J


@pytest.fixture(scope="module")
def small_case():
    rng = np.random.default_rng(11)
    H, D, T, B = 3, 2, 4, 2
    p = lstm_gates.init_params(H, D, rng)
    xs = rng.normal(size=(T, D, B))
    dhs = rng.normal(size=(T, H, B))
    noise = topic.gate_noise(rng, T, H, B)
    return p, xs, dhs, noise, 0.6


def fd_gradient(p, xs, dhs, noise, t, h=1e-6):
    """Central differences of the plain loss, every entry of every parameter."""
    out = {}
    for name, val in p.items():
        g = np.zeros_like(val)
        for idx in np.ndindex(val.shape):
            plus = {k: v.copy() for k, v in p.items()}
            minus = {k: v.copy() for k, v in p.items()}
            plus[name][idx] += h
            minus[name][idx] -= h
            g[idx] = (plain_g2_loss(plus, xs, dhs, noise, t) - plain_g2_loss(minus, xs, dhs, noise, t)) / (2 * h)
        out[name] = g
    return out


# ---- derivations -----------------------------------------------------------------------------


@pytest.mark.parametrize("d", topic.derivations(), ids=lambda d: d.name)
def test_every_step_checks(d):
    checks = d.check()
    assert len(checks) == len(d.steps) - 1


def test_gate_derivative_without_the_temperature_is_refused():
    """σ′ = G(1 − G) in place of G(1 − G)/τ: the checker refuses the step."""
    G, a = topic.G, topic.alpha
    bad = Derivation("bad", "σ′ for the G2 gate", sp.Derivative(G, a), definitions=topic.DEFINITIONS)
    bad.step(G * (1 - G), "σ' = σ(1 − σ)")
    with pytest.raises(StepError):
        bad.check()


def test_wrong_gate_gradient_fails_the_oracles():
    of = topic.results()[0].of
    wrong = Result(of, topic.alpha, topic._plain(topic.G * (1 - topic.G), topic.DEFINITIONS))
    assert not crosscheck([wrong], points=3).passed
    assert crosscheck(topic.results(), points=3).passed


@pytest.mark.parametrize("factor", [sp.Rational(1, 8), sp.Rational(1, 3)])
def test_wrong_lower_bound_is_refused(factor):
    """A bound with τ/8 (too tight) or τ/3 in place of τ/4 cannot be brought to the certified
    form: its chain fails at the first step that relies on the constant."""
    good = topic.lower_bound_derivation()
    a, t, e = topic.alpha, topic.tau, topic.eps
    start = topic.sigma(a - t * sp.log(1 / e - 1)) - topic.sigma(a) - factor * t * sp.log(1 / e)
    bad = Derivation("bad_bound", "a wrong lower bound", start, definitions=topic.DEFINITIONS)
    for s in good.steps[1:]:
        bad.step(s.expr, s.why)
    with pytest.raises(StepError):
        bad.check()


def test_wrong_upper_bound_integrand_is_refused():
    good = topic.upper_bound_derivation()
    bad = Derivation("bad_upper", "a wrong integrand", good.steps[0].expr, definitions=topic.DEFINITIONS)
    for s in good.steps[1:-1]:
        bad.step(s.expr, s.why)
    v = topic.v
    bad.step(sp.Integral(topic.sigma(v) * (1 - topic.sigma(v)) / 2, good.result.limits[0]), "halved")
    with pytest.raises(StepError):
        bad.check()


def test_the_too_tight_bound_is_false_and_the_true_one_holds():
    """Numbers computed here: τ/8 in place of τ/4 is violated somewhere; the stated bounds never are."""
    rng = np.random.default_rng(3)
    a = rng.uniform(-4, 4, 4000)
    t = rng.uniform(0.05, 3, 4000)
    e = rng.uniform(1e-4, 0.4999, 4000)
    p = sig(a - t * np.log(1 / e - 1))
    assert np.all(p <= sig(a) + 1e-15)
    assert np.all(p >= sig(a) - t / 4 * np.log(1 / e) - 1e-15)
    assert np.any(p < sig(a) - t / 8 * np.log(1 / e))


def test_sign_certificates_decide_each_fact():
    table = topic.sign_certificates()
    assert table.passed and len(table.rows) == 4
    assert table.rows[2]["SymPy's answer"] == "0 < ε ≤ 1/2"


@pytest.mark.parametrize("a,t,e", [(0.0, 1.0, 0.1), (2.0, 0.3, 0.01), (-1.5, 2.5, 0.45)])
def test_tail_probability_against_quadrature(a, t, e):
    assert close(float(topic.tail_probability(a, t, e)), mp_open_probability(a, t, e), rtol=1e-12)


def test_density_integrates_to_the_distribution_function():
    """∫_{y0}^{y1} density = CDF(y1) − CDF(y0), with the CDF computed here as σ(τ logit y − α)."""
    a, t = 0.7, 0.8
    ys = np.linspace(0.05, 0.95, 20001)
    dens = topic.density(ys, a, t)
    integral = float(np.sum((dens[1:] + dens[:-1]) / 2 * np.diff(ys)))
    cdf = lambda y: sig(t * np.log(y / (1 - y)) - a)  # noqa: E731
    assert abs(integral - (cdf(0.95) - cdf(0.05))) < 1e-6


def test_results_agree_with_mpmath_differences():
    rng = np.random.default_rng(5)
    for res in topic.results():
        leaves = sorted(res.of.free_symbols | res.expr.free_symbols, key=str)
        point = {s: float(rng.uniform(0.3, 1.2)) for s in leaves}
        derived = float(res.expr.subs(point))
        assert close(derived, mp_partial(res.of, res.wrt, point))


# ---- the NumPy G2-LSTM -------------------------------------------------------------------------


def test_bptt_matches_central_differences_of_a_plain_model(small_case):
    p, xs, dhs, noise, t = small_case
    _, cache = topic.forward(p, xs, noise=noise, tau=t)
    grads, *_ = lstm_gates.backward(p, cache, dhs, inputs=False)
    fd = fd_gradient(p, xs, dhs, noise, t)
    for name in p:
        np.testing.assert_allclose(grads[name], fd[name], rtol=1e-6, atol=1e-8, err_msg=name)


def test_bptt_that_forgets_the_temperature_is_caught(small_case):
    """The same forward pass, with the backward rule's 1/τ dropped (σ′ in place of G(1 − G)/τ):
    central differences of the plain model disagree."""
    p, xs, dhs, noise, t = small_case
    _, cache = topic.forward(p, xs, noise=noise, tau=t)
    cache.tau = 1.0
    grads, *_ = lstm_gates.backward(p, cache, dhs, inputs=False)
    fd = fd_gradient(p, xs, dhs, noise, t)
    worst = max(float(np.max(np.abs(grads[n] - fd[n]))) for n in ("Wxi", "Whf", "bi", "bf"))
    assert worst > 1e-3


def test_forward_matches_the_plain_model(small_case):
    p, xs, dhs, noise, t = small_case
    hs, _ = topic.forward(p, xs, noise=noise, tau=t)
    assert close(float(np.sum(dhs * hs)), plain_g2_loss(p, xs, dhs, noise, t), rtol=1e-12)


def test_bptt_table_at_hidden_16():
    table = topic.bptt_check_table()
    assert table.passed
    assert "H = 16" in table.title and "T = 10" in table.title


def test_test_time_rules():
    rng = np.random.default_rng(0)
    p = lstm_gates.init_params(4, 2, rng, peepholes=False)
    xs = rng.normal(size=(5, 2, 3))
    _, soft = topic.forward(p, xs, rule="sigmoid")
    _, hard = topic.forward(p, xs, rule="step")
    # recompute the first step's input gate here: σ(W_xi x + b_i) and 1[W_xi x + b_i ≥ 0]
    a0 = p["Wxi"] @ xs[0] + p["bi"][:, None]
    np.testing.assert_allclose(soft.gates[0][:4], sig(a0), rtol=1e-14)
    np.testing.assert_array_equal(hard.gates[0][:4], (a0 >= 0).astype(float))
    assert set(np.unique(hard.gates[:, :8])) <= {0.0, 1.0}
    with pytest.raises(ValueError, match="no gradient"):
        lstm_gates.backward(p, hard, np.ones((5, 4, 3)))


def test_noise_share_and_its_errors():
    rng = np.random.default_rng(1)
    noise = topic.gate_noise(rng, 50, 10, 40, share=0.2)
    assert noise.shape == (50, 20, 40)
    assert abs(np.mean(noise != 0) - 0.2) < 0.01
    assert np.all(np.isfinite(topic.gate_noise(rng, 50, 10, 40)))
    with pytest.raises(ValueError, match=r"share .* \(0, 1\]"):
        topic.gate_noise(rng, 2, 2, 2, share=0.0)


@pytest.mark.parametrize("call,message", [
    (lambda: topic.tail_probability(0.0, 0.0, 0.1), "temperature tau must be a finite number > 0, got 0.0"),
    (lambda: topic.tail_probability(0.0, -1.0, 0.1), "temperature tau must be a finite number > 0, got -1.0"),
    (lambda: topic.tail_probability(0.0, 1.0, 0.5), r"epsilon must lie in the open interval \(0, 1/2\), got 0.5"),
    (lambda: topic.tail_probability(0.0, 1.0, 0.0), r"epsilon must lie in the open interval \(0, 1/2\), got 0.0"),
    (lambda: topic.density([0.5, 1.0], 0.0, 1.0), r"open interval \(0, 1\)"),
    (lambda: topic.train("gru", updates=1), "unknown model 'gru'; valid models: lstm, g2"),
    (lambda: topic.train("g2", updates=1, tau_=0.0), "temperature tau must be a finite number > 0"),
])
def test_bad_input_gets_one_clear_error(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_mismatched_shapes_are_refused():
    rng = np.random.default_rng(2)
    p = lstm_gates.init_params(3, 2, rng)
    xs = rng.normal(size=(4, 2, 5))
    with pytest.raises(ValueError, match=r"noise has shape \(4, 3, 5\); expected \(4, 6, 5\)"):
        topic.forward(p, xs, noise=np.zeros((4, 3, 5)))
    with pytest.raises(ValueError, match=r"inputs xs have shape \(4, 3, 5\)"):
        topic.forward(p, np.zeros((4, 3, 5)), noise=np.zeros((4, 6, 5)))
    with pytest.raises(ValueError, match=r"tau has shape \(3, 1\)"):
        lstm_gates.forward(p, xs, noise=np.zeros((4, 6, 5)), tau=np.ones((3, 1)))
    with pytest.raises(ValueError, match="training needs the gate noise"):
        topic.forward(p, xs)
    with pytest.raises(ValueError, match="unknown rule 'soft'"):
        topic.forward(p, xs, rule="soft")


# ---- the experiment's machinery ----------------------------------------------------------------


def test_memory_task_targets_the_marked_number():
    xs, target = topic.memory_task(np.random.default_rng(4), 50, 12)
    marks = xs[:, 1, :]
    assert np.all(marks.sum(axis=0) == 1)
    pos = marks.argmax(axis=0)
    assert np.all(pos < 6)
    np.testing.assert_array_equal(target, xs[pos, 0, np.arange(50)])


def test_models_side_by_side_train_as_they_would_alone():
    """The block-diagonal packing changes nothing: each model's loss curve and weights equal those
    of the same model trained alone."""
    settings = dict(updates=15, hidden=4, steps=6, batch=8)
    together = topic.train_many([("lstm", 0), ("g2", 0), ("g2", 1)], **settings)
    for model, (kind, seed) in zip(together, [("lstm", 0), ("g2", 0), ("g2", 1)]):
        alone = topic.train(kind, seed=seed, **settings)
        np.testing.assert_allclose(model.losses, alone.losses, rtol=1e-10)
        for name in alone.params:
            np.testing.assert_allclose(model.params[name], alone.params[name], rtol=1e-9, atol=1e-12)


def test_training_reduces_the_loss_of_both_models():
    for kind in ("lstm", "g2"):
        m = topic.train(kind, updates=160, seed=0)
        assert np.mean(m.losses[-20:]) < 0.5 * np.mean(m.losses[:20]), kind


def test_round_gate_weights():
    rng = np.random.default_rng(6)
    p = lstm_gates.init_params(3, 2, rng, scale=3.0)
    q = topic.round_gate_weights(p, grid=0.5, clip=1.0)
    for name in ("Wxi", "Whi", "Wxf", "Whf"):
        assert np.all(np.abs(q[name]) <= 1.0)
        np.testing.assert_array_equal(q[name] * 2, np.round(q[name] * 2))
        np.testing.assert_allclose(q[name], np.round(np.clip(p[name], -1, 1) * 2) / 2)
    for name in ("bi", "bf", "Wxo", "Who", "Wxc", "Whc"):
        np.testing.assert_array_equal(q[name], p[name])
    r = topic.round_gate_weights(p, grid=0.5, clip=None)
    assert np.max(np.abs(r["Wxi"])) > 1.0
    with pytest.raises(ValueError, match="grid and clip must be > 0"):
        topic.round_gate_weights(p, grid=0.0)


# ---- the experiment's numbers against oracles written here (training update, Adam, held-out) -----
#
# The loss figure, the results table and the gate histograms come from train_many, held_out_loss
# and gate_values. Below, each is compared with a model typed in this file: a G2-LSTM run one unit
# at a time (no matrix products, no stacked gates), its read-out and mean squared error, central
# differences of that loss, and Adam (Kingma & Ba 2015, defaults β1 = 0.9, β2 = 0.999, ε = 1e-8).


def plain_g2_run(p, xs, noise, t, rule="train"):
    """The G2-LSTM over xs, unit by unit (vectorised over the batch only): returns the input and
    forget gates of every step (each (T, H, B)) and h_T (H, B). rule "train": σ((a + L)/t);
    "sigmoid": σ(a) (no noise, no temperature); "step": 1[a ≥ 0] for the input and forget gates."""
    H = p["Wxi"].shape[0]
    T, D, B = xs.shape
    h, c = np.zeros((H, B)), np.zeros((H, B))
    i_all, f_all = np.zeros((T, H, B)), np.zeros((T, H, B))
    for s in range(T):
        x = xs[s]
        pre = {}
        for g in "ifco":
            rows = []
            for k in range(H):
                a = p[f"b{g}"][k] + np.zeros(B)
                for m in range(D):
                    a = a + p[f"Wx{g}"][k, m] * x[m]
                for m in range(H):
                    a = a + p[f"Wh{g}"][k, m] * h[m]
                rows.append(a)
            pre[g] = np.array(rows)
        a_i = pre["i"] + p["wci"][:, None] * c
        a_f = pre["f"] + p["wcf"][:, None] * c
        if rule == "train":
            i, f = sig((a_i + noise[s, :H]) / t), sig((a_f + noise[s, H:]) / t)
        elif rule == "sigmoid":
            i, f = sig(a_i), sig(a_f)
        else:
            assert rule == "step"
            i, f = (a_i >= 0).astype(float), (a_f >= 0).astype(float)
        c = f * c + i * np.tanh(pre["c"])
        o = sig(pre["o"] + p["wco"][:, None] * c)
        h = o * np.tanh(c)
        i_all[s], f_all[s] = i, f
    return i_all, f_all, h


def plain_mse(p, readout, xs, target, noise, t, rule="train"):
    """Mean over the batch of (w · h_T + b − target)², w = readout[:-1], b = readout[-1]."""
    *_, hT = plain_g2_run(p, xs, noise, t, rule)
    H = hT.shape[0]
    pred = readout[H] + sum(readout[k] * hT[k] for k in range(H))
    return float(np.mean((pred - target) ** 2))


def plain_target(xs):
    """The memory task's target, read off the inputs here: channel 0 at the step marked in channel 1."""
    marks = xs[:, 1, :]
    assert np.all(marks.sum(axis=0) == 1)
    return xs[marks.argmax(axis=0), 0, np.arange(xs.shape[2])]


def plain_init(seed, H):
    """train_many's documented start: lstm_gates.init_params(H, 2, rng, scale=1, no peepholes),
    forget bias + 1, read-out weights normal/√H then a zero bias, all from default_rng(seed)."""
    rng = np.random.default_rng(seed)
    p = lstm_gates.init_params(H, 2, rng, scale=1.0, peepholes=False)
    p["bf"] = p["bf"] + 1.0
    return p, np.append(rng.normal(size=H) / np.sqrt(H), 0.0)


@pytest.fixture
def spy(monkeypatch):
    """Record, at every forward pass of training, the parameters (a copy), inputs, noise and τ it
    received, and the gradient dict that backward returned — train_many completes that dict (block
    masks, the read-out's entry "out") and feeds it to Adam, so after training it holds the
    gradient of that update."""
    calls = []
    real_forward, real_backward = lstm_gates.forward, lstm_gates.backward

    def forward(p, xs, *args, **kw):
        noise = kw.get("noise")
        calls.append({"params": {k: np.array(v, copy=True) for k, v in p.items()},
                      "xs": np.array(xs, copy=True), "tau": kw.get("tau", 1.0),
                      "noise": None if noise is None else np.array(noise, copy=True)})
        return real_forward(p, xs, *args, **kw)

    def backward(p, cache, dhs, *args, **kw):
        out = real_backward(p, cache, dhs, *args, **kw)
        calls[-1]["grads"] = out[0]
        return out

    monkeypatch.setattr(lstm_gates, "forward", forward)
    monkeypatch.setattr(lstm_gates, "backward", backward)
    return calls


TINY = dict(hidden=3, steps=5, batch=4)
TRAINABLE = [n for n in lstm_gates.PARAM_NAMES if not n.startswith("wc")]   # peepholes stay 0


@pytest.mark.parametrize("kind", ["lstm", "g2"])
def test_training_gradient_matches_central_differences_of_a_plain_mse(kind, spy):
    """The gradient of one training update — every LSTM weight and bias, the read-out weights and
    the read-out bias — against central differences (h = 1e-6) of the MSE of the plain model
    above, at the update's own batch and noise. The LSTM gets no noise and τ = 1, the G2-LSTM its
    noise and τ = 0.7.

    Tolerance: the loss is smooth and O(0.1–1); central differences err by O(h²) ≈ 1e-12 from
    truncation and by ≈ 1e-16·|J|/h ≈ 1e-10 from rounding, absolute. rtol 1e-6 with atol 1e-9 (for
    the few entries below 1e-3) sits above that (≤ 1.5e-10 absolute is measured, the gradients
    being 1e-6–0.9), while a dropped or misplaced term — a zero or halved read-out gradient, the
    wrong step's h, a missing 1/τ — is off by 1e-3 or more."""
    H, tau_, seed = TINY["hidden"], 0.7, 3
    topic.train(kind, seed=seed, updates=1, tau_=tau_, **TINY)
    assert len(spy) == 1 and "grads" in spy[0]
    rec = spy[0]
    p0, r0 = plain_init(seed, H)
    for name in p0:                                  # the update starts where it says it does
        np.testing.assert_array_equal(rec["params"][name], p0[name], err_msg=name)
    xs = rec["xs"]
    target = plain_target(xs)
    if kind == "g2":
        noise, t = rec["noise"], tau_
        assert noise.shape == (TINY["steps"], 2 * H, TINY["batch"]) and np.all(noise != 0)
    else:
        noise, t = np.zeros((TINY["steps"], 2 * H, TINY["batch"])), 1.0
    grads, step = rec["grads"], 1e-6

    def fd(loss, x):
        x = x.copy()
        return np.array([central_difference(x, q, lambda: loss(x), step) for q in range(x.size)]).reshape(x.shape)

    for name in TRAINABLE:
        want = fd(lambda v: plain_mse(p0 | {name: v}, r0, xs, target, noise, t), p0[name])
        np.testing.assert_allclose(grads[name], want, rtol=1e-6, atol=1e-9, err_msg=name)
    want = fd(lambda r: plain_mse(p0, r, xs, target, noise, t), r0)
    assert abs(want[-1]) > 1e-3                      # the read-out bias has a gradient to get right
    np.testing.assert_allclose(np.asarray(grads["out"]).reshape(-1), want, rtol=1e-6, atol=1e-9,
                               err_msg="readout")
    # and the recorded loss is the plain model's at that point
    model_loss = plain_mse(p0, r0, xs, target, noise, t)
    assert close(float(topic.train(kind, seed=seed, updates=1, tau_=tau_, **TINY).losses[0]), model_loss,
                 rtol=1e-12)


def plain_adam(theta, grads, lr, b1=0.9, b2=0.999, eps=1e-8):
    """Adam (Kingma & Ba 2015, Algorithm 1) from theta over the gradients in turn: every iterate."""
    m, v, out = np.zeros_like(theta), np.zeros_like(theta), []
    for n, g in enumerate(grads, start=1):
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        m_hat, v_hat = m / (1 - b1 ** n), v / (1 - b2 ** n)
        theta = theta - lr * m_hat / (np.sqrt(v_hat) + eps)
        out.append(theta)
    return out


def test_training_steps_are_adam_updates(spy):
    """Three updates of a G2-LSTM at rate 0.05: every parameter after update n (the next forward
    pass's parameters, then the trained model's), and the read-out after the last, equal Adam
    written here applied to the gradients the updates used, to 1e-12 absolute (the parameters are
    O(1); the two computations differ only in the order of a few float64 operations, ~1e-16). The
    first step alone is ≈ lr·sign(g); steps 2–3 exercise the moment averages and bias corrections.
    The peepholes are not trained."""
    H, seed, lr, N = TINY["hidden"], 4, 0.05, 3
    model = topic.train("g2", seed=seed, updates=N, lr=lr, tau_=0.7, **TINY)
    assert len(spy) == N
    p0, r0 = plain_init(seed, H)
    for name in TRAINABLE:
        iterates = plain_adam(p0[name], [c["grads"][name] for c in spy], lr)
        for n in range(1, N):
            np.testing.assert_allclose(spy[n]["params"][name], iterates[n - 1], rtol=0, atol=1e-12,
                                       err_msg=f"{name} after update {n}")
        np.testing.assert_allclose(model.params[name], iterates[-1], rtol=0, atol=1e-12, err_msg=name)
        assert np.max(np.abs(model.params[name] - p0[name])) > lr        # they did move
    readouts = plain_adam(r0, [np.asarray(c["grads"]["out"]).reshape(-1) for c in spy], lr)
    np.testing.assert_allclose(model.readout, readouts[-1], rtol=0, atol=1e-12, err_msg="readout")
    assert abs(model.readout[-1]) > lr                                    # the bias moved too
    for name in ("wci", "wcf", "wco"):
        np.testing.assert_array_equal(model.params[name], 0.0)


@pytest.fixture(scope="module")
def held_out_case():
    """A G2-LSTM (τ = 0.7, which the test rules ignore) with spread-out gates, peepholes and a
    non-zero read-out bias, on held-out sequences."""
    rng = np.random.default_rng(21)
    H, T, B = 3, 6, 7
    p = lstm_gates.init_params(H, 2, rng, scale=2.5)
    model = topic.Trained("g2", p, rng.normal(size=H + 1), np.zeros(1), tau=0.7)
    xs = rng.normal(size=(T, 2, B))
    return model, xs, rng.uniform(-1, 1, size=B)


@pytest.mark.parametrize("rule", ["sigmoid", "step"])
def test_held_out_loss_and_gate_values_match_the_plain_model(held_out_case, rule):
    """held_out_loss under each test rule, and gate_values' input and forget gates, against the
    plain model with noise 0 (σ(a), or 1[a ≥ 0] for i and f), to 1e-12: the same float64
    arithmetic in another order, ~1e-16 per operation."""
    model, xs, target = held_out_case
    zero = np.zeros((xs.shape[0], 2 * model.params["Wxi"].shape[0], xs.shape[2]))
    want = plain_mse(model.params, model.readout, xs, target, zero, 1.0, rule)
    assert close(topic.held_out_loss(model, xs, target, rule=rule), want, rtol=1e-12, atol=0)
    i_want, f_want, _ = plain_g2_run(model.params, xs, zero, 1.0, rule)
    i_got, f_got = topic.gate_values(model, xs, rule=rule)
    np.testing.assert_allclose(i_got, i_want.ravel(), rtol=0, atol=1e-12, err_msg="input gate")
    np.testing.assert_allclose(f_got, f_want.ravel(), rtol=0, atol=1e-12, err_msg="forget gate")
    # the case tells the rules and the gates apart
    assert np.max(np.abs(i_want - f_want)) > 0.1
    if rule == "step":
        assert 0 < np.mean(i_want) < 1 and 0 < np.mean(f_want) < 1


def test_held_out_loss_with_other_parameters(held_out_case):
    """params= (the rounded or clipped weights of the table) replaces the model's own."""
    model, xs, target = held_out_case
    q = topic.round_gate_weights(model.params)
    zero = np.zeros((xs.shape[0], 2 * q["Wxi"].shape[0], xs.shape[2]))
    want = plain_mse(q, model.readout, xs, target, zero, 1.0, "sigmoid")
    assert close(topic.held_out_loss(model, xs, target, params=q), want, rtol=1e-12, atol=0)
    assert not close(want, plain_mse(model.params, model.readout, xs, target, zero, 1.0, "sigmoid"))


@pytest.mark.parametrize("a,t,e", [(4.0, 0.1, 0.3), (3.0, 0.1, 0.2), (6.0, 0.05, 0.45)])
def test_lower_bound_is_the_published_one(a, t, e):
    """lower_bound is σ(α) − (τ/4) log(1/ε) (SOURCES §8; the module's docstring), typed here, to
    1e-15, at points where it is positive and within 0.05 of P(G ≥ 1 − ε), so that a looser bound
    (τ/2, say), though still true, is told apart."""
    want = sig(a) - t / 4 * np.log(1 / e)
    got = float(topic.lower_bound(a, t, e))
    assert abs(got - want) <= 1e-15
    p = mp_open_probability(a, t, e)
    assert 0 < got <= p < got + 0.05
    assert abs((sig(a) - t / 2 * np.log(1 / e)) - got) > 1e-3
    np.testing.assert_allclose(topic.lower_bound(np.array([a, -a]), t, e),
                               sig(np.array([a, -a])) - t / 4 * np.log(1 / e), rtol=0, atol=1e-15)


def test_law_table_bound_rows_use_the_published_bound():
    """The table's bound rows report min(P − lower, σ(α) − P) with lower = σ(α) − (τ/4) log(1/ε)
    and P = σ(α − τ log(1/ε − 1)), both computed here (1e-12)."""
    rows = [r for r in topic.law_table().rows if r["quantity"].startswith("σ(α) − (τ/4)")]
    assert len(rows) == len(topic.MC_POINTS)
    used_lower = 0
    for row, (a, t, e) in zip(rows, topic.MC_POINTS):
        p, lo, hi = sig(a - t * np.log(1 / e - 1)), sig(a) - t / 4 * np.log(1 / e), sig(a)
        assert abs(row["value"] - min(p - lo, hi - p)) <= 1e-12, row["at"]
        assert row["passed"]
        used_lower += p - lo < hi - p
    assert used_lower >= 2           # the rows that a looser lower bound would change
