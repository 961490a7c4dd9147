r"""Numeric cross-checks of derived gradients against independent oracles.

A derived gradient (a :class:`~derivations.core.Result`, lambdified in float64) is compared at
seeded random points with oracles that never see the derivation; each differentiates the
*definition* ``of`` on its own:

- **high-precision central differences**: ``of`` evaluated with mpmath at
  :data:`MP_DIGITS` digits, step :data:`MP_STEP` (truncation error ~1e-40);
- **complex step**: :math:`\operatorname{Im} f(x + ih)/h` with ``h = 1e-20`` in complex128, used
  only where ``of`` is analytic (no ``Max``, ``Abs``, ``Heaviside``, ``Piecewise``);
- **reverse-mode autodiff**: HIPS ``autograd`` applied to ``of`` compiled with
  ``autograd.numpy``.

A check passes when ``|derived − oracle| ≤ ATOL + RTOL·|oracle|`` at every point, for every oracle.

>>> import sympy as sp
>>> from derivations.core import Result
>>> x = sp.Symbol("x", real=True)
>>> table = crosscheck([Result(sp.sin(x) * x, x, sp.cos(x) * x + sp.sin(x))], points=3)
>>> table.passed, [row["oracle"] for row in table.rows]
(True, ['central differences (mpmath, 50 digits)', 'complex step (h = 1e-20)', 'reverse-mode autodiff (autograd)'])
>>> crosscheck([Result(sp.sin(x) * x, x, sp.cos(x) * x)], points=3).passed
False
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field

import autograd
import autograd.numpy as anp
import mpmath
import numpy as np
import sympy as sp

from .core import DerivationError, Result, _leaves

#: Relative tolerance of a derived gradient against an oracle.
RTOL = 1e-9
#: Absolute tolerance of a derived gradient against an oracle.
ATOL = 1e-11
#: Digits used by the high-precision central difference oracle.
MP_DIGITS = 50
#: Step of the high-precision central difference oracle.
MP_STEP = mpmath.mpf("1e-20")
#: Step of the complex-step oracle.
CS_STEP = 1e-20

_NON_ANALYTIC = (sp.Max, sp.Min, sp.Abs, sp.Heaviside, sp.Piecewise, sp.sign)

#: What ``of`` is compiled with for the autodiff oracle: every name SymPy's NumPy printer writes
#: bare (``Max(a, b)`` is printed ``reduce(maximum, [a, b])``, ``Piecewise`` as ``select``, ``E`` as
#: ``e``), bound to autograd's NumPy; any other name falls back to NumPy's own.
_AUTOGRAD_NS = {
    name: getattr(anp, name)
    for name in ("exp", "log", "tanh", "sinh", "cosh", "sin", "cos", "sqrt", "abs", "sign",
                 "maximum", "minimum", "greater", "less", "select")
}
_AUTOGRAD_NS["Heaviside"] = lambda x, h0=0.5: anp.where(x > 0, 1.0, anp.where(x < 0, 0.0, h0))


@dataclass
class CheckTable:
    """Rows of a numeric check, each with a ``passed`` flag; renders on pages and in the terminal."""

    title: str
    columns: list[str]
    rows: list[dict] = field(default_factory=list)
    note: str = ""

    @property
    def passed(self) -> bool:
        return all(r["passed"] for r in self.rows)

    def assert_ok(self) -> "CheckTable":
        """Raise :class:`~derivations.core.DerivationError` naming every failing row."""
        bad = [r for r in self.rows if not r["passed"]]
        if bad:
            lines = "; ".join(", ".join(f"{c}={r.get(c)}" for c in self.columns) for r in bad)
            raise DerivationError(f"{self.title}: failed: {lines}")
        return self

    def _cell(self, value) -> str:
        if isinstance(value, float):
            return f"{value:.1e}"
        return str(value)

    @staticmethod
    def _td_class(value) -> str:
        """Numbers (``8.1e-03``) are one unit: a phone must not break them at their hyphen."""
        return " class='num'" if isinstance(value, (int, float)) and not isinstance(value, bool) else ""

    def _repr_html_(self) -> str:
        head = "".join(f"<th>{html.escape(c)}</th>" for c in self.columns + ["status"])
        body = []
        for r in self.rows:
            cells = "".join(f"<td{self._td_class(r.get(c, ''))}>{html.escape(self._cell(r.get(c, '')))}</td>"
                            for c in self.columns)
            status = "✔ pass" if r["passed"] else "✘ FAIL"
            body.append(f"<tr>{cells}<td>{status}</td></tr>")
        note = f"<p class='check-note'>{html.escape(self.note)}</p>" if self.note else ""
        return (f"<table class='check-table'><caption>{html.escape(self.title)}</caption>"
                f"<thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>{note}")

    def text(self) -> str:
        cols = self.columns + ["status"]
        rows = [[self._cell(r.get(c, "")) for c in self.columns] + ["pass" if r["passed"] else "FAIL"]
                for r in self.rows]
        widths = [max(len(c), *(len(row[k]) for row in rows)) if rows else len(c) for k, c in enumerate(cols)]
        fmt = "  ".join("{:<%d}" % w for w in widths)
        out = [self.title, fmt.format(*cols)] + [fmt.format(*row) for row in rows]
        if self.note:
            out.append(self.note)
        return "\n".join(out)


def whole_gradient_table(title: str, note: str, *, entries: int, err_autograd: float,
                         err_directional: float, directions: int, rtol: float = 1e-7,
                         dtol: float = 1e-6) -> CheckTable:
    """The table for a whole model's gradient: every entry against reverse-mode autodiff of a
    separately written forward pass, and central differences along random directions."""
    table = CheckTable(title, ["oracle", "compared", "max relative error", "tolerance"], note=note)
    table.rows.append({"oracle": "reverse-mode autodiff (autograd)", "compared": f"all {entries} entries",
                       "max relative error": err_autograd, "tolerance": f"{rtol:g} (relative, per entry)",
                       "passed": err_autograd <= rtol})
    table.rows.append({"oracle": "central differences (float64)", "compared": f"{directions} random directions",
                       "max relative error": err_directional, "tolerance": f"{dtol:g} (relative)",
                       "passed": err_directional <= dtol})
    return table


def _realized(expr, result: Result):
    for f, lam in result.realize.items():
        expr = expr.replace(f, lam)
    return expr.doit()


def _points(result: Result, leaves, rng: np.random.Generator, count: int):
    """Random values for the free leaves (``where`` fixes the dependent ones)."""
    dependent = {eq.lhs for eq in result.where}
    free = [lf for lf in leaves if lf not in dependent]
    pts = []
    for _ in range(count):
        vals = {}
        for lf in free:
            base = lf.base.label if isinstance(lf, sp.Indexed) else lf
            vals[lf] = float(rng.uniform(0.1, 1.0)) if (base.is_positive or base.is_nonnegative) \
                else float(rng.normal())
        for eq in result.where:
            vals[eq.lhs] = float(eq.rhs.xreplace({k: sp.Float(v) for k, v in vals.items()}))
        pts.append(vals)
    return pts


def _compile(leaves, expr, modules):
    """``sympy.lambdify`` without the docstring: printing ``expr`` once more for it would cost
    about a quarter of the call."""
    return sp.lambdify(leaves, expr, modules, docstring_limit=0)


def crosscheck(results, *, points: int = 5, seed: int = 0, title: str = "Numeric cross-check",
               rtol: float = RTOL, atol: float = ATOL) -> CheckTable:
    """Compare every result with each applicable oracle at ``points`` seeded random points."""
    rng = np.random.default_rng(seed)
    errs: dict[str, list[tuple[float, float, bool]]] = {}
    names = {"mp": f"central differences (mpmath, {MP_DIGITS} digits)",
             "cs": f"complex step (h = {CS_STEP:g})", "ag": "reverse-mode autodiff (autograd)"}
    failures = []
    compiled: dict = {}  # results of one topic often share ``of``: compile each ``of`` once
    realized: dict = {}  # and realize each ``of`` once (``doit`` of a large one takes long)
    for res in results:
        rkey = (res.of, tuple(res.realize.items()))
        if rkey not in realized:
            realized[rkey] = _realized(res.of, res)
        of = realized[rkey]
        expr = _realized(res.expr, res)
        leaves = _leaves(of + expr)
        if res.wrt not in leaves:
            leaves.append(res.wrt)
        f_derived = _compile(leaves, expr, "numpy")
        analytic = not of.has(*_NON_ANALYTIC)
        key = (of, tuple(leaves))
        if key not in compiled:
            f_ag = _compile(leaves, of, [_AUTOGRAD_NS, "numpy"])
            # complex step runs the same code: autograd's functions are NumPy's on plain arrays
            compiled[key] = (_compile(leaves, of, "mpmath"), f_ag if analytic else None, f_ag)
        f_mp, f_cs, f_ag = compiled[key]
        k = leaves.index(res.wrt)
        for vals in _points(res, leaves, rng, points):
            x = [vals[lf] for lf in leaves]
            derived = float(f_derived(*x))
            oracle = {}
            with mpmath.workdps(MP_DIGITS):
                xp = [mpmath.mpf(v) for v in x]
                hi, lo = list(xp), list(xp)
                hi[k] += MP_STEP
                lo[k] -= MP_STEP
                oracle["mp"] = float((f_mp(*hi) - f_mp(*lo)) / (2 * MP_STEP))
            if f_cs is not None:
                xc = np.array(x, dtype=complex)
                xc[k] += 1j * CS_STEP
                oracle["cs"] = float(np.imag(f_cs(*xc)) / CS_STEP)
            oracle["ag"] = float(autograd.grad(lambda t: f_ag(*(x[:k] + [t] + x[k + 1:])))(x[k]))
            for key, o in oracle.items():
                err = abs(derived - o)
                ok = bool(np.isfinite(derived) and err <= atol + rtol * abs(o))
                errs.setdefault(key, []).append((err, err / max(abs(o), 1e-300), ok))
                if not ok:
                    failures.append(f"d/d{res.wrt}: derived {derived!r} vs {names[key]} {o!r}")
    table = CheckTable(title, ["oracle", "evaluations", "max |derived − oracle|", "max relative error",
                               "tolerance"],
                       note=f"{len(results)} results × {points} seeded points (seed {seed}); "
                            f"pass when |derived − oracle| ≤ {atol:g} + {rtol:g}·|oracle|.")
    for key in ("mp", "cs", "ag"):
        if key not in errs:
            continue
        e = errs[key]
        table.rows.append({"oracle": names[key], "evaluations": len(e),
                           "max |derived − oracle|": max(a for a, _, _ in e),
                           "max relative error": max(r for _, r, _ in e),
                           "tolerance": f"{atol:g} + {rtol:g}·|oracle|",
                           "passed": all(ok for _, _, ok in e)})
    if not any(key in errs for key in ("mp", "cs")) or "ag" not in errs:
        raise DerivationError(f"{title}: fewer than two independent oracles applied")
    table.failures = failures
    return table
