"""The derive command: listing, showing (text, LaTeX, JSON checked with our own numbers), errors."""

from __future__ import annotations

import contextlib
import io
import json
import re
import subprocess
import sys
import types

import numpy as np
import pytest
import sympy as sp

from derivations import cli, registry
from derivations.core import Derivation
from reference import close, mp_partial


def run(*args):
    """``derive *args`` in this process (so mutation testing sees the code it runs): its exit
    code, standard output and standard error."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = cli.main(list(args))
    return types.SimpleNamespace(returncode=code, stdout=out.getvalue(), stderr=err.getvalue())


def run_command(*args):
    """The console command itself, in a process of its own."""
    return subprocess.run([sys.executable, "-m", "derivations", *args], capture_output=True, text=True,
                          timeout=300)


def test_list_one_line_per_topic():
    proc = run("list")
    assert proc.returncode == 0
    lines = proc.stdout.strip().splitlines()
    assert [ln.split()[0] for ln in lines] == list(registry.TOPICS)
    assert all(len(ln.split(None, 1)) == 2 for ln in lines)


def show(capsys, *args) -> str:
    """Run ``derive show …`` in this process (topics stay cached between tests) and return stdout."""
    assert cli.main(["show", *args]) == 0
    return capsys.readouterr().out


@pytest.mark.parametrize("topic", registry.TOPICS)
def test_json_results_check_with_our_own_numbers(topic, capsys):
    doc = json.loads(show(capsys, topic, "--format", "json"))
    assert set(doc) - {"inductions"} == {"topic", "title", "steps", "results"}
    assert doc["topic"] == topic and doc["steps"] and doc["results"]
    for st in doc["steps"]:
        assert set(st) == {"latex", "why", "expr"}
        sp.sympify(st["expr"])
    rng = np.random.default_rng(2024)
    for res in doc["results"]:
        assert set(res) == {"of", "wrt", "expr", "latex", "where"}
        of, expr = sp.sympify(res["of"]), sp.sympify(res["expr"])
        where = [sp.sympify(w) for w in res["where"]]
        wrt = next(s for s in of.free_symbols if s.name == res["wrt"])
        subs = {w.lhs: w.rhs for w in where}
        free = sorted((of.free_symbols | expr.free_symbols) - set(subs), key=str)
        claimed = sp.lambdify(free + list(subs), expr.doit(), "mpmath")
        for _ in range(2):
            point = {s: rng.normal() for s in free}
            for w in where:
                point[w.lhs] = float(w.rhs.subs(point))
            want = mp_partial(of.subs(subs), wrt, point)
            got = float(claimed(*[point[s] for s in free + list(subs)]))
            assert close(got, want), (res["wrt"], got, want)


INDUCTION_TOPICS = {"rnn_bptt": 4, "backprop_421": 2, "lstm_gates": 2, "indrnn": 1}


@pytest.mark.parametrize("topic", sorted(INDUCTION_TOPICS))
def test_json_names_the_claims_proved_for_every_size(topic, capsys):
    """Each induction: for which indices it is proved, its two sides, its base case and its step,
    every expression parseable by sympify (the matrices entry by entry)."""
    doc = json.loads(show(capsys, topic, "--format", "json"))
    proofs = doc["inductions"]
    assert len(proofs) == INDUCTION_TOPICS[topic]
    module = registry.load(topic).module
    names = [d.name for d in module.derivations() if hasattr(d, "proved_for")]
    assert [pr["name"] for pr in proofs] == names
    for pr in proofs:
        assert pr["proved_for"].startswith("all ") and pr["direction"] in ("upward", "downward")
        index = sp.Symbol(pr["index"], integer=True, positive=True)
        lhs, rhs = sp.sympify(pr["claim"]["lhs"]), sp.sympify(pr["claim"]["rhs"])
        assert getattr(lhs, "shape", None) == getattr(rhs, "shape", None)
        assert lhs.has(index)
        for part in ("base_case", "inductive_step"):
            steps = pr[part]["steps"]
            assert len(steps) >= 2 and steps[0]["why"] == "start"
            for st in steps:
                sp.sympify(st["expr"])
        uses = [st for st in pr["inductive_step"]["steps"] if st["given"]]
        assert any("the claim at" in g for st in uses for g in st["given"])
        assert sp.sympify(pr["inductive_step"]["to"]) - sp.sympify(pr["inductive_step"]["from"]) in (1, -1)


def test_check_reports_the_induction_proofs(capsys):
    assert cli.main(["check", "indrnn"]) == 0
    out = capsys.readouterr().out
    assert "indrnn_eq4_all_t: proved for all t ≤ T by induction on t" in out
    assert "1 claim(s) proved for every size by induction: indrnn_eq4_all_t (all t ≤ T)" in out


def test_json_is_what_the_command_prints():
    """The console command itself (not only main()) prints the JSON form."""
    proc = run_command("show", "sigmoid_neuron", "--format", "json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["topic"] == "sigmoid_neuron"


def test_show_text_and_latex(capsys):
    text = show(capsys, "softmax_ce")
    assert "Results" in text and "ŷ" in text and "(split the sum" in text
    tex = show(capsys, "softmax_ce", "--format", "latex")
    assert r"\begin{aligned}" in tex and r"\frac{\partial \mathrm{CE}}" in tex


@pytest.mark.parametrize("args, needle", [
    (("show", "no_such_topic"), "valid topics: " + ", ".join(registry.TOPICS)),
    (("check", "softmax_ce", "nope"), "unknown topic 'nope'"),
    (("show", "softmax_ce", "--format", "xml"), "unknown format 'xml'; choose one of: text, latex, json"),
    (("frobnicate",), "invalid choice"),
    ((), "required"),
])
def test_usage_errors_one_line_exit_2(args, needle):
    proc = run(*args)
    assert proc.returncode == 2
    assert proc.stdout == ""
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0] and "Traceback" not in proc.stderr


def test_check_all_passes(capsys):
    """Every topic's checks hold (in this process: a topic another test here already proved is
    not proved again; the console command itself is run by the JSON and usage tests)."""
    assert cli.main(["check"]) == 0
    out = capsys.readouterr().out
    assert f"all checks hold: {len(registry.TOPICS)} topic(s)" in out
    for name in registry.TOPICS:
        assert f"ok   {name}: " in out


def _fake_topic(name, derivation):
    mod = types.ModuleType(f"derivations.{name}")
    mod.TITLE = f"fake topic {name}"
    mod.derivations = lambda: [derivation]
    mod.results = lambda: []
    mod.numeric_checks = lambda: []
    return mod


def _register(monkeypatch, *modules):
    """Make fake topic modules known to the registry for one test."""
    for mod in modules:
        monkeypatch.setitem(sys.modules, mod.__name__, mod)
    monkeypatch.setattr(registry, "TOPICS", registry.TOPICS + tuple(m.__name__.split(".")[-1] for m in modules))


@pytest.mark.parametrize("names", [["fake_bad"], ["fake_ok", "fake_bad"]], ids=["one", "parallel"])
def test_check_failure_exit_1_names_topic_derivation_step(monkeypatch, capsys, names):
    x = sp.Symbol("x_cli", real=True)
    good = Derivation("good_chain", "good", sp.Derivative(x**2, x)).step(2 * x, "power rule")
    broken = Derivation("broken_chain", "broken", sp.Derivative(x**2, x)).step(x, "a slip")
    _register(monkeypatch, _fake_topic("fake_ok", good), _fake_topic("fake_bad", broken))
    assert cli.main(["check", *names]) == 1
    out = capsys.readouterr().out
    assert "FAIL fake_bad" in out and "broken_chain, step 1 ('a slip')" in out
    assert "all checks hold" not in out


def test_check_exits_1_when_a_numeric_table_fails(monkeypatch, capsys):
    """A topic whose derivations hold but whose oracle table fails (a wrong derivative, computed
    by the real oracles, no mock): `derive check` exits 1 and names the table and its rows."""
    from derivations.core import Result
    from derivations.oracles import crosscheck

    x = sp.Symbol("x_table", real=True)
    good = Derivation("good_chain", "good", sp.Derivative(x**2, x)).step(2 * x, "power rule")
    wrong = Result(x**3, x, 2 * x**2, name="x^3")  # d(x³)/dx is 3x²
    mod = _fake_topic("fake_table", good)
    mod.numeric_checks = lambda: [crosscheck([wrong], points=2, seed=0, title="d(x³)/dx against the oracles")]
    _register(monkeypatch, mod)
    assert cli.main(["check", "fake_table"]) == 1
    out = capsys.readouterr().out
    assert "FAIL fake_table: d(x³)/dx against the oracles" in out and "all checks hold" not in out


@pytest.mark.parametrize("name, plain", [(r"\hat y_{1}", "ŷ_1"), (r"\hat{y}_{k}", "ŷ_k"), (r"\sigma", "σ"),
                                         (r"\mathcal{J}", "J"), (r"\Delta_{t}", "Δ_t"), (r"P_{1}", "P_1"),
                                         (r"\varepsilon", "ε"), (r"\lambda", "λ"), (r"\ell", "ℓ")])
def test_result_names_print_as_plain_text(name, plain):
    assert cli._plain(name) == plain


def test_show_text_lays_out_each_derivation_and_names_every_result(capsys):
    """The title line, a blank line; each derivation's text, its summary in brackets, a blank
    line; the results' heading, then one line per result: ∂name/∂variable = expression, with its
    conditions as equations (gumbel_max: a result named σ; exercises: one with a condition)."""
    for name in ("gumbel_max", "exercises"):
        topic = registry.load(name)
        lines = show(capsys, name).rstrip("\n").split("\n")
        assert lines[:2] == [f"{name}: {topic.title}", ""]
        at = 2
        for d in topic.derivations():
            body = d.text().split("\n")
            assert lines[at:at + len(body)] == body and lines[at + len(body):at + len(body) + 2] == [f"  [{d.summary()}]", ""]
            at += len(body) + 2
        assert lines[at] == "Results (checked against independent oracles by 'derive check'):"
        shown = lines[at + 1:]
        assert len(shown) == len(topic.results())
        for line, r in zip(shown, topic.results()):
            assert line.startswith(f"  ∂{cli._plain(r.name) if r.name else '(' + cli.text(r.of) + ')'}/∂{r.wrt} = ")
            assert "∂/∂" not in line
            if r.where:
                assert "Eq(" not in line
                assert line.endswith("    where " + ", ".join(f"{cli.text(e.lhs)} = {cli.text(e.rhs)}" for e in r.where))
    assert any("    where " in ln for ln in show(capsys, "exercises").split("\n"))


def test_show_latex_heads_each_derivation_and_the_results(capsys):
    topic = registry.load("softmax_ce")
    tex = show(capsys, "softmax_ce", "--format", "latex").split("\n")
    for d in topic.derivations():
        at = tex.index(f"% {d.title} ({d.summary()})")
        body = d.latex().split("\n")
        assert tex[at + 1:at + 1 + len(body)] == body and tex[at + 1 + len(body)] == ""   # a blank line after each
    assert tex.count("% Results") == 1


def test_check_writes_to_the_stream_it_is_given_and_times_each_topic(capsys):
    import time

    buf = io.StringIO()
    start = time.perf_counter()
    assert cli.check(["sigmoid_neuron"], out=buf) == 0
    wall = time.perf_counter() - start
    assert capsys.readouterr().out == ""
    lines = buf.getvalue().splitlines()
    assert all(ln.startswith(("ok   sigmoid_neuron: ", "     sigmoid_neuron: ", "all checks hold: ")) for ln in lines)
    took = [float(ln.split(": ")[1].split()[0]) for ln in lines if ln.startswith("     sigmoid_neuron: ")]
    total = float(lines[-1].split(" in ")[1].split()[0])
    assert len(took) == 1 and 0 <= took[0] <= wall + 0.05 and 0 <= total <= wall + 0.05


def test_a_failing_result_fails_the_check(monkeypatch, capsys):
    """A topic whose derivations hold but whose published result is not the derivative of its
    expression: exit 1, and the line names the results."""
    from derivations.core import Result

    x = sp.Symbol("x_res", real=True)
    good = Derivation("good_chain", "good", sp.Derivative(x**2, x)).step(2 * x, "power rule")
    mod = _fake_topic("fake_result", good)
    mod.results = lambda: [Result(x**3, x, 2 * x**2, name="x^3")]
    _register(monkeypatch, mod)
    assert cli.main(["check", "fake_result"]) == 1
    out = capsys.readouterr().out
    assert "FAIL fake_result: results: " in out and "all checks hold" not in out


def test_a_check_that_cannot_run_is_one_line_on_stderr_exit_1(monkeypatch):
    from derivations.core import DerivationError

    x = sp.Symbol("x_err", real=True)
    mod = _fake_topic("fake_error", Derivation("good_chain", "good", sp.Derivative(x**2, x)).step(2 * x, "power rule"))

    def broken():
        raise DerivationError("the oracle table cannot be built")
    mod.numeric_checks = broken
    _register(monkeypatch, mod)
    proc = run("check", "fake_error")
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines() == ["derive: check failed: the oracle table cannot be built"]


def _help(*args) -> str:
    """``derive *args --help``: argparse prints the help and exits 0."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out), pytest.raises(SystemExit) as exit_:
        cli.main([*args, "--help"])
    assert exit_.value.code == 0
    return out.getvalue()


def _words(text: str) -> str:
    return " ".join(text.split())   # argparse wraps lines at the terminal's width


def test_help_says_what_each_command_and_option_does():
    """A reader's first question: what the tool is, its three commands and what each takes."""
    raw = _help()
    assert "\n\nMachine-checked derivations of neural-network gradients.\n\n" in raw   # the description, alone
    top = _words(raw)
    assert top.startswith("usage: derive [-h] {list,show,check} ...")
    for command, says in (("list", "one line per topic: its name, then its title"),
                          ("show", "print a topic's derivations and results"),
                          ("check", "run every step check and numeric cross-check")):
        assert f"{command} {says}" in top
    show_help = _words(_help("show"))
    assert show_help.startswith("usage: derive show [-h] [--format FORMAT] topic")
    assert "--format FORMAT text (default), latex or json" in show_help
    assert all(f in show_help for f in cli.FORMATS)
    check_help = _words(_help("check"))
    assert check_help.startswith("usage: derive check [-h] [topics ...]")
    assert "topics topics to check (default: all)" in check_help


def test_json_reasons_name_the_start_and_the_conditions_each_step_uses(capsys):
    """Each derivation's steps appear in order: the first as 'start: <title>', every other with
    its reason, followed by '; using <condition>, …' when it starts to use conditions (softmax_ce:
    the step that uses Σ y = 1)."""
    from derivations.core import Induction

    topic = registry.load("softmax_ce")
    doc = json.loads(show(capsys, "softmax_ce", "--format", "json"))
    expected = []
    for d in topic.derivations():
        if isinstance(d, Induction):
            continue
        for k, st in enumerate(d.steps):
            why = f"start: {d.title}" if k == 0 else st.why
            if st.given:
                why += "; using " + ", ".join(c.text() for c in st.given)
            expected.append((why, st.expr, d.step_latex(k)))
    assert [s["why"] for s in doc["steps"]] == [w for w, _, _ in expected]
    assert [s["expr"] for s in doc["steps"]] == [sp.srepr(e) for _, e, _ in expected]   # exactly, unevaluated
    assert [s["latex"] for s in doc["steps"]] == [t for _, _, t in expected]
    using = [s["why"] for s in doc["steps"] if "; using " in s["why"]]
    assert using and all(w.count("; using ") == 1 for w in using)
    assert sum(w.startswith("start: ") for w in (s["why"] for s in doc["steps"])) == \
        sum(not isinstance(d, Induction) for d in topic.derivations())


def test_show_text_writes_each_result_whole(monkeypatch, capsys):
    """A result line is '  ∂<name>/∂<variable> = <expression>', then its conditions after
    '    where ' joined by ', '; a result without a name shows the expression it differentiates,
    in parentheses."""
    from derivations.core import Result

    x, y = sp.Symbol("x_txt", real=True), sp.Symbol("y_txt", real=True)
    mod = _fake_topic("fake_text", Derivation("good_chain", "good", sp.Derivative(x**2, x)).step(2 * x, "power rule"))
    mod.results = lambda: [Result(x**2 * y, x, 2 * x * y, name=r"\sigma_{1}"),
                           Result(x**3, x, 3 * x**2),
                           Result(x * y, x, y, name="P", where=[sp.Eq(y, 2 * x), sp.Eq(x, 3)])]
    _register(monkeypatch, mod)
    lines = show(capsys, "fake_text").rstrip("\n").split("\n")
    at = lines.index("Results (checked against independent oracles by 'derive check'):")
    assert lines[at + 1:] == ["  ∂σ_1/∂x_txt = 2*x_txt*y_txt",
                              "  ∂(x_txt**3)/∂x_txt = 3*x_txt**2",
                              "  ∂P/∂x_txt = y_txt    where y_txt = 2*x_txt, x_txt = 3"]


def test_check_names_every_claim_proved_by_induction():
    """A topic with several induction proofs lists each, separated by ', '."""
    ok, lines = cli.check_topic("backprop_421")
    proved = [d for d in registry.load("backprop_421").derivations() if hasattr(d, "proved_for")]
    assert ok and len(proved) >= 2
    want = (f"ok   backprop_421: {len(proved)} claim(s) proved for every size by induction: "
            + ", ".join(f"{d.name} ({d.proved_for()})" for d in proved))
    assert want in lines


def test_json_is_readable_utf8_indented_by_one_space(capsys):
    """The JSON keeps Greek letters and symbols as they are (no \\u escapes) and puts one key per
    line, indented by one space a level."""
    raw = show(capsys, "softmax_ce", "--format", "json").rstrip("\n")
    assert "ŷ" in raw and "−" in raw and not re.search(r"(?<!\\)\\u[0-9a-fA-F]{4}", raw)
    assert raw == json.dumps(json.loads(raw), indent=1, ensure_ascii=False)
    assert raw.split("\n")[1].startswith(' "topic": ')


def test_json_joins_several_conditions_of_one_step(monkeypatch, capsys):
    from derivations.core import Condition

    x, y = sp.Symbol("x_two", positive=True), sp.Symbol("y_two", positive=True)
    c1 = Condition(sp.Eq(y, 2 * x), (sp.Eq(y, 2 * x),))
    c2 = Condition(sp.Eq(x, 3), (sp.Eq(x, 3),))
    d = Derivation("two_given", "two conditions", x * y).step(18, "y = 2x and x = 3", given=[c1, c2])
    _register(monkeypatch, _fake_topic("fake_two", d))
    doc = json.loads(show(capsys, "fake_two", "--format", "json"))
    assert [s["why"] for s in doc["steps"]] == ["start: two conditions",
                                                 "y = 2x and x = 3; using y_two = 2*x_two, x_two = 3"]


def test_a_closed_output_pipe_ends_quietly_with_exit_0(monkeypatch):
    """`derive show x | head`: the reader closed the pipe; no traceback, exit 0."""
    class Closed(io.StringIO):
        def write(self, s):
            raise BrokenPipeError

    monkeypatch.setattr(sys, "stdout", Closed())
    assert cli.main(["list"]) == 0
