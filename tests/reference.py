"""Reference helpers shared by the tests: oracles written here, independent of the package.

Nothing in this module imports ``derivations``: a test compares the package's numbers with
these, so a mistake in the package cannot hide in both.
"""

from __future__ import annotations

import copy
import functools

import mpmath
import sympy as sp

DIGITS = 40


@functools.cache
def _compiled(expr: sp.Expr):
    """``expr`` compiled once for mpmath (results of one topic share it); symbols sorted by name."""
    syms = tuple(sorted(expr.free_symbols, key=str))
    return syms, sp.lambdify(syms, expr, "mpmath")


def mp_partial(expr: sp.Expr, wrt: sp.Symbol, point: dict, h: str = "1e-15") -> float:
    """∂expr/∂wrt at ``point`` by a 4-point central difference in mpmath at 40 digits."""
    syms, f = _compiled(expr)
    with mpmath.workdps(DIGITS):
        step = mpmath.mpf(h)

        def at(delta):
            return f(*[mpmath.mpf(point[s]) + (delta if s == wrt else 0) for s in syms])

        return float((8 * (at(step) - at(-step)) - (at(2 * step) - at(-2 * step))) / (12 * step))


def close(a: float, b: float, rtol: float = 1e-9, atol: float = 1e-11) -> bool:
    return abs(a - b) <= atol + rtol * abs(b)


def planted(induction, part: str, k: int, expr):
    """A copy of an induction whose ``part`` ("base" or "step") has ``expr`` at step ``k``, its
    checks forgotten: the planted mistake the induction tests expect to be refused."""
    bad = copy.deepcopy(induction)
    chain = bad.base if part == "base" else bad.step
    chain.steps[k].expr = expr
    bad._checked = chain._checked = None
    return bad


def central_difference(arr, idx: int, loss, h: float) -> float:
    """(loss() at arr.flat[idx] + h − at − h) / 2h, with ``arr`` changed in place and restored: the
    float64 difference the whole-model tests compare a gradient entry with."""
    old = arr.flat[idx]
    arr.flat[idx] = old + h
    up = loss()
    arr.flat[idx] = old - h
    down = loss()
    arr.flat[idx] = old
    return (up - down) / (2 * h)
