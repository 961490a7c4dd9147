"""The ``derive`` command: list the topics, show a topic's derivations, check them all.

Exit codes: 0 when everything holds, 1 when a check fails (the message names the topic, the
derivation and the step), 2 on a usage error (unknown topic, unknown format, bad arguments).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import multiprocessing as mp
import os
import re
import sys
import time
import unicodedata
from concurrent.futures import ProcessPoolExecutor

import sympy as sp

from . import SLOWEST_FIRST, registry
from .core import DerivationError, Induction, text

FORMATS = ("text", "latex", "json")


class UsageError(Exception):
    """A usage error: printed as one line, exit code 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one readable line instead of usage + message
        raise UsageError(f"{message} (see 'derive --help')")


def _parser() -> argparse.ArgumentParser:
    p = _Parser(prog="derive", description="Machine-checked derivations of neural-network gradients.")
    sub = p.add_subparsers(dest="command", metavar="{list,show,check}", parser_class=_Parser)
    sub.required = True
    sub.add_parser("list", help="one line per topic: its name, then its title")
    show = sub.add_parser("show", help="print a topic's derivations and results")
    show.add_argument("topic")
    show.add_argument("--format", default="text", help="text (default), latex or json")
    check = sub.add_parser("check", help="run every step check and numeric cross-check")
    check.add_argument("topics", nargs="*", help="topics to check (default: all)")
    return p


def _greek(name: str) -> str:
    r"""The letter a LaTeX command names (``sigma`` → σ, ``Delta`` → Δ, ``varepsilon`` → ε), or ""
    for another command (``\mathcal``, ``\mathrm``: their argument stays)."""
    if name == "ell":
        return "ℓ"
    letter = name[3:] if name.startswith("var") else name
    case = "CAPITAL" if letter[:1].isupper() else "SMALL"
    try:
        return unicodedata.lookup(f"GREEK {case} LETTER {letter.upper().replace('LAMBDA', 'LAMDA')}")
    except KeyError:
        return ""


def _plain(latex_name: str) -> str:
    r"""A result's LaTeX name for the terminal: ``\hat y_{1}`` → ``ŷ_1``, ``\sigma`` → ``σ``,
    ``\mathcal{J}`` → ``J``."""
    out = latex_name.replace(r"\hat y", "ŷ").replace(r"\hat{y}", "ŷ")
    out = re.sub(r"\\([A-Za-z]+)", lambda m: _greek(m.group(1)), out)
    return re.sub(r"[{} ]", "", out)


def _results_text(topic) -> list[str]:
    lines = []
    for r in topic.results():
        where = f"    where {', '.join(text(eq) for eq in r.where)}" if r.where else ""
        name = _plain(r.name) if r.name else f"({text(r.of)})"
        lines.append(f"  ∂{name}/∂{r.wrt} = {text(r.expr)}{where}")
    return lines


def show_text(topic) -> str:
    out = [f"{topic.name}: {topic.title}", ""]
    for d in topic.derivations():
        out += [d.text(), f"  [{d.summary()}]", ""]
    out.append("Results (checked against independent oracles by 'derive check'):")
    out += _results_text(topic)
    return "\n".join(out)


def show_latex(topic) -> str:
    out = [f"% {topic.name}: {topic.title}"]
    for d in topic.derivations():
        out += [f"% {d.title} ({d.summary()})", d.latex(), ""]
    out.append("% Results")
    out += [r.latex_equation() for r in topic.results()]
    return "\n".join(out)


def show_json(topic) -> str:
    """DESIGN.md's JSON form; a topic with claims proved for every size adds ``inductions``, one
    object per claim: the indices it is proved for, its two sides, the base case and the
    inductive step, each step as srepr (see :meth:`derivations.core.Induction.as_json`)."""
    steps, inductions = [], []
    for d in topic.derivations():
        if isinstance(d, Induction):
            inductions.append(d.as_json())
            continue
        d.check()
        for k, st in enumerate(d.steps):
            why = st.why if k else f"start: {d.title}"
            if st.given:
                why += "; using " + ", ".join(c.text() for c in st.given)
            steps.append({"latex": d.step_latex(k), "why": why, "expr": sp.srepr(st.expr)})
    doc = {"topic": topic.name, "title": topic.title, "steps": steps,
           "results": [r.as_json() for r in topic.results()]}
    if inductions:
        doc["inductions"] = inductions
    return json.dumps(doc, indent=1, ensure_ascii=False)


def check_topic(name: str) -> tuple[bool, list[str]]:
    """Run every check of one topic; return whether all hold and the report lines."""
    lines = []
    topic = registry.load(name)
    t0 = time.perf_counter()
    for d in topic.derivations():
        try:
            d.check()
        except DerivationError as err:
            return False, lines + [f"FAIL {name}: {err}"]
        lines.append(f"ok   {name}: {d.name}: {d.summary()}")
    proved = [d for d in topic.derivations() if isinstance(d, Induction)]
    if proved:
        lines.append(f"ok   {name}: {len(proved)} claim(s) proved for every size by induction: "
                     + ", ".join(f"{d.name} ({d.proved_for()})" for d in proved))
    for r in topic.results():
        try:
            r.check_symbolic()
        except DerivationError as err:
            return False, lines + [f"FAIL {name}: results: {err}"]
    lines.append(f"ok   {name}: {len(topic.results())} results equal the direct derivative")
    for table in topic.numeric_checks():
        if not table.passed:
            return False, lines + [f"FAIL {name}: {table.title}", table.text()]
        lines.append(f"ok   {name}: {table.title} ({len(table.rows)} rows)")
    lines.append(f"     {name}: {time.perf_counter() - t0:.1f} s")
    return True, lines


def check(names: list[str], out=None) -> int:
    """Check the topics (in parallel on a machine with several cores); print in topic order."""
    out = out or sys.stdout
    start = time.perf_counter()
    workers = min(len(names), os.cpu_count() or 1)
    with contextlib.ExitStack() as stack:
        reports = map(check_topic, names)
        if workers > 1:
            pool = stack.enter_context(
                ProcessPoolExecutor(max_workers=workers, mp_context=mp.get_context("fork")))
            stack.callback(pool.shutdown, cancel_futures=True)  # after a failure, start no more
            rank = {name: k for k, name in enumerate(SLOWEST_FIRST)}
            futures = {name: pool.submit(check_topic, name)
                       for name in sorted(names, key=lambda n: rank.get(n, len(rank)))}
            reports = (futures[name].result() for name in names)
        for ok, lines in reports:
            print("\n".join(lines), file=out, flush=True)
            if not ok:
                return 1
    print(f"all checks hold: {len(names)} topic(s) in {time.perf_counter() - start:.1f} s", file=out)
    return 0


def main(argv: list[str] | None = None) -> int:
    try:
        args = _parser().parse_args(argv)
        if args.command == "list":
            width = max(len(n) for n in registry.names())
            for name in registry.names():
                print(f"{name:<{width}}  {registry.load(name).title}")
            return 0
        if args.command == "show":
            if args.format not in FORMATS:
                raise UsageError(f"unknown format {args.format!r}; choose one of: {', '.join(FORMATS)}")
            topic = registry.load(args.topic)
            print({"text": show_text, "latex": show_latex, "json": show_json}[args.format](topic))
            return 0
        names = args.topics or registry.names()
        for name in names:
            registry.load(name)  # unknown names are usage errors, before any work
        return check(names)
    except (UsageError, registry.UnknownTopic) as err:
        print(f"derive: {err}", file=sys.stderr)
        return 2
    except DerivationError as err:
        print(f"derive: check failed: {err}", file=sys.stderr)
        return 1
    except BrokenPipeError:  # e.g. `derive show x | head`
        return 0
