"""exercises: every solution checks, every result agrees with this file's oracle, every exercise
belongs to a chapter page that exists, and a wrong solution is caught (by the checker, by the
oracles, and by the page cell that renders it)."""

from __future__ import annotations

import dataclasses
import re

import numpy as np
import pytest
import sympy as sp

from conftest import ROOT
from derivations import exercises as topic
from derivations.core import Derivation, Result, StepError
from derivations.oracles import crosscheck
from reference import close, mp_partial

EXERCISES = topic.EXERCISES


@pytest.mark.parametrize("ex", EXERCISES, ids=lambda e: e.key)
def test_every_solution_checks(ex):
    d = ex.derivation()
    assert len(d.check()) == len(d.steps) - 1 >= 1
    assert d.label == ex.label and d.module == "derivations.exercises"


def test_two_or_three_exercises_a_chapter():
    counts = {c: sum(e.chapter == c for e in EXERCISES) for c in topic.chapters()}
    assert len(counts) == 5 and all(2 <= v <= 3 for v in counts.values()), counts
    assert len({e.key for e in EXERCISES}) == len(EXERCISES)


@pytest.mark.parametrize("ex", EXERCISES, ids=lambda e: e.key)
def test_each_exercise_links_to_a_chapter_page_that_exists(ex):
    assert (ROOT / "docs" / f"{ex.page}.md").is_file(), ex.page
    assert ex.statement.count("$") % 2 == 0 and len(ex.statement) > 60
    md = topic.solution_markdown(ex.key)
    assert f"{{doc}}`{ex.page}`" in md and ":class: dropdown" in md and f":label: {ex.label}" in md
    assert "✔ pass" in md and "✘ FAIL" not in md


def test_the_page_shows_every_exercise_under_its_title():
    page = (ROOT / "docs" / "exercises.md").read_text(encoding="utf-8")
    shown = re.findall(r'^show\("([^"]+)"\)$', page, re.M)
    assert shown == [e.key for e in EXERCISES]
    for e in EXERCISES:
        assert f"### {e.title}\n" in page, e.title
    assert page.index("## Softmax and cross-entropy") < page.index("## Recurrent networks")


def _point(r, rng):
    point = {s: rng.normal() for s in (r.of.free_symbols | r.expr.free_symbols)}
    for s in point:
        if s.is_positive:
            point[s] = rng.uniform(0.3, 1.5)
    for eq in r.where:
        point[eq.lhs] = float(eq.rhs.subs(point))
    return point


@pytest.mark.parametrize("ex", EXERCISES, ids=lambda e: e.key)
def test_results_against_mp_differences(ex):
    rng = np.random.default_rng(11)
    for r in ex.results():
        subs = {eq.lhs: eq.rhs for eq in r.where}
        point = _point(r, rng)
        claimed = float(r.expr.subs(subs).subs({s: sp.Float(v) for s, v in point.items()}))
        assert close(claimed, mp_partial(r.of.subs(subs), r.wrt, point), rtol=1e-8, atol=1e-10), (ex.key, r.wrt)


def test_every_solution_ends_at_its_published_results():
    """The published results are the solution's last step at the published size (or, for the
    IndRNN, the step before the 'active' condition): they cannot say something else."""
    for ex in EXERCISES:
        assert ex.results(), ex.key
    gs = topic.exercise("gumbel-jacobian-half").results()
    y = [sp.exp(2 * (topic.L3[q] + topic.G3[q])) / sum(sp.exp(2 * (topic.L3[p] + topic.G3[p])) for p in range(3))
         for q in range(3)]
    for r, (row, col) in zip(gs, [(a, b) for a in range(3) for b in range(3)]):
        assert sp.simplify(r.expr - 2 * y[row] * (int(row == col) - y[col])) == 0


# ---- a wrong solution is caught -------------------------------------------------------------------------


def _planted(ex, wrong_last, why="a planted slip"):
    """``ex`` with its last step replaced by ``wrong_last``."""
    good = ex.derivation()

    def bad():
        d = Derivation(good.name + "_planted", good.title, good.steps[0].expr, definitions=good.definitions,
                       instances=good.instances, label=good.label, lhs=good.lhs)
        for st in good.steps[1:-1]:
            d.step(st.expr, st.why, given=st.given)
        d.step(wrong_last, why, given=good.steps[-1].given)
        return d
    return dataclasses.replace(ex, derivation=bad)


@pytest.mark.parametrize("key, wrong", [
    ("gumbel-jacobian-half", lambda: topic.yg[topic.i] * (sp.KroneckerDelta(topic.i, topic.j) - topic.yg[topic.j])),  # 1/τ dropped
    ("ff-bce", lambda: (topic.a - topic.y) * topic.a * (1 - topic.a) * topic.x[topic.j]),  # σ' kept
    ("lstm-dc-dbf", lambda: topic.fg[topic.k] * (1 - topic.fg[topic.k])),                  # c_{t-1} forgotten
    ("indrnn-relu", lambda: topic.ur ** 2),                                                 # one step short
])
def test_a_wrong_solution_is_caught_by_the_checker(key, wrong):
    bad = _planted(topic.exercise(key), wrong())
    with pytest.raises(StepError, match="a planted slip"):
        bad.derivation().check()


def test_a_wrong_solution_fails_the_cell_that_shows_it(monkeypatch):
    """The page renders each exercise with solution_markdown: a planted wrong solution raises there,
    so the page's cell fails and the build with it."""
    ex = topic.exercise("softmax-lse")
    bad = _planted(ex, 2 * topic.yhat[topic.i])
    monkeypatch.setattr(topic, "EXERCISES", tuple(bad if e.key == ex.key else e for e in topic.EXERCISES))
    with pytest.raises(StepError, match="a planted slip"):
        topic.solution_markdown(ex.key)


def test_a_wrong_result_fails_the_oracles():
    r = topic.exercise("ff-window-tanh").results()[0]
    wrong = Result(r.of, r.wrt, -r.expr, r.where)  # the sign of the margin's gradient flipped
    assert not crosscheck([wrong], points=2).passed


def test_the_smoothed_target_needs_its_condition():
    """Without Σ e = 1 the last step of the smoothing exercise does not follow."""
    good = topic.smoothing_derivation()
    d = Derivation("smoothing_unconditioned", "slip", good.steps[0].expr, definitions=good.definitions,
                   instances=good.instances)
    for st in good.steps[1:-1]:
        d.step(st.expr, st.why)
    d.step(good.steps[-1].expr, "as if the target summed to one")
    with pytest.raises(StepError, match="as if the target"):
        d.check()


def test_unknown_exercise_names_the_valid_ones():
    with pytest.raises(KeyError, match="softmax-lse, softmax-smoothing"):
        topic.exercise("nope")
