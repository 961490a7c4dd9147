r"""Rules and notation: every identity the derivations rely on, with how it is proved and where it is used.

The checker proves each step of a derivation on its own; the *reasons* the steps give name a
small set of identities again and again (":math:`\sigma' = \sigma(1 - \sigma)`", "softmax
Jacobian", "chain rule"). :data:`RULES` lists them. Each rule is proved by a derivation: where a
topic already derives it, that derivation is the proof (its checks are the topic's, reused, never
repeated); the rules that no topic derives on its own (the chain, product and quotient rules in the
index form used here, the Kronecker delta, the layout conventions) are derived in this module.
Where a rule is used is read from the derivations themselves: a step *cites* a rule when its
reason matches the rule's pattern (:func:`citations`).

Layout conventions (the whole site):

- vectors are **columns**; a subscript is an entry (:math:`z_i`), a matrix entry has the row first
  (:math:`W_{ij}`: row :math:`i`, column :math:`j`);
- a Jacobian is in **numerator layout**: :math:`\partial y/\partial x` has one row per entry of
  :math:`y` and one column per entry of :math:`x`, :math:`(\partial y/\partial x)_{ij} = \partial
  y_i/\partial x_j`, so the Jacobian of :math:`y = Wx` is :math:`W` (:func:`jacobian_layout_derivation`);
- the gradient of a **scalar** with respect to a vector or a matrix has that vector's or matrix's
  shape: :math:`\partial J/\partial W` is the matrix of :math:`\partial J/\partial W_{ij}`, e.g.
  :math:`u x^\top` for :math:`J = u^\top W x` (:func:`gradient_layout_derivation`);
- vectorized claims (the δ-rule, BPTT) are verified entry by entry at concrete sizes.

Examples
--------
>>> [r.key for r in RULES][:4]
['sigmoid-prime', 'tanh-prime', 'softmax-jacobian', 'ce-gradient']
>>> rule("chain-rule").proof is None  # proved here
True
>>> bool(re.search(rule("sigmoid-prime").cites, r"$\sigma' = \sigma(1 - \sigma)$ and the chain rule"))
True
"""

from __future__ import annotations

import functools
import itertools
import re
from dataclasses import dataclass

import sympy as sp
from sympy.core.function import AppliedUndef

from .core import NUMERIC_DIGITS, NUMERIC_POINTS, Derivation, Result, evaluate, indexed, notation, sym
from .core import shown_product as _mul
from .oracles import CheckTable, crosscheck

TITLE = "Rules and notation: the identities the derivations rely on, and how each is proved"


@dataclass(frozen=True)
class Rule:
    """One identity the derivations rely on, or one convention they follow."""

    key: str
    name: str
    kind: str                      #: ``"identity"`` or ``"convention"``
    proof: tuple[str, str] | None  #: (topic, derivation name) that proves it; None: this module's :func:`local`
    cites: str                     #: a regex: a step whose reason matches it uses the rule
    step: int = -1                 #: the step of the proof that states the rule (-1: its last)
    code: tuple[str, ...] = ()     #: functions (``module.name``) whose NumPy code relies on it


# ---- the rules no topic derives on its own ------------------------------------------------------------
n = sym("n", meaning="number of entries (inputs, hidden units)", integer=True, positive=True)
i, j, k, l_ = (sym(s, integer=True, positive=True) for s in "ijkl")
notation(i, r"index of an output (a row), from 1")
notation(j, r"index of an input (a column), from 1")
notation(k, r"index of an entry in a sum, from 1")
notation(l_, r"index of an input in a sum, from 1")
x = indexed("x", "x", meaning="input vector", shape=r"${n \times 1}$", real=True)
W = indexed("W", "W", meaning="weights: row $i$ feeds output $i$", shape=r"${n \times n}$", real=True)
A = indexed("A", "A", meaning="weights of the first factor (product rule)", shape=r"${n \times n}$", real=True)
B = indexed("B", "B", meaning="weights of the second factor (product rule)", shape=r"${n \times n}$", real=True)
bv = indexed("b", "b", meaning="bias", shape=r"${n \times 1}$", real=True)
U = indexed("U", "U", meaning="read-out weights", shape=r"${n \times 1}$", real=True)
a = indexed("a", "a", meaning="coefficients that do not depend on $x$", shape=r"${n \times 1}$", real=True)
zv = indexed("z", "z", meaning=r"pre-activations, $z = Wx + b$", shape=r"${n \times 1}$", real=True)
p = indexed("p", "p", meaning=r"first factor's argument, $p = Ax$", shape=r"${n \times 1}$", real=True)
q = indexed("q", "q", meaning=r"second factor's argument, $q = Bx$", shape=r"${n \times 1}$", real=True)
s = sym("s", meaning=r"a scalar read-out, $s = \sum_i U_i f(z_i)$", shape="scalar", real=True)
t = sym("t", meaning="a scalar variable", shape="scalar", real=True)
f = sp.Function("f", real=True)
g = sp.Function("g", real=True)
notation(f, "a differentiable function (generic: the checker replaces it by random smooth ones)")
notation(g, "a second differentiable function (generic)")

CHAIN_DEFS = {zv: sp.Lambda(i, sp.Sum(W[i, l_] * x[l_], (l_, 1, n)) + bv[i]), s: sp.Sum(U[k] * f(zv[k]), (k, 1, n))}
PRODUCT_DEFS = {p: sp.Lambda(k, sp.Sum(A[k, l_] * x[l_], (l_, 1, n))), q: sp.Lambda(k, sp.Sum(B[k, l_] * x[l_], (l_, 1, n)))}


def _instances(*names):
    return [{n: size, **{v: val for v, val in zip(names, vals)}}
            for size in (1, 2, 3) for vals in itertools.product(*[sorted({1, size})] * len(names))]


@functools.cache
def chain_derivation() -> Derivation:
    d = Derivation("rule_chain", "The chain rule in index form: a sum over the intermediates", sp.Derivative(s, x[j]),
                   definitions=CHAIN_DEFS, instances=_instances(j), label="rules-chain")
    d.step(sp.Sum(_mul(sp.Derivative(s, zv[i]), sp.Derivative(zv[i], x[j])), (i, 1, n)),
           r"chain rule: $x_j$ reaches $s$ through every $z_i$")
    d.step(sp.Sum(_mul(U[i], sp.Derivative(f(zv[i]), zv[i]), W[i, j]), (i, 1, n)),
           r"$s = \sum_k U_k f(z_k)$: only $k = i$ holds $z_i$; $z_i = \sum_l W_{il} x_l + b_i$")
    return d


@functools.cache
def product_derivation() -> Derivation:
    d = Derivation("rule_product", "The product rule in index form", sp.Derivative(f(p[k]) * g(q[k]), x[j]),
                   definitions=PRODUCT_DEFS, instances=_instances(k, j), label="rules-product")
    d.step(_mul(sp.Derivative(f(p[k]), x[j]), g(q[k])) + _mul(f(p[k]), sp.Derivative(g(q[k]), x[j])),
           "product rule")
    d.step(_mul(sp.Derivative(f(p[k]), p[k]), A[k, j], g(q[k])) + _mul(f(p[k]), sp.Derivative(g(q[k]), q[k]), B[k, j]),
           r"chain rule through $p_k = \sum_l A_{kl} x_l$ and $q_k = \sum_l B_{kl} x_l$")
    return d


@functools.cache
def quotient_derivation() -> Derivation:
    d = Derivation("rule_quotient", "The quotient rule", sp.Derivative(f(t) / g(t), t), label="rules-quotient")
    d.step((_mul(sp.Derivative(f(t), t), g(t)) - _mul(f(t), sp.Derivative(g(t), t))) / g(t) ** 2,
           r"quotient rule: $(u/v)' = (u'v - uv')/v^2$")
    return d


@functools.cache
def log_derivation() -> Derivation:
    d = Derivation("rule_log", "The derivative of a logarithm", sp.Derivative(sp.log(f(t)), t), label="rules-log")
    d.step(sp.Derivative(f(t), t) / f(t), r"chain rule with $\log' u = 1/u$: $(\log u)' = u'/u$")
    return d


@functools.cache
def kronecker_derivation() -> Derivation:
    d = Derivation("rule_kronecker", "The Kronecker delta picks one term of a sum",
                   sp.Derivative(sp.Sum(a[k] * x[k], (k, 1, n)), x[j]), instances=_instances(j), label="rules-kronecker")
    d.step(sp.Sum(a[k] * sp.KroneckerDelta(k, j), (k, 1, n)), r"$\partial x_k/\partial x_j = \delta_{kj}$")
    d.step(a[j], r"$\delta_{kj}$ keeps only $k = j$")
    return d


#: The sizes at which the layout conventions are shown (rows, columns).
ROWS, COLS = 2, 3
u_vec = indexed("u", "u", meaning="a fixed vector (the gradient layout)", shape=r"${2 \times 1}$", real=True)
y_vec = indexed("y", "y", meaning=r"the outputs of a linear layer, $y = Wx$", shape=r"${2 \times 1}$", real=True)
J = sym("J_lin", "J", meaning=r"a scalar of $W$, $J = u^\top W x$", shape="scalar", real=True)
LAYOUT_DEFS = {y_vec: sp.Lambda(i, sp.Sum(W[i, l_] * x[l_], (l_, 1, COLS))),
               J: sp.Sum(u_vec[k] * y_vec[k], (k, 1, ROWS))}


def _matrix(fn):
    return sp.ImmutableMatrix(ROWS, COLS, lambda r, c: fn(r + 1, c + 1))


@functools.cache
def jacobian_layout_derivation() -> Derivation:
    d = Derivation("rule_numerator_layout", f"Numerator layout: the Jacobian of y = Wx is W ({ROWS} × {COLS})",
                   _matrix(lambda r, c: sp.Derivative(y_vec[r], x[c])), definitions=LAYOUT_DEFS,
                   label="rules-numerator-layout")
    d.step(_matrix(lambda r, c: W[r, c]), r"row $i$ holds output $y_i = \sum_l W_{il} x_l$, column $j$ input $x_j$")
    return d


@functools.cache
def gradient_layout_derivation() -> Derivation:
    uc = sp.ImmutableMatrix([u_vec[r + 1] for r in range(ROWS)])
    xc = sp.ImmutableMatrix([x[c + 1] for c in range(COLS)])
    d = Derivation("rule_gradient_layout", f"A scalar's gradient has the shape of its variable ({ROWS} × {COLS})",
                   _matrix(lambda r, c: sp.Derivative(J, W[r, c])), definitions=LAYOUT_DEFS,
                   label="rules-gradient-layout")
    d.step(_matrix(lambda r, c: u_vec[r] * x[c]), r"$J = \sum_k u_k \sum_l W_{kl} x_l$: only $k = i$, $l = j$ hold $W_{ij}$")
    d.step(sp.MatMul(uc, xc.T, evaluate=False), r"entry $(i, j)$ of $u x^\top$")
    return d


LOCAL = {"chain-rule": chain_derivation, "product-rule": product_derivation, "quotient-rule": quotient_derivation,
         "log-rule": log_derivation, "kronecker": kronecker_derivation, "numerator-layout": jacobian_layout_derivation,
         "gradient-layout": gradient_layout_derivation}

RULES = (
    Rule("sigmoid-prime", "The sigmoid's derivative", "identity", ("sigmoid_neuron", "sigmoid_prime"),
         r"\\sigma' ?= ?\\sigma ?\(1 ?- ?\\sigma\)|\\sigma'\s*=\s*\\sigma"),
    Rule("tanh-prime", "The hyperbolic tangent's derivative", "identity", ("lstm_gates", "lstm_tanh_prime"),
         r"\\tanh' ?= ?1 ?- ?\\tanh\^2"),
    Rule("softmax-jacobian", "The softmax Jacobian", "identity", ("softmax_ce", "softmax_jacobian"), r"softmax Jacobian"),
    Rule("ce-gradient", "The gradient of cross-entropy after softmax", "identity", ("softmax_ce", "ce_gradient"),
         r"softmax-CE|\(softmax-CE\)|target sums to one|one-hot"),
    Rule("logsumexp-shift", "The log-sum-exp shift", "identity", ("softmax_ce", "logsumexp_shift"),
         r"e\^\{m\}|log-sum-exp",
         code=("softmax_ce.logsumexp", "rnn_bptt.loss", "gumbel_softmax.exp_concrete_log_density")),
    Rule("softmax-shift", "Softmax ignores a shift of its logits", "identity", ("softmax_ce", "softmax_shift"),
         r"cancel \$e\^\{m\}|shift",
         code=("softmax_ce.softmax", "gumbel_softmax.relaxed", "rnn_bptt.forward_and_preactivations", "joint_tagging.RelationClassifier.forward")),
    Rule("unit-step", "The derivative of max(u, 0) is the unit step", "identity", ("window_scorer", "margin_active"),
         r"\\max\((u|a), 0\)|\\theta\(u\) = ", step=1),
    Rule("max-pool", "The derivative of a maximum", "identity", ("joint_tagging", "rc_pool"),
         r"pooling rule|only the maximum passes", step=1),
    Rule("log-rule", "The derivative of a logarithm", "identity", None, r"\(\\log u\)' ?= ?u'/u"),
    Rule("quotient-rule", "The quotient rule", "identity", None, r"quotient rule"),
    Rule("product-rule", "The product rule, in index form", "identity", None, r"product rule"),
    Rule("chain-rule", "The chain rule, in index form", "identity", None, r"chain rule"),
    Rule("kronecker", "The Kronecker delta picks one term of a sum", "identity", None,
         r"\\delta_\{?[a-z]{2}\}? keeps only|keeps only \$"),
    Rule("numerator-layout", "Jacobians in numerator layout", "convention", None, r"Jacobian"),
    Rule("gradient-layout", "A scalar's gradient has the shape of its variable", "convention", None,
         r"\\nabla|\\top"),
)


def rule(key: str) -> Rule:
    for r in RULES:
        if r.key == key:
            return r
    raise KeyError(f"no rule {key!r}; the rules are: {', '.join(r.key for r in RULES)}")


def local(key: str) -> Derivation:
    """The derivation of this module that proves rule ``key``."""
    return LOCAL[key]()


def derivations() -> list[Derivation]:
    """The rules this module proves itself (the others are their topics' derivations)."""
    return [chain_derivation(), product_derivation(), quotient_derivation(), log_derivation(), kronecker_derivation(),
            jacobian_layout_derivation(), gradient_layout_derivation()]


def citations(records: dict[str, dict], key: str) -> list[dict]:
    """The derivations (of every topic's record) with a step whose reason cites rule ``key``:
    ``{"topic", "derivation", "label", "steps"}``, in reading order."""
    pattern = re.compile(rule(key).cites)
    out = []
    for name, rec in records.items():
        for d in rec["derivations"]:
            chains = d["parts"] if d["kind"] == "induction" else [d]
            hits = sum(bool(pattern.search(st["why"])) for c in chains for st in c["steps"])
            if hits:
                out.append({"topic": name, "derivation": d["title"], "label": d["label"], "steps": hits})
    return out


def proof_record(records: dict[str, dict], key: str) -> dict:
    """The record of the derivation that proves rule ``key`` (from its topic's record, or this
    module's), with ``topic`` added."""
    r = rule(key)
    name, dname = r.proof if r.proof else ("rules", LOCAL[key]().name)
    for d in records[name]["derivations"]:
        if d["name"] == dname:
            return {**d, "topic": name}
    raise KeyError(f"rule {key}: topic {name} has no derivation {dname!r}")


def statement(records: dict[str, dict], key: str) -> str:
    """The rule as the proof states it, in LaTeX: its first side, ``=``, the stated step."""
    d = proof_record(records, key)
    return f"{d['lhs']} = {d['latex'][rule(key).step]}"


# ---- results: the local rules at concrete sizes, with concrete functions (for the JSON check) ----------
_t = sp.Dummy("t")
CONCRETE = {f: sp.Lambda(_t, sp.tanh(_t)), g: sp.Lambda(_t, sp.exp(_t) / (1 + _t ** 2))}


def _concrete(expr):
    """The generic f, g and their derivatives f', g' (as the checker writes them) made concrete."""
    names = {fn.__name__: lam for fn, lam in CONCRETE.items()}

    def value(e):
        base = e.func.__name__.rstrip("'")
        order = len(e.func.__name__) - len(base)
        return sp.diff(names[base](_t), _t, order).xreplace({_t: e.args[0]})
    return expr.replace(lambda e: isinstance(e, AppliedUndef) and e.func.__name__.rstrip("'") in names, value)


def _flat(base, latex_base, rows, cols=None):
    if cols is None:
        return {base[r]: sym(f"{base.label}_{r}", f"{latex_base}_{{{r}}}", real=True) for r in range(1, rows + 1)}
    return {base[r, c]: sym(f"{base.label}_{r}{c}", f"{latex_base}_{{{r}{c}}}", real=True)
            for r in range(1, rows + 1) for c in range(1, cols + 1)}


FLAT = {**_flat(W, "W", ROWS, COLS), **_flat(x, "x", COLS), **_flat(u_vec, "u", ROWS), **_flat(bv, "b", 2),
        **_flat(U, "U", 2), **_flat(A, "A", 2, 2), **_flat(B, "B", 2, 2), **_flat(a, "a", 3)}


@functools.cache
def results() -> list[Result]:
    """The chain rule with f = tanh, the product rule with f = tanh and g = eᵗ/(1 + t²) (n = 2), the
    Kronecker delta (n = 3) and both layouts (2 × 3), element by element, as plain symbols."""
    out = []
    chain_of = _concrete(evaluate(s, CHAIN_DEFS, {n: 2})).xreplace(FLAT)
    for c in (1, 2):
        expr = _concrete(evaluate(chain_derivation().result, CHAIN_DEFS, {n: 2, j: c})).xreplace(FLAT)
        out.append(Result(chain_of, FLAT[x[c]], expr, name="s"))
    for r, c in itertools.product((1, 2), repeat=2):
        inst = {n: 2, k: r, j: c}
        of = _concrete(evaluate(product_derivation().steps[0].expr.args[0], PRODUCT_DEFS, inst)).xreplace(FLAT)
        expr = _concrete(evaluate(product_derivation().result, PRODUCT_DEFS, inst)).xreplace(FLAT)
        out.append(Result(of, FLAT[x[c]], expr, name=f"f(p_{{{r}}})\\,g(q_{{{r}}})"))
    kron_of = evaluate(kronecker_derivation().steps[0].expr.args[0], {}, {n: 3}).xreplace(FLAT)
    for c in (1, 2, 3):
        out.append(Result(kron_of, FLAT[x[c]], evaluate(kronecker_derivation().result, {}, {j: c}).xreplace(FLAT),
                          name=r"\sum_k a_k x_k"))
    jac = jacobian_layout_derivation().result
    for r, c in itertools.product(range(1, ROWS + 1), range(1, COLS + 1)):
        out.append(Result(evaluate(y_vec[r], LAYOUT_DEFS).xreplace(FLAT), FLAT[x[c]], jac[r - 1, c - 1].xreplace(FLAT),
                          name=f"y_{{{r}}}"))
    grad = gradient_layout_derivation().steps[1].expr
    J_of = evaluate(J, LAYOUT_DEFS).xreplace(FLAT)
    for r, c in itertools.product(range(1, ROWS + 1), range(1, COLS + 1)):
        out.append(Result(J_of, FLAT[W[r, c]], grad[r - 1, c - 1].xreplace(FLAT), name="J"))
    return out


@functools.cache
def numeric_checks() -> list[CheckTable]:
    return [crosscheck(results(), points=3, seed=0,
                       title="The rules proved here, at concrete sizes and functions, against independent oracles")]


# ---- what the rules page shows ----------------------------------------------------------------------


def _cell(text: str) -> str:
    return text.replace("|", r"\|").replace("\n", " ")


def status(d: dict) -> str:
    """How a proof was checked, in words, from its record."""
    steps = d["steps"]
    numeric = sum(s["method"] == "numeric" for s in steps)
    inst = max((s["instances"] for s in steps), default=1)
    where = f", at {inst} sizes and indices" if inst > 1 else ""
    if d.get("kind") == "induction":
        head = f"proved for {d['proved_for']} by induction ({len(steps)} steps)"
    else:
        head = f"{len(steps)} step{'s' if len(steps) != 1 else ''}"
    if numeric:
        return (f"{head}{where}: {len(steps) - numeric} proved symbolically, {numeric} verified numerically "
                f"({NUMERIC_POINTS} random points, {NUMERIC_DIGITS} digits)")
    return f"{head}{where}, all proved symbolically"


def rule_markdown(records: dict[str, dict], kind: str) -> str:
    """The rules of one kind as MyST: the statement as its proof states it, the proof and its
    status, and the derivations that cite the rule (with links to their pages)."""
    out = []
    for r in RULES:
        if r.kind != kind:
            continue
        d = proof_record(records, r.key)
        cited = [c for c in citations(records, r.key) if not (c["topic"] == d["topic"] and c["label"] == d["label"])]
        where = "this page" if d["topic"] == "rules" else f"{{doc}}`{d['topic']}`"
        pages = list(dict.fromkeys(c["topic"] for c in cited))
        steps = sum(c["steps"] for c in cited)
        uses = ", ".join(f"{{doc}}`{pg}` ({sum(c['steps'] for c in cited if c['topic'] == pg)})" for pg in pages)
        code = ", ".join(f"{{py:func}}`derivations.{c}`" for c in r.code)
        out += [f"**{r.name}.**", "", "$$", statement(records, r.key), "$$", "",
                f"Proved by *{_cell(d['title'])}* on {where}: {status(d)}.",
                (f"Cited by {steps} step{'s' if steps != 1 else ''} of {len(cited)} derivation"
                 f"{'s' if len(cited) != 1 else ''}, on: {uses}." if cited else "Cited by no other step.")
                + (f" The NumPy code relies on it in {code}." if code else ""), ""]
    return "\n".join(out)


def shape_text(shape: str) -> str:
    """A shape as plain text (``${n \\times 1}$`` → ``n × 1``): the book-wide table shows hundreds
    of them, and as formulas they would weigh most of its page."""
    out = shape.replace("$", "").replace("{", "").replace("}", "").replace(r"\times", "×").replace("-", "−")
    out = re.sub(r"\\([A-Za-z]+)", lambda m: _GREEK.get(m.group(1), m.group(1)), out)
    return re.sub(r"\s+", " ", out).strip()


_GREEK = {"tau": "τ", "alpha": "α", "beta": "β", "gamma": "γ", "delta": "δ", "sigma": "σ", "lambda": "λ",
          "pi": "π", "rho": "ρ", "omega": "ω", "eta": "η", "mu": "μ", "theta": "θ", "varepsilon": "ε"}


def _sort_key(tex: str):
    """Symbols in alphabetical order of their letter: Latin first, then Greek, then the rest."""
    bare = re.sub(r"\\(hat|bar|tilde|mathcal|mathrm|operatorname|overrightarrow|overleftarrow)\b", "", tex)
    m = re.search(r"\\([A-Za-z]+)|([A-Za-z])", bare)
    if m is None:
        return (3, tex)
    if m.group(2):
        return (0, m.group(2).lower(), m.group(2).isupper(), tex)
    return (1 if m.group(1) in _GREEK or m.group(1) in ("Delta", "Sigma", "Gamma", "Pi", "Omega") else 2,
            m.group(1).lower(), tex)


#: The fewest symbols in one of the notation page's tables (the last may have fewer): a table
#: holds the symbols of a run of letters, and one that is off screen costs its page no layout.
NOTATION_GROUP_ROWS = 24


def notation_groups(symbols) -> list[tuple[str, list[str]]]:
    """The symbols in alphabetical order, cut into tables: the Latin letters in runs of whole
    letters of at least :data:`NOTATION_GROUP_ROWS` symbols (the last run may have fewer), then
    the Greek letters, then the rest; each run with its title ("Latin letters a–c")."""
    groups: list[tuple[int, list[str], list[str]]] = []  # (kind, letters, symbols)
    for tex in sorted(symbols, key=_sort_key):
        key = _sort_key(tex)
        kind = min(key[0], 2)  # 0 Latin, 1 Greek, 2 the rest (an operator name counts as the rest)
        letter = key[1] if kind == 0 else ""
        last = groups[-1] if groups else None
        if last and last[0] == kind and (kind or letter in last[1] or len(last[2]) < NOTATION_GROUP_ROWS):
            if letter not in last[1]:
                last[1].append(letter)
            last[2].append(tex)
        else:
            groups.append((kind, [letter], [tex]))
    out = []
    for kind, letters, texs in groups:
        if kind == 0:
            title = "Latin letters " + (letters[0] if len(letters) == 1 else f"{letters[0]}–{letters[-1]}")
        else:
            title = "Greek letters" if kind == 1 else "Other symbols"
        out.append((title, texs))
    return out


def notation_markdown(records: dict[str, dict]) -> str:
    """The whole book's notation: every symbol any page's derivations show, as the pages print
    it, with what it means on each page that uses it (and its shape there), in alphabetical order,
    in one table per run of letters (:func:`notation_groups`)."""
    by_symbol: dict[str, list[str]] = {}
    for name, rec in records.items():
        for entry in rec["notation"]:
            shape = shape_text(entry["shape"])
            by_symbol.setdefault(entry["latex"], []).append(
                f"{entry['meaning']} ({{doc}}`{name} <{name}>`{', ' + shape if shape else ''})")
    rows = []
    for k, (title, texs) in enumerate(notation_groups(by_symbol), start=1):
        rows += ["````{container} notation-group",
                 f"```{{list-table}} Notation: {title}", f":name: notation-{k}",
                 ":header-rows: 1", ":widths: 1 5", "",
                 "* - Symbol", "  - Meaning (page, shape)"]
        for tex in texs:
            rows.append(f"* - ${tex}$")
            meanings = by_symbol[tex]
            if len(meanings) == 1:
                rows.append(f"  - {meanings[0]}")
            else:
                rows.append(f"  - * {meanings[0]}")
                rows += [f"    * {m}" for m in meanings[1:]]
        rows += ["```", "````", ""]
    return "\n".join(rows)
