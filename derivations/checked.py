r"""What is checked, and how: one record per topic, made from the objects ``derive check`` checks.

A *record* (:func:`record_of`) says, for one topic, how every step of every derivation was proved
(symbolically, or numerically at :data:`~derivations.core.NUMERIC_POINTS` random points with
:data:`~derivations.core.NUMERIC_DIGITS` digits), what every numeric check table holds (the oracles
and tolerances of the results, the Monte Carlo statistics, the checks of the NumPy code), and the
topic's notation list. It is made from the topic module's own objects after they have been
checked: :meth:`~derivations.core.Derivation.check` and ``numeric_checks()`` are cached in the
process, so a record costs nothing more where the topic's page has already run them.

That is how the site stays cheap to build. While the site builds, each topic's page ends with a
hidden cell (added by ``conf.py``) that calls :func:`write_record` in the page's own kernel, after
the page has checked everything: the record goes to the folder named by :data:`RECORDS_ENV`,
beside the execution cache of this version of ``derivations/``. The pages that report on every
topic (the "what is checked", rules and notation pages) read those records with :func:`records`,
waiting for a topic whose page is still being read in a parallel build; outside a build, or for a
topic with no record, :func:`records` makes the record itself (checking the topic, in parallel
processes when there are several).

Examples
--------
>>> rec = record_of("sigmoid_neuron")
>>> [d["name"] for d in rec["derivations"]]
['sigmoid_prime', 'neuron_dw', 'neuron_db', 'neuron_dx']
>>> {s["method"] for d in rec["derivations"] for s in d["steps"]}
{'symbolic'}
>>> [t["kind"] for t in rec["tables"]]
['oracles', 'code']
>>> classify({"title": "Monte Carlo: 1,000 samples", "columns": ["what", "p-value"], "note": ""})
'monte carlo'
"""

from __future__ import annotations

import hashlib
import json
import math
import multiprocessing as mp
import os
import re
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import sympy as sp
from sympy.core.function import UndefinedFunction

from . import SLOWEST_FIRST, registry
from .core import NUMERIC_DIGITS, NUMERIC_POINTS, NUMERIC_RTOL, Derivation, Induction, latex, latex_names_of
from .render import notation_of

#: The environment variable that names the folder of the build's records (set by ``conf.py``).
RECORDS_ENV = "DERIVATIONS_CHECK_RECORDS"
#: In that folder: the topics whose pages this build reads (written by ``conf.py`` before reading).
PENDING = "pending.json"
#: How long :func:`records` waits for a page that is still being read before checking the topic itself.
WAIT_SECONDS = 240.0
ROOT = Path(__file__).resolve().parents[1]


def source_hash(root: Path = ROOT) -> str:
    """The hash of ``derivations/`` that the site's execution cache is keyed by (``conf.py``)."""
    h = hashlib.sha256()
    for path in sorted((root / "derivations").rglob("*.py")):
        h.update(path.relative_to(root).as_posix().encode())
        h.update(path.read_bytes())
    return h.hexdigest()[:16]


# ---- one topic's record -------------------------------------------------------------------------


def fingerprint(d: Derivation) -> str:
    """A digest of a derivation's chain (every expression and reason), to tell whether a record
    describes this very chain."""
    h = hashlib.sha256(d.name.encode())
    for st in d.steps:
        h.update(sp.srepr(st.expr).encode())
        h.update(st.why.encode())
    return h.hexdigest()[:16]


def _chain(d: Derivation, part: str = "", check: bool = True) -> dict:
    checks = d.check() if check else [_Unchecked(k) for k in range(1, len(d.steps))]
    with latex_names_of(d.module):
        start = latex(d.lhs) if d.lhs is not None else latex(d.steps[0].expr)
        shown = [latex(st.expr) for st in d.steps]
    steps = [{"index": c.index, "why": d.steps[c.index].why, "method": c.method, "instances": c.instances,
              "worst": float(c.worst), "given": [cond.text() for cond in d.steps[c.index].given]} for c in checks]
    return {"name": d.name, "title": d.title, "label": d.label, "module": d.module, "part": part,
            "lhs": start, "latex": shown, "steps": steps, "summary": d.summary() if check else "not checked",
            "instances": [{str(k): str(v) for k, v in inst.items()} for inst in d.instances],
            "fingerprint": fingerprint(d)}


class _Unchecked:
    """A step not checked (a light record: its reason, not its proof)."""

    def __init__(self, index):
        self.index, self.method, self.instances, self.worst = index, "unchecked", 0, 0.0


def derivation_record(d, check: bool = True) -> dict:
    """How every step of ``d`` was proved: a :class:`~derivations.core.Derivation`, or an
    :class:`~derivations.core.Induction` (its base case and inductive step). With ``check=False``,
    its steps and reasons only (method ``"unchecked"``)."""
    if isinstance(d, Induction):
        if check:
            d.check()
        parts = [_chain(d.base, "base case", check), _chain(d.step, "inductive step", check)]
        return {"name": d.name, "title": d.title, "label": d.label, "module": d.module, "kind": "induction",
                "proved_for": d.proved_for(), "summary": d.summary() if check else "not checked", "parts": parts,
                "steps": [s for p in parts for s in p["steps"]]}
    return {**_chain(d, check=check), "kind": "chain"}


def _plain(value):
    if isinstance(value, (bool, int, str)) or value is None:
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    try:
        return float(value)
    except (TypeError, ValueError):
        return str(value)


def classify(table: dict) -> str:
    """The kind of a numeric check table: ``'oracles'`` (published results against the oracles,
    :func:`~derivations.oracles.crosscheck`), ``'whole gradient'`` (a model's NumPy gradient against
    autograd and differences), ``'monte carlo'`` (a statistic of seeded samples) or ``'code'``
    (anything else: the NumPy code, a bound, a table of facts)."""
    cols = table["columns"]
    if cols[:2] == ["oracle", "evaluations"]:
        return "oracles"
    if cols[:1] == ["oracle"] and "compared" in cols:
        return "whole gradient"
    words = " ".join([table["title"], table.get("note", ""), *cols])
    if re.search(r"monte carlo|sampl|p-value", words, re.I):
        return "monte carlo"
    return "code"


def table_record(table) -> dict:
    out = {"title": table.title, "columns": list(table.columns), "note": table.note, "passed": bool(table.passed),
           "rows": [{k: _plain(v) for k, v in row.items()} for row in table.rows]}
    out["kind"] = classify(out)
    return out


def notation_record(module) -> list[dict]:
    """The topic's notation list as its page shows it: the symbol in the module's LaTeX names,
    its meaning and shape."""
    rows = []
    with latex_names_of(module.__name__):
        for obj, (meaning, shape) in notation_of(module.__name__).items():
            tex = latex(sp.Symbol(obj.__name__)) if isinstance(obj, UndefinedFunction) else latex(obj)
            rows.append({"latex": tex, "meaning": meaning, "shape": shape or ""})
    return rows


def record_of(name: str, check: bool = True) -> dict:
    """The record of topic ``name``: every derivation checked, every numeric check table, the
    notation list (raises like ``derive check`` if a check fails). ``check=False`` gives a light
    record, without proofs or tables: the derivations' steps and reasons and the notation."""
    t0 = time.perf_counter()
    topic = registry.load(name)
    derivs = [derivation_record(d, check) for d in topic.derivations()]
    tables = []
    for table in topic.numeric_checks() if check else ():
        table.assert_ok()
        tables.append(table_record(table))
    return {"topic": name, "title": topic.title, "source": source_hash(), "derivations": derivs,
            "results": len(topic.results()), "tables": tables, "notation": notation_record(topic.module),
            "seconds": round(time.perf_counter() - t0, 3)}


# ---- the build's records --------------------------------------------------------------------------


def records_dir() -> Path | None:
    folder = os.environ.get(RECORDS_ENV)
    return Path(folder) if folder else None


def write_record(name: str) -> Path | None:
    """Write topic ``name``'s record where the build keeps them (nothing outside a build). A
    topic's page calls this last, in its own kernel, when everything is checked."""
    folder = records_dir()
    if folder is None:
        return None
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.json"
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps(record_of(name), ensure_ascii=False))
    tmp.replace(path)  # atomic: a reader never sees half a record
    return path


def _load(path: Path, source: str) -> dict | None:
    try:
        rec = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return rec if rec.get("source") == source else None


def _pending(folder: Path) -> set[str]:
    """The topics whose pages this build is reading right now: started (``conf.py`` marks a page
    with ``<name>.started`` when its reading begins) and not finished (``<name>.read``). A page
    still queued is not waited for: the report page checks that topic itself, so report pages that
    start early can never hold every process while the pages they wait for queue behind them."""
    try:
        names = set(json.loads((folder / PENDING).read_text()))
    except (OSError, ValueError):
        return set()
    return {n for n in names if (folder / f"{n}.started").exists() and not (folder / f"{n}.read").exists()}


def _compute(names: list[str]) -> dict[str, dict]:
    """Make the records of ``names`` here: in parallel processes when there are several (as
    ``derive check`` does), slowest first."""
    workers = min(len(names), os.cpu_count() or 1)
    if workers <= 1:
        return {n: record_of(n) for n in names}
    rank = {n: k for k, n in enumerate(SLOWEST_FIRST)}
    with ProcessPoolExecutor(max_workers=workers, mp_context=mp.get_context("fork")) as pool:
        futures = {n: pool.submit(record_of, n) for n in sorted(names, key=lambda n: rank.get(n, len(rank)))}
        return {n: futures[n].result() for n in names}


def records(names=None, *, here: str | None = None, wait: float = WAIT_SECONDS) -> dict[str, dict]:
    """The records of ``names`` (default: every topic), in reading order.

    In a build, each is read from the folder the topics' pages wrote it to, waiting up to ``wait``
    seconds for a page that is still being read; a topic with no record (and ``here``, the
    calling page's own topic) is checked in this process."""
    names = list(registry.names() if names is None else names)
    folder, source = records_dir(), source_hash()
    found: dict[str, dict] = {}
    if folder is not None:
        deadline = time.monotonic() + wait
        while True:
            for n in names:
                if n not in found and n != here:
                    rec = _load(folder / f"{n}.json", source)
                    if rec is not None:
                        found[n] = rec
            waiting = (_pending(folder) & set(names)) - set(found) - {here}
            if not waiting or time.monotonic() > deadline:
                break
            time.sleep(0.2)
    missing = [n for n in names if n not in found]
    found.update(_compute(missing) if missing else {})
    return {n: found[n] for n in names}


# ---- summaries the pages show -----------------------------------------------------------------------


def step_counts(rec: dict) -> dict:
    """Derivations, steps, and how the steps were proved, of one record."""
    steps = [s for d in rec["derivations"] for s in d["steps"]]
    return {"derivations": len(rec["derivations"]), "steps": len(steps),
            "symbolic": sum(s["method"] == "symbolic" for s in steps),
            "numeric": sum(s["method"] == "numeric" for s in steps),
            "inductions": sum(d["kind"] == "induction" for d in rec["derivations"])}


def numeric_steps(recs: dict[str, dict]) -> list[dict]:
    """Every step that SymPy could not decide and that was verified at random points instead."""
    out = []
    for name, rec in recs.items():
        for d in rec["derivations"]:
            chains = d["parts"] if d["kind"] == "induction" else [d]
            for c in chains:
                for s in c["steps"]:
                    if s["method"] == "numeric":
                        out.append({"topic": name, "derivation": c["title"], "step": s["index"], "why": s["why"],
                                    "instances": s["instances"], "worst": s["worst"]})
    return out


def tables_of_kind(recs: dict[str, dict], kind: str) -> list[tuple[str, dict]]:
    return [(name, t) for name, rec in recs.items() for t in rec["tables"] if t["kind"] == kind]


#: What a numerically verified step means, in numbers (for the pages' prose).
NUMERIC_RULE = {"points": NUMERIC_POINTS, "digits": NUMERIC_DIGITS, "rtol": float(NUMERIC_RTOL)}


# ---- what the "what is checked" page shows -----------------------------------------------------------


def _cell(value) -> str:
    if isinstance(value, float):
        return f"{value:.1e}"
    return str(value).replace("|", r"\|").replace("\n", " ")


def _topic(name: str) -> str:
    """A topic's page, linked by its short name (the tables stay narrow)."""
    return f"{{doc}}`{name} <{name}>`"


def summary_markdown(recs: dict[str, dict]) -> str:
    """Two tables, one row per topic: its derivations and how their steps were proved; its
    results and numeric check tables by kind, and whether everything passed."""
    steps = [":::{table} Every topic's derivations, from this build: how their steps were proved",
             ":name: checked-table-steps", "",
             "| Topic | Derivations | Steps | Symbolic | Numeric only | By induction |", "|:--|--:|--:|--:|--:|--:|"]
    tables = [":::{table} Every topic's numeric checks, from this build: results and tables by kind",
              ":name: checked-table-numbers", "",
              "| Topic | Results | Oracle tables | Whole gradients | Monte Carlo | Other | All pass |",
              "|:--|--:|--:|--:|--:|--:|:--|"]
    total = dict.fromkeys(("derivations", "steps", "symbolic", "numeric", "inductions", "results", "oracles",
                           "whole gradient", "monte carlo", "code"), 0)
    for name, rec in recs.items():
        c = step_counts(rec)
        kinds = {k: sum(t["kind"] == k for t in rec["tables"]) for k in ("oracles", "whole gradient", "monte carlo", "code")}
        for key in ("derivations", "steps", "symbolic", "numeric", "inductions"):
            total[key] += c[key]
        total["results"] += rec["results"]
        for k, v in kinds.items():
            total[k] += v
        steps.append(f"| {_topic(name)} | {c['derivations']} | {c['steps']} | {c['symbolic']} | {c['numeric']} | "
                     f"{c['inductions']} |")
        ok = all(t["passed"] for t in rec["tables"])
        tables.append(f"| {_topic(name)} | {rec['results']} | {kinds['oracles']} | {kinds['whole gradient']} | "
                      f"{kinds['monte carlo']} | {kinds['code']} | {'✔' if ok else '✘'} |")
    steps.append(f"| **all {len(recs)}** | {total['derivations']} | {total['steps']} | {total['symbolic']} | "
                 f"{total['numeric']} | {total['inductions']} |")
    tables.append(f"| **all {len(recs)}** | {total['results']} | {total['oracles']} | {total['whole gradient']} | "
                  f"{total['monte carlo']} | {total['code']} | |")
    return "\n".join(steps + [":::", ""] + tables + [":::"])


def numeric_steps_markdown(recs: dict[str, dict]) -> str:
    steps = numeric_steps(recs)
    if not steps:
        return "No step of any derivation needed the numeric check: every step was proved symbolically."
    rows = [":::{table} The steps SymPy could not decide, verified at random points instead",
            ":name: checked-table-numeric", "",
            "| Topic | Derivation | Step | Reason | Instances | Largest relative difference |",
            "|:--|:--|--:|:--|--:|--:|"]
    for s in steps:
        why = s["why"] if s["why"].count("$") % 2 == 0 else s["why"].replace("$", "")
        rows.append(f"| {_topic(s['topic'])} | {_cell(s['derivation'])} | {s['step']} | {_cell(why)} | "
                    f"{s['instances']} | {s['worst']:.1e} |")
    rows.append(":::")
    return "\n".join(rows)


_SHORT_ORACLE = (("mpmath", "mpmath differences"), ("complex step", "complex step"), ("autograd", "autograd"))


def _short_oracle(name: str) -> str:
    """An oracle's name as the tables' column shows it (the check tables on the pages give it in full)."""
    return next((short for key, short in _SHORT_ORACLE if key in name), name)


def oracle_markdown(recs: dict[str, dict]) -> str:
    """The published results against the oracles, one row per table: its oracles with their
    evaluations, the largest relative error over all of them, and the tolerance."""
    rows = [":::{table} The published results against independent oracles, one row per table",
            ":name: checked-table-oracles", "",
            "| Topic | Table | Oracles (evaluations each) | Max rel. error | Tolerance |", "|:--|:--|:--|--:|:--|"]
    for name, t in tables_of_kind(recs, "oracles"):
        oracles = ", ".join(f"{_short_oracle(r['oracle'])} ({r['evaluations']})" for r in t["rows"])
        errs = [r.get("max relative error") for r in t["rows"] if isinstance(r.get("max relative error"), float)]
        tol = "; ".join(dict.fromkeys(str(r.get("tolerance", "—")) for r in t["rows"]))
        rows.append(f"| {_topic(name)} | {_cell(t['title'])} | {oracles} | {_cell(max(errs)) if errs else '—'} | "
                    f"{_cell(tol)} |")
    rows.append(":::")
    return "\n".join(rows)


def whole_gradient_markdown(recs: dict[str, dict]) -> str:
    rows = [":::{table} Whole models' NumPy gradients against autograd and central differences",
            ":name: checked-table-whole", "",
            "| Topic | Table | Oracle | Compared | Max rel. error | Tolerance |", "|:--|:--|:--|:--|--:|:--|"]
    for name, t in tables_of_kind(recs, "whole gradient"):
        for r in t["rows"]:
            rows.append(f"| {_topic(name)} | {_cell(t['title'])} | {_cell(r['oracle'])} | {_cell(r['compared'])} | "
                        f"{_cell(r['max relative error'])} | {_cell(r['tolerance'])} |")
    rows.append(":::")
    return "\n".join(rows)


def table_html(t: dict) -> str:
    """A recorded table as its page shows it (the same HTML as the live table), in a box that
    scrolls sideways on a narrow screen instead of widening the page."""
    from .oracles import CheckTable

    table = CheckTable(t["title"], t["columns"], [dict(r) for r in t["rows"]], t["note"])
    return f"<div class='table-scroll'>{table._repr_html_()}</div>"


def figure_claims(docs: Path = ROOT / "docs") -> dict:
    """The pages' figures and what their cells assert: every figure is an executed cell with a
    caption, a name and alt text; the sentences about it are checked by ``assert`` statements in
    that cell (counted here), and ``figures.check`` checks how it reads."""
    cell = re.compile(r"```\{code-cell\} python\n(?:---\n(?P<meta>.*?)\n---\n)?(?P<body>.*?)\n```\n", re.S)
    figures, asserts, checked_ = 0, 0, 0
    pages = set()
    for page in sorted(docs.glob("*.md")):
        for m in cell.finditer(page.read_text(encoding="utf-8")):
            body = m.group("body")
            if "plt.show()" not in body:
                continue
            figures += 1
            pages.add(page.stem)
            asserts += len(re.findall(r"^\s*assert\b", body, re.M))
            checked_ += "figures.check(fig)" in body
    return {"figures": figures, "pages": len(pages), "asserts": asserts, "checked": checked_}
