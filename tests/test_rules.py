"""rules: the rules this module proves check, every rule has a proof that exists and holds, the
identities are cited by the derivations that use them, and the book-wide notation table covers every
topic."""

from __future__ import annotations

import re

import numpy as np
import pytest
import sympy as sp

from derivations import checked, registry
from derivations import rules as topic
from derivations.core import Derivation, StepError
from reference import close, mp_partial


@pytest.fixture(scope="module")
def records():
    """Every topic's steps and reasons (not checked here: each topic's tests prove its own steps);
    the proofs of the rules are checked below."""
    return {name: checked.record_of(name, check=False) for name in registry.TOPICS}


@pytest.mark.parametrize("d", topic.derivations(), ids=lambda d: d.name)
def test_every_step_holds(d):
    assert len(d.check()) == len(d.steps) - 1 >= 1


@pytest.mark.parametrize("rule", topic.RULES, ids=lambda r: r.key)
def test_every_rule_has_a_proof_that_holds(rule, records):
    d = topic.proof_record(records, rule.key)
    if rule.proof:  # reused: the topic's own derivation, with the very chain the topic checks
        name, dname = rule.proof
        live = next(x for x in registry.load(name).derivations() if x.name == dname)
    else:
        live = topic.local(rule.key)
    assert d["fingerprint"] == checked.fingerprint(live) and d["name"] == live.name
    assert len(live.check()) == len(d["steps"]) >= 1
    assert "=" in topic.statement(records, rule.key)


@pytest.mark.parametrize("rule", [r for r in topic.RULES if r.kind == "identity"], ids=lambda r: r.key)
def test_every_identity_is_used_outside_its_own_proof(rule, records):
    """Cited by another derivation's step, or relied on by NumPy code (which exists and shifts by a max)."""
    import importlib
    import inspect

    proof = topic.proof_record(records, rule.key)
    cited = [c for c in topic.citations(records, rule.key)
             if not (c["topic"] == proof["topic"] and c["label"] == proof["label"])]
    for use in rule.code:
        module, *attrs = use.split(".")
        obj = importlib.import_module(f"derivations.{module}")
        for a in attrs:
            obj = getattr(obj, a)
        assert ".max(" in inspect.getsource(inspect.unwrap(obj)), use  # (past a wrapper: mutmut's trampolines)
    assert cited or rule.code, f"no derivation cites {rule.name!r}: is its pattern {rule.cites!r} right?"


def test_a_citation_pattern_that_matches_nothing_is_noticed(records):
    """The check above can fail: a rule whose pattern names no reason is cited nowhere."""
    fake = topic.Rule("nowhere", "A rule no step names", "identity", None, r"no step says this")
    assert not [c for name, rec in records.items() for d in rec["derivations"]
                for s in d["steps"] if re.search(fake.cites, s["why"])]


def test_results_against_mp_differences():
    rng = np.random.default_rng(3)
    for r in topic.results():
        point = {s: rng.normal() for s in (r.of.free_symbols | r.expr.free_symbols)}
        claimed = float(r.expr.subs({s: sp.Float(v) for s, v in point.items()}))
        assert close(claimed, mp_partial(r.of, r.wrt, point)), r.wrt


def test_a_wrong_product_rule_is_caught():
    """Forgetting one of the two terms of the product rule fails the checker."""
    good = topic.product_derivation()
    bad = Derivation("product_slip", "slip", good.steps[0].expr, definitions=good.definitions, instances=good.instances)
    bad.step(good.steps[1].expr.args[0], "only the first factor's derivative")
    with pytest.raises(StepError, match="only the first factor"):
        bad.check()


def test_the_layouts_are_what_the_page_says():
    jac = topic.jacobian_layout_derivation().result
    assert jac.shape == (topic.ROWS, topic.COLS) and jac[1, 2] == topic.W[2, 3]  # row = output, column = input
    grad = topic.gradient_layout_derivation()
    assert grad.steps[0].expr.shape == (topic.ROWS, topic.COLS)  # ∂J/∂W has W's shape
    assert sp.ImmutableMatrix(grad.result.as_explicit()) == grad.steps[1].expr


def test_the_notation_table_has_every_symbol_of_every_topic(records):
    md = topic.notation_markdown(records)
    for name, rec in records.items():
        for entry in rec["notation"]:
            assert f"* - ${entry['latex']}$" in md, (name, entry["latex"])
            assert f"{{doc}}`{name} <{name}>`" in md, name
    meanings = sum(len(rec["notation"]) for rec in records.values())
    assert md.count(" ({doc}`") == meanings  # every entry once, with its page
    assert "$" not in "".join(topic.shape_text(e["shape"]) for rec in records.values() for e in rec["notation"])


def test_shapes_are_shown_as_text():
    assert topic.shape_text(r"${N \times (T + 1)}$") == "N × (T + 1)"
    assert topic.shape_text(r"${(n-K+1) \times 1}$") == "(n−K+1) × 1"
    assert topic.shape_text(r"${m \times \tau}$") == "m × τ" and topic.shape_text("scalar") == "scalar"


def test_rule_markdown_links_only_to_pages_that_exist(records):
    from conftest import ROOT

    for kind in ("identity", "convention"):
        md = topic.rule_markdown(records, kind)
        for page in re.findall(r"\{doc\}`([^`]+)`", md):
            assert (ROOT / "docs" / f"{page}.md").is_file(), page
        assert md.count("$$") == 2 * sum(r.kind == kind for r in topic.RULES)
