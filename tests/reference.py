"""Reference helpers shared by the tests: oracles written here, independent of the package.

Nothing in this module imports ``derivations``: a test compares the package's numbers with
these, so a mistake in the package cannot hide in both.
"""

from __future__ import annotations

import mpmath
import sympy as sp

DIGITS = 40


def mp_partial(expr: sp.Expr, wrt: sp.Symbol, point: dict, h: str = "1e-15") -> float:
    """∂expr/∂wrt at ``point`` by a 4-point central difference in mpmath at 40 digits."""
    syms = sorted(expr.free_symbols, key=str)
    f = sp.lambdify(syms, expr, "mpmath")
    with mpmath.workdps(DIGITS):
        step = mpmath.mpf(h)

        def at(delta):
            vals = [mpmath.mpf(point[s]) + (delta if s == wrt else 0) for s in syms]
            return f(*vals)

        d = (8 * (at(step) - at(-step)) - (at(2 * step) - at(-2 * step))) / (12 * step)
        return float(d)


def close(a: float, b: float, rtol: float = 1e-9, atol: float = 1e-11) -> bool:
    return abs(a - b) <= atol + rtol * abs(b)
