"""checked: the records the report pages read are made from the very objects derive check checks,
the build's records are found (and waited for), and a record that does not match is not used."""

from __future__ import annotations

import json
import threading
import time

import pytest

from derivations import checked, registry
from derivations.core import Derivation, NUMERIC_DIGITS, NUMERIC_POINTS


def test_a_record_says_how_every_step_was_proved():
    rec = checked.record_of("softmax_ce")
    topic = registry.load("softmax_ce")
    assert [d["name"] for d in rec["derivations"]] == [d.name for d in topic.derivations()]
    for d, live in zip(rec["derivations"], topic.derivations()):
        assert [s["method"] for s in d["steps"]] == [c.method for c in live.check()]
        assert d["fingerprint"] == checked.fingerprint(live)
    assert rec["results"] == len(topic.results()) and rec["source"] == checked.source_hash()
    assert {t["kind"] for t in rec["tables"]} <= {"oracles", "whole gradient", "monte carlo", "code"}
    json.dumps(rec)  # plain JSON


def test_an_induction_is_recorded_with_both_parts():
    found = False
    for name in registry.TOPICS:
        for d in checked.record_of(name)["derivations"]:
            if d["kind"] == "induction":
                found = True
                assert [p["part"] for p in d["parts"]] == ["base case", "inductive step"]
                assert d["steps"] == d["parts"][0]["steps"] + d["parts"][1]["steps"]
        if found:
            break
    assert found


def test_numeric_steps_are_listed_with_the_rule_they_passed():
    recs = {"fake": {"derivations": [{"kind": "chain", "title": "t", "steps": [
        {"index": 1, "why": "w", "method": "numeric", "instances": 2, "worst": 1e-30},
        {"index": 2, "why": "v", "method": "symbolic", "instances": 2, "worst": 0.0}]}]}}
    (step,) = checked.numeric_steps(recs)
    assert step["step"] == 1 and step["why"] == "w"
    assert checked.NUMERIC_RULE == {"points": NUMERIC_POINTS, "digits": NUMERIC_DIGITS,
                                    "rtol": checked.NUMERIC_RULE["rtol"]}


@pytest.mark.parametrize("title, columns, note, kind", [
    ("∂a/∂w against independent oracles", ["oracle", "evaluations", "max |derived − oracle|"], "", "oracles"),
    ("Whole tagger gradient", ["oracle", "compared", "max relative error", "tolerance"], "", "whole gradient"),
    ("Samples against the density", ["π", "τ", "chi-square", "p-value"], "", "monte carlo"),
    ("NumPy backward against central differences", ["n", "gradient", "max |backward − difference|"], "", "code"),
])
def test_tables_are_classified_by_what_they_check(title, columns, note, kind):
    assert checked.classify({"title": title, "columns": columns, "note": note}) == kind


def test_the_build_records_are_read_and_a_stale_one_is_not(tmp_path, monkeypatch):
    monkeypatch.setenv(checked.RECORDS_ENV, str(tmp_path))
    assert checked.write_record("sigmoid_neuron") == tmp_path / "sigmoid_neuron.json"
    planted = json.loads((tmp_path / "sigmoid_neuron.json").read_text())
    planted["title"] = "read from the build's record"
    (tmp_path / "sigmoid_neuron.json").write_text(json.dumps(planted))
    assert checked.records(["sigmoid_neuron"])["sigmoid_neuron"]["title"] == "read from the build's record"
    planted["source"] = "another version of derivations/"
    (tmp_path / "sigmoid_neuron.json").write_text(json.dumps(planted))
    assert checked.records(["sigmoid_neuron"])["sigmoid_neuron"]["title"] != "read from the build's record"


def test_a_page_still_being_read_is_waited_for(tmp_path, monkeypatch):
    monkeypatch.setenv(checked.RECORDS_ENV, str(tmp_path))
    (tmp_path / checked.PENDING).write_text(json.dumps(["sigmoid_neuron"]))
    (tmp_path / "sigmoid_neuron.started").touch()
    rec = checked.record_of("sigmoid_neuron")
    rec["title"] = "written while the reader waited"

    def page_finishes():
        time.sleep(0.5)
        (tmp_path / "sigmoid_neuron.json").write_text(json.dumps(rec))
        (tmp_path / "sigmoid_neuron.read").touch()
    threading.Thread(target=page_finishes).start()
    t0 = time.monotonic()
    got = checked.records(["sigmoid_neuron"], wait=30)
    assert got["sigmoid_neuron"]["title"] == "written while the reader waited" and time.monotonic() - t0 < 10


def test_a_page_still_queued_is_not_waited_for(tmp_path, monkeypatch):
    """A topic page this build will read but has not started (its reader may be waiting behind
    the report pages): the report page checks the topic itself instead of holding its process."""
    monkeypatch.setenv(checked.RECORDS_ENV, str(tmp_path))
    (tmp_path / checked.PENDING).write_text(json.dumps(["sigmoid_neuron"]))
    t0 = time.monotonic()
    assert checked.records(["sigmoid_neuron"], wait=60)["sigmoid_neuron"]["topic"] == "sigmoid_neuron"
    assert time.monotonic() - t0 < 30


def test_a_page_read_without_a_record_is_checked_here(tmp_path, monkeypatch):
    """A page read from the execution cache writes no record: once it is marked read, the report
    page stops waiting and checks the topic itself."""
    monkeypatch.setenv(checked.RECORDS_ENV, str(tmp_path))
    (tmp_path / checked.PENDING).write_text(json.dumps(["sigmoid_neuron"]))
    (tmp_path / "sigmoid_neuron.started").touch()
    (tmp_path / "sigmoid_neuron.read").touch()
    t0 = time.monotonic()
    assert checked.records(["sigmoid_neuron"], wait=60)["sigmoid_neuron"]["topic"] == "sigmoid_neuron"
    assert time.monotonic() - t0 < 30


def test_a_failing_table_fails_the_record(monkeypatch):
    from derivations.core import DerivationError
    from derivations.oracles import CheckTable

    bad = CheckTable("a table that fails", ["x"], [{"x": 1, "passed": False}])
    mod = registry.load("sigmoid_neuron").module
    monkeypatch.setattr(mod, "numeric_checks", lambda: [bad])
    with pytest.raises(DerivationError, match="a table that fails"):
        checked.record_of("sigmoid_neuron")


def test_the_summary_counts_every_step():
    recs = {name: checked.record_of(name) for name in ("sigmoid_neuron", "window_scorer")}
    md = checked.summary_markdown(recs)
    steps = sum(checked.step_counts(r)["steps"] for r in recs.values())
    assert f"| **all 2** | {sum(len(r['derivations']) for r in recs.values())} | {steps} |" in md
    assert f"| **all 2** | {sum(r['results'] for r in recs.values())} |" in md


def test_figure_claims_counts_the_pages_figures():
    fig = checked.figure_claims()
    assert fig["figures"] >= 12 and fig["checked"] == fig["figures"] and fig["asserts"] >= 2 * fig["figures"]
