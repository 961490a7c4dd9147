"""aco_lstm: every step checked, the masked gradient against a forward pass written here, the
pheromone forms against the update iterated here, a deposit of the wrong sign caught, a search
reproducible across executors and worker counts, one-line errors."""

from __future__ import annotations

import math
import subprocess
import sys

import autograd
import autograd.numpy as anp
import numpy as np
import pytest
import sympy as sp

from derivations import aco_lstm as topic
from derivations.core import Derivation, StepError, evaluate
from reference import close

GATES = ("i", "f", "c", "o")


# ---- the derivations ---------------------------------------------------------------------------

@pytest.mark.parametrize("d", topic.derivations(), ids=lambda d: d.name)
def test_every_step_holds(d):
    checks = d.check()
    assert len(checks) == len(d.steps) - 1 >= 1
    assert all(c.method == "symbolic" for c in checks)


def _copy(d, index, expr):
    out = Derivation(d.name + "_copy", d.title, d.steps[0].expr, definitions=d.definitions,
                     instances=d.instances, lhs=d.lhs)
    for k, st in enumerate(d.steps[1:], start=1):
        out.step(expr if k == index else st.expr, st.why, given=st.given)
    return out


def _caught_at(d, index):
    with pytest.raises(StepError) as err:
        d.check()
    assert err.value.index == index, str(err.value)


def _row(d, row, last):
    """Entry ``row`` of the vector derivation ``d`` alone (cheaper to check), its last step ``last``."""
    out = Derivation(d.name + "_row", d.title, d.steps[0].expr[row], definitions=d.definitions,
                     instances=d.instances)
    for st in d.steps[1:-1]:
        out.step(st.expr[row], st.why)
    return out.step(last, d.steps[-1].why)


def test_one_entry_of_the_masked_gradient_checks_alone():
    """The control for the two slips below: the same entry with the published last step passes."""
    d = topic.masked_gradient_derivation()
    assert _row(d, 1, d.steps[-1].expr[1]).check()


def test_masked_gradient_without_the_mask_is_caught():
    """Dropping the mask (claiming ∂J/∂W = ∂J/∂W̃, the dense gradient) is refused at that step."""
    d = topic.masked_gradient_derivation()
    _caught_at(_row(d, 2, sp.Derivative(topic.J, topic.vt[topic.k])), 2)


def test_mask_of_the_transposed_entry_is_caught():
    """M_{jk} in place of M_{kj} for the recurrent weight: the wrong entry of the mask."""
    d = topic.masked_gradient_derivation()
    k, j = topic.k, topic.j
    _caught_at(_row(d, 1, topic._mul(topic.M_h["f"][j, k], sp.Derivative(topic.J, topic.Wt_h["f"][k, j]))), 2)


def test_closed_form_with_the_wrong_power_is_caught():
    d = topic.closed_form_derivation()
    wrong = (1 - topic.rho) ** (topic.n + 1) * (topic.tau0 - topic.tau_star) + topic.tau_star
    _caught_at(_copy(d, 1, wrong), 1)


def test_fixed_point_claimed_as_delta_is_caught():
    _caught_at(_copy(topic.fixed_point_derivation(), 3, topic.Delta), 3)


def test_choice_jacobian_without_the_exponent_is_caught():
    d = topic.choice_jacobian_derivation()
    p, tau, e, q = topic.p, topic.tau, topic.e, topic.q
    _caught_at(_copy(d, 2, p[e] * (sp.KroneckerDelta(e, q) - p[q]) / tau[q]), 2)


def test_zero_gradient_needs_the_absent_condition():
    d = topic.zero_gradient_derivation()
    assert d.steps[-1].given == (topic.ABSENT,)
    inst = d.instances[0]
    before = evaluate(d.steps[0].expr, topic.DEFINITIONS, inst)
    assert sp.expand(before) != 0   # without M_{km} = 0 the gradient is not 0


def test_rsolve_solutions_satisfy_their_recurrences():
    """The expressions the chains start from, SymPy's rsolve output, checked here by substitution."""
    rho, Delta, tau0, n, kappa = topic.rho, topic.Delta, topic.tau0, topic.n, topic.kappa
    sol = topic.closed_form_derivation().steps[0].expr
    assert sp.simplify(sol.subs(n, n + 1) - ((1 - rho) * sol + Delta)) == 0
    assert sp.simplify(sol.subs(n, 0) - tau0) == 0
    grow = topic._rsolve_growth()
    assert sp.simplify(grow.subs(n, n + 1) - kappa * grow) == 0 and grow.subs(n, 0) == tau0
    assert sp.simplify(topic._fixed_point() - Delta / rho) == 0


# ---- the masked gradient against a forward pass written here -----------------------------------


def ref_loss(net, masks, xs, y):
    """½ mean (ŷ − y)² of the network with every weight multiplied by its mask, written from the
    seed's LSTM equations in autograd.numpy (diagonal peepholes; no code of the package)."""
    sig = lambda a: 1 / (1 + anp.exp(-a))  # noqa: E731
    w = {name: net[name] * masks[name] for name in net}
    hidden, batch = net["Wxi"].shape[0], xs.shape[2]
    h, c = anp.zeros((hidden, batch)), anp.zeros((hidden, batch))
    for t in range(xs.shape[0]):
        x = xs[t]
        i = sig(anp.dot(w["Wxi"], x) + anp.dot(w["Whi"], h) + w["wci"][:, None] * c + w["bi"][:, None])
        f = sig(anp.dot(w["Wxf"], x) + anp.dot(w["Whf"], h) + w["wcf"][:, None] * c + w["bf"][:, None])
        z = anp.tanh(anp.dot(w["Wxc"], x) + anp.dot(w["Whc"], h) + w["bc"][:, None])
        c = f * c + i * z
        o = sig(anp.dot(w["Wxo"], x) + anp.dot(w["Who"], h) + w["wco"][:, None] * c + w["bo"][:, None])
        h = o * anp.tanh(c)
    err = anp.dot(w["v"], h) + w["by"][0] - y
    return 0.5 * anp.mean(err ** 2)


def _network(seed, hidden=3, inputs=4, steps=5, batch=4, keep=0.5):
    rng = np.random.default_rng(seed)
    net = topic.init_network(hidden, inputs, rng, peepholes=True)
    masks = {name: (rng.random(np.shape(net[name])) < keep).astype(float) for name in net}
    return net, masks, rng.normal(size=(steps, inputs, batch)), rng.normal(size=batch)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_masked_gradient_against_autograd_of_a_forward_written_here(seed):
    net, masks, xs, y = _network(seed)
    J, grads = topic.loss_and_grad(net, masks, xs, y)
    assert close(J, float(ref_loss(net, masks, xs, y)), rtol=1e-12)
    want = autograd.grad(lambda nw: ref_loss(nw, masks, xs, y))(net)
    for name in net:
        assert np.allclose(grads[name], want[name], rtol=1e-9, atol=1e-13), name


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_masked_gradient_is_exactly_zero_where_the_mask_is(seed):
    net, masks, xs, y = _network(seed)
    _, grads = topic.loss_and_grad(net, masks, xs, y)
    absent = 0
    for name in net:
        off = masks[name] == 0
        absent += int(off.sum())
        assert np.count_nonzero(grads[name][off]) == 0, name      # exactly 0, not merely small
        # and where the mask is 1 the gradient is not zero (the test above is not vacuous)
        assert np.count_nonzero(grads[name][~off]) == np.count_nonzero(~off) or name == "by", name
    assert absent > 20


def test_masked_gradient_is_mask_times_the_dense_gradient_at_the_effective_weights():
    """∂J/∂W = M ⊙ ∂J/∂W̃: autograd (here) of the unmasked loss at W̃ = M ⊙ W, times M."""
    net, masks, xs, y = _network(4)
    _, grads = topic.loss_and_grad(net, masks, xs, y)
    ones = {name: np.ones_like(m) for name, m in masks.items()}
    eff = {name: net[name] * masks[name] for name in net}
    dense = autograd.grad(lambda nw: ref_loss(nw, ones, xs, y))(eff)
    for name in net:
        assert np.allclose(grads[name], masks[name] * dense[name], rtol=1e-9, atol=1e-13), name
    # the dense gradient itself is not zero at masked entries: the mask is what zeroes them
    assert any(np.count_nonzero(dense[name][masks[name] == 0]) for name in net)


def test_masked_weights_never_move_in_training():
    net, masks, xs, y = _network(5)
    before = {name: val.copy() for name, val in net.items()}
    topic.train(net, masks, xs, y, steps=5)
    for name in net:
        off = masks[name] == 0
        assert np.array_equal(net[name][off], before[name][off]), name
        assert not np.array_equal(net[name][~off], before[name][~off]) or not (~off).any(), name


def test_numeric_tables_pass():
    for table in topic.numeric_checks():
        assert table.passed, table.text()


# ---- pheromone dynamics: the closed form against the update iterated here ------------------------

@pytest.mark.parametrize("t0, rate, dep", [(1.0, 0.25, 0.8), (0.01, 0.05, 2.0), (7.0, 0.9, 0.1)])
def test_closed_form_matches_the_iterated_update(t0, rate, dep):
    f = sp.lambdify((topic.tau0, topic.rho, topic.Delta, topic.n),
                    topic.closed_form_derivation().result.xreplace(topic.PHEROMONE))
    t = t0
    for step in range(400):
        assert close(float(f(t0, rate, dep, step)), t, rtol=1e-11), step
        t = (1 - rate) * t + dep          # τ ← (1 − ρ)τ + Δ, written here
    assert close(t, dep / rate, rtol=1e-6)  # and it approaches the fixed point Δ/ρ


def test_authors_rule_reaches_the_cap_after_ceil_n_c_good_updates():
    t, count = 1.0, 0
    while t < 20.0:
        t, count = min(1.15 * t, 20.0), count + 1
    assert count == math.ceil(topic.steps_to_cap(1.0, 1.15, 20.0)) == 22


# ---- the deposit direction: a test that fails for a wrong sign -------------------------------------

def check_deposit_direction(update):
    """What a correct update must do: the better structure's edges gain on the worse one's, every
    deposited edge ends above one nobody used, and unused edges only evaporate."""
    cfg = topic.SearchConfig(ants=2, elite=2, rho=0.3, tau_min=0.01)
    tau_edges = np.ones(6)
    used = np.array([[1, 1, 0, 0, 0, 0],     # the better ant
                     [0, 1, 1, 0, 0, 0]], dtype=bool)
    errors = np.array([0.2, 0.6])
    new = update(tau_edges, used, errors, 1.0, cfg)
    assert new[0] > new[2], "the better ant's edge must gain more than the worse ant's"
    assert new[1] > new[0] > new[3] and new[2] > new[3], "deposited edges must end above unused ones"
    assert np.allclose(new[3:], (1 - cfg.rho) * tau_edges[3:]), "unused edges only evaporate"
    assert np.all(new[:3] > (1 - cfg.rho)), "a deposit adds pheromone"


def test_the_update_deposits_in_the_right_direction():
    check_deposit_direction(topic.update_pheromone)


def test_a_deposit_of_the_wrong_sign_is_caught(monkeypatch):
    """The same check on the module's update with the deposit subtracted (τ ← (1 − ρ)τ − Δ) fails."""
    monkeypatch.setattr(topic, "evaporate_deposit", lambda t, rate, dep: (1 - rate) * t - dep)
    with pytest.raises(AssertionError, match="better ant"):
        check_deposit_direction(topic.update_pheromone)


def test_a_deposit_ranked_the_wrong_way_is_caught(monkeypatch):
    """Rewarding the worse ant more (quality growing with the error) fails the same check."""
    monkeypatch.setattr(topic, "quality", lambda err, ref, dep=1.0: dep * np.asarray(err) / ref)
    with pytest.raises(AssertionError, match="better ant"):
        check_deposit_direction(topic.update_pheromone)


def test_a_search_concentrates_pheromone_on_its_elite():
    """Over a search, the edges the best ants of a generation used gain on the others."""
    res = topic.search(SMALL_SERIES, SMALL, seed=3, workers=1)
    for gen in range(SMALL.generations):
        best = int(np.argmin(res.val[gen]))
        gained = res.tau[gen + 1][res.used[gen, best]] - (1 - SMALL.rho) * res.tau[gen][res.used[gen, best]]
        assert np.all(gained >= 0) and np.any(gained > 0)


# ---- reproducibility across executors and worker counts -------------------------------------------

SMALL_SERIES = topic.SeriesConfig(length=80, window=4, horizon=2)
SMALL = topic.SearchConfig(ants=4, generations=2, hidden=2, walks=2, steps=3)


@pytest.fixture(scope="module")
def serial():
    return topic.search(SMALL_SERIES, SMALL, seed=11, workers=1)


def _same(a, b):
    """Bit for bit: every ant's random numbers come from (seed, generation, ant), not from a worker."""
    for field in ("used", "val", "test", "tau"):
        assert np.array_equal(getattr(a, field), getattr(b, field)), field


@pytest.mark.parametrize("workers", [2, 4])
def test_search_is_reproducible_across_worker_counts(serial, workers):
    _same(serial, topic.search(SMALL_SERIES, SMALL, seed=11, workers=workers))


def test_the_seed_matters(serial):
    other = topic.search(SMALL_SERIES, SMALL, seed=12, workers=1)
    assert not np.array_equal(serial.val, other.val)


def test_search_with_a_dask_distributed_executor_is_identical_to_serial(serial):
    """A dask.distributed local cluster (two workers; in-process, to start in half a second: the
    process pools above already send the tasks to other processes) gives the serial result, through
    its executor and through the client itself."""
    distributed = pytest.importorskip("distributed", reason="dask.distributed is not installed "
                                      "(pip install -c constraints.txt 'distributed'); .ci/run installs it")
    with distributed.Client(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=":0",
                            silence_logs=40) as client:
        _same(serial, topic.search(SMALL_SERIES, SMALL, seed=11, executor=client.get_executor()))
        _same(serial, topic.search(SMALL_SERIES, SMALL, seed=11, executor=client))  # the client itself


def test_compare_gives_the_dense_network_the_same_number_of_updates():
    res = topic.compare(SMALL_SERIES, SMALL, seed=2, workers=1)
    assert res.dense.updates == SMALL.ants * SMALL.generations * SMALL.steps
    assert len(res.dense.val) == SMALL.ants * SMALL.generations and len(res.dense.best_so_far()) == SMALL.generations
    assert np.array_equal(res.aco.used[0], res.random.used[0])      # the same first generation
    assert np.all(res.random.tau == SMALL.tau0)                     # random search never learns
    dense = topic.dense_masks(SMALL.hidden, len(topic.SENSORS))
    assert res.dense.weights == topic.weight_count(dense) == 4 * (2 * 5 + 2 * 2 + 2) + 2 + 1


def test_every_sampled_structure_reaches_the_output():
    graph = topic.Graph(5, 4)
    rng = np.random.default_rng(0)
    for _ in range(50):
        used = topic.sample_structure(graph, rng.uniform(0.05, 5, graph.size), rng, topic.SearchConfig())
        masks = topic.structure_masks(graph, used)
        assert masks["v"].any() and used[graph.start].any()
        # a cell with inputs or recurrent inputs feeds the output or another cell
        for k in range(4):
            if masks["Wxi"][k].any() or masks["Whi"][k].any():
                assert masks["v"][k] or masks["Whi"][:, k].any(), k


# ---- bad input: one clear error ------------------------------------------------------------------


@pytest.mark.parametrize("kwargs, needle", [
    ({"rho": 0.0}, "rho must be in (0, 1), got 0.0"), ({"rho": 1.0}, "rho must be in (0, 1)"),
    ({"rho": -0.2}, "rho must be in (0, 1)"), ({"rho": float("nan")}, "rho must be in (0, 1)"),
    ({"ants": 0}, "at least one ant, got ants=0"), ({"generations": 0}, "generations must be"),
    ({"tau_min": 0.0}, "pheromone bounds"),
])
def test_bad_settings_are_one_clear_error(kwargs, needle):
    with pytest.raises(ValueError) as err:
        topic.search(SMALL_SERIES, topic.SearchConfig(**kwargs), workers=1)
    assert needle in str(err.value) and "\n" not in str(err.value)


def test_a_mask_of_the_wrong_shape_is_one_clear_error():
    net, masks, xs, y = _network(0)
    masks["Whf"] = np.ones((2, 3))
    with pytest.raises(ValueError, match=r"the mask for Whf has shape \(2, 3\); expected \(3, 3\)"):
        topic.loss_and_grad(net, masks, xs, y)
    with pytest.raises(ValueError, match="only 0 and 1"):
        topic.loss_and_grad(net, {**masks, "Whf": np.full((3, 3), 0.5)}, xs, y)
    with pytest.raises(ValueError, match="boolean vector over the 45 edges"):
        topic.structure_masks(topic.Graph(5, 4), np.ones(44, dtype=bool))


@pytest.mark.parametrize("length", [5, 9, 30])
def test_a_series_too_short_for_the_window_is_one_clear_error(length):
    with pytest.raises(ValueError, match="too short") as err:
        topic.make_data(topic.SeriesConfig(length=length, window=6, horizon=4))
    assert "\n" not in str(err.value)
    with pytest.raises(ValueError, match="too short for a window of 6 steps predicting 4 ahead"):
        topic.make_windows(np.zeros((9, 5)), 6, 4)


def test_the_shortest_series_allowed_works():
    cfg = topic.SeriesConfig(length=3 * topic.MIN_SPLIT + 2 * 9 + 6 + 4 - 1, window=6, horizon=4)
    data = topic.make_data(cfg)
    assert min(len(data.y_train), len(data.y_val), len(data.y_test)) == topic.MIN_SPLIT


def test_windows_hold_the_steps_they_say():
    series = np.arange(40, dtype=float).reshape(20, 2)
    X, y = topic.make_windows(series, 3, 2, target=1)
    assert X.shape == (3, 2, 16) and y.shape == (16,)
    assert np.array_equal(X[:, :, 5], series[5:8]) and y[5] == series[5 + 3 - 1 + 2, 1]


# ---- the command line ------------------------------------------------------------------------------


def start(*args):
    return subprocess.Popen([sys.executable, "-m", "derivations.aco_lstm", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


@pytest.mark.parametrize("args, needle", [
    (("--ants", "0"), "at least one ant"), (("--rho", "1.5"), "rho must be in (0, 1), got 1.5"),
    (("--ants", "many"), "invalid int value: 'many'"), (("--length", "12"), "too short"),
    (("--workers", "0"), "workers must be"), (("--frobnicate",), "unrecognized arguments"),
])
def test_cli_bad_arguments_are_one_line_and_exit_2(args, needle, capsys):
    assert topic.main(list(args)) == 2
    out, err = capsys.readouterr()
    lines = err.strip().splitlines()
    assert out == "" and len(lines) == 1 and needle in lines[0] and lines[0].startswith("aco_lstm: error:"), err


def test_the_command_runs_a_small_search_and_refuses_bad_input_in_one_line():
    """``python -m derivations.aco_lstm`` itself (not only main()), two runs side by side: a small
    search prints the summary with a progress display on stderr; a bad ρ is one line, exit 2."""
    good = start("--ants", "2", "--generations", "2", "--steps", "2", "--hidden", "2", "--length", "80",
                 "--workers", "1")
    bad = start("--rho", "0")
    out, err = good.communicate(timeout=120)
    bad_out, bad_err = bad.communicate(timeout=120)
    assert good.returncode == 0, err
    assert [ln.split()[0] for ln in out.splitlines()] == ["search:", "ACO", "random", "dense"]
    assert "8/8 evaluations" in err
    assert bad.returncode == 2 and bad_out == ""
    assert bad_err.strip() == "aco_lstm: error: the evaporation rate rho must be in (0, 1), got 0.0"


# ---- the ants' choice rule in distribution: chi-square against τ^α η^β / Σ written here -------------
#
# Graph(2, 2) with one walk of at most one hop has exactly 12 walks: sensor s, then cell c, then at c
# the output (the walk ends) or a hop to cell j, whose only option is then its output (max_hops = 1).
# Each walk gives a different structure, so counting structures counts walks. The edge numbers are
# written here from the layout Graph documents (start m, input (m, k), recurrent (k, j), output k).

from derivations.gumbel_max import chi_square  # noqa: E402  (Pearson's statistic, tested in test_gumbel_max)

TINY_TAU = {"start": np.array([0.6, 1.5]), "input": np.array([[0.4, 2.2], [1.0, 0.7]]),
            "recurrent": np.array([[0.3, 1.8], [0.9, 2.5]]), "output": np.array([1.2, 0.5])}
TINY_ETA = {"start": np.array([1.3, 0.8]), "input": np.array([[1.5, 0.6], [0.9, 2.0]]),
            "recurrent": np.array([[2.0, 0.7], [1.1, 0.5]]), "output": np.array([0.6, 1.7])}


def _tiny_edges():
    """Edge numbers of Graph(2, 2), written here: start 0–1, input 2–5, recurrent 6–9, output 10–11."""
    return {"start": lambda m: m, "input": lambda m, k: 2 + 2 * m + k,
            "recurrent": lambda k, j: 6 + 2 * k + j, "output": lambda k: 10 + k}


def _tiny_vector(parts):
    """The 12-edge vector of the per-kind values ``parts`` (a dict like TINY_TAU)."""
    ed, vec = _tiny_edges(), np.zeros(12)
    for m in range(2):
        vec[ed["start"](m)] = parts["start"][m]
        vec[ed["output"](m)] = parts["output"][m]
        for k in range(2):
            vec[ed["input"](m, k)] = parts["input"][m, k]
            vec[ed["recurrent"](m, k)] = parts["recurrent"][m, k]
    return vec


def tiny_walk_probabilities(alpha, beta=0.0, eta=None):
    """Every walk's structure (a frozenset of edges) and its exact probability, the product of the
    choice rule p_e = τ_e^α η_e^β / Σ_q τ_q^α η_q^β at each node, written here."""
    eta = eta if eta is not None else {key: np.ones_like(val) for key, val in TINY_TAU.items()}
    w = {key: TINY_TAU[key] ** alpha * eta[key] ** beta for key in TINY_TAU}
    ed, walks = _tiny_edges(), {}
    for s in range(2):
        p_s = w["start"][s] / w["start"].sum()
        for c in range(2):
            p_c = w["input"][s, c] / w["input"][s].sum()
            node = w["output"][c] + w["recurrent"][c].sum()          # the options out of cell c
            base = {ed["start"](s), ed["input"](s, c)}
            walks[frozenset(base | {ed["output"](c)})] = p_s * p_c * w["output"][c] / node
            for j in range(2):   # hop to j; from j the output is the only option: probability 1
                walks[frozenset(base | {ed["recurrent"](c, j), ed["output"](j)})] = \
                    p_s * p_c * w["recurrent"][c, j] / node
    return walks


def _tiny_counts(cfg, draws, seed, eta=None):
    graph = topic.Graph(2, 2)
    # the layout written here is the one the graph has
    assert graph.size == 12 and list(graph.start) == [0, 1] and graph.input.tolist() == [[2, 3], [4, 5]]
    assert graph.recurrent.tolist() == [[6, 7], [8, 9]] and list(graph.output) == [10, 11]
    tau_edges = _tiny_vector(TINY_TAU)
    eta_edges = None if eta is None else _tiny_vector(eta)
    rng = np.random.default_rng(seed)
    seen = {}
    for _ in range(draws):
        key = frozenset(np.flatnonzero(topic.sample_structure(graph, tau_edges, rng, cfg, eta=eta_edges)).tolist())
        seen[key] = seen.get(key, 0) + 1
    return seen


def _fit(seen, walks):
    """Pearson's chi-square of the counts against the walks' probabilities; every structure drawn
    must be one of the 12 walks."""
    assert set(seen) <= set(walks), f"impossible structures drawn: {set(seen) - set(walks)}"
    order = sorted(walks, key=sorted)
    counts = np.array([seen.get(key, 0) for key in order], dtype=float)
    probs = np.array([walks[key] for key in order])
    return chi_square(counts, probs)


TINY_DRAWS = 15_000


def test_the_tiny_walk_probabilities_written_here_sum_to_one():
    for alpha in (0.0, 0.5, 1.0, 2.0):
        walks = tiny_walk_probabilities(alpha)
        assert len(walks) == 12 and math.isclose(sum(walks.values()), 1.0, rel_tol=1e-14)
    # at α = 0 every node's options are equally likely: 1/2 · 1/2 · 1/3 for every walk
    assert all(math.isclose(p, 1 / 12, rel_tol=1e-14) for p in tiny_walk_probabilities(0.0).values())


def test_sampled_structures_follow_tau_to_the_alpha():
    """15 000 seeded one-walk structures on Graph(2, 2) against τ^α/Στ^α (α = 1, the default): the
    fit passes (p ≥ 1e-3), and the same counts against α = 0 (pheromone ignored) and α = 2
    (pheromone squared) are refused (p < 1e-10): the test has the power to tell them apart."""
    cfg = topic.SearchConfig(walks=1, max_hops=1, alpha=1.0)
    seen = _tiny_counts(cfg, TINY_DRAWS, seed=20240)
    assert sum(seen.values()) == TINY_DRAWS
    stat, df, pval = _fit(seen, tiny_walk_probabilities(1.0))
    assert df == 11 and pval >= 1e-3, (stat, pval)
    for wrong in (0.0, 2.0):
        stat_w, _, p_w = _fit(seen, tiny_walk_probabilities(wrong))
        assert p_w < 1e-10, (wrong, stat_w, p_w)


def test_sampled_structures_follow_a_fractional_alpha_and_the_heuristic():
    """α = 0.5 with a heuristic η (β = 2): p_e ∝ τ_e^0.5 η_e^2 fits; the same counts against
    α = 0, α = 1, α = 2 (same η^2) and against η ignored are refused. A sampler with a fixed
    exponent (τ^1, τ^2) or one that drops η fails here."""
    cfg = topic.SearchConfig(walks=1, max_hops=1, alpha=0.5, beta=2.0)
    seen = _tiny_counts(cfg, TINY_DRAWS // 2, seed=777, eta=TINY_ETA)
    stat, df, pval = _fit(seen, tiny_walk_probabilities(0.5, 2.0, TINY_ETA))
    assert df == 11 and pval >= 1e-3, (stat, pval)
    for wrong in (0.0, 1.0, 2.0):
        assert _fit(seen, tiny_walk_probabilities(wrong, 2.0, TINY_ETA))[2] < 1e-10, wrong
    assert _fit(seen, tiny_walk_probabilities(0.5))[2] < 1e-10, "η ignored"


# ---- the pheromone update against numbers worked by hand ---------------------------------------------
#
# The rule (update_pheromone, SearchConfig): τ ← (1 − ρ)τ, then each of the `elite` ants with the lowest
# validation error adds its quality Q·max(0, 1 − error/err_ref) to every edge it used, then τ is
# clipped to [τ_min, cap]. Here ρ = 0.25, Q = 2, err_ref = 0.8, τ_min = 0.1, cap = τ_max = 3.5.

HAND = topic.SearchConfig(ants=3, elite=2, rho=0.25, deposit=2.0, tau_min=0.1, tau_max=3.5)


def test_update_pheromone_by_hand_only_the_elite_deposit_and_tau_is_clipped():
    """Three ants, errors A 0.4, B 0.6, C 0.2: qualities 2(1 − 0.5) = 1, 2(1 − 0.75) = 0.5,
    2(1 − 0.25) = 1.5. The elite (two lowest errors) are C and A; B (quality 0.5 > 0) deposits
    nothing. Two edges go over the cap, one under τ_min."""
    tau_edges = np.array([1.0, 2.0, 0.5, 0.1, 3.0, 1.0, 0.2, 4.0])
    used = np.zeros((3, 8), dtype=bool)
    used[0, [0, 2, 4, 5]] = True     # A, quality 1.0 (elite)
    used[1, [1, 2, 6]] = True        # B, quality 0.5 (not elite)
    used[2, [0, 4, 7]] = True        # C, quality 1.5 (elite)
    want = np.array([
        0.75 * 1.0 + 1.0 + 1.5,      # 3.25: A and C
        0.75 * 2.0,                  # 1.5: B only, evaporation alone
        0.75 * 0.5 + 1.0,            # 1.375: A (B's 0.5 does not count)
        0.1,                         # 0.75·0.1 = 0.075, clipped up to τ_min
        3.5,                         # 0.75·3 + 1 + 1.5 = 4.75, clipped down to the cap
        0.75 * 1.0 + 1.0,            # 1.75: A
        0.75 * 0.2,                  # 0.15: B only (0.65 if B deposited)
        3.5,                         # 0.75·4 + 1.5 = 4.5, clipped to the cap
    ])
    got = topic.update_pheromone(tau_edges, used, np.array([0.4, 0.6, 0.2]), 0.8, HAND)
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-15)
    # the clipped edges sit exactly on the bounds
    assert got[3] == HAND.tau_min and got[4] == got[7] == HAND.cap == 3.5


def test_update_pheromone_by_hand_an_elite_ant_worse_than_the_reference_deposits_nothing():
    """Errors 1.2, 0.4, 2.0 with err_ref 0.8: the elite are ants 1 (quality 2(1 − 0.5) = 1) and 0,
    whose 2(1 − 1.5) = −1 is clipped to 0 (not subtracted); ant 2 is not elite."""
    tau_edges = np.full(4, 2.0)
    used = np.array([[1, 1, 0, 0],
                     [0, 1, 1, 0],
                     [0, 0, 0, 1]], dtype=bool)
    want = np.array([0.75 * 2.0,           # 1.5 (0.5 if the −1 were deposited)
                     0.75 * 2.0 + 1.0,     # 2.5
                     0.75 * 2.0 + 1.0,     # 2.5
                     0.75 * 2.0])          # 1.5
    got = topic.update_pheromone(tau_edges, used, np.array([1.2, 0.4, 2.0]), 0.8, HAND)
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-15)
