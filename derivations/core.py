r"""The verified-derivation engine.

A :class:`Derivation` is an ordered chain of steps :math:`E_0 = E_1 = \dots = E_n`, each step
carrying the reason it equals the one before. :meth:`Derivation.check` proves every ``=``:

1. *symbolically* (SymPy simplifies the difference of the two sides to zero), and only where SymPy
   cannot decide,
2. *numerically*, by evaluating both sides at :data:`NUMERIC_POINTS` random points with
   :data:`NUMERIC_DIGITS` significant digits. Such a step is labelled as numerically verified
   wherever it is rendered.

A wrong step raises :class:`StepError`, which names the derivation and the step and shows both
sides. Rendering always checks first, so a wrong step can never be rendered as verified.

Notation the engine understands
-------------------------------
- **Definitions** (``δ := W f'(z)``): a mapping from a symbol (or an :class:`~sympy.IndexedBase`,
  with a :class:`~sympy.Lambda` over its indices, or a named function ``F = sp.Function("F")``
  with a :class:`~sympy.Lambda` over its argument) to its value. The checker expands definitions,
  so ``W f'(z) a`` and ``δ a`` are provably equal, and ``F(z - a)`` prints as itself.
- **Integrals, limits and determinants** a step leaves unevaluated: where both sides are the same
  operation over the same range, the checker compares what they integrate (or take the limit
  of); a step that changes the variable of an integral declares it (:class:`Change`) and the
  checker carries it out with SymPy; what is left SymPy must evaluate exactly, or the step fails.
- **Partial derivatives through intermediates**: ``Derivative(a, z)`` with ``a := f(z)`` means the
  derivative of ``a`` with ``z`` held as the variable; the checker expands every definition inside
  ``a`` except ``z`` itself before differentiating.
- **Sizes**: a derivation may be written for symbolic sizes and indices (``n`` classes, index ``i``)
  and checked at concrete *instances* (``n = 2 … 6`` and every ``i``).
- **Conditions** such as :math:`\sum_k y_k = 1` are attached to the step that uses them and hold
  from that step on; they are rendered next to the reason, never hidden.
- **Generic activations** ``f`` (undefined functions) print as ``f'(z)``. Numeric checks replace
  them by random smooth functions, so a step that holds only for one activation is caught.
- **Claims for every n** (:class:`Induction`): a base case and an inductive step, each an
  ordinary derivation; the step is written for a symbolic index, what came before it is an unknown
  function (``H(t, h^{(k)})``), and the claim at ``n`` is a :class:`Hypothesis` that only the step
  naming it may use, and only at ``n``. Matrices of a concrete size shown by their names
  (:class:`NamedMatrix`, :class:`MatrixProduct`) are compared entry by entry, so a product keeps
  its order; :func:`peel` takes one factor out of a product over a symbolic range.
- **Definition chains of any length**: the definitions are closed once (each value with what it
  refers to expanded), and a long chain is differentiated by the chain rule through them, so
  ``h_T → z_T → h_{T-1} → …`` costs little at T = 100; a definition that refers to itself is named.

Examples
--------
>>> import sympy as sp
>>> x = sp.Symbol("x", real=True)
>>> d = Derivation("square", "Derivative of a square", sp.Derivative(x**2, x))
>>> _ = d.step(2 * x, "power rule")
>>> [c.method for c in d.check()]
['symbolic']
>>> bad = Derivation("bad", "A wrong step", sp.Derivative(x**2, x)).step(x, "oops")
>>> try:
...     bad.check()
... except StepError as err:
...     print(str(err).splitlines()[0])
bad, step 1 ('oops'): the two sides differ
"""

from __future__ import annotations

import contextlib
import itertools
import random
import sys
from dataclasses import dataclass, field
from typing import Iterable, Mapping, Sequence

import sympy as sp
from sympy.core.function import AppliedUndef, UndefinedFunction
from sympy.core.symbol import Str

from .render import (SEPARATED, _prime_form, _visible, latex, latex_names_of, reason_latex, register_meaning, register_name,
                     rows, text)

#: How many random points a numerically verified step is evaluated at.
NUMERIC_POINTS = 6
#: Significant digits used for a numerically verified step.
NUMERIC_DIGITS = 30
#: A numerically verified step's two sides must agree to this relative tolerance.
NUMERIC_RTOL = sp.Rational(1, 10**24)
#: Above this many operations the checker skips ``simplify`` (too slow) and goes numeric.
SIMPLIFY_MAX_OPS = 400

__all__ = [
    "Change",
    "Condition",
    "Derivation",
    "DerivationError",
    "Hypothesis",
    "Induction",
    "InductionError",
    "MatrixProduct",
    "NamedMatrix",
    "Result",
    "StepCheck",
    "StepError",
    "Step",
    "expand_definitions",
    "latex",
    "peel",
    "notation",
    "shown_product",
    "sym",
    "text",
]


class DerivationError(Exception):
    """A derivation or result failed its check (base class of the engine's errors)."""


class StepError(DerivationError):
    """A step of a derivation does not follow from the one before it."""

    def __init__(self, derivation: str, index: int, why: str, lhs, rhs, detail: str):
        self.derivation, self.index, self.why = derivation, index, why
        self.lhs, self.rhs, self.detail = lhs, rhs, detail
        super().__init__(
            f"{derivation}, step {index} ('{why}'): the two sides differ\n"
            f"  left:  {_short(lhs, 2000)}\n  right: {_short(rhs, 2000)}\n  {detail}"
        )


# --------------------------------------------------------------------------------------------
# Symbols with a LaTeX name
# --------------------------------------------------------------------------------------------

def _caller_module(depth: int) -> str:
    """The module of the code that called into the engine, ``depth`` frames up, or further up
    past any frame of the engine's own module or of mutmut's (``make mutate`` wraps every
    function in a trampoline: the wrapper adds frames but is not the caller)."""
    frame = sys._getframe(depth + 1)
    while frame.f_back is not None and _is_wrapper_frame(frame):
        frame = frame.f_back
    return frame.f_globals.get("__name__", "")


def _is_wrapper_frame(frame) -> bool:
    module = str(frame.f_globals.get("__name__", ""))
    return module == __name__ or module == "mutmut" or module.startswith("mutmut.")


def sym(name: str, latex_name: str | None = None, *, meaning: str | None = None,
        shape: str | None = None, _depth: int = 1, **assumptions) -> sp.Symbol:
    """A SymPy symbol with an optional LaTeX name; one place creates each symbol.

    ``meaning`` (and ``shape``, e.g. ``"H × D"``) go into the topic's notation list
    (:func:`derivations.render.notation_of`), which its page shows before the first formula.

    >>> W = sym("W1", r"W^{(1)}", real=True)
    >>> latex(W)
    'W^{(1)}'
    """
    s = sp.Symbol(name, **assumptions)
    module = _caller_module(_depth)
    if latex_name is not None:
        register_name(s, latex_name, module)
    if meaning is not None:
        register_meaning(s, meaning, shape, module)
    return s


def indexed(name: str, latex_name: str | None = None, *, meaning: str | None = None,
            shape: str | None = None, separate: bool = False, **assumptions) -> sp.IndexedBase:
    """An :class:`~sympy.IndexedBase` whose label has a LaTeX name (``W1[i, j]`` → ``W^{(1)}_{ij}``);
    ``separate`` prints its indices with commas even when each is one letter (``h_{n,t}``)."""
    base = sp.IndexedBase(sym(name, latex_name, meaning=meaning, shape=shape, _depth=2, **assumptions),
                          **assumptions)
    if separate:
        SEPARATED.add(base.label)
    return base


def notation(obj, meaning: str, shape: str | None = None) -> None:
    """Give the notation list an entry for something not made with :func:`sym` (a generic
    function ``f = sp.Function("f")``, a symbol made elsewhere)."""
    register_meaning(obj, meaning, shape, _caller_module(1))


def shown_product(*args):
    """A product shown as written: SymPy would reorder or cancel its factors on sight, and a step
    often needs them as the reason names them (``shown_product(a, 1 - a, x)``)."""
    return sp.Mul(*args, evaluate=False)


# --------------------------------------------------------------------------------------------
# Definitions, conditions, evaluation
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Condition:
    r"""An assumption a step relies on, e.g. :math:`\sum_k y_k = 1`.

    ``shown`` is what the page prints; ``subs`` is the same fact as substitutions the checker
    applies (``y_n = 1 - \sum_{k<n} y_k``).
    """

    shown: sp.Basic
    subs: tuple[sp.Eq, ...]

    def latex(self) -> str:
        return latex(self.shown)

    def text(self) -> str:
        return text(self.shown)


def _expand_sum(s):
    r"""One sum (or product) with a concrete number of terms written out as an addition (or a
    multiplication); the summand is left unevaluated. The limits may be symbolic when their
    difference is an integer (:math:`\sum_{i=t}^{t+1}`, :math:`\prod_{k=T}^{T-1}`). An empty range
    (upper limit below the lower) is 0 (or 1)."""
    body = s.function
    join = sp.Add if isinstance(s, sp.Sum) else sp.Mul
    for var, lo, hi in reversed(s.limits):
        body = join(*[body.xreplace({var: lo + v}) for v in range(int(hi - lo) + 1)])
    return body


def _expand_sums(expr):
    """Write every sum and product with a concrete number of terms out (inner derivatives untouched)."""
    for _ in range(10):
        sums = [s for s in expr.atoms(sp.Sum, sp.Product)
                if all((lim[2] - lim[1]).is_Integer for lim in s.limits)]
        if not sums:
            return expr
        expr = expr.xreplace({s: _expand_sum(s) for s in sums})
    return expr


def expand_definitions(expr, definitions: Mapping, stop: Iterable = ()):
    """Replace defined symbols (and defined indexed bases) by their values, recursively.

    Symbols in ``stop`` are kept as they are (they are the variable of a derivative).

    >>> a, z, w = sp.symbols("a z w")
    >>> expand_definitions(a + z, {a: sp.sin(z), z: 2 * w})
    2*w + sin(2*w)
    >>> expand_definitions(a + z, {a: sp.sin(z), z: 2 * w}, stop=[z])
    z + sin(z)
    """
    stop = set(stop)
    sym_defs = {k: v for k, v in definitions.items()
                if not isinstance(k, (sp.IndexedBase, UndefinedFunction)) and k not in stop}
    base_defs = {k: v for k, v in definitions.items() if isinstance(k, sp.IndexedBase)}
    # The symbols' definitions are closed first (each value with every definition it refers to
    # expanded, once), so a chain h_T → z_T → h_{T-1} → … of any length costs one pass, and a
    # definition that refers to itself is found on the way. Each round then expands one layer of
    # indexed and function definitions, whose values may hold defined symbols again.
    memo = definitions.memo if isinstance(definitions, _Definitions) else {}
    key = ("closure", frozenset(stop))
    if key not in memo:  # one closure per set of definitions (and variables held), reused
        memo[key] = _closure(sym_defs, whole=not stop)
    close = memo[key]
    for _ in range(_rounds(definitions)):
        new = _expand_functions(close(expr), definitions)
        if base_defs:
            new = new.replace(
                lambda e: isinstance(e, sp.Indexed) and e.base in base_defs and e not in stop,
                lambda e: base_defs[e.base](*e.indices),
            )
        new = _expand_sums(new)
        if new == expr:
            return expr
        expr = new
    raise DerivationError("definitions do not terminate (a definition refers to itself): "
                          + _still_defined(expr, sym_defs, base_defs))


def _keys_in(expr, defs: Mapping, compound: list) -> list:
    """The keys of ``defs`` (symbols, indexed elements, or whole expressions such as a product
    with symbolic limits) that occur in ``expr``."""
    found = [a for a in expr.atoms(sp.Symbol, sp.Indexed) if a in defs]
    return found + [k for k in compound if expr.has(k)]


def _closure(defs: Mapping, whole: bool = True):
    """A function that replaces every key of ``defs`` in an expression by its value with all the
    definitions it refers to expanded (each key closed once, by a depth-first walk without
    recursion, so any finite chain works). A key met again while it is being closed is a
    definition that refers to itself: :class:`DerivationError`, naming the cycle."""
    compound = [k for k in defs if not isinstance(k, (sp.Symbol, sp.Indexed))]
    closed: dict = {}

    def close_key(key):
        path, on_path = [(key, None)], {key}
        while path:
            k, deps = path[-1]
            if deps is None:
                deps = [d for d in _keys_in(sp.sympify(defs[k]), defs, compound) if d not in closed]
                path[-1] = (k, deps)
            if deps:
                d = deps.pop()
                if d in on_path:
                    cycle = [text(q) for q, _ in path[[q for q, _ in path].index(d):]] + [text(d)]
                    raise DerivationError("definitions do not terminate (a definition refers to itself): "
                                          + " → ".join(cycle))
                if d not in closed:
                    path.append((d, None))
                    on_path.add(d)
                continue
            val = sp.sympify(defs[k])
            closed[k] = val.xreplace({d: closed[d] for d in _keys_in(val, defs, compound)})
            path.pop()
            on_path.discard(k)
        return closed[key]

    # ``whole``: every key closed once, and each call one xreplace (when none of them is part of a
    # cycle); otherwise only the keys an expression holds, as it meets them
    full: list = [] if whole else [None]

    def close(expr):
        if not full:
            try:
                full.append({k: close_key(k) for k in defs})
            except DerivationError:  # a cycle somewhere: close only what this expression holds
                full.append(None)
        if full[0] is not None:
            return expr.xreplace(full[0])
        keys = _keys_in(expr, defs, compound)
        return expr.xreplace({k: close_key(k) for k in keys}) if keys else expr
    return close


def _rounds(definitions: Mapping) -> int:
    """Enough rounds of expansion for any acyclic set of ``definitions``."""
    return len(definitions) + 50


def _still_defined(expr, sym_defs: Mapping, base_defs: Mapping = {}, funs: Mapping = {}) -> str:
    """The defined names an expansion that does not end keeps meeting (for its error message)."""
    names = {text(k) for k in sym_defs if expr.has(k)}
    names |= {text(i.base) for i in expr.atoms(sp.Indexed) if i.base in base_defs}
    names |= {a.func.__name__ for a in expr.atoms(AppliedUndef) if a.func in funs}
    return ", ".join(sorted(names)[:6]) or "?"


def _expand_functions(expr, definitions: Mapping):
    r"""Replace every application of a defined function (``F(z - a)`` with ``F := x ↦ …``, a
    key of ``definitions`` made by ``sp.Function``) by its definition, recursively."""
    funs = {k: v for k, v in definitions.items() if isinstance(k, UndefinedFunction)}
    for _ in range(len(funs) + 50):
        if not funs or not any(isinstance(a, AppliedUndef) and a.func in funs for a in expr.atoms(AppliedUndef)):
            return expr
        expr = expr.replace(lambda e: isinstance(e, AppliedUndef) and e.func in funs,
                            lambda e: funs[e.func](*e.args))
    raise DerivationError("function definitions do not terminate (a definition refers to itself): "
                          + _still_defined(expr, {}, {}, funs))


_PRIMES: dict[tuple[str, int], sp.FunctionClass] = {}


def _prime_function(f, order: int):
    key = (f.__name__, order)
    if key not in _PRIMES:
        _PRIMES[key] = sp.Function(f.__name__ + "'" * order)
    return _PRIMES[key]


_PARTIALS: dict[tuple[str, tuple], sp.FunctionClass] = {}


def _partial_form(expr):
    """``(f, positions, args)`` if ``expr`` is a partial derivative of a generic function of several
    arguments with respect to some of them (a ``Derivative``, or SymPy's ``Subs`` of one at a
    point), else None: ``∂G(t, x, y)/∂x`` is ``(G, (1,), (t, x, y))``."""
    if isinstance(expr, sp.Subs):
        form = _partial_form(expr.expr) if isinstance(expr.expr, sp.Derivative) else None
        if form is None:
            return None
        f, pos, args = form
        point = dict(zip(expr.variables, expr.point))
        return f, pos, tuple(a.xreplace(point) for a in args)
    if not (isinstance(expr, sp.Derivative) and isinstance(expr.expr, AppliedUndef) and len(expr.expr.args) > 1):
        return None
    args, pos = expr.expr.args, []
    for v, count in expr.variable_count:
        hits = [q for q, a in enumerate(args) if a == v]
        if len(hits) != 1 or any(a.has(v) for q, a in enumerate(args) if q != hits[0]):
            return None
        pos += [hits[0]] * int(count)
    return expr.expr.func, tuple(sorted(pos)), args


#: Each partial-derivative function made by :func:`_partial_function`: (the function, positions).
_PARTIAL_OF: dict = {}


def _partial_function(f, positions: tuple):
    key = (f.__name__, positions)
    if key not in _PARTIALS:
        _PARTIALS[key] = sp.Function(f"∂{','.join(str(q + 1) for q in positions)}{f.__name__}")
        _PARTIAL_OF[_PARTIALS[key]] = (f, positions)
    return _PARTIALS[key]


def _canon(expr):
    """Replace every f^(n)(arg) (as Derivative or Subs) by an opaque function f'…'(arg), and every
    partial derivative of a generic function of several arguments by an opaque function of the
    same arguments (``∂G(t, x, y)/∂x`` becomes ``∂2G(t, x, y)``, which may be expanded in its
    arguments like any other function).

    ``Subs(Derivative(f(ξ), ξ), ξ, z)`` (SymPy's chain rule through a composite argument) goes
    first: ``replace`` works bottom-up and would otherwise turn the inner derivative into f'(ξ)
    and leave a ``Subs`` that only ``simplify`` can see through.
    """
    if not expr.has(sp.Derivative, sp.Subs):
        return expr
    form = lambda e: _prime_form(e) or _partial_form(e)  # noqa: E731
    expr = expr.replace(lambda e: isinstance(e, sp.Subs) and form(e) is not None, lambda e: _from_form(form(e)))
    return expr.replace(lambda e: form(e) is not None, lambda e: _from_form(form(e)))


def _from_form(form):
    f, order, arg = form
    if isinstance(order, tuple):  # a partial derivative: (f, positions, args)
        return _partial_function(f, order)(*arg)
    return _prime_function(f, order)(arg)


def _rename_bound(expr, names=None):
    """Give sums whose index is one of ``names`` (``None``: every sum) a fresh index, so that
    substituting those names, or calling a ``Lambda`` with them, cannot capture the index."""
    def hit(v):
        return names is None or v in names

    def rename(e):
        fresh = {lim[0]: sp.Dummy(str(lim[0]), integer=True) for lim in e.limits if hit(lim[0])}
        return e.func(e.function.xreplace(fresh), *[(fresh.get(v, v), lo, hi) for v, lo, hi in e.limits])
    return expr.replace(lambda e: isinstance(e, (sp.Sum, sp.Product))
                        and any(hit(lim[0]) for lim in e.limits), rename)


def _instantiate(expr, inst: Mapping):
    """Put the instance's values for sizes and indices into ``expr`` and write out its sums."""
    if not inst:
        return _expand_sums(expr)
    return _expand_sums(_rename_bound(expr, set(inst)).xreplace(dict(inst)))


class _Definitions(dict):
    """Instantiated definitions, with the chain rule's memo (:func:`_chain_rule`): what each
    defined quantity's definition names, and its partial derivatives, computed once."""

    def __init__(self, *args):
        super().__init__(*args)
        self.memo: dict = {}


def _instantiate_definitions(definitions: Mapping, inst: Mapping) -> dict:
    defs = _Definitions()
    for key, val in definitions.items():
        val = sp.sympify(val)
        if not isinstance(key, (sp.Symbol, sp.IndexedBase, UndefinedFunction)):
            # a key that is an expression (h_{1,t+1}, a product over a symbolic range) is matched
            # as written, so it takes the instance's values and the canonical form the steps get
            key = _canon(sp.sympify(key).xreplace(dict(inst)))
        if isinstance(val, sp.Lambda):  # keep its bound variables out of the instance
            free = {s: v for s, v in inst.items() if s not in val.variables}
            body = _rename_bound(val.expr)  # o[j] must not capture a sum's own j
            defs[key] = sp.Lambda(val.variables, _canon(_expand_functions(_instantiate(body, free), definitions)))
        else:
            defs[key] = _canon(_expand_functions(_instantiate(val, inst), definitions))
    # a definition may itself hold a derivative (δ := ∂s/∂z): evaluate it once, here
    for key, val in defs.items():
        body = val.expr if isinstance(val, sp.Lambda) else val
        if body.atoms(sp.Derivative):
            body = _eval_derivatives(body, defs)
            defs[key] = sp.Lambda(val.variables, body) if isinstance(val, sp.Lambda) else body
    return defs


def _eval_derivatives(expr, defs: Mapping):
    """Evaluate derivatives from the innermost out, expanding what they differentiate but keeping
    their variables (an intermediate such as z in ∂a/∂z stays the variable).

    A first derivative goes by the chain rule through the definitions (:func:`_chain_rule`), which
    never builds the nested expression of a long chain; what that cannot handle (sums over a
    symbolic range, integrals, higher derivatives) is expanded and differentiated by SymPy."""
    while True:
        ders = [d for d in expr.atoms(sp.Derivative) if not d.expr.atoms(sp.Derivative)]
        if not ders:
            return expr
        done = {}
        for d in ders:
            found = _chain_rule(d.expr, d.variable_count[0][0], defs) \
                if len(d.variable_count) == 1 and d.variable_count[0][1] == 1 else None
            if found is None:
                inner = expand_definitions(d.expr, defs, stop=d.variables)
                found = _canon(sp.diff(inner, *d.variable_count))
            done[d] = found
        expr = expr.xreplace(done)


#: From this many nested definitions on, a derivative goes by the chain rule through them.
CHAIN_RULE_DEPTH = 16

#: What the chain rule through definitions leaves to SymPy: a bound variable, or a derivative.
_OPAQUE = (sp.Sum, sp.Product, sp.Integral, sp.Limit, sp.Derivative, sp.Subs, sp.Lambda, sp.Piecewise)


def _partial(expr, atom):
    """∂expr/∂atom with every other symbol and indexed element independent (SymPy's own rule for
    two indexed elements, a Kronecker delta of their indices, would tie h_{1,t} to h_{1,k})."""
    xi = sp.Dummy("xi")
    return _canon(sp.diff(expr.xreplace({atom: xi}), xi)).xreplace({xi: atom})


def _chain_rule(expr, var, defs: Mapping):
    r"""∂expr/∂var by the chain rule over the definitions: each defined quantity that ``expr``
    reaches is differentiated once, in terms of the quantities its definition names (which stay
    as they are), :math:`\mathrm{d}a/\mathrm{d}x = \sum_s \partial a/\partial s \cdot \mathrm{d}s/\mathrm{d}x`.
    ``var`` is held as the variable even where it is defined. None where the rule does not apply
    (a sum over a symbolic range, an integral, a definition keyed by a whole expression …) or is
    not needed (a shallow chain with concrete indices, which SymPy differentiates faster
    expanded): then the caller expands and lets SymPy differentiate."""
    if not isinstance(var, (sp.Symbol, sp.Indexed)):
        return None

    def symbolic(x):
        return isinstance(x, sp.Indexed) and not all(i.is_Integer for i in x.indices)

    # a chain CHAIN_RULE_DEPTH deep needs that many definitions; a symbolic index shows at once
    if len(defs) < CHAIN_RULE_DEPTH and not (symbolic(var) or any(symbolic(x) for x in expr.atoms(sp.Indexed))) \
            and not any(symbolic(k) for k in defs):
        return None
    memo = defs.memo if isinstance(defs, _Definitions) else {}
    if "applies" not in memo:
        # a key that is a whole sum or product (a peeled product) is fine: an expression that holds
        # one is left to SymPy below; another kind of key (an applied function) is not followed
        memo["applies"] = all(isinstance(k, (sp.Symbol, sp.Indexed, sp.IndexedBase, UndefinedFunction, sp.Sum,
                                             sp.Product)) for k in defs)
        memo["funs"] = {k: v for k, v in defs.items() if isinstance(k, UndefinedFunction)}
        memo["bases"] = {k: v for k, v in defs.items() if isinstance(k, sp.IndexedBase)}
        memo["values"], memo["named"], memo["partials"], memo["totals"] = {}, {}, {}, {}
    if not memo["applies"]:
        return None
    funs, bases, values, names = memo["funs"], memo["bases"], memo["values"], memo["named"]

    def defined(a):
        return a in defs or isinstance(a, sp.Indexed) and a.base in bases

    def prepared(e):
        e = _expand_sums(_expand_functions(sp.sympify(e), funs)) if funs else _expand_sums(sp.sympify(e))
        return None if e.has(*_OPAQUE) else e

    def value(a):  # a defined quantity's definition, ready to differentiate (None: not possible)
        if a not in values:
            values[a] = prepared(defs[a] if a in defs else bases[a.base](*a.indices))
        return values[a]

    def named(e):  # the symbols and indexed elements an expression holds
        if e not in names:
            names[e] = list(e.atoms(sp.Symbol, sp.Indexed))
        return names[e]

    def partial(e, q):
        key = (e, q)
        if key not in memo["partials"]:
            memo["partials"][key] = _partial(e, q)
        return memo["partials"][key]

    top = prepared(expr)
    if top is None:
        return None
    order, state = [], {}  # state: 1 while a quantity's definition is walked, 2 after
    stack = [(q, False) for q in named(top) if q != var and defined(q)]
    while stack:  # depth first, without recursion: any chain length
        q, done = stack.pop()
        if done:
            order.append(q)
            state[q] = 2
            continue
        if q in state:
            continue
        state[q] = 1
        v = value(q)
        if v is None:
            return None
        stack.append((q, True))
        for r in named(v):
            if r == var or not defined(r):
                continue
            if state.get(r) == 1:  # r's definition leads back to r
                raise DerivationError(f"definitions do not terminate (a definition refers to itself): {text(r)}")
            if r not in state:
                stack.append((r, False))
    # SymPy's own differentiation of the expanded expression is faster for a shallow chain; this
    # rule is needed for a long one, and where an index is symbolic (SymPy would tie h_{c,t} to
    # h_{c,k} by a Kronecker delta of t and k)
    depth = {}
    for q in order:
        depth[q] = 1 + max((depth.get(r, 0) for r in named(values[q]) if r != var), default=0)
    if max(depth.values(), default=0) < CHAIN_RULE_DEPTH and not any(
            symbolic(x) for x in [var, *named(top), *(r for q in order for r in named(values[q]))]):
        return None
    total = memo["totals"].setdefault(var, {var: sp.Integer(1)})
    for q in order:  # every quantity after the ones its definition names
        if q not in total:
            total[q] = sp.Add(*[partial(values[q], r) * total[r] for r in named(values[q])
                                if total.get(r, 0) != 0])
    return sp.Add(*[partial(top, r) * total[r] for r in named(top) if total.get(r, 0) != 0])


def evaluate(expr, definitions: Mapping, inst: Mapping = {}, conditions: Sequence[Condition] = (),
             *, instantiated: bool = False, cache: dict | None = None):
    """Expand ``expr`` into plain operations: instance sizes, sums, derivatives, definitions.

    ``instantiated=True`` says ``definitions`` already have the instance's values in them;
    ``cache`` keeps an induction hypothesis's evaluated sides between calls (see
    :class:`Hypothesis`).
    """
    if instantiated:
        defs = definitions if isinstance(definitions, _Definitions) else _Definitions(definitions)
    else:
        defs = _instantiate_definitions(definitions, inst)
    expr = _eval_derivatives(_canon(_expand_functions(_instantiate(sp.sympify(expr), inst), defs)), defs)
    expr = _canon(expand_definitions(expr, defs))
    for cond in conditions:
        if isinstance(cond, Hypothesis):
            expr = cond.apply(expr, definitions if instantiated else defs, inst, cache)
            continue
        for eq in cond.subs:
            expr = expr.xreplace({_instantiate(eq.lhs, inst): _instantiate(eq.rhs, inst)})
    return expr


# --------------------------------------------------------------------------------------------
# Random numeric evaluation (the checker's fallback)
# --------------------------------------------------------------------------------------------


def _leaves(expr):
    """The free scalar unknowns of ``expr``: symbols and indexed elements (not their bases)."""
    idx = expr.atoms(sp.Indexed)
    labels = {i.base.label for i in idx}
    syms = {s for s in expr.free_symbols if isinstance(s, sp.Symbol) and s not in labels}
    return sorted(idx | syms, key=sp.default_sort_key)


def _sample(leaf, rng: random.Random, integers: bool = False):
    base = leaf.base.label if isinstance(leaf, sp.Indexed) else leaf
    if base.is_integer:
        if integers and isinstance(leaf, sp.Symbol):
            return sp.Integer(rng.randint(3, 9))
        raise DerivationError(f"cannot sample integer symbol {leaf} (give the instance its value)")
    if base.is_positive or base.is_nonnegative:
        return sp.Float(rng.uniform(0.2, 1.5), NUMERIC_DIGITS + 10)
    return sp.Float(rng.uniform(-1.5, 1.5), NUMERIC_DIGITS + 10)


def _realize_generic(expr, seed: int):
    """Replace each generic f and its f', f'', … by one random smooth function and its derivatives.

    The function chosen for a name depends only on ``seed`` and the name, so both sides of a step
    see the same f.
    """
    x = sp.Dummy("x")
    repl = {}
    for a in expr.atoms(AppliedUndef):
        if a.func in _PARTIAL_OF or len(a.args) > 1:  # a function of several arguments, or a partial of one
            repl[a] = _realize_several(a, seed)
            continue
        name = a.func.__name__.rstrip("'")
        order = len(a.func.__name__) - len(name)
        rng = random.Random(f"{seed}:{name}")
        c = [sp.Float(rng.uniform(0.5, 1.5), NUMERIC_DIGITS + 10) for _ in range(4)]
        base = c[0] * sp.sin(c[1] * x + c[2]) + c[3] * x**2 / 4 + sp.exp(x / 3)
        repl[a] = sp.diff(base, x, order).subs(x, a.args[0])
    return expr.xreplace(repl)


def _realize_several(a, seed: int):
    """A generic function of several arguments (or one of its partial derivatives, made by
    :func:`_canon`) as one random smooth function of all of them, which couples them, and the
    same derivative of it, at ``a``'s arguments."""
    f, positions = _PARTIAL_OF.get(a.func, (a.func, ()))
    xs = [sp.Dummy(f"x{q}") for q in range(len(a.args))]
    rng = random.Random(f"{seed}:{f.__name__}:{len(xs)}")
    c = [sp.Float(rng.uniform(0.5, 1.5), NUMERIC_DIGITS + 10) for _ in range(2 * len(xs) + 1)]
    base = sp.sin(sum(c[q] * x for q, x in enumerate(xs)) + c[-1]) \
        + sum(c[len(xs) + q] * x ** 2 / 4 for q, x in enumerate(xs)) + sp.exp(xs[0] / 3)
    for q in positions:
        base = sp.diff(base, xs[q])
    return base.xreplace(dict(zip(xs, a.args)))


def numeric_difference(lhs, rhs, seed: int, points: int = NUMERIC_POINTS, *, integers: bool = False):
    """Evaluate ``lhs - rhs`` at random points; return the worst relative difference found.

    ``integers=True`` gives integer symbols left in the sides (a symbolic index) random values
    too: fit to refute a step meant for every index, not to verify one."""
    rng = random.Random(seed)
    worst = sp.Float(0)
    leaves = sorted(set(_leaves(lhs)) | set(_leaves(rhs)), key=sp.default_sort_key)
    for p in range(points):
        values = {leaf: _sample(leaf, rng, integers) for leaf in leaves}
        va, vb = (sp.N(_realize_generic(e.xreplace(values), seed + p).doit(), NUMERIC_DIGITS)
                  for e in (lhs, rhs))
        if not (va.is_number and vb.is_number):
            raise DerivationError(f"cannot evaluate numerically: {_short(va)} vs {_short(vb)}")
        scale = max(abs(va), abs(vb), sp.Float(1))
        worst = max(worst, abs(va - vb) / scale)
    return worst


def _probe(lhs, rhs, seed: int):
    """The relative difference at one random point, symbolic indices included (0 when the sides
    cannot be evaluated there: then only SymPy or the full numeric check can tell). It can only
    refute a step: a step that holds for every index holds at the one drawn."""
    try:
        return numeric_difference(lhs, rhs, seed=seed, points=1, integers=True)
    except (DerivationError, RecursionError, TypeError, ValueError, ZeroDivisionError):
        return 0


#: A step's difference with more nodes than this is probed numerically before it is rewritten.
LARGE_NODES = 5000


def _larger_than(expr, nodes: int) -> bool:
    """Whether ``expr`` has more than ``nodes`` nodes (stops counting there)."""
    for count, _ in enumerate(sp.preorder_traversal(expr)):
        if count >= nodes:
            return True
    return False


_ATTEMPTS = {
    "expand": sp.expand,
    # one fraction, then its numerator expanded: the cheapest proof for quotients of the same
    # factors (the Concrete density at n = 4: 0.1 s, where cancel takes 1.7 s)
    "together": lambda e: sp.expand(sp.together(e)),
    "cancel": sp.cancel,
    "expand_log": lambda e: sp.expand(sp.expand_log(e, force=True)),
    # powers with a symbolic exponent: u·u^(T−t−1) = u^(T−t) (an inductive step's last factor)
    "powsimp": lambda e: sp.expand(sp.powsimp(sp.expand(e))),
}


def _is_zero_symbolically(diff, order: list | None = None, *, simplify: bool = True) -> bool:
    """Whether SymPy can prove ``diff`` is identically zero (cheap attempts first).

    ``order`` is the list of attempt names to try, best first; the one that succeeds moves to
    the front, so the instances of one step (which simplify alike) find it at once.
    """
    if diff == 0:
        return True
    order = order if order is not None else list(_ATTEMPTS)
    for name in list(order):
        try:
            ok = _ATTEMPTS[name](diff) == 0
        except (sp.PolynomialError, TypeError, ValueError, RecursionError):
            ok = False
        if ok:
            order.remove(name)
            order.insert(0, name)
            return True
    if simplify and sp.count_ops(diff) <= SIMPLIFY_MAX_OPS:
        try:
            return sp.simplify(diff) == 0
        except RecursionError:
            return False
    return False


# --------------------------------------------------------------------------------------------
# Integrals, limits, determinants
# --------------------------------------------------------------------------------------------

#: Operations a step may leave unevaluated; :func:`_settle_operators` decides such steps.
_OPERATORS = (sp.Integral, sp.Limit, sp.Determinant)


@dataclass(frozen=True)
class Change:
    r"""A change of variables in an integral: the new variable ``new`` is ``expr`` of the old one
    ``old`` (``Change(z, t, exp(-z))`` is :math:`t = e^{-z}`). SymPy's ``Integral.transform``
    carries it out: integrand times :math:`|dz/dt|`, and the limits mapped."""

    old: sp.Symbol
    new: sp.Symbol
    expr: sp.Expr

    def apply(self, e):
        return e.replace(lambda x: isinstance(x, sp.Integral) and list(x.variables) == [self.old],
                         lambda x: x.transform(self.expr, self.new))


def _congruent(a, b):
    """The operands, when ``a`` and ``b`` are one operation over the same variable and range
    (equal integrands give equal integrals; functions equal near the point, equal limits)."""
    if isinstance(a, sp.Integral) and isinstance(b, sp.Integral) and a.limits == b.limits:
        return a.function, b.function
    if isinstance(a, sp.Limit) and isinstance(b, sp.Limit) and a.args[1:] == b.args[1:]:
        return a.args[0], b.args[0]
    return None


def _doit_operators(e):
    """Evaluate every integral, limit and determinant in ``e``, innermost first; one SymPy
    cannot evaluate (or can only with conditions attached) is an error, never a guess."""
    while True:
        ops = [o for o in e.atoms(*_OPERATORS) if not any(x.has(*_OPERATORS) for x in o.args[:1])]
        if not ops:
            return e
        done = {}
        for o in ops:
            val = o.doit()
            if val.has(*_OPERATORS) or val.has(sp.Piecewise) and not o.has(sp.Piecewise):
                raise DerivationError(f"SymPy cannot evaluate {text(o)} (write both sides as the same "
                                      "operation, or declare the change of variables)")
            done[o] = val
        e = e.xreplace(done)


def _settle_operators(a, b, change: Change | None = None):
    """Reduce a step between integrals or limits to one between plain expressions: apply the
    step's change of variables to the left side, strip operations both sides share, then
    evaluate what is left."""
    if change is not None:
        what = f"the change of variables {change.new} = {text(change.expr)}"
        try:
            moved = change.apply(a)
        except Exception as exc:  # SymPy cannot invert or carry out the change
            raise DerivationError(f"{what} cannot be carried out: {type(exc).__name__}: {exc}") from exc
        if moved == a:
            raise DerivationError(f"{what} finds no integral over {change.old}")
        if _congruent(moved, b) is None:
            raise DerivationError(f"{what} does not give the next line's integral (its range or "
                                  "variable differ)")
        a = moved
    while (pair := _congruent(a, b)) is not None:
        a, b = pair
    return _doit_operators(a), _doit_operators(b)


# --------------------------------------------------------------------------------------------
# Steps, derivations, results
# --------------------------------------------------------------------------------------------


#: Python's recursion limit while a derivation is checked: SymPy's algorithms recurse once per
#: level of an expression, and a chain of T steps nests T deep (a few thousand frames at T = 100).
RECURSION_LIMIT = 20000


@contextlib.contextmanager
def _deep_recursion():
    old = sys.getrecursionlimit()
    sys.setrecursionlimit(max(old, RECURSION_LIMIT))
    try:
        yield
    finally:
        sys.setrecursionlimit(old)


def _short(expr, width: int = 300) -> str:
    """``text(expr)``, cut to ``width`` characters (a long chain's expansion is huge)."""
    out = text(expr)
    return out if len(out) <= width else out[:width] + f"… ({len(out)} characters)"


@dataclass
class Step:
    """One link of the chain: ``expr`` equals the previous step's expression because of ``why``."""

    expr: sp.Basic
    why: str
    given: tuple[Condition, ...] = ()
    change: "Change | None" = None


@dataclass(frozen=True)
class StepCheck:
    """How one step was verified: ``method`` is ``'symbolic'`` or ``'numeric'``."""

    index: int
    method: str
    instances: int
    worst: float = 0.0


class Derivation:
    r"""An ordered chain of steps, each with its reason, proved by :meth:`check`.

    Parameters
    ----------
    name : str
        Short identifier (also the default equation label).
    title : str
        What the derivation shows, in words.
    start : sympy expression
        :math:`E_0`, usually an unevaluated ``Derivative``.
    definitions : mapping
        Named substitutions the checker knows (``{delta: W * f'(z)}``; an ``IndexedBase`` maps to a
        ``Lambda`` over its indices).
    instances : list of mappings
        Concrete values for symbolic sizes and indices at which every step is checked.
    label : str
        Equation label for ``{eq}`` references on the pages.
    """

    def __init__(self, name: str, title: str, start, *, definitions: Mapping | None = None,
                 instances: Sequence[Mapping] | None = None, label: str | None = None,
                 lhs=None):
        self.name, self.title = name, title
        self.module = _caller_module(1)  # its LaTeX names are the ones this module chose
        self.definitions = dict(definitions or {})
        self.instances = [dict(i) for i in (instances or [{}])]
        self.label = label or name.replace("_", "-")
        self.lhs = lhs
        self.steps: list[Step] = [Step(sp.sympify(start), "")]
        self._checked: list[StepCheck] | None = None
        self._defs_cache: dict = {}
        self._def_symbols: set | None = None
        self._eval_cache: dict = {}
        self._hyp_cache: dict = {}
        self._induction: str | None = None  # the Induction whose inductive step this is

    def step(self, expr, why: str, *, given: Sequence[Condition] = (),
             change: "Change | None" = None) -> "Derivation":
        """Append a step ``= expr`` with its reason (and the conditions it starts to use).

        ``change`` declares the change of variables the step makes in its integrals: the checker
        applies it to the previous side (SymPy's ``Integral.transform``) before comparing.
        """
        if not why:
            raise ValueError(f"{self.name}: every step needs a reason")
        self.steps.append(Step(sp.sympify(expr), why, tuple(given), change))
        self._checked = None
        return self

    @property
    def result(self):
        """The last expression of the chain."""
        return self.steps[-1].expr

    def conditions_at(self, index: int) -> list[Condition]:
        return [c for s in self.steps[: index + 1] for c in s.given]

    def check(self) -> list[StepCheck]:
        """Prove every step; raise :class:`StepError` at the first one that does not hold."""
        if self._checked is not None:
            return self._checked
        for k, st in enumerate(self.steps[1:], start=1):
            for cond in st.given:
                if isinstance(cond, Hypothesis) and cond.owner != self._induction:
                    raise DerivationError(f"{self.name}, step {k} ('{st.why}'): uses the induction hypothesis "
                                          f"of {cond.owner}, which only that induction's step may use")
        try:
            with _deep_recursion():
                out = [self._check_step(k) for k in range(1, len(self.steps))]
        finally:
            self._eval_cache.clear()
            self._hyp_cache.clear()
        self._checked = out
        return out

    def _defs(self, n: int) -> dict:
        """The definitions at instance n. Instances that differ only in symbols the definitions
        do not contain (an index i or k beside the size n) share one instantiation."""
        if self._def_symbols is None:
            self._def_symbols = set()
            for key, val in self.definitions.items():
                self._def_symbols |= sp.sympify(val).free_symbols
                if isinstance(key, sp.Basic):
                    self._def_symbols |= key.free_symbols
        used = [(s, v) for s, v in self.instances[n].items() if s in self._def_symbols]
        key = tuple(sorted(used, key=lambda sv: str(sv[0])))
        if key not in self._defs_cache:
            self._defs_cache[key] = _instantiate_definitions(self.definitions, dict(key))
        return self._defs_cache[key]

    def _evaluated(self, k: int, n: int, e: int, expr, conds):
        """Step k's element e, evaluated at instance n under the conditions in force (cached)."""
        key = (k, n, e, tuple(conds))
        if key not in self._eval_cache:
            self._eval_cache[key] = evaluate(expr, self._defs(n), self.instances[n], conds,
                                             instantiated=True, cache=self._hyp_cache)
        return self._eval_cache[key]

    def _check_step(self, k: int) -> StepCheck:
        prev, cur = self.steps[k - 1], self.steps[k]
        conds = self.conditions_at(k)
        method, worst = "symbolic", 0.0
        order = list(_ATTEMPTS)
        left, right = _elements(prev.expr), _elements(cur.expr)
        if len(left) != len(right):
            raise StepError(self.name, k, cur.why, prev.expr, cur.expr,
                            f"shapes differ: {len(left)} vs {len(right)} elements")
        for n, inst in enumerate(self.instances):
            where = f" at {_inst_text(inst)}" if inst else ""
            for e, (le, ri) in enumerate(zip(left, right)):
                try:
                    a = self._evaluated(k - 1, n, e, le, conds)
                    b = self._evaluated(k, n, e, ri, conds)
                except DerivationError:
                    raise
                except Exception as exc:  # SymPy failing on a malformed step is a failed step
                    raise StepError(self.name, k, cur.why, prev.expr, cur.expr,
                                    f"could not evaluate{where}: {type(exc).__name__}: {exc}") from exc
                if cur.change is not None or a.has(*_OPERATORS) or b.has(*_OPERATORS):
                    try:
                        a, b = _settle_operators(a, b, cur.change)
                    except DerivationError as exc:
                        raise StepError(self.name, k, cur.why, prev.expr, cur.expr, f"{exc}{where}") from exc
                seed = 1000 * k + 10 * n + e
                # a large difference (a long chain) is probed at one random point first: the
                # rewrites below can take long on it, and a wrong step is refuted at once
                large = _larger_than(a - b, LARGE_NODES)
                probe = _probe(a, b, seed) if large else None
                if probe is None or probe <= NUMERIC_RTOL:
                    if _is_zero_symbolically(a - b, order, simplify=False):
                        continue
                    # before the costly simplify, one random point: a wrong step is refuted at once
                    probe = _probe(a, b, seed) if probe is None else probe
                    if probe <= NUMERIC_RTOL and _is_zero_symbolically(a - b, []):
                        continue
                if probe > NUMERIC_RTOL and any(s.is_integer for s in (a - b).free_symbols):
                    elem = f" (element {e})" if len(left) > 1 else ""
                    raise StepError(self.name, k, cur.why, prev.expr, cur.expr,
                                    f"relative difference {sp.N(probe, 3)} at a random point, its symbolic "
                                    f"indices included{where}{elem}")
                try:
                    diff = numeric_difference(a, b, seed=seed)
                except DerivationError as exc:  # e.g. a symbolic index, which has no random value
                    raise StepError(self.name, k, cur.why, prev.expr, cur.expr,
                                    f"SymPy cannot show the two sides equal, and they cannot be compared "
                                    f"at random points{where}: {exc}") from exc
                if diff > NUMERIC_RTOL:
                    elem = f" (element {e})" if len(left) > 1 else ""
                    raise StepError(self.name, k, cur.why, prev.expr, cur.expr,
                                    f"relative difference {sp.N(diff, 3)} at random points{where}{elem}")
                method, worst = "numeric", max(worst, float(diff))
        return StepCheck(k, method, len(self.instances), worst)

    # ---- rendering ----------------------------------------------------------------------

    def latex(self) -> str:
        with latex_names_of(self.module):
            return self._latex()

    def _latex(self) -> str:
        return rows(self._rows())

    def _rows(self) -> list[tuple[str, str, str]]:
        r"""The checked chain as rows (:func:`derivations.render.rows`): ``lhs &= E_0``, then
        ``&= E_k && (reason)`` per step; the first line is ``E_0 &= E_1`` when there is no
        left-hand side. A chain of column vectors is shown entry by entry (one chain per entry,
        the reasons once, on the first); when the vectors give way to a matrix expression, that
        and the later steps are rows for the whole vector."""
        checks = self.check()
        notes = []
        for k, st in enumerate(self.steps[1:], start=1):
            why = reason_latex(st.why)
            if st.given:
                why += r"\text{; using }" + r",\ ".join(c.latex() for c in st.given)
            if checks[k - 1].method == "numeric":
                why += r"\ \text{[verified numerically: %d points, %d digits]}" % (NUMERIC_POINTS, NUMERIC_DIGITS)
            notes.append(why)
        exprs = [st.expr for st in self.steps]

        def same(e):
            return isinstance(e, sp.MatrixBase) and e.shape == exprs[0].shape

        prefix = next((k for k, e in enumerate(exprs) if not same(e)), len(exprs))
        # vectors, and matrices too wide for a column, are shown entry by entry
        if prefix and not (1 in exprs[0].shape or any(_too_wide(e) for e in exprs[:prefix])):
            prefix = 0
        lines = []
        if prefix == len(exprs) and (self.lhs is None or same(self.lhs)):
            # a chain of vectors: one chain per entry; the later entries take the same steps, so
            # their reasons are those of the first
            for r in range(len(exprs[0])):
                chain = [e[r] for e in exprs]
                left = None if self.lhs is None else self.lhs[r]
                lines += _chain_rows(chain, left, notes if r == 0 else [""] * len(notes))
        elif prefix >= 2 and not isinstance(self.lhs, sp.MatrixBase):
            # vectors first (entry by entry), then a matrix expression for the whole vector
            whole = latex(self.lhs) if self.lhs is not None else latex(exprs[0])
            if self.lhs is not None:
                lines.append((whole, "= " + latex(exprs[0]), ""))
            for r in range(len(exprs[0])):
                lines += _chain_rows([e[r] for e in exprs[:prefix]], None,
                                     notes[:prefix - 1] if r == 0 else [""] * (prefix - 1))
            lines.append((whole, "= " + latex(exprs[prefix]), notes[prefix - 1]))
            lines += [("", "= " + latex(e), why) for e, why in zip(exprs[prefix + 1:], notes[prefix:])]
        else:
            lines = _chain_rows(exprs, self.lhs, notes)
        return lines

    def step_latex(self, k: int) -> str:
        """LaTeX of step ``k``'s expression alone."""
        with latex_names_of(self.module):
            return latex(self.steps[k].expr)

    def _repr_latex_(self) -> str:
        return "$$" + self.latex() + "$$"

    def definitions_latex(self) -> str:
        """The definitions, one per line, as ``aligned`` LaTeX (``δ := …``)."""
        with latex_names_of(self.module):
            return self._definitions_latex()

    def _definitions_latex(self) -> str:
        rows = []
        for k, v in self.definitions.items():
            if isinstance(k, UndefinedFunction):
                rows.append(f"{latex(k(*v.variables))} &:= {latex(v.expr)}")
            elif isinstance(k, sp.IndexedBase):
                lam = v
                lhs = latex(k[lam.variables]) if len(lam.variables) > 1 else latex(k[lam.variables[0]])
                rows.append(f"{lhs} &:= {latex(lam.expr)}")
            else:
                rows.append(f"{latex(k)} &:= {latex(v)}")
        return "\\begin{aligned}\n" + " \\\\\n".join(rows) + "\n\\end{aligned}"

    def text(self) -> str:
        """Plain-text rendering for the terminal."""
        checks = self.check()
        lines = [f"{self.title}"]
        head = (text(self.lhs) + " = ") if self.lhs is not None else ""
        lines.append(f"    {head}{text(self.steps[0].expr)}")
        for k, st in enumerate(self.steps[1:], start=1):
            note = st.why.replace("$", "")
            if st.given:
                note += "; using " + ", ".join(c.text() for c in st.given)
            if checks[k - 1].method == "numeric":
                note += " [verified numerically]"
            lines.append(f"  = {text(st.expr)}    ({note})")
        return "\n".join(lines)

    def summary(self) -> str:
        checks = self.check()
        sym_n = sum(c.method == "symbolic" for c in checks)
        num_n = len(checks) - sym_n
        inst = f" at {len(self.instances)} instance(s)" if self.instances != [{}] else ""
        return f"{len(checks)} steps: {sym_n} symbolic, {num_n} numeric{inst}"


#: A matrix whose widest row prints longer than this (visible characters) is shown entry by entry.
WIDE_MATRIX_ROW = 60


def _too_wide(m) -> bool:
    return max(sum(len(_visible(latex(m[r, c]))) for c in range(m.cols)) for r in range(m.rows)) > WIDE_MATRIX_ROW


def _chain_rows(chain: list, left, notes: list[str]) -> list[tuple[str, str, str]]:
    """Rows of one chain ``left = E_0 = E_1 = …`` (or ``E_0 = E_1 = …``), a note per step."""
    if left is not None:
        return [(latex(left), "= " + latex(chain[0]), "")] + \
            [("", "= " + latex(e), why) for e, why in zip(chain[1:], notes)]
    if len(chain) == 1:
        return [("", latex(chain[0]), "")]
    return [(latex(chain[0]), "= " + latex(chain[1]), notes[0])] + \
        [("", "= " + latex(e), why) for e, why in zip(chain[2:], notes[1:])]


def _elements(expr) -> list:
    """The scalar entries of a step: a matrix (explicit or an expression of explicit ones) or a scalar."""
    if isinstance(expr, sp.MatrixExpr) and not isinstance(expr, sp.MatrixBase):
        # not .doit(): that would evaluate (and zero) Derivative entries; named matrices are
        # multiplied out here, since SymPy's as_explicit would evaluate theirs
        expr = _explicit(expr) if expr.has(NamedMatrix) else expr.as_explicit()
    if isinstance(expr, sp.MatrixBase):
        return list(expr)
    return [expr]


def _inst_text(inst: Mapping) -> str:
    return ", ".join(f"{k} = {v}" for k, v in inst.items())


@dataclass
class Result:
    r"""A published result: ``expr`` is :math:`\partial\,\mathrm{of} / \partial\,\mathrm{wrt}`
    after the substitutions ``where`` (all scalar, at a concrete size)."""

    of: sp.Expr
    wrt: sp.Symbol
    expr: sp.Expr
    where: tuple[sp.Eq, ...] = ()
    name: str | None = None  # LaTeX name of ``of`` for display (``\\mathrm{CE}``)
    realize: Mapping = field(default_factory=dict)  # generic f → concrete Lambda, for numbers
    module: str = field(default_factory=lambda: _caller_module(2), repr=False, compare=False)

    def check_symbolic(self) -> None:
        """Differentiate ``of`` directly and compare with ``expr`` (raises on mismatch)."""
        subs = {eq.lhs: eq.rhs for eq in self.where}
        direct = _canon(sp.diff(self.of, self.wrt)).xreplace(subs)
        claimed = _canon(self.expr).xreplace(subs)
        if not _is_zero_symbolically(direct - claimed):
            diff = numeric_difference(direct, claimed, seed=7)
            if diff > NUMERIC_RTOL:
                raise DerivationError(
                    f"result d({text(self.of)[:60]}…)/d{self.wrt} is wrong: claimed {text(self.expr)}"
                )

    def latex(self) -> str:
        with latex_names_of(self.module):
            return latex(self.expr)

    def _repr_latex_(self) -> str:
        return "$$" + self.latex_equation() + "$$"

    def latex_equation(self) -> str:
        with latex_names_of(self.module):
            of = self.name if self.name else latex(self.of)
            return r"\frac{\partial %s}{\partial %s} = %s" % (of, latex(self.wrt), latex(self.expr))

    def as_json(self) -> dict:
        return {
            "of": sp.srepr(self.of),
            "wrt": str(self.wrt),
            "expr": sp.srepr(self.expr),
            "latex": self.latex_equation(),
            "where": [sp.srepr(eq) for eq in self.where],
        }


def instances_grid(**ranges) -> list[dict]:
    """All combinations of the given symbol ranges, e.g. ``instances_grid(n=range(2, 7))``."""
    keys = list(ranges)
    return [dict(zip(keys, vals)) for vals in itertools.product(*ranges.values())]


# --------------------------------------------------------------------------------------------
# Claims for every n: named matrices, products over a symbolic range, proofs by induction
# --------------------------------------------------------------------------------------------


class NamedMatrix(sp.MatrixExpr):
    r"""A matrix of a concrete size that prints by its name and that the checker sees entry by entry.

    ``name`` is LaTeX (:math:`\partial h^{(t)}/\partial h^{(k)}`, :math:`\operatorname{diag}(1 -
    (h^{(t)})^2)`, :math:`W`), ``entries`` the explicit matrix it stands for, ``text`` its name in
    the terminal, ``shows`` the symbols its name shows a reader (for the notation list; by
    default those of the entries). A product ``sp.MatMul(D, W, J, evaluate=False)`` of named
    matrices prints as the textbook writes it and keeps its order; the checker multiplies the
    entries out itself (SymPy's ``as_explicit`` would evaluate the derivatives they hold).

    >>> a, b = sp.symbols("a b")
    >>> A = NamedMatrix("A", sp.Matrix([[a, 0], [0, b]]))
    >>> latex(sp.MatMul(A, A, evaluate=False)), _elements(sp.MatMul(A, A, evaluate=False))
    ('{A} \\allowbreak {A}', [a**2, 0, 0, b**2])
    """

    def __new__(cls, name, entries, text=None, shows=None):
        name = name if isinstance(name, Str) else Str(name)
        text = text if isinstance(text, Str) else Str(text if text is not None else name.name)
        entries = sp.ImmutableMatrix(entries)
        shows = shows if isinstance(shows, sp.Tuple) else sp.Tuple(*(shows or ()))
        return sp.Basic.__new__(cls, name, entries, text, shows)

    @property
    def shape(self):
        return self.args[1].shape

    @property
    def entries(self) -> sp.ImmutableMatrix:
        return self.args[1]

    @property
    def shown_symbols(self):
        """What the name shows (:func:`derivations.render.used_symbols` reads this instead of the
        entries), or None: then the entries are what it shows."""
        return self.args[3].args or None

    def _entry(self, i, j, **kwargs):
        return self.args[1][i, j]

    def as_explicit(self):
        return self.args[1]

    def doit(self, **hints):
        return self  # a name stands for its entries as they are (doit would evaluate derivatives)

    def _latex(self, printer):
        return "{%s}" % self.args[0].name  # one group: a narrow column breaks between names, not in one

    def _sympystr(self, printer):
        return self.args[2].name


def _explicit(expr) -> sp.ImmutableMatrix:
    """The entries of a matrix expression of named and explicit matrices (products, sums,
    transposes, scalar factors), multiplied out without evaluating any derivative."""
    if isinstance(expr, sp.MatrixBase):
        return sp.ImmutableMatrix(expr)
    if isinstance(expr, NamedMatrix):
        return expr.entries
    if isinstance(expr, sp.MatMul):
        out, scalar = None, sp.Integer(1)
        for a in expr.args:
            if isinstance(a, (sp.MatrixExpr, sp.MatrixBase)):
                m = _explicit(a)
                out = m if out is None else out * m
            else:
                scalar *= a
        return out.applyfunc(lambda e: scalar * e)
    if isinstance(expr, sp.MatAdd):
        terms = [_explicit(a) for a in expr.args]
        return sp.ImmutableMatrix(terms[0].rows, terms[0].cols,
                                  lambda i, j: sp.Add(*[m[i, j] for m in terms]))
    if isinstance(expr, sp.Transpose):
        return _explicit(expr.arg).T
    return expr.as_explicit()


class MatrixProduct:
    r"""The ordered product :math:`\prod_{i=lo}^{hi} M_i = M_{hi} \cdots M_{lo}` of square matrices
    of one concrete size: the factor of the largest index on the left, as in a product of
    Jacobians. ``factor(i)`` gives :math:`M_i` (explicit or named); ``body`` is its LaTeX with the
    product's index written ``bound``.

    Called with its limits, it is a :class:`NamedMatrix`. With a concrete number of factors the
    product is written out (none: the identity); with a symbolic number (``hi = t``) its entries
    are unknowns the checker can say nothing about, except through :meth:`last_factor` and
    :meth:`first_factor`: the definitions that take one factor out, for an inductive step.

    >>> i, t = sp.symbols("i t", integer=True)
    >>> a = sp.IndexedBase("a")
    >>> P = MatrixProduct("P_doc", lambda s: sp.Matrix([[a[s]]]), "a_i", size=1)
    >>> latex(P(1, t)), P(1, 0).entries, P(1, 2).entries
    ('{\\prod_{i=1}^{t} a_i}', Matrix([[1]]), Matrix([[a[1]*a[2]]]))
    >>> P.last_factor(1, t + 1)
    {P_doc[1, 1, 1, t + 1]: P_doc[1, 1, 1, t]*a[t + 1]}
    """

    def __init__(self, name: str, factor, body: str, *, size: int, bound: str = "i",
                 body_text: str | None = None, shows: Sequence = ()):
        self.name, self.factor, self.body, self.size, self.bound = name, factor, body, size, bound
        self.body_text = body_text if body_text is not None else body
        self.shows = tuple(shows)
        self.unknown = sp.IndexedBase(sp.Symbol(name))

    def _factor(self, i):
        return _explicit(self.factor(sp.sympify(i)))

    def __call__(self, lo, hi) -> NamedMatrix:
        lo, hi = sp.sympify(lo), sp.sympify(hi)
        count = hi - lo + 1
        N = self.size
        if count.is_Integer:
            entries = sp.eye(N)
            for q in range(int(count)):  # M_hi ⋯ M_lo: each later factor goes on the left
                entries = self._factor(lo + q) * entries
        else:
            entries = sp.Matrix(N, N, lambda a, b: self.unknown[a + 1, b + 1, lo, hi])
        name = r"\prod_{%s=%s}^{%s} %s" % (self.bound, latex(lo), latex(hi), self.body)
        shown = f"Π_({self.bound}={text(lo)})^({text(hi)}) {self.body_text}"
        return NamedMatrix(name, entries, shown, self.shows or None)

    def _opaque(self, P: NamedMatrix) -> bool:
        return all(isinstance(e, sp.Indexed) and e.base == self.unknown for e in P.entries)

    def last_factor(self, lo, hi) -> dict:
        r""":math:`\prod_{i=lo}^{hi} M_i = M_{hi} \prod_{i=lo}^{hi-1} M_i`, entry by entry, as
        definitions of the left side's unknown entries (none when it is written out)."""
        P = self(lo, hi)
        if not self._opaque(P):
            return {}
        rest = self._factor(hi) * self(lo, sp.sympify(hi) - 1).entries
        return {P.entries[a, b]: rest[a, b] for a in range(self.size) for b in range(self.size)}

    def first_factor(self, lo, hi) -> dict:
        r""":math:`\prod_{i=lo}^{hi} M_i = \bigl(\prod_{i=lo+1}^{hi} M_i\bigr) M_{lo}`, entry by entry."""
        P = self(lo, hi)
        if not self._opaque(P):
            return {}
        rest = self(sp.sympify(lo) + 1, hi).entries * self._factor(lo)
        return {P.entries[a, b]: rest[a, b] for a in range(self.size) for b in range(self.size)}


def peel(expr, end: str = "last") -> dict:
    r"""The definition that takes the last (or first) term out of a sum, or factor out of a
    product, over a symbolic range: :math:`\prod_{k=t}^{T-1} f_k = f_t \prod_{k=t+1}^{T-1} f_k`
    (``end="first"``). An inductive step lists it among its definitions and names it in the
    reason of the step that uses it. With SymPy's convention for reversed ranges (Karr's) it
    holds for every pair of limits.

    >>> k, t, T = sp.symbols("k t T", integer=True)
    >>> f = sp.IndexedBase("f")
    >>> peel(sp.Product(f[k], (k, t, T - 1)), "first")
    {Product(f[k], (k, t, T - 1)): f[t]*Product(f[k], (k, t + 1, T - 1))}
    """
    if not isinstance(expr, (sp.Sum, sp.Product)) or len(expr.limits) != 1:
        raise ValueError(f"peel takes a sum or a product over one index, got {expr}")
    if end not in ("first", "last"):
        raise ValueError(f"end must be 'first' or 'last', got {end!r}")
    (var, lo, hi), body = expr.limits[0], expr.function
    join = sp.Add if isinstance(expr, sp.Sum) else sp.Mul
    if end == "last":
        value = join(expr.func(body, (var, lo, hi - 1)), body.xreplace({var: hi}))
    else:
        value = join(body.xreplace({var: lo}), expr.func(body, (var, lo + 1, hi)))
    return {expr: value}


@dataclass(frozen=True, eq=False)
class Hypothesis(Condition):
    r"""The induction hypothesis of an :class:`Induction`: its claim at the index its inductive
    step starts from, and only there.

    It is a condition (``given=[induction.hypothesis]`` on the step that uses it, in force from
    that step on), whose two sides the checker evaluates with the step's own definitions. Every
    occurrence of the left side's evaluated entries is then replaced by the right side's. The
    left side at another index (``n + 1`` for ``n``) is another expression, which nothing
    replaces: the claim there stays unknown, as it must.
    """

    owner: str = ""
    at: sp.Basic = sp.Integer(0)

    def latex(self) -> str:
        return r"\text{the claim at }" + latex(self.at)

    def text(self) -> str:
        return f"the claim at {text(self.at)}"

    def pairs(self, defs: Mapping, inst: Mapping, cache: dict | None = None) -> list[tuple]:
        """(left, right) of each entry, evaluated with the (instantiated) definitions ``defs``."""
        key = (id(self), id(defs), tuple(sorted(inst.items(), key=str)))
        if cache is not None and key in cache:
            return cache[key]
        out = [(evaluate(eq.lhs, defs, inst, instantiated=True), evaluate(eq.rhs, defs, inst, instantiated=True))
               for eq in self.subs]
        if cache is not None:
            cache[key] = out
        return out

    def apply(self, expr, defs: Mapping, inst: Mapping, cache: dict | None = None):
        for lhs, rhs in self.pairs(defs, inst, cache):
            new = expr.xreplace({lhs: rhs})
            if new == expr and isinstance(lhs, (sp.Mul, sp.Add, sp.Pow)):
                new = expr.subs(lhs, rhs)  # a product inside a larger product: algebraic match
            expr = new
        return expr


class InductionError(DerivationError):
    """An induction is not a proof: a missing part, a chain that ends elsewhere than the claim,
    an index fixed where it must stay symbolic, a hypothesis not used or used where it may not be."""


class Induction:
    r"""A claim :math:`P(n)` for every integer :math:`n \ge n_0` (``downward``: :math:`n \le n_0`),
    proved by induction.

    ``claim(i)`` gives both sides at index ``i``: expressions, or matrices of a concrete size
    (named, explicit or products of them), then compared entry by entry. The proof is two
    ordinary derivations, each checked step by step:

    - the **base case** (:meth:`base_case`), a chain from the left side at :math:`n_0` to the
      right side there;
    - the **inductive step** (:meth:`inductive_step`), a chain from the left side at
      :math:`n + 1` (``downward``: at :math:`n`) to the right side there, written for a
      *symbolic* ``index``. The step that uses the claim at :math:`n` (``downward``: at
      :math:`n + 1`) says so with ``given=[induction.hypothesis]`` (:class:`Hypothesis`); it is
      available nowhere else.

    :meth:`check` proves both and refuses an induction whose chains end elsewhere than the
    claim, whose step fixes the index (or a symbol of :math:`n_0`) at a value, never uses the
    hypothesis, or whose hypothesis would hold at every index (its left side, evaluated, does
    not contain the index). ``about`` says in words how the entries are checked (``"entry by
    entry with 2 units"``); pages and ``derive check`` show it.

    Examples
    --------
    :math:`\sum_{i=1}^{n} (a_{i+1} - a_i) = a_{n+1} - a_1` for :math:`n \ge 1`:

    >>> n, i = sp.symbols("n_doc i_doc", integer=True, positive=True)
    >>> a = sp.IndexedBase("a_doc")
    >>> S = lambda m: sp.Sum(a[i + 1] - a[i], (i, 1, m))
    >>> ind = Induction("telescope", "A telescoping sum", n, 1, lambda m: (S(m), a[m + 1] - a[1]))
    >>> _ = ind.base_case().step(a[2] - a[1], "one term")
    >>> step = ind.inductive_step(definitions=peel(S(n + 1)))
    >>> _ = step.step(S(n) + a[n + 2] - a[n + 1], "the last term")
    >>> _ = step.step(a[n + 1] - a[1] + a[n + 2] - a[n + 1], "induction hypothesis", given=[ind.hypothesis])
    >>> _ = step.step(a[n + 2] - a[1], "cancel")
    >>> print(ind.summary())
    proved for all n_doc ≥ 1 by induction on n_doc: base case 1 step, inductive step 3 steps at a symbolic n_doc
    """

    def __init__(self, name: str, title: str, index: sp.Symbol, first, claim, *, downward: bool = False,
                 label: str | None = None, about: str = ""):
        self.name, self.title, self.index = name, title, index
        self.first = sp.sympify(first)
        self.claim, self.downward, self.about = claim, downward, about
        self.module = _caller_module(1)
        self.label = label or name.replace("_", "-")
        self.hypothesis_at = index + 1 if downward else index
        self.target_at = index if downward else index + 1
        lhs, rhs = self.sides(self.hypothesis_at)
        left, right = _elements(lhs), _elements(rhs)
        if len(left) != len(right):
            raise InductionError(f"{name}: the claim's sides differ in shape ({len(left)} vs {len(right)} entries)")
        self.hypothesis = Hypothesis(sp.Symbol(f"the induction hypothesis ({name})"),
                                     tuple(sp.Eq(l_, r_, evaluate=False) for l_, r_ in zip(left, right)),
                                     owner=name, at=self.hypothesis_at)
        self.base: Derivation | None = None
        self.step: Derivation | None = None
        self._checked: list[StepCheck] | None = None

    def sides(self, at) -> tuple:
        """The claim's two sides at index ``at``."""
        lhs, rhs = self.claim(sp.sympify(at))
        return sp.sympify(lhs), sp.sympify(rhs)

    def _derivation(self, part: str, at, definitions, instances, lhs) -> Derivation:
        start, _ = self.sides(at)
        what = "base case" if part == "base" else "inductive step"
        d = Derivation(f"{self.name}_{part}", f"{self.title}: {what}", start, definitions=definitions,
                       instances=instances, label=f"{self.label}-{part}", lhs=lhs)
        d.module = self.module
        return d

    def base_case(self, *, definitions: Mapping | None = None, instances: Sequence[Mapping] | None = None,
                  lhs=None) -> Derivation:
        """The base case: a new derivation that starts at the claim's left side at :math:`n_0`;
        add its steps, ending at the right side there."""
        self.base = self._derivation("base", self.first, definitions, instances, lhs)
        self._checked = None
        return self.base

    def inductive_step(self, *, definitions: Mapping | None = None, instances: Sequence[Mapping] | None = None,
                       lhs=None) -> Derivation:
        """The inductive step: a new derivation that starts at the claim's left side at
        :math:`n + 1` (``downward``: at :math:`n`), for a symbolic :math:`n`; add its steps, one of
        them with ``given=[self.hypothesis]``, ending at the right side there."""
        self.step = self._derivation("step", self.target_at, definitions, instances, lhs)
        self.step._induction = self.name
        self._checked = None
        return self.step

    # ---- the proof -----------------------------------------------------------------------

    def proved_for(self) -> str:
        """In words, the indices the claim is proved for: ``all t ≥ k``."""
        return f"all {text(self.index)} {'≤' if self.downward else '≥'} {text(self.first)}"

    def check(self) -> list[StepCheck]:
        """Prove the base case and the inductive step; raise :class:`StepError` at a step that
        does not hold, :class:`InductionError` when the two do not make an induction."""
        if self._checked is not None:
            return self._checked
        if self.base is None or self.step is None:
            raise InductionError(f"{self.name}: an induction needs a base case and an inductive step")
        for d, at, what in ((self.base, self.first, "base case"), (self.step, self.target_at, "inductive step")):
            lhs, rhs = self.sides(at)
            if len(d.steps) < 2 or d.result != rhs:
                raise InductionError(f"{self.name}: the {what} ends at {text(d.result)}, not at the claim's right "
                                     f"side at {text(self.index)} = {text(at)}, {text(rhs)}")
            fixed = [s for inst in d.instances for s in inst if s == self.index or s in self.first.free_symbols]
            if fixed:
                raise InductionError(f"{self.name}: the {what} fixes {text(fixed[0])} in an instance; it must hold "
                                     f"for a symbolic {text(fixed[0])}")
        if any(self.hypothesis in st.given for st in self.base.steps):
            raise InductionError(f"{self.name}: the base case may not use the induction hypothesis")
        if not any(self.hypothesis in st.given for st in self.step.steps):
            raise InductionError(f"{self.name}: the inductive step never uses the induction hypothesis "
                                 "(name it on the step that does: given=[induction.hypothesis])")
        base_checks = self.base.check()
        step_checks = self.step.check()
        for n, inst in enumerate(self.step.instances):
            for lhs, _ in self.hypothesis.pairs(self.step._defs(n), inst):
                if self.index not in lhs.free_symbols:
                    raise InductionError(f"{self.name}: the claim at {text(self.hypothesis_at)} evaluates to "
                                         f"{text(lhs)}, which does not depend on {text(self.index)}: as a "
                                         "hypothesis it would hold at every index")
        self._checked = base_checks + step_checks
        return self._checked

    # ---- rendering -----------------------------------------------------------------------

    def _step_ends(self) -> tuple:
        """The indices the inductive step goes from and to."""
        return (self.index + 1, self.index) if self.downward else (self.index, self.index + 1)

    def _step_words(self) -> str:
        lo, hi = self._step_ends()
        return f"from {text(lo)} to {text(hi)}"

    def claim_latex(self) -> str:
        """The claim for every index, as one row: ``lhs = rhs (proved for all n ≥ n₀ by induction)``."""
        self.check()
        with latex_names_of(self.module):
            return rows(self._claim_rows())

    def _claim_rows(self) -> list[tuple[str, str, str]]:
        lhs, rhs = self.sides(self.index)
        rel = r"\le" if self.downward else r"\ge"
        note = (r"\text{proved for all }%s %s %s\text{ by induction on }%s"
                % (latex(self.index), rel, latex(self.first), latex(self.index)))
        if isinstance(lhs, sp.MatrixBase):
            return [(latex(l_), "= " + latex(r_), note if q == 0 else "")
                    for q, (l_, r_) in enumerate(zip(lhs, rhs))]
        return [(latex(lhs), "= " + latex(rhs), note)]

    def latex(self) -> str:
        """The claim, then the base case and the inductive step, as one block of rows (the
        command line's form; a page glues the three apart, see :func:`derivations.pages.glue_derivation`)."""
        self.check()
        n = latex(self.index)
        with latex_names_of(self.module):
            head = [("", r"\text{base case, }%s = %s\text{:}" % (n, latex(self.first)), "")]
            lo, hi = (latex(e) for e in self._step_ends())
            mid = [("", r"\text{inductive step, from }%s\text{ to }%s\text{:}" % (lo, hi), "")]
            return rows(self._claim_rows() + head + self.base._rows() + mid + self.step._rows())

    def _repr_latex_(self) -> str:
        return "$$" + self.latex() + "$$"

    def text(self) -> str:
        self.check()
        lhs, rhs = self.sides(self.index)
        indent = lambda block: "\n".join("    " + ln for ln in block.splitlines())  # noqa: E731
        return "\n".join([
            self.title,
            f"    {text(lhs)} = {text(rhs)}",
            f"    proved for {self.proved_for()} by induction on {text(self.index)}"
            + (f" ({self.about})" if self.about else ""),
            f"  base case, {text(self.index)} = {text(self.first)}:", indent(self.base.text()),
            f"  inductive step, {self._step_words()} (hypothesis: the claim at {text(self.hypothesis_at)}):",
            indent(self.step.text())])

    def summary(self) -> str:
        self.check()
        nb, ns = len(self.base.steps) - 1, len(self.step.steps) - 1
        plural = lambda q: f"{q} step" + ("" if q == 1 else "s")  # noqa: E731
        about = f", {self.about}" if self.about else ""
        return (f"proved for {self.proved_for()} by induction on {text(self.index)}: base case {plural(nb)}, "
                f"inductive step {plural(ns)} at a symbolic {text(self.index)}{about}")

    def as_json(self) -> dict:
        """The proof for other tools: the claim (srepr of each side's entries), the indices it
        holds for, and every step of the base case and of the inductive step."""
        self.check()

        def side(e):
            return sp.srepr(_explicit(e) if isinstance(e, (sp.MatrixExpr, sp.MatrixBase)) else e)

        def chain(d):
            with latex_names_of(self.module):
                return [{"latex": latex(st.expr), "why": st.why if k else "start",
                         "given": [c.text() for c in st.given], "expr": side(st.expr)}
                        for k, st in enumerate(d.steps)]
        lhs, rhs = self.sides(self.index)
        with latex_names_of(self.module):
            tex = rows(self._claim_rows())
        return {"name": self.name, "title": self.title, "index": str(self.index),
                "first": sp.srepr(self.first), "direction": "downward" if self.downward else "upward",
                "proved_for": self.proved_for(), "about": self.about,
                "claim": {"lhs": side(lhs), "rhs": side(rhs), "latex": tex},
                "hypothesis_at": sp.srepr(self.hypothesis_at),
                "base_case": {"at": sp.srepr(self.first), "steps": chain(self.base)},
                "inductive_step": {"from": sp.srepr(self.hypothesis_at), "to": sp.srepr(self.target_at),
                                   "steps": chain(self.step)}}
