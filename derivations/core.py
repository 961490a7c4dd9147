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

import itertools
import random
import sys
from dataclasses import dataclass, field
from typing import Iterable, Mapping, Sequence

import sympy as sp
from sympy.core.function import AppliedUndef, UndefinedFunction

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
    "Result",
    "StepCheck",
    "StepError",
    "Step",
    "expand_definitions",
    "latex",
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
            f"  left:  {text(lhs)}\n  right: {text(rhs)}\n  {detail}"
        )


# --------------------------------------------------------------------------------------------
# Symbols with a LaTeX name
# --------------------------------------------------------------------------------------------

def _caller_module(depth: int) -> str:
    return sys._getframe(depth + 1).f_globals.get("__name__", "")


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


def _expand_sum(s):
    """One sum (or product) with integer limits written out as an addition (or a multiplication);
    the summand is left unevaluated. An empty range (upper limit below the lower) is 0 (or 1)."""
    body = s.function
    join = sp.Add if isinstance(s, sp.Sum) else sp.Mul
    for var, lo, hi in reversed(s.limits):
        body = join(*[body.xreplace({var: sp.Integer(v)}) for v in range(int(lo), int(hi) + 1)])
    return body


def _expand_sums(expr):
    """Write every sum and product with concrete limits out (inner derivatives untouched)."""
    for _ in range(10):
        sums = [s for s in expr.atoms(sp.Sum, sp.Product)
                if all(lim[1].is_Integer and lim[2].is_Integer for lim in s.limits)]
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
    for _ in range(50):
        new = _expand_functions(expr.xreplace(sym_defs), definitions)
        if base_defs:
            new = new.replace(
                lambda e: isinstance(e, sp.Indexed) and e.base in base_defs and e not in stop,
                lambda e: base_defs[e.base](*e.indices),
            )
        new = _expand_sums(new)
        if new == expr:
            return expr
        expr = new
    raise DerivationError("definitions do not terminate (a definition refers to itself)")


def _expand_functions(expr, definitions: Mapping):
    r"""Replace every application of a defined function (``F(z - a)`` with ``F := x ↦ …``, a
    key of ``definitions`` made by ``sp.Function``) by its definition, recursively."""
    funs = {k: v for k, v in definitions.items() if isinstance(k, UndefinedFunction)}
    for _ in range(50):
        if not funs or not any(isinstance(a, AppliedUndef) and a.func in funs for a in expr.atoms(AppliedUndef)):
            return expr
        expr = expr.replace(lambda e: isinstance(e, AppliedUndef) and e.func in funs,
                            lambda e: funs[e.func](*e.args))
    raise DerivationError("function definitions do not terminate (a definition refers to itself)")


_PRIMES: dict[tuple[str, int], sp.FunctionClass] = {}


def _prime_function(f, order: int):
    key = (f.__name__, order)
    if key not in _PRIMES:
        _PRIMES[key] = sp.Function(f.__name__ + "'" * order)
    return _PRIMES[key]


def _canon(expr):
    """Replace every f^(n)(arg) (as Derivative or Subs) by an opaque function f'…'(arg).

    ``Subs(Derivative(f(ξ), ξ), ξ, z)`` (SymPy's chain rule through a composite argument) goes
    first: ``replace`` works bottom-up and would otherwise turn the inner derivative into f'(ξ)
    and leave a ``Subs`` that only ``simplify`` can see through.
    """
    if not expr.has(sp.Derivative, sp.Subs):
        return expr
    is_subs = lambda e: isinstance(e, sp.Subs) and _prime_form(e) is not None  # noqa: E731
    expr = expr.replace(is_subs, lambda e: _from_form(_prime_form(e)))
    return expr.replace(lambda e: _prime_form(e) is not None, lambda e: _from_form(_prime_form(e)))


def _from_form(form):
    f, order, arg = form
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


def _instantiate_definitions(definitions: Mapping, inst: Mapping) -> dict:
    defs = {}
    for key, val in definitions.items():
        val = sp.sympify(val)
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
    their variables (an intermediate such as z in ∂a/∂z stays the variable)."""
    while True:
        ders = [d for d in expr.atoms(sp.Derivative) if not d.expr.atoms(sp.Derivative)]
        if not ders:
            return expr
        done = {}
        for d in ders:
            inner = expand_definitions(d.expr, defs, stop=d.variables)
            done[d] = _canon(sp.diff(inner, *d.variable_count))
        expr = expr.xreplace(done)


def evaluate(expr, definitions: Mapping, inst: Mapping = {}, conditions: Sequence[Condition] = (),
             *, instantiated: bool = False):
    """Expand ``expr`` into plain operations: instance sizes, sums, derivatives, definitions.

    ``instantiated=True`` says ``definitions`` already have the instance's values in them.
    """
    defs = dict(definitions) if instantiated else _instantiate_definitions(definitions, inst)
    expr = _eval_derivatives(_canon(_expand_functions(_instantiate(sp.sympify(expr), inst), defs)), defs)
    expr = _canon(expand_definitions(expr, defs))
    for cond in conditions:
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


def _sample(leaf, rng: random.Random):
    base = leaf.base.label if isinstance(leaf, sp.Indexed) else leaf
    if base.is_integer:
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
        name = a.func.__name__.rstrip("'")
        order = len(a.func.__name__) - len(name)
        if len(a.args) != 1:
            raise DerivationError(f"cannot evaluate generic function {a} of several arguments")
        rng = random.Random(f"{seed}:{name}")
        c = [sp.Float(rng.uniform(0.5, 1.5), NUMERIC_DIGITS + 10) for _ in range(4)]
        base = c[0] * sp.sin(c[1] * x + c[2]) + c[3] * x**2 / 4 + sp.exp(x / 3)
        repl[a] = sp.diff(base, x, order).subs(x, a.args[0])
    return expr.xreplace(repl)


def numeric_difference(lhs, rhs, seed: int, points: int = NUMERIC_POINTS):
    """Evaluate ``lhs - rhs`` at random points; return the worst relative difference found."""
    rng = random.Random(seed)
    worst = sp.Float(0)
    leaves = sorted(set(_leaves(lhs)) | set(_leaves(rhs)), key=sp.default_sort_key)
    for p in range(points):
        values = {leaf: _sample(leaf, rng) for leaf in leaves}
        va, vb = (sp.N(_realize_generic(e.xreplace(values), seed + p).doit(), NUMERIC_DIGITS)
                  for e in (lhs, rhs))
        if not (va.is_number and vb.is_number):
            raise DerivationError(f"cannot evaluate numerically: {text(va)} vs {text(vb)}")
        scale = max(abs(va), abs(vb), sp.Float(1))
        worst = max(worst, abs(va - vb) / scale)
    return worst


def _probe(lhs, rhs, seed: int):
    """The relative difference at the first of the numeric check's random points (0 when the
    sides cannot be evaluated there: then only SymPy or the full numeric check can tell)."""
    try:
        return numeric_difference(lhs, rhs, seed=seed, points=1)
    except DerivationError:
        return 0


_ATTEMPTS = {
    "expand": sp.expand,
    # one fraction, then its numerator expanded: the cheapest proof for quotients of the same
    # factors (the Concrete density at n = 4: 0.1 s, where cancel takes 1.7 s)
    "together": lambda e: sp.expand(sp.together(e)),
    "cancel": sp.cancel,
    "expand_log": lambda e: sp.expand(sp.expand_log(e, force=True)),
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
        except (sp.PolynomialError, TypeError, ValueError):
            ok = False
        if ok:
            order.remove(name)
            order.insert(0, name)
            return True
    if simplify and sp.count_ops(diff) <= SIMPLIFY_MAX_OPS:
        return sp.simplify(diff) == 0
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
        try:
            out = [self._check_step(k) for k in range(1, len(self.steps))]
        finally:
            self._eval_cache.clear()
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
                                             instantiated=True)
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
                if _is_zero_symbolically(a - b, order, simplify=False):
                    continue
                # before the costly simplify, one random point: a wrong step is refuted at once
                if _probe(a, b, seed) <= NUMERIC_RTOL and _is_zero_symbolically(a - b, []):
                    continue
                diff = numeric_difference(a, b, seed=seed)
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
        return rows(lines)

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
                note += "; using " + ", ".join(text(c.shown) for c in st.given)
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
        expr = expr.as_explicit()  # not .doit(): that would evaluate (and zero) Derivative entries
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
