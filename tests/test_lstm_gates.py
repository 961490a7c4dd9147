"""lstm_gates: every step symbolically; the backward code against a forward pass written here."""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp

from derivations import lstm_gates as topic
from derivations.core import Derivation, StepError, evaluate
from reference import close, mp_partial

GATES = ("i", "f", "c", "o")


@pytest.mark.parametrize("d", [d for d in topic.derivations() if isinstance(d, Derivation)], ids=lambda d: d.name)
def test_every_step_holds(d):
    checks = d.check()
    assert len(checks) == len(d.steps) - 1 >= 1
    assert all(c.method == "symbolic" for c in checks)


@pytest.mark.parametrize("N", topic.CAROUSEL_UNITS)
def test_the_carousel_is_proved_for_every_number_of_steps(N):
    ind = topic.carousel_induction(N)
    assert ind in topic.derivations()
    assert all(ch.method == "symbolic" for ch in ind.check()) and ind.proved_for() == "all t ≥ t_0"


def test_the_carousel_factor_is_the_derived_one_step_derivative():
    """d_{s,k} in the induction is the last step of dc_dcprev_derivation (δ_kk = 1) at step s."""
    last = topic.dc_dcprev_derivation().result.xreplace({topic.j: topic.k})
    s = topic.t_step + 1
    moved = last.xreplace({topic.f_t[topic.k]: topic.f_seq[1, s], topic.c_prev[topic.k]: topic.c_seq[1, s - 1],
                           topic.z_t[topic.k]: topic.z_seq[1, s], topic.i_t[topic.k]: topic.i_seq[1, s],
                           topic.W_c["f"][topic.k]: topic.W_c["f"][1], topic.W_c["i"][topic.k]: topic.W_c["i"][1]})
    assert sp.expand(moved - topic.carousel_entry(1, s)) == 0
    assert topic._carousel_factor(s, 2).entries[0, 1] == 0


def test_the_carousel_as_forget_gates_alone_is_refused():
    """With peepholes, ∂c_t/∂c_{t−1} is not f_t alone: a one-step factor without its peephole terms fails."""
    import copy

    ind = topic.carousel_induction(2)
    s = topic.t_step + 1
    forget = topic.NamedMatrix(r"\operatorname{diag}(f_{t+1})", sp.Matrix([[topic.f_seq[1, s], 0], [0, topic.f_seq[2, s]]]))
    bad = copy.deepcopy(ind)
    bad.step.steps[2].expr = sp.MatMul(forget, topic._cell_jacobian(topic.t_step, topic.t_0, 2), evaluate=False)
    bad._checked = bad.step._checked = None
    with pytest.raises(StepError, match=r"lstm_carousel_all_t_n2_step, step 2"):
        bad.check()


def test_dh_dc_without_the_peephole_path_fails():
    """The slip of forgetting that o_t peeks at c_t: ∂h/∂c = o(1 − tanh²c) alone is wrong,
    and the oracles say so."""
    from derivations.core import Result
    from derivations.oracles import crosscheck

    inst = topic.INSTANCES_K[0]
    cs = sp.Symbol("c_t_2", real=True)
    defs = {key: v for key, v in topic.DEFINITIONS.items() if key is not topic.c_t}  # c_t a leaf
    of, _ = topic._flat(evaluate(topic.h_t[2], defs, inst).xreplace({topic.c_t[2]: cs}), inst)
    o_expr = of / sp.tanh(cs)
    wrong = o_expr * (1 - sp.tanh(cs) ** 2)
    right = sp.diff(of, cs)
    assert not crosscheck([Result(of, cs, wrong)], points=2).passed
    assert crosscheck([Result(of, cs, right)], points=2).passed


def test_sigmoid_sign_slip_is_caught():
    d = Derivation("slip", "σ' with a sign slip", sp.Derivative(topic.s_u, topic.u),
                   definitions={topic.s_u: 1 / (1 + sp.exp(-topic.u))})
    d.step(topic.s_u * (1 + topic.s_u), "a slip")
    with pytest.raises(StepError, match="a slip"):
        d.check()


def test_standard_lstm_needs_the_no_peephole_condition():
    d = topic.standard_lstm_derivation()
    assert d.steps[-1].given == (topic.NO_PEEPHOLES,)
    inst = topic.INSTANCES_K[0]
    before = evaluate(d.steps[-2].expr, topic.DEFINITIONS, inst)
    after = evaluate(d.steps[-1].expr, topic.DEFINITIONS, inst)
    assert sp.expand(before - after) != 0


def test_sigma_forms_agree():
    u = sp.Symbol("u", real=True)
    assert sp.simplify((topic.sigma(u) - (1 + sp.tanh(u / 2)) / 2).rewrite(sp.exp)) == 0
    assert sp.simplify((topic.explicit(topic.sigma(u)) - 1 / (1 + sp.exp(-u))).rewrite(sp.exp)) == 0
    assert sp.simplify(sp.diff(1 / (1 + sp.exp(-u)), u) - sp.diff(topic.sigma(u), u).rewrite(sp.exp)) == 0


# ---- an independent forward pass (written from the equations, no stacking) -----------------


def ref_forward(p, xs, sig, tanh, h=None, c=None):
    """h_t for every t, straight from the seed's equations, with diagonal peepholes."""
    T, _, B = xs.shape
    Hn = p["Wxi"].shape[0]
    h = np.zeros((Hn, B)) if h is None else h
    c = np.zeros((Hn, B)) if c is None else c
    out = []
    for t in range(T):
        x = xs[t]
        i = sig(p["Wxi"] @ x + p["Whi"] @ h + p["wci"][:, None] * c + p["bi"][:, None])
        f = sig(p["Wxf"] @ x + p["Whf"] @ h + p["wcf"][:, None] * c + p["bf"][:, None])
        z = tanh(p["Wxc"] @ x + p["Whc"] @ h + p["bc"][:, None])
        c = f * c + i * z
        o = sig(p["Wxo"] @ x + p["Who"] @ h + p["wco"][:, None] * c + p["bo"][:, None])
        h = o * tanh(c)
        out.append(h)
    return np.array(out)


def np_sig(a):
    return 1.0 / (1.0 + np.exp(-a))


def test_backward_code_element_by_element_H2_D2_T2():
    """Every gradient entry of the NumPy BPTT (H = 2, D = 2, T = 2) against 40-digit central
    differences of a loss built by the forward pass written in this file, in SymPy."""
    import mpmath

    Hn, Dn, T = 2, 2, 2
    shapes = {**{f"Wx{g}": (Hn, Dn) for g in GATES}, **{f"Wh{g}": (Hn, Hn) for g in GATES},
              **{f"b{g}": (Hn,) for g in GATES}, **{f"wc{g}": (Hn,) for g in "ifo"}}
    ps = {name: np.array(sp.symbols(f"{name}_1:{int(np.prod(s)) + 1}", real=True), dtype=object).reshape(s)
          for name, s in shapes.items()}
    xs_s = np.array(sp.symbols(f"x1:{T * Dn + 1}", real=True), dtype=object).reshape(T, Dn, 1)
    rng = np.random.default_rng(3)
    dhs = rng.normal(size=(T, Hn, 1))
    sig = np.frompyfunc(lambda a: 1 / (1 + sp.exp(-a)), 1, 1)
    J = sum((dhs * ref_forward(ps, xs_s, sig, np.frompyfunc(sp.tanh, 1, 1))).ravel())
    wrts = [w for name in shapes for w in np.ravel(ps[name])] + list(xs_s.ravel())
    assert len(wrts) == 4 * (Hn * Dn + Hn * Hn + Hn) + 3 * Hn + T * Dn == 50
    f = sp.lambdify(wrts, J, "mpmath")
    vals = rng.normal(size=len(wrts))
    p = {}
    pos = 0
    for name, s in shapes.items():
        p[name] = vals[pos:pos + int(np.prod(s))].reshape(s)
        pos += int(np.prod(s))
    xs = vals[pos:].reshape(T, Dn, 1)
    grads, dxs, _, _ = topic.backward(p, topic.forward(p, xs)[1], dhs)
    code = np.concatenate([np.ravel(grads[name]) for name in shapes] + [dxs.ravel()])
    with mpmath.workdps(40):
        h = mpmath.mpf("1e-15")
        base = [mpmath.mpf(v) for v in vals]
        for n in range(len(wrts)):
            hi, lo = list(base), list(base)
            hi[n] += h
            lo[n] -= h
            want = float((f(*hi) - f(*lo)) / (2 * h))
            assert close(code[n], want, rtol=1e-9, atol=1e-12), (str(wrts[n]), code[n], want)


def test_backward_against_differences_of_own_forward_H16_T10():
    rng = np.random.default_rng(7)
    Hn, Dn, T, B = 16, 3, 10, 2
    p = topic.init_params(Hn, Dn, rng)
    xs = rng.normal(size=(T, Dn, B))
    dhs = rng.normal(size=(T, Hn, B))
    grads, dxs, dh0, dc0 = topic.backward(p, topic.forward(p, xs)[1], dhs)
    only, none, *_ = topic.backward(p, topic.forward(p, xs)[1], dhs, inputs=False)
    assert none is None and all(np.array_equal(only[k], grads[k]) for k in grads)

    def loss(q, xx=xs):
        return float(np.sum(dhs * ref_forward(q, xx, np_sig, np.tanh)))

    eps = 1e-6
    for name in ("Whi", "wcf", "wco", "Wxc", "bo", "wci"):
        flat = np.ravel(p[name])
        for idx in rng.choice(flat.size, size=3, replace=False):
            plus = {**p, name: p[name].copy()}
            minus = {**p, name: p[name].copy()}
            np.ravel(plus[name])[idx] += eps
            np.ravel(minus[name])[idx] -= eps
            fd = (loss(plus) - loss(minus)) / (2 * eps)
            assert close(np.ravel(grads[name])[idx], fd, rtol=1e-6, atol=1e-8), name
    xp, xm = xs.copy(), xs.copy()
    xp[4, 1, 0] += eps
    xm[4, 1, 0] -= eps
    assert close(dxs[4, 1, 0], (loss(p, xp) - loss(p, xm)) / (2 * eps), rtol=1e-6, atol=1e-8)


def test_no_peepholes_is_the_standard_lstm():
    rng = np.random.default_rng(1)
    p = topic.init_params(5, 3, rng, peepholes=False)
    xs = rng.normal(size=(6, 3, 2))
    h = np.zeros((5, 2))
    c = np.zeros((5, 2))
    std = []
    for x in xs:  # the standard LSTM: no c in any gate
        i = np_sig(p["Wxi"] @ x + p["Whi"] @ h + p["bi"][:, None])
        f = np_sig(p["Wxf"] @ x + p["Whf"] @ h + p["bf"][:, None])
        o = np_sig(p["Wxo"] @ x + p["Who"] @ h + p["bo"][:, None])
        c = f * c + i * np.tanh(p["Wxc"] @ x + p["Whc"] @ h + p["bc"][:, None])
        h = o * np.tanh(c)
        std.append(h)
    hs, cache = topic.forward(p, xs)
    assert np.allclose(hs, std, atol=1e-14)
    # and then ∂c_t/∂c_{t−1} is f_t exactly
    f_t = cache.step(2).f
    grads, _, _, dc0 = topic.backward(p, topic.forward(p, xs[:1])[1], np.zeros((1, 5, 2)),
                                      dc_last=np.ones((5, 2)))
    f_1 = topic.forward(p, xs[:1])[1].step(0).f
    assert np.allclose(dc0, f_1) and f_t.shape == (5, 2)


def test_results_against_mp_differences():
    rng = np.random.default_rng(11)
    for r in topic.results():
        syms = sorted(r.of.free_symbols | r.expr.free_symbols, key=str)
        point = {s: rng.normal() for s in syms}
        want = mp_partial(r.of, r.wrt, point)
        got = float(sp.lambdify(syms, r.expr)(*[point[s] for s in syms]))
        assert close(got, want), (r.wrt, got, want)


def test_results_are_plain_and_round_trip():
    for r in topic.results():
        assert not r.of.atoms(sp.Indexed) and not r.of.atoms(sp.core.function.AppliedUndef)
        assert sp.sympify(sp.srepr(r.expr)) == r.expr


def test_numeric_tables_pass():
    tables = topic.numeric_checks()
    assert all(t.passed for t in tables)
    assert len(tables[0].rows) >= 2


def test_carousel_outlives_the_simple_rnn():
    lags, lstm, rnn = topic.carousel_curves(hidden=8, steps=40)
    assert lags[0] == 1 and len(lstm) == len(rnn) == 39
    assert lstm[-1] > 1e3 * rnn[-1]
    assert rnn[-1] < 1e-3 * rnn[0]


@pytest.mark.parametrize("hidden, steps, seed, bias", [(8, 40, 0, 3.0), (16, 60, 0, 3.0), (5, 20, 2, 0.0)])
def test_carousel_parts_are_the_carousel_and_its_pieces(hidden, steps, seed, bias):
    lags, lstm, _ = topic.carousel_curves(hidden=hidden, steps=steps, seed=seed, forget_bias=bias)
    parts = topic.carousel_parts(hidden=hidden, steps=steps, seed=seed, forget_bias=bias)
    np.testing.assert_array_equal(parts["lags"], lags)
    np.testing.assert_allclose(parts["state"], lstm, rtol=1e-12)   # the page's curve, the same block
    f, pf, pi = parts["f"], parts["peephole_f"], parts["peephole_i"]
    assert f.shape == pf.shape == pi.shape == (steps, hidden) and parts["c"].shape == (steps + 1, hidden)
    for lag in (1, steps // 2, steps - 1):                          # products over the last `lag` steps
        assert parts["forget"][lag - 1] == pytest.approx(np.prod(f[steps - lag:], axis=0).max(), rel=1e-12)
        assert parts["cell"][lag - 1] == pytest.approx(np.abs(np.prod((f + pf + pi)[steps - lag:], axis=0)).max(), rel=1e-12)
    # at lag 1 there is no path through h yet: ∂c_T/∂c_{T−1} is the diagonal of eq. lstm-gates-dc-dcprev
    assert parts["state"][0] == pytest.approx(parts["cell"][0], rel=1e-12)


def test_carousel_parts_without_peepholes_leave_the_forget_gate_alone():
    parts = topic.carousel_parts(hidden=6, steps=30, peepholes=False)
    assert np.all(parts["peephole_f"] == 0) and np.all(parts["peephole_i"] == 0)
    np.testing.assert_array_equal(parts["cell"], parts["forget"])
    # a direct check of one entry of ∂c_T/∂c_t by central differences through forward()
    rng = np.random.default_rng(0)
    p = topic.init_params(6, 1, rng, peepholes=False)
    p["bf"] = p["bf"] + 3.0
    xs = rng.normal(size=(30, 1, 1))
    _, cache = topic.forward(p, xs)
    lag, h = 5, 1e-6
    t0 = 30 - lag
    c0, h0 = cache.c[t0], cache.h[t0]
    J = np.empty((6, 6))
    for j in range(6):
        e = np.zeros((6, 1))
        e[j] = h
        up = topic.forward(p, xs[t0:], h0=h0, c0=c0 + e)[1].c[-1]
        down = topic.forward(p, xs[t0:], h0=h0, c0=c0 - e)[1].c[-1]
        J[:, j] = ((up - down) / (2 * h))[:, 0]
    assert np.linalg.norm(J, 2) == pytest.approx(parts["state"][lag - 1], rel=1e-6)


@pytest.mark.parametrize("call, needle", [
    (lambda p: topic.forward(p, np.zeros((3, 4, 1))), "expected (T, 2, batch)"),
    (lambda p: topic.forward(p, np.zeros((3, 2))), "expected (T, 2, batch)"),
    (lambda p: topic.forward({**p, "wco": np.zeros(4)}, np.zeros((3, 2, 1))), "parameter wco"),
    (lambda p: topic.forward({k: v for k, v in p.items() if k != "bi"}, np.zeros((3, 2, 1))), "missing: bi"),
    (lambda p: topic.forward(p, np.zeros((3, 2, 1)), h0=np.zeros(3)), "h0/c0"),
    (lambda p: topic.backward(p, topic.forward(p, np.zeros((3, 2, 1)))[1], np.zeros((2, 3, 1))), "dhs"),
    (lambda p: topic.init_params(0, 2), "must be positive"),
])
def test_bad_shapes_give_one_line_errors(call, needle):
    p = topic.init_params(3, 2)
    with pytest.raises(ValueError) as err:
        call(p)
    assert needle in str(err.value) and "\n" not in str(err.value)


# ---- precision and BLAS threads ------------------------------------------------------------------


def test_float32_runs_end_to_end_and_matches_float64_autograd():
    import autograd

    rng = np.random.default_rng(21)
    p = topic.init_params(6, 3, rng, dtype=np.float32)
    xs = rng.normal(size=(12, 3, 4)).astype(np.float32)
    dhs = rng.normal(size=(12, 6, 4)).astype(np.float32)
    hs, cache = topic.forward(p, xs)
    grads, dxs, dh0, dc0 = topic.backward(p, cache, dhs)
    arrays = [hs, cache.gates, cache.c, cache.h, cache.tc, dxs, dh0, dc0, *grads.values()]
    assert {a.dtype for a in arrays} == {np.dtype(np.float32)}  # no silent upcast anywhere
    p64 = {k: v.astype(np.float64) for k, v in p.items()}
    ref = autograd.grad(lambda q: topic.autograd_loss(q, xs.astype(float), dhs.astype(float)))(p64)
    for k in p:
        err = np.linalg.norm(grads[k] - ref[k]) / np.linalg.norm(ref[k])
        assert 0 < err <= topic.FLOAT32_RTOL, k   # float32 rounding, not float64 in disguise
    assert topic.bptt_check_table().rows[-1]["passed"]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_gates_saturated_past_the_precisions_range_give_finite_gradients(dtype):
    """Inputs ×200 drive the gates' pre-activations to ±several hundred: past float32's range, where
    e^{−a} overflows (σ′ was inf·0 = nan in float32). The gradients stay finite and agree with the
    float64 ones computed by mpmath-free autograd to the precision's tolerance."""
    import autograd

    rng = np.random.default_rng(5)
    p = topic.init_params(4, 3, rng, dtype=dtype)
    xs = (200 * rng.normal(size=(6, 3, 2))).astype(dtype)
    dhs = rng.normal(size=(6, 4, 2)).astype(dtype)
    _, cache = topic.forward(p, xs)
    assert 0 < cache.gates[:, :8].min() < 1e-30  # some σ gates saturated past float32's normal range
    assert np.isfinite(cache.slopes).all()
    grads, dxs, dh0, dc0 = topic.backward(p, cache, dhs)
    for k, g in grads.items():
        assert np.isfinite(g).all(), k
    p64 = {k: v.astype(np.float64) for k, v in p.items()}
    ref = autograd.grad(lambda q: topic.autograd_loss(q, xs.astype(float), dhs.astype(float)))(p64)
    tol = topic.FLOAT32_RTOL if dtype == np.float32 else 1e-10
    for k in p:
        scale = np.linalg.norm(ref[k])
        if scale > 0:
            assert np.linalg.norm(grads[k] - ref[k]) <= tol * scale, k


def test_mixed_precision_is_refused():
    rng = np.random.default_rng(22)
    p = topic.init_params(3, 2, rng)
    xs32 = rng.normal(size=(4, 2, 1)).astype(np.float32)
    with pytest.raises(ValueError, match="parameter Wxi is float64 but the inputs are float32"):
        topic.forward(p, xs32)
    p32 = topic.init_params(3, 2, rng, dtype=np.float32)
    _, cache = topic.forward(p32, xs32)
    with pytest.raises(ValueError, match="dhs is float64 but the forward pass ran in float32"):
        topic.backward(p32, cache, np.ones((4, 3, 1)))
    with pytest.raises(ValueError, match="unsupported dtype float16"):
        topic.init_params(3, 2, rng, dtype=np.float16)


def _blas_threads() -> list[int]:
    """The thread count of every BLAS library loaded now."""
    from threadpoolctl import threadpool_info

    return [i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"]


def test_products_over_the_sequence_share_threads_only_when_large(monkeypatch):
    """The products over every step at once: all BLAS threads from blas.SHARE_FLOPS on, one below
    (shared, small products collapse when another process holds a core). Seen at the products
    themselves: np.matmul is replaced by a spy that records the thread count for each call."""
    from derivations import blas

    before = _blas_threads()
    with blas.threads_for(blas.SHARE_FLOPS):
        assert _blas_threads() == before
    with blas.threads_for(blas.SHARE_FLOPS / 2):
        assert _blas_threads() == [1] * len(before)
    assert _blas_threads() == before
    seen = []
    real = np.matmul

    def spy(*args, **kwargs):
        seen.append(_blas_threads())
        return real(*args, **kwargs)

    rng = np.random.default_rng(5)
    p = topic.init_params(3, 2, rng)
    xs = rng.normal(size=(3, 2, 1))
    monkeypatch.setattr(topic.np, "matmul", spy)
    monkeypatch.setattr(blas, "SHARE_FLOPS", 0.0)        # every sequence product counts as large
    topic.forward(p, xs)
    assert seen and seen[0] == before                    # A = W_x x_t for every t, all threads
    seen.clear()
    monkeypatch.setattr(blas, "SHARE_FLOPS", float("inf"))
    topic.forward(p, xs)
    assert seen[0] == [1] * len(before)


def test_recurrence_runs_on_one_blas_thread(monkeypatch):
    """Inside forward and backward BLAS has one thread; outside, as many as before."""
    from derivations import blas

    seen = []
    real = topic.step_backward

    def spy(*args, **kwargs):
        seen.append(_blas_threads())
        return real(*args, **kwargs)

    monkeypatch.setattr(topic, "step_backward", spy)
    before = _blas_threads()
    rng = np.random.default_rng(23)
    p = topic.init_params(3, 2, rng)
    _, cache = topic.forward(p, rng.normal(size=(3, 2, 1)))
    topic.backward(p, cache, np.ones((3, 3, 1)))
    assert seen and all(threads == [1] * len(before) for threads in seen)
    assert _blas_threads() == before
    assert blas._controller().select(user_api="blas").lib_controllers  # NumPy's BLAS was found


# ---- derivatives accurate in relative terms --------------------------------------------------------


@pytest.mark.parametrize("a", [0.3, -2.0, 30.0, 37.0, -60.0, 150.0, -300.0, 500.0, -700.0])
def test_gate_slopes_are_accurate_in_relative_terms(a):
    """σ′ and tanh′ from the forward pass against mpmath at 50 digits, to 8 ulps, far into the tails
    (σ′(30) computed as σ(1 − σ) is 1e-3 off, and from 37 on it is 0)."""
    import mpmath

    p = topic.init_params(1, 1, peepholes=False)
    for name in p:
        p[name] = np.zeros_like(p[name])
    p["bi"][:] = p["bo"][:] = a
    p["bc"][:] = a / 2
    p["bf"][:] = 40.0                                 # f = 1 (to float64), so c_1 = c_0 + i z
    c0 = np.array([[a / 3]])
    _, cache = topic.forward(p, np.zeros((1, 1, 1)), c0=c0)
    with mpmath.workdps(50):
        sig_slope = lambda x: mpmath.exp(-x) / (1 + mpmath.exp(-x)) ** 2  # noqa: E731
        tanh_slope = lambda x: 1 / mpmath.cosh(x) ** 2  # noqa: E731
        want = {"σ′(a^i)": sig_slope(mpmath.mpf(a)), "tanh′(a^z)": tanh_slope(mpmath.mpf(a) / 2),
                "σ′(a^o)": sig_slope(mpmath.mpf(a)), "tanh′(c)": tanh_slope(mpmath.mpf(float(cache.c[1, 0, 0])))}
    got = {"σ′(a^i)": cache.slopes[0, 0, 0], "tanh′(a^z)": cache.slopes[0, 2, 0], "σ′(a^o)": cache.slopes[0, 3, 0],
           "tanh′(c)": cache.tc_slope[0, 0, 0]}
    for name, exact in want.items():
        if exact < 2.3e-308:          # below float64's normal range no relative accuracy is possible
            continue
        rel = abs(float((mpmath.mpf(float(got[name])) - exact) / exact))
        assert rel <= 8 * np.finfo(float).eps, (name, got[name], exact)


def test_saturated_gate_keeps_its_gradient():
    """∂h_1/∂b_i = o tanh′(c_1) z σ′(b_i) at b_i = 40: 4e-18 relative to h, computed to full relative
    precision (a(1 − a) would give exactly 0)."""
    import mpmath

    p = topic.init_params(1, 1, peepholes=False)
    for name in p:
        p[name] = np.zeros_like(p[name])
    p["bi"][:], p["bc"][:], p["bo"][:], p["bf"][:] = 40.0, 0.5, 1.0, -1.0
    _, cache = topic.forward(p, np.zeros((1, 1, 1)))
    grads, *_ = topic.backward(p, cache, np.ones((1, 1, 1)))
    with mpmath.workdps(50):
        sg = lambda x: 1 / (1 + mpmath.exp(-x))  # noqa: E731
        i, z, o = sg(40), mpmath.tanh(mpmath.mpf("0.5")), sg(1)
        c1 = i * z
        exact = o * (1 - mpmath.tanh(c1) ** 2) * z * i * (1 - i)
    assert float(exact) > 0
    assert abs(float((grads["bi"][0] - exact) / exact)) < 1e-14


# ---- the carousel's state Jacobian, peepholes on, against an independent oracle ---------------------
#
# _state_jacobian feeds the carousel figure (carousel_curves, carousel_parts), which runs with the
# peepholes on. The oracle below is a one-step peephole LSTM written here in plain NumPy from the
# block's equations (docs/lstm_gates.md, "The block in math"), sharing no code with the module:
# its Jacobian is taken by central differences, entry by entry.
#
# Tolerances. A float64 central difference with step h has truncation error ~ h²/6 · |F'''| and
# rounding error ~ ε·|F|/h (ε = 2.2e-16; F = (h_t, c_t), |F| = O(1) on the short run below). The
# step h = 1e-5 is near the optimum ε^(1/3): about 2e-11 + 2e-11. atol 1e-9 sits well above that
# floor (entries of the Jacobian that are ~0) and rtol 1e-6 bounds the rest. Measured on the
# correct code: max |error| 5e-11, at most 0.4 % of atol + rtol·|J| (with h = 1e-6, rounding
# dominates: 5e-10, 6 %). A wrong term is far above this: each peephole alone moves the
# Jacobian by ≥ 4e-2 here (checked in the test).

FD_STEP, FD_RTOL, FD_ATOL = 1e-5, 1e-6, 1e-9


def _peephole_lstm_step(p, x, h, c):
    """One step of the peephole LSTM, (h_{t−1}, c_{t−1}) → (h_t, c_t), written from the equations."""
    sig = lambda a: 1.0 / (1.0 + np.exp(-a))  # noqa: E731
    i = sig(p["Wxi"] @ x + p["Whi"] @ h + p["wci"] * c + p["bi"])
    f = sig(p["Wxf"] @ x + p["Whf"] @ h + p["wcf"] * c + p["bf"])
    z = np.tanh(p["Wxc"] @ x + p["Whc"] @ h + p["bc"])
    c_new = f * c + i * z
    o = sig(p["Wxo"] @ x + p["Who"] @ h + p["wco"] * c_new + p["bo"])   # peeks at the new cell
    return o * np.tanh(c_new), c_new


def _fd_state_jacobian(p, x, h, c, step=FD_STEP):
    """∂(h_t, c_t)/∂(h_{t−1}, c_{t−1}) of the oracle step, 2H × 2H, by central differences; the state
    vector is (h, c), h first, as in _state_jacobian's "full"."""
    H = len(h)
    s = np.concatenate([h, c])
    J = np.empty((2 * H, 2 * H))
    for j in range(2 * H):
        e = np.zeros(2 * H)
        e[j] = step
        up, down = s + e, s - e
        J[:, j] = (np.concatenate(_peephole_lstm_step(p, x, up[:H], up[H:]))
                   - np.concatenate(_peephole_lstm_step(p, x, down[:H], down[H:]))) / (2 * step)
    return J


def _carousel_draw(hidden, steps, seed, forget_bias):
    """The parameters and inputs carousel_curves / carousel_parts draw (peepholes on), and the
    oracle's own trajectory h_0 … h_T, c_0 … c_T from zero states."""
    rng = np.random.default_rng(seed)
    p = topic.init_params(hidden, 1, rng)
    p["bf"] = p["bf"] + forget_bias
    xs = rng.normal(size=(steps, 1, 1))
    hs, cs = [np.zeros(hidden)], [np.zeros(hidden)]
    for t in range(steps):
        h, c = _peephole_lstm_step(p, xs[t, :, 0], hs[-1], cs[-1])
        hs.append(h)
        cs.append(c)
    return p, xs, np.array(hs), np.array(cs)


def test_state_jacobian_with_peepholes_matches_central_differences_of_an_independent_step():
    hidden, steps = 4, 8
    p, xs, hs, cs = _carousel_draw(hidden, steps, seed=0, forget_bias=3.0)   # the page's forget bias
    assert all(np.min(np.abs(p[w])) > 0.05 for w in ("wci", "wcf", "wco"))   # peepholes really on
    _, cache = topic.forward(p, xs)
    # the oracle runs through the same states as the module's forward pass
    np.testing.assert_allclose(cache.h[:, :, 0], hs, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(cache.c[:, :, 0], cs, rtol=1e-12, atol=1e-15)
    for t in range(1, steps):                    # from t = 1 on: c_{t−1} ≠ 0, every peephole path live
        got = topic._state_jacobian(p, cache.step(t))["full"]
        want = _fd_state_jacobian(p, xs[t, :, 0], hs[t], cs[t])
        assert got.shape == (2 * hidden, 2 * hidden)
        np.testing.assert_allclose(got, want, rtol=FD_RTOL, atol=FD_ATOL, err_msg=f"step {t}")
        # each peephole moves this Jacobian by far more than the tolerance, so the comparison sees it
        for w in ("wci", "wcf", "wco"):
            off = _fd_state_jacobian({**p, w: np.zeros(hidden)}, xs[t, :, 0], hs[t], cs[t])
            assert np.max(np.abs(off - want)) > 1e-3, (t, w)


@pytest.mark.parametrize("hidden, steps, bias, lags", [
    (4, 25, 3.0, (1, 5, 20)),
    (16, 60, 3.0, (1, 5, 20, 59)),      # the page's figure: H = 16, seed 0, forget bias 3
    (16, 60, 0.0, (1, 5, 20, 59)),      # the figure's closed curve, forget bias 0
])
def test_carousel_state_norms_match_products_of_difference_jacobians(hidden, steps, bias, lags):
    """carousel_parts' "state" (‖∂c_T/∂c_{T−ℓ}‖₂, the cell block of the product of full state
    Jacobians) against the same product of the oracle's central-difference Jacobians. Each factor
    carries ~1e-10 absolute error and the norms here lie between 5e-7 and 6, so a relative 1e-6
    on the norm leaves a wide margin (measured ≤ 2e-9 relative)."""
    p, xs, hs, cs = _carousel_draw(hidden, steps, seed=0, forget_bias=bias)
    parts = topic.carousel_parts(hidden=hidden, steps=steps, seed=0, forget_bias=bias)
    prod, want = np.eye(2 * hidden), {}
    for lag in range(1, max(lags) + 1):
        t = steps - lag                                   # step t maps state t to state t + 1
        prod = prod @ _fd_state_jacobian(p, xs[t, :, 0], hs[t], cs[t])
        want[lag] = np.linalg.norm(prod[hidden:, hidden:], 2)
    for lag in lags:
        assert parts["state"][lag - 1] == pytest.approx(want[lag], rel=FD_RTOL), lag
