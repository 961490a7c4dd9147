r"""Softmax and cross-entropy, and the gradient of their composition.

Notation (column vectors, classes numbered :math:`1 … n`):

- :math:`z \in \mathbb{R}^n` the logits;
- :math:`\hat y_k = \operatorname{softmax}(z)_k = e^{z_k} / \sum_j e^{z_j}` (seed eq. 1);
- :math:`y \in \mathbb{R}^n` the target, a one-hot vector or any distribution, :math:`\sum_k y_k = 1`;
- :math:`\mathrm{CE}(y, \hat y) = -\sum_k y_k \log \hat y_k` (seed eq. 2).

Derived and checked here: the softmax Jacobian :math:`\partial \hat y_k/\partial z_i =
\hat y_k(\delta_{ki} - \hat y_i)`, i.e. :math:`\operatorname{diag}(\hat y) - \hat y \hat y^\top`;
the gradient :math:`\partial\mathrm{CE}/\partial z_i = \hat y_i \sum_k y_k - y_i`, which is
:math:`\hat y_i - y_i` only because :math:`\sum_k y_k = 1`; the shift invariance of log-sum-exp and
softmax; and a numerically stable softmax/CE.

Examples
--------
>>> import numpy as np
>>> z = np.array([1000.0, -1000.0, 0.0])
>>> softmax(z).round(3).tolist()
[1.0, 0.0, 0.0]
>>> bool(np.isnan(naive_softmax(z)).any())
True
>>> y = np.array([0.0, 0.0, 1.0])
>>> float(cross_entropy(z, y))
1000.0
"""

from __future__ import annotations

import functools
import itertools

import numpy as np
import sympy as sp

from .core import Condition, Derivation, Result, evaluate, indexed, notation, sym
from .core import shown_product as _mul
from .oracles import CheckTable, crosscheck

TITLE = "Softmax and cross-entropy: the gradient ŷ − y"

#: Class counts at which every step is checked.
SIZES = range(2, 7)
#: Class count at which results are published (elementwise) and matrices are shown.
N_SHOWN = 3

# ---- symbols (each made in one place) -----------------------------------------------------
n = sym("n", meaning="number of classes", integer=True, positive=True)
i, j, k = (sym(s, integer=True, positive=True) for s in "ijk")
notation(i, r"index of a class, $1 \le i \le n$")
notation(j, r"index of a class in a sum, $1 \le j \le n$")
notation(k, r"index of a class, $1 \le k \le n$")
m = sym("m", meaning=r"any real shift of the logits; the stable form takes $m = \max_j z_j$", shape="scalar",
        real=True)
z = indexed("z", "z", meaning="logits", shape=r"${n \times 1}$", real=True)
y = indexed("y", "y", meaning="target: one-hot or any distribution (entries ≥ 0, sum 1)", shape=r"${n \times 1}$",
            real=True, nonnegative=True)
yhat = indexed("yhat", r"\hat{y}", meaning=r"predicted distribution $\operatorname{softmax}(z)$ (seed eq. 1)",
               shape=r"${n \times 1}$", real=True, positive=True)
CE = sym("CE", r"\mathrm{CE}", meaning="cross-entropy of the prediction against the target (seed eq. 2)",
         shape="scalar", real=True)

#: ŷ_k := e^{z_k} / Σ_j e^{z_j}  (seed eq. 1)
SOFTMAX = sp.Lambda(k, sp.exp(z[k]) / sp.Sum(sp.exp(z[j]), (j, 1, n)))
#: CE := −Σ_k y_k log ŷ_k  (seed eq. 2)
CROSS_ENTROPY = -sp.Sum(y[k] * sp.log(yhat[k]), (k, 1, n))
DEFINITIONS = {yhat: SOFTMAX, CE: CROSS_ENTROPY}

#: The target sums to one: used, and shown, where the gradient becomes ŷ − y.
SUM_TO_ONE = Condition(sp.Eq(sp.Sum(y[k], (k, 1, n)), 1),
                       (sp.Eq(y[n], 1 - sp.Sum(y[k], (k, 1, n - 1))),))


def _instances(*names):
    """Instances n = 2 … 6; each index takes the first and the last class (1 and n).

    Every class is interchangeable with another under a relabelling, so these cover the diagonal
    and the off-diagonal cases without checking all n² pairs.
    """
    out = []
    for size in SIZES:
        picks = sorted({1, size})
        for vals in itertools.product(picks, repeat=len(names)):
            out.append({n: size, **dict(zip(names, vals))})
    return out



@functools.cache
def jacobian_derivation() -> Derivation:
    """∂ŷ_k/∂z_i = ŷ_k(δ_ki − ŷ_i), by the quotient rule."""
    S = sp.Sum(sp.exp(z[j]), (j, 1, n))
    d = Derivation("softmax_jacobian", "The softmax Jacobian", sp.Derivative(yhat[k], z[i]),
                   definitions=DEFINITIONS, instances=_instances(k, i), label="softmax-jacobian")
    d.step(sp.Derivative(sp.exp(z[k]) / S, z[i]), r"definition of $\hat y_k$ (eq. 1)")
    d.step((sp.KroneckerDelta(k, i) * sp.exp(z[k]) * S - sp.exp(z[k]) * sp.exp(z[i])) / S**2,
           r"quotient rule; $\partial e^{z_k}/\partial z_i = \delta_{ki} e^{z_k}$, "
           r"$\partial \sum_j e^{z_j} / \partial z_i = e^{z_i}$")
    d.step(_mul(sp.exp(z[k]) / S, sp.KroneckerDelta(k, i) - sp.exp(z[i]) / S), r"factor out $e^{z_k}/\sum_j e^{z_j}$")
    d.step(yhat[k] * (sp.KroneckerDelta(k, i) - yhat[i]), r"definition of $\hat y$")
    return d


@functools.cache
def jacobian_matrix_derivation() -> Derivation:
    r"""The Jacobian as a matrix at n = 3: diag(ŷ) − ŷ ŷᵀ."""
    N = N_SHOWN
    J = sp.ImmutableMatrix(N, N, lambda r, c: sp.Derivative(yhat[r + 1], z[c + 1]))
    v = sp.ImmutableMatrix([yhat[r + 1] for r in range(N)])
    d = Derivation("softmax_jacobian_matrix", f"The softmax Jacobian as a matrix (n = {N})", J,
                   definitions={**DEFINITIONS, n: N}, label="softmax-jacobian-matrix")
    d.step(sp.ImmutableMatrix(N, N, lambda r, c: yhat[r + 1] * (sp.KroneckerDelta(r, c) - yhat[c + 1])),
           "elementwise, the Jacobian derived above")
    diag = sp.ImmutableMatrix(N, N, lambda r, c: v[r] if r == c else 0)
    d.step(sp.MatAdd(diag, sp.MatMul(-v, v.T, evaluate=False), evaluate=False),
           r"$\operatorname{diag}(\hat y) - \hat y \hat y^\top$")
    return d


@functools.cache
def gradient_derivation() -> Derivation:
    """∂CE/∂z_i, step by step, arriving at ŷ_i − y_i with Σy = 1 stated."""
    d = Derivation("ce_gradient", "The gradient of cross-entropy after softmax",
                   sp.Derivative(CE, z[i]), definitions=DEFINITIONS, instances=_instances(i),
                   label="ce-gradient")
    term = lambda e: -sp.Sum(e, (k, 1, n))  # noqa: E731
    d.step(term(y[k] * sp.Derivative(sp.log(yhat[k]), z[i])),
           "definition of CE (eq. 2); differentiation is linear")
    d.step(term(_mul(y[k], 1 / yhat[k], sp.Derivative(yhat[k], z[i]))), r"chain rule, $(\log u)' = u'/u$")
    d.step(term(_mul(y[k], 1 / yhat[k], yhat[k], sp.KroneckerDelta(k, i) - yhat[i])),
           "softmax Jacobian")
    d.step(term(y[k] * (sp.KroneckerDelta(k, i) - yhat[i])), r"cancel $\hat y_k > 0$")
    d.step(yhat[i] * sp.Sum(y[k], (k, 1, n)) - y[i], r"split the sum; $\delta_{ki}$ keeps only $k = i$")
    d.step(yhat[i] - y[i], "the target sums to one", given=[SUM_TO_ONE])
    return d


@functools.cache
def logsumexp_derivation() -> Derivation:
    """log Σ e^{z_j} = m + log Σ e^{z_j − m} for every real m (the stable form takes m = max z)."""
    d = Derivation("logsumexp_shift", "Log-sum-exp is shift invariant",
                   sp.log(sp.Sum(sp.exp(z[j]), (j, 1, n))), instances=_instances(),
                   label="logsumexp-shift")
    d.step(sp.log(sp.Sum(_mul(sp.exp(m), sp.exp(z[j] - m)), (j, 1, n))), r"$e^{z_j} = e^{m} e^{z_j - m}$")
    d.step(sp.log(_mul(sp.exp(m), sp.Sum(sp.exp(z[j] - m), (j, 1, n)))), r"factor $e^{m}$ out of the sum")
    d.step(m + sp.log(sp.Sum(sp.exp(z[j] - m), (j, 1, n))), r"$\log(ab) = \log a + \log b$, $\log e^m = m$")
    return d


@functools.cache
def softmax_shift_derivation() -> Derivation:
    """softmax(z) = softmax(z − m): the shift that makes the numeric softmax safe."""
    S = sp.Sum(sp.exp(z[j]), (j, 1, n))
    Sm = sp.Sum(sp.exp(z[j] - m), (j, 1, n))
    d = Derivation("softmax_shift", "Softmax is shift invariant", yhat[i], definitions=DEFINITIONS,
                   instances=_instances(i), label="softmax-shift")
    d.step(sp.exp(z[i]) / S, r"definition of $\hat y_i$")
    d.step(_mul(sp.exp(m), sp.exp(z[i] - m)) / sp.Sum(_mul(sp.exp(m), sp.exp(z[j] - m)), (j, 1, n)),
           r"$e^{z} = e^{m} e^{z - m}$ above and below")
    d.step(sp.exp(z[i] - m) / Sm, r"cancel $e^{m} > 0$")
    return d


def derivations() -> list[Derivation]:
    """Every derivation of this topic, in reading order."""
    return [jacobian_derivation(), jacobian_matrix_derivation(), gradient_derivation(),
            logsumexp_derivation(), softmax_shift_derivation()]


# ---- results: elementwise, at n = 3, as plain symbols ------------------------------------

Z = [sym(f"z{r}", f"z_{{{r}}}", real=True) for r in range(1, N_SHOWN + 1)]
Y = [sym(f"y{r}", f"y_{{{r}}}", real=True, nonnegative=True) for r in range(1, N_SHOWN + 1)]


def flat(expr):
    """Replace z[r], y[r] by the plain symbols z_r, y_r (published results are scalar)."""
    return expr.xreplace({**{z[r + 1]: Z[r] for r in range(N_SHOWN)},
                          **{y[r + 1]: Y[r] for r in range(N_SHOWN)}})


@functools.cache
def results() -> list[Result]:
    """∂CE/∂z_i (with y_3 = 1 − y_1 − y_2) and ∂ŷ_k/∂z_i at n = 3, from the derivations' last steps."""
    inst = {n: N_SHOWN}
    one_hot = (sp.Eq(Y[-1], 1 - sum(Y[:-1])),)
    out = []
    g = gradient_derivation()
    ce = flat(evaluate(CE, DEFINITIONS, inst))
    for r in range(1, N_SHOWN + 1):
        expr = flat(evaluate(g.result, DEFINITIONS, {**inst, i: r}))
        out.append(Result(ce, Z[r - 1], expr, one_hot, name=r"\mathrm{CE}"))
    jac = jacobian_derivation()
    for kk in range(1, N_SHOWN + 1):
        of = flat(evaluate(yhat[kk], DEFINITIONS, inst))
        for r in range(1, N_SHOWN + 1):
            expr = flat(evaluate(jac.result, DEFINITIONS, {**inst, k: kk, i: r}))
            out.append(Result(of, Z[r - 1], expr, name=fr"\hat y_{{{kk}}}"))
    return out


# ---- numerics: the stable softmax and cross-entropy --------------------------------------


def _as_logits(z):
    z = np.asarray(z, dtype=float)
    if z.ndim != 1 or z.size < 1:
        raise ValueError(f"logits must be a non-empty vector, got shape {z.shape}")
    return z


def naive_softmax(z):
    """Softmax exactly as eq. (1) is written: overflows to ``nan`` at logits of ±1000."""
    z = _as_logits(z)
    with np.errstate(over="ignore", invalid="ignore"):
        e = np.exp(z)
        return e / e.sum()


def logsumexp(z):
    """log Σ e^{z_j}, computed as m + log Σ e^{z_j − m} with m = max z (proved by :func:`logsumexp_derivation`)."""
    z = _as_logits(z)
    m_ = z.max()
    return m_ + np.log(np.exp(z - m_).sum())


def softmax(z):
    """Softmax computed as softmax(z − max z) (proved by :func:`softmax_shift_derivation`): finite for any finite logits."""
    z = _as_logits(z)
    e = np.exp(z - z.max())
    return e / e.sum()


def _check_target(z, y):
    y = np.asarray(y, dtype=float)
    if y.shape != z.shape:
        raise ValueError(f"target shape {y.shape} does not match logits shape {z.shape}")
    return y


def cross_entropy(z, y):
    """CE(y, softmax(z)) = Σy · logsumexp(z) − y·z, with no log of a rounded-off zero."""
    z = _as_logits(z)
    y = _check_target(z, y)
    return y.sum() * logsumexp(z) - y @ z


def cross_entropy_grad(z, y):
    """∂CE/∂z = ŷ Σy − y (:func:`gradient_derivation` before Σy = 1 is used), accurate to a few
    ulps in relative terms (:func:`ce_grad`): at the true class of a confident prediction it is
    −Σ_{j≠k} ŷ_j, about 1e-17 at a logit gap of 40, which ŷ_k − 1 rounds to 0."""
    z = _as_logits(z)
    y = _check_target(z, y)
    return ce_grad(z, y)


def sum_of_others(v, axis: int = 0):
    """Σ_{j≠i} v_j for every i along ``axis``: the entries before i plus the entries after it,
    each a running sum, never (Σ_j v_j) − v_i, which loses every digit when v_i is most of the sum.

    >>> sum_of_others(np.array([1.0, 1e-20, 2e-20]))
    array([3.e-20, 1.e+00, 1.e+00])
    """
    v = np.moveaxis(np.asarray(v, dtype=float), axis, 0)
    zero = np.zeros_like(v[:1])
    before = np.concatenate((zero, np.cumsum(v[:-1], axis=0)))
    after = np.concatenate((np.cumsum(v[:0:-1], axis=0)[::-1], zero))
    return np.moveaxis(before + after, 0, axis)


def ce_grad(v, y, axis: int = 0):
    r"""ŷ Σy − y along ``axis`` (ŷ = softmax of ``v`` there), computed as

    .. math:: \frac{e_i \sum_{j \ne i} y_j - y_i \sum_{j \ne i} e_j}{\sum_j e_j}, \qquad e = \exp(v - \max v),

    the same number in exact arithmetic (multiply out :math:`e_i \sum_j y_j - y_i \sum_j e_j`).
    For a one-hot target one of the two terms is 0, so no digit cancels: every entry is accurate
    in relative terms, the true class's :math:`-\sum_{j \ne k} \hat y_j` too, for logit gaps up
    to about 700 (where :math:`e^{-700}` is near the end of float64's normal range)."""
    v = np.asarray(v, dtype=float)
    y = np.asarray(y, dtype=float)
    e = np.exp(v - v.max(axis=axis, keepdims=True))
    return (e * sum_of_others(y, axis) - y * sum_of_others(e, axis)) / e.sum(axis=axis, keepdims=True)


def log_softmax(v, axis: int = 0):
    """log softmax(v) along ``axis``, as v − max v − log Σ e^{v − max v}: finite where softmax
    rounds an entry to 0 (a logit gap beyond about 745), so a cross-entropy never reads log 0."""
    v = np.asarray(v, dtype=float)
    shifted = v - v.max(axis=axis, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))


@functools.cache
def numeric_checks() -> list[CheckTable]:
    """The derived results against independent oracles, and the stable form at extreme logits."""
    tables = [crosscheck(results(), points=5, seed=0,
                         title="∂CE/∂z_i and ∂ŷ_k/∂z_i (n = 3) against independent oracles")]
    tables.append(extreme_logits_table())
    return tables


def extreme_logits_table() -> CheckTable:
    """Stable vs naive softmax/CE at logits of ±1000, against mpmath at 50 digits."""
    import mpmath

    table = CheckTable("Stable softmax and CE at extreme logits (reference: mpmath, 50 digits)",
                       ["logits", "naive softmax finite", "stable max error", "CE error", "∇CE error"],
                       note="The stable rows must be finite and within 1e-12 of the reference.")
    target = np.array([0.0, 1.0, 0.0])
    for logits in ([1000.0, -1000.0, 0.0], [-1000.0, -999.0, -1001.0], [1000.0, 1000.0, 999.0],
                   [0.5, -0.3, 2.0]):
        zz = np.array(logits)
        with mpmath.workdps(50):
            ez = [mpmath.exp(mpmath.mpf(v)) for v in logits]
            ref_p = [e / mpmath.fsum(ez) for e in ez]
            ref_ce = -mpmath.log(ref_p[1])
            ref_g = [p - t for p, t in zip(ref_p, target)]
        p_err = max(abs(float(a - b)) for a, b in zip(softmax(zz), ref_p))
        ce_err = abs(float(cross_entropy(zz, target) - ref_ce)) / max(1.0, abs(float(ref_ce)))
        g_err = max(abs(float(a - b)) for a, b in zip(cross_entropy_grad(zz, target), ref_g))
        naive_ok = bool(np.isfinite(naive_softmax(zz)).all())
        ok = max(p_err, ce_err, g_err) <= 1e-12
        table.rows.append({"logits": str(logits), "naive softmax finite": "yes" if naive_ok else "no (nan)",
                           "stable max error": p_err, "CE error": ce_err, "∇CE error": g_err,
                           "passed": ok})
    return table
