r"""The Gumbel-softmax (Concrete) distribution: its gradients, its density, and the
straight-through estimator's bias.

Notation (classes numbered :math:`1 … n`, column vectors):

- :math:`l \in \mathbb{R}^n` logits, :math:`\pi_i = e^{l_i}` (up to a positive factor);
- :math:`g_1, \dots, g_n` independent standard Gumbel noise (:mod:`derivations.gumbel_max`);
- :math:`\tau > 0` the temperature, :math:`s = (l + g)/\tau` and
  :math:`y = \operatorname{softmax}(s)` the relaxed sample (Jang et al. eq. 2), a point of the
  simplex :math:`\Delta^{n-1}`;
- :math:`z = \operatorname{one\_hot}(\operatorname{argmax}_i (l_i + g_i))` the hard sample (eq. 1).

Derived and checked here:

- :math:`\partial y_i/\partial l_j = y_i(\delta_{ij} - y_j)/\tau`, i.e.
  :math:`(\operatorname{diag}(y) - y y^\top)/\tau`, from the softmax Jacobian of
  :mod:`derivations.softmax_ce`, and
  :math:`\partial y_i/\partial\tau = -y_i(s_i - \sum_m y_m s_m)/\tau`;
- the density over the :math:`n - 1` free coordinates by a change of variables: the log-ratios
  :math:`u_i = (l_i + g_i) - (l_n + g_n)` have density
  :math:`\Gamma(n)\prod_i c_i/(1 + \sum_i c_i)^n`, :math:`c_i = e^{l_i - l_n - u_i}` (an integral
  over :math:`g_n`); :math:`y = h(u)` with :math:`h^{-1}(y)_i = \tau(\log y_i - \log y_n)`, whose
  Jacobian determinant SymPy computes at :math:`n = 2, 3, 4`; the product is Jang et al. eq. 3,

  .. math:: p_{\pi,\tau}(y) = \Gamma(n)\,\tau^{n-1}\Big(\sum_{i=1}^n \pi_i y_i^{-\tau}\Big)^{-n}
            \prod_{i=1}^n \pi_i y_i^{-\tau-1}.

Numerics: a sampler that refuses :math:`\tau \le 0` and bad logits with one clear error and never
returns inf or NaN; the density and an independently written log-space (ExpConcrete) form; the
straight-through, relaxed and score-function gradient estimators of :math:`\nabla_l E[f(z)]`.

Examples
--------
>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> y = sample(np.log([0.2, 0.3, 0.5]), 0.5, rng, 4)
>>> y.shape, bool(np.allclose(y.sum(axis=1), 1.0))
((4, 3), True)
>>> sample(np.zeros(3), 0.0, rng, 1)
Traceback (most recent call last):
...
ValueError: the temperature must be a finite number > 0, got 0.0
"""

from __future__ import annotations

import copy
import functools

import mpmath
import numpy as np
import sympy as sp

from . import gumbel_max, sigmoid_neuron, softmax_ce
from .core import Change, Condition, Derivation, Result, evaluate, indexed, notation, sym
from .core import shown_product as _mul
from .oracles import CheckTable, crosscheck

TITLE = "Gumbel-softmax (Concrete): its Jacobians, its density by change of variables, straight-through bias"

#: Class counts at which the Jacobian with respect to the logits is checked …
SIZES = range(2, 6)
#: … and the derivative with respect to τ (its expansions grow fastest with n).
TAU_SIZES = range(2, 5)
#: Class counts at which the density derivation is checked (the determinant at each).
DENSITY_SIZES = (2, 3, 4)
#: The class count shown on the page for the determinant.
N_SHOWN = 3

# ---- symbols (each made in one place) -----------------------------------------------------
n = sym("n", meaning="number of classes", integer=True, positive=True)
i, j, m, r = (sym(v, integer=True, positive=True) for v in "ijmr")
notation(i, r"index of a class, $1 \le i \le n$")
notation(j, r"index of a class, $1 \le j \le n$")
notation(m, r"index of a class in a sum, $1 \le m \le n$")
tau = sym("tau", r"\tau", meaning="temperature", shape="scalar", positive=True)
l = indexed("l", "l", meaning="logits", shape=r"${n \times 1}$",
            real=True)  # noqa: E741 (the papers' name for the logits)
g = indexed("g", "g", meaning="independent standard Gumbel noise", shape=r"${n \times 1}$", real=True)
s = indexed("s", "s", meaning=r"perturbed logits over the temperature, $s = (l + g)/\tau$", shape=r"${n \times 1}$",
            real=True)
y = indexed("y", "y", meaning=r"relaxed sample $\operatorname{softmax}(s)$, a point of the simplex "
            r"$\Delta^{n-1}$ (Jang et al. eq. 2)", shape=r"${n \times 1}$", positive=True)
pi = indexed("pi", r"\pi", meaning=r"class weights $\pi_i = e^{l_i}$ (probabilities up to a positive factor)",
             shape=r"${n \times 1}$", positive=True)
u = indexed("u", "u", meaning="log-ratios $u_i = (l_i + g_i) - (l_n + g_n)$, $i < n$", shape=r"${(n-1) \times 1}$",
            real=True)
c = indexed("c", "c", meaning="$c_i = e^{l_i - l_n - u_i}$, $i < n$", shape=r"${(n-1) \times 1}$", positive=True)
w = sym("w", meaning="the value of $g_n$ (integration variable)", shape="scalar", real=True)
t = sym("t", meaning="integration variable after the substitution $t = e^{-w}$", shape="scalar", positive=True)
p_U = sym("p_U", r"p_U(u)", meaning="density of the log-ratios $u$", shape="scalar", positive=True)
p_Y = sym("p_Y", r"p_{\pi,\tau}(y)", meaning="density of $y$ over its $n - 1$ free coordinates (Jang et al. eq. 3)",
          shape="scalar", positive=True)
notation(gumbel_max.f, "standard Gumbel density, as on the Gumbel-max page")

#: s_m := (l_m + g_m)/τ, y_i := e^{s_i}/Σ_r e^{s_r}  (Jang et al. eq. 2)
DEFINITIONS = {s: sp.Lambda(m, (l[m] + g[m]) / tau),
               y: sp.Lambda(i, sp.exp(s[i]) / sp.Sum(sp.exp(s[r]), (r, 1, n)))}



def _instances():
    """n = 2 … 5 with (i, j) = (1, 1) and (1, n): a diagonal and an off-diagonal entry; every other
    entry is one of these after relabelling the classes."""
    return [{n: size, i: 1, j: jj} for size in SIZES for jj in (1, size)]


def _softmax_jacobian(row, col):
    """∂y_row/∂s_col, taken from softmax_ce's derived Jacobian ŷ_k(δ_ki − ŷ_i) (not derived again)."""
    sc = softmax_ce
    return sc.jacobian_derivation().result.xreplace({sc.yhat[sc.k]: y[row], sc.yhat[sc.i]: y[col],
                                                     sc.k: row, sc.i: col})


@functools.cache
def jacobian_derivation() -> Derivation:
    """∂y_i/∂l_j = y_i(δ_ij − y_j)/τ."""
    dd = Derivation("gumbel_softmax_jacobian", "The Jacobian with respect to the logits",
                    sp.Derivative(y[i], l[j]), definitions=DEFINITIONS, instances=_instances(),
                    label="gumbel-softmax-jacobian")
    dd.step(sp.Sum(_mul(sp.Derivative(y[i], s[m]), sp.Derivative(s[m], l[j])), (m, 1, n)),
            "chain rule through $s$")
    dd.step(sp.Sum(_mul(_softmax_jacobian(i, m), sp.KroneckerDelta(m, j) / tau), (m, 1, n)),
            r"the softmax Jacobian (softmax and cross-entropy page); $\partial s_m/\partial l_j = \delta_{mj}/\tau$")
    dd.step(y[i] * (sp.KroneckerDelta(i, j) - y[j]) / tau, r"$\delta_{mj}$ keeps only $m = j$")
    return dd


@functools.cache
def tau_derivation() -> Derivation:
    """∂y_i/∂τ = −y_i(s_i − Σ_m y_m s_m)/τ."""
    dd = Derivation("gumbel_softmax_dtau", "The derivative with respect to the temperature",
                    sp.Derivative(y[i], tau), definitions=DEFINITIONS, instances=[
                        {n: size, i: 1} for size in TAU_SIZES],  # any class is class 1 after relabelling
                    label="gumbel-softmax-dtau")
    dd.step(sp.Sum(_mul(sp.Derivative(y[i], s[m]), sp.Derivative(s[m], tau)), (m, 1, n)),
            r"chain rule through $s$")
    dd.step(sp.Sum(_mul(_softmax_jacobian(i, m), -s[m] / tau), (m, 1, n)),
            r"softmax Jacobian; $\partial s_m/\partial \tau = -(l_m + g_m)/\tau^2 = -s_m/\tau$")
    dd.step(-y[i] * (s[i] - sp.Sum(y[m] * s[m], (m, 1, n))) / tau, r"$\delta_{im}$ keeps only $m = i$")
    return dd


# ---- the density, by change of variables ------------------------------------------------------

#: c_i := e^{l_i − l_n − u_i}
RATIOS = {c: sp.Lambda(i, sp.exp(l[i] - l[n] - u[i]))}


@functools.cache
def log_ratio_density_derivation() -> Derivation:
    r"""The density of u_i = (l_i + g_i) − (l_n + g_n), i < n: integrate out g_n = w."""
    f = gumbel_max.f
    gm = {gumbel_max.F: gumbel_max.GUMBEL_CDF, f: gumbel_max.GUMBEL_PDF}
    dw = (w, -sp.oo, sp.oo)
    prod_c = sp.Product(c[i], (i, 1, n - 1))
    sum_c = sp.Sum(c[i], (i, 1, n - 1))
    dd = Derivation("concrete_log_ratios", "The density of the log-ratios u",
                    sp.Integral(_mul(f(w), sp.Product(f(w + l[n] - l[i] + u[i]), (i, 1, n - 1))), dw),
                    definitions={**gm, **RATIOS}, instances=[{n: v} for v in DENSITY_SIZES], lhs=p_U,
                    label="concrete-log-ratios")
    dd.step(sp.Integral(_mul(prod_c, sp.exp(-n * w), sp.exp(-sp.exp(-w) * (1 + sum_c))), dw),
            r"$f(v) = e^{-v}\exp(-e^{-v})$ and $e^{-(w + l_n - l_i + u_i)} = c_i e^{-w}$")
    dd.step(sp.Integral(_mul(prod_c, t ** (n - 1), sp.exp(-t * (1 + sum_c))), (t, 0, sp.oo)),
            r"substitute $t = e^{-w}$: $e^{-nw}\,dw = -t^{n-1} dt$", change=Change(w, t, sp.exp(-w)))
    dd.step(sp.gamma(n) * prod_c / (1 + sum_c) ** n,
            r"$\int_0^\infty t^{n-1} e^{-bt}\, dt = \Gamma(n)/b^n$ (SymPy integrates)")
    return dd


def _free_coordinates(size):
    """y_1 … y_n as plain positive symbols; y_n is a definition, 1 − Σ_{j<n} y_j."""
    ys = [sym(f"y{v}", f"y_{{{v}}}", meaning="an entry of $y$ at a concrete size (the last is 1 minus the others)",
              shape="scalar", positive=True) for v in range(1, size + 1)]
    return ys, {ys[-1]: 1 - sum(ys[:-1])}


SIMPLEX = Condition(sp.Eq(sp.Sum(y[i], (i, 1, n)), 1), ())


@functools.cache
def determinant_derivation(size: int = N_SHOWN) -> Derivation:
    r"""The absolute Jacobian determinant of h⁻¹ over y_1 … y_{n−1} is τ^{n−1} Π_j 1/y_j at one size, with u_i = τ(log y_i − log y_n)."""
    ys, last = _free_coordinates(size)
    us = [tau * (sp.log(ys[a]) - sp.log(ys[-1])) for a in range(size - 1)]
    us_syms = [sym(f"u{v}", f"u_{{{v}}}", meaning="an entry of $u$ at a concrete size", shape="scalar", real=True)
               for v in range(1, size)]
    defs = {**last, **dict(zip(us_syms, us))}
    k1 = size - 1
    jac = sp.ImmutableMatrix(k1, k1, lambda a, b: sp.Derivative(us_syms[a], ys[b]))
    dd = Derivation(f"concrete_determinant_{size}", f"The Jacobian determinant of the inverse map (n = {size})",
                    sp.Determinant(jac), definitions=defs, label=f"concrete-determinant-{size}")
    entries = sp.ImmutableMatrix(k1, k1, lambda a, b: tau * ((1 / ys[a] if a == b else 0) + 1 / ys[-1]))
    dd.step(sp.Determinant(entries),
            rf"$u_i = \tau(\log y_i - \log y_{{{size}}})$ and $\partial y_{{{size}}}/\partial y_j = -1$")
    dd.step(_mul(tau ** k1, sp.Mul(*[1 / v for v in ys[:-1]]), 1 + sum(v for v in ys[:-1]) / ys[-1]),
            r"$\det(D + b\mathbf{1}\mathbf{1}^\top) = \det D\,(1 + b\mathbf{1}^\top D^{-1}\mathbf{1})$")
    dd.step(tau ** k1 * sp.Mul(*[1 / v for v in ys]),
            rf"$1 + \sum_{{j<{size}}} y_j/y_{{{size}}} = 1/y_{{{size}}}$ because $\sum_j y_j = 1$")
    return dd


@functools.cache
def inverse_derivation() -> Derivation:
    r"""h(h⁻¹(y)) = y: the map u ↦ y is inverted by u_i = τ(log y_i − log y_n)."""
    inv = sp.Lambda(i, tau * (sp.log(y[i]) - sp.log(y[n])))
    last = Condition(sp.Eq(sp.Sum(y[j], (j, 1, n)), 1), (sp.Eq(y[n], 1 - sp.Sum(y[j], (j, 1, n - 1))),))
    dd = Derivation("concrete_inverse", "The inverse of the map from u to y",
                    sp.exp(u[i] / tau) / (1 + sp.Sum(sp.exp(u[j] / tau), (j, 1, n - 1))),
                    definitions={u: inv}, instances=[{n: v, i: 1} for v in DENSITY_SIZES],
                    label="concrete-inverse")
    dd.step((y[i] / y[n]) / (1 + sp.Sum(y[j] / y[n], (j, 1, n - 1))),
            r"$u_i := \tau(\log y_i - \log y_n)$, so $e^{u_i/\tau} = y_i/y_n$")
    dd.step(_mul(y[i] / y[n], y[n]), r"$1 + \sum_{j<n} y_j/y_n = 1/y_n$", given=[last])
    dd.step(y[i], r"cancel $y_n$")
    return dd


@functools.cache
def ratio_derivation() -> Derivation:
    r"""c_i = e^{l_i − l_n − u_i} at u = h⁻¹(y) and l = log π is π_i y_n^τ / (π_n y_i^τ)."""
    at_inverse = {l: sp.Lambda(i, sp.log(pi[i])), u: sp.Lambda(i, tau * (sp.log(y[i]) - sp.log(y[n])))}
    dd = Derivation("concrete_ratio", "The ratios at the inverse map", c[i],
                    definitions={**RATIOS, **at_inverse},  # for symbolic i and n: no sum, no size
                    label="concrete-ratio")
    dd.step(sp.exp(sp.log(pi[i]) - sp.log(pi[n]) - tau * (sp.log(y[i]) - sp.log(y[n]))),
            r"$c_i := e^{l_i - l_n - u_i}$ with $l_i = \log\pi_i$ and $u_i = \tau(\log y_i - \log y_n)$")
    dd.step(pi[i] * y[n] ** tau / (pi[n] * y[i] ** tau), r"$e^{\log a} = a$ and $e^{\tau \log y} = y^\tau$")
    return dd


@functools.cache
def density_derivation() -> Derivation:
    r"""p(y) = p_U(h⁻¹(y)) times the Jacobian determinant of h⁻¹: Jang et al. eq. 3."""
    p_u = log_ratio_density_derivation().result
    ratio = sp.Lambda(i, ratio_derivation().result)
    det = tau ** (n - 1) * sp.Product(1 / y[j], (j, 1, n))
    dd = Derivation("concrete_density", "The Concrete density (Jang et al. eq. 3)", _mul(p_u, det),
                    definitions={c: ratio}, instances=[{n: v} for v in DENSITY_SIZES], lhs=p_Y,
                    label="concrete-density")
    ratio_shown = ratio_derivation().result
    dd.step(_mul(sp.gamma(n), tau ** (n - 1),
                 sp.Product(ratio_shown, (i, 1, n - 1)) / (1 + sp.Sum(ratio_shown, (i, 1, n - 1))) ** n,
                 sp.Product(1 / y[j], (j, 1, n))),
            r"$c_i = \pi_i y_n^\tau / (\pi_n y_i^\tau)$ at $u = h^{-1}(y)$")
    dd.step(JANG_EQ3, r"multiply above and below by $(\pi_n / y_n^{\tau})^{n}$")
    return dd


#: Jang et al. eq. 3 as the derivation ends: Γ(n) τ^{n−1} (Σ π_i y_i^{−τ})^{−n} Π π_i y_i^{−τ−1}.
JANG_EQ3 = _mul(sp.gamma(n), tau ** (n - 1), sp.Sum(pi[i] / y[i] ** tau, (i, 1, n)) ** (-n),
                sp.Product(pi[i] / y[i] ** (tau + 1), (i, 1, n)))


def derivations() -> list[Derivation]:
    """Every derivation of this topic, in reading order (the determinant at every checked size)."""
    return [jacobian_derivation(), tau_derivation(), log_ratio_density_derivation(), inverse_derivation(),
            *[determinant_derivation(v) for v in DENSITY_SIZES], ratio_derivation(), density_derivation()]


# ---- results: elementwise at n = 3 -------------------------------------------------------------

N_RES = 3
L = [sym(f"l{v}", f"l_{{{v}}}", real=True) for v in range(1, N_RES + 1)]
G = [sym(f"g{v}", f"g_{{{v}}}", real=True) for v in range(1, N_RES + 1)]


def flat(expr):
    """l[r], g[r] → the plain symbols l_r, g_r (published results are scalar)."""
    return expr.xreplace({**{l[v + 1]: L[v] for v in range(N_RES)}, **{g[v + 1]: G[v] for v in range(N_RES)}})


@functools.cache
def results() -> list[Result]:
    """∂y_i/∂l_j and ∂y_i/∂τ at n = 3 (noise g held fixed), from the derivations' last steps."""
    inst = {n: N_RES}
    out = []
    for ii in range(1, N_RES + 1):
        of = flat(evaluate(y[ii], DEFINITIONS, inst))
        for jj in range(1, N_RES + 1):
            expr = flat(evaluate(jacobian_derivation().result, DEFINITIONS, {**inst, i: ii, j: jj}))
            out.append(Result(of, L[jj - 1], expr, name=fr"y_{{{ii}}}"))
        out.append(Result(of, tau, flat(evaluate(tau_derivation().result, DEFINITIONS, {**inst, i: ii})),
                          name=fr"y_{{{ii}}}"))
    return out


# ---- numerics: sampling, the density, estimators ------------------------------------------------


def check_temperature(tau_) -> float:
    """τ as a float, or one clear error: a real number (not a bool, a string or an array), finite, > 0."""
    ok = isinstance(tau_, (int, float, np.integer, np.floating)) and not isinstance(tau_, (bool, np.bool_))
    if not (ok and np.isfinite(tau_) and tau_ > 0):
        raise ValueError(f"the temperature must be a finite number > 0, got {tau_!r}")
    return float(tau_)


def check_logits(logits) -> np.ndarray:
    """Logits as a float vector: finite, or −inf for a class that can never be drawn."""
    lg = np.asarray(logits, dtype=float)
    if lg.ndim != 1 or lg.size < 2:
        raise ValueError(f"logits must be a vector of at least 2 entries, got shape {lg.shape}")
    if np.isnan(lg).any() or np.isposinf(lg).any() or not np.isfinite(lg).any():
        raise ValueError(f"logits must be finite (or -inf for an impossible class), got {lg.tolist()}")
    return lg


def relaxed(perturbed, tau_) -> np.ndarray:
    """softmax(perturbed/τ) along the last axis, shifted by the maximum first, so that no τ > 0
    overflows: the largest entry's exponent is exactly 0."""
    with np.errstate(over="ignore"):  # 1e300 − (−1e300) is −inf after the sign: a zero entry
        sh = perturbed - perturbed.max(axis=-1, keepdims=True)
    with np.errstate(over="ignore"):  # a gap of −inf (or overflowing to it) gives e = 0, as it should
        e = np.exp(sh / tau_)
    return e / e.sum(axis=-1, keepdims=True)


def sample(logits, tau_, rng: np.random.Generator, size: int, *, hard: bool = False, noise=None):
    """``size`` relaxed samples y = softmax((l + g)/τ), shape (size, n); ``hard=True`` returns the
    one-hot argmax instead (the first index on ties). Never inf or NaN: the noise comes from
    :func:`derivations.gumbel_max.sample_gumbel` (U never 0 or 1) and the softmax is shifted."""
    lg = check_logits(logits)
    tau_ = check_temperature(tau_)
    if noise is None:
        noise = gumbel_max.sample_gumbel(rng, (size, lg.size))
    noise = np.asarray(noise, dtype=float)
    if noise.shape != (size, lg.size) or not np.isfinite(noise).all():
        raise ValueError(f"noise must be finite with shape {(size, lg.size)}, got shape {noise.shape}")
    pert = lg + noise
    if hard:
        return np.eye(lg.size)[np.argmax(pert, axis=-1)]
    return relaxed(pert, tau_)


@functools.cache
def _density_function(size: int):
    """Eq. 3 at one size, lambdified from the derivation's last step: f(y₁, …, y_n, π₁, …, π_n, τ)."""
    ys = sp.symbols(f"y1:{size + 1}", positive=True)
    ps = sp.symbols(f"p1:{size + 1}", positive=True)
    expr = evaluate(JANG_EQ3, {}, {n: size}).xreplace(
        {**{y[v + 1]: ys[v] for v in range(size)}, **{pi[v + 1]: ps[v] for v in range(size)}})
    return sp.lambdify((*ys, *ps, tau), expr, "numpy")


def density(yv, probs, tau_):
    """The Concrete density (the derivation's last step) at points of the simplex: ``yv`` has
    shape (..., n); the result has shape (...)."""
    yv = np.asarray(yv, dtype=float)
    p = gumbel_max.check_weights(probs)
    if yv.shape[-1:] != (p.size,):
        raise ValueError(f"points have {yv.shape[-1:] or 'no'} coordinates but there are {p.size} classes")
    if not ((yv > 0).all() and np.allclose(yv.sum(axis=-1), 1.0, rtol=0, atol=1e-9)):
        raise ValueError("points must lie inside the simplex: every coordinate > 0, coordinates summing to 1")
    return _density_function(p.size)(*np.moveaxis(yv, -1, 0), *p, check_temperature(tau_))


def tanh_sinh(h: float = 1 / 32, reach: float = 4.0):
    r"""Nodes x, 1 − x and weights of the tanh-sinh rule on (0, 1): x = σ(π sinh t) at t = kh,
    weight h π cosh t σ′(π sinh t) (the derivative of the node). Endpoint singularities of the
    kind y^{τ(n−1)−1} cost it nothing; 1 − x is computed directly, so no node is ever 0 or 1."""
    tk = np.arange(-reach, reach + h / 2, h)
    v = np.pi * np.sinh(tk)
    x, x1 = sigmoid_neuron.sigmoid(v), sigmoid_neuron.sigmoid(-v)
    return x, x1, h * np.pi * np.cosh(tk) * x * x1


def exp_concrete_log_density(yv, probs, tau_) -> float:
    """log p(y) in log space, written independently of eq. 3: the ExpConcrete log-density of
    x = log y (Maddison et al.), log(n−1)! + (n−1) log τ + Σ(log π_k − τ x_k) − n logsumexp(log π − τ x),
    minus Σ_{k=1}^{n} x_k: the ExpConcrete density is one in the log-ratio coordinates x_k − x_n, and
    the map from y_{1:n−1} to those has Jacobian Π_{j=1}^{n} 1/y_j (the determinant above)."""
    xv = np.log(np.asarray(yv, dtype=float))
    lp = np.log(gumbel_max.check_weights(probs))
    tau_ = check_temperature(tau_)
    size = xv.size
    a = lp - tau_ * xv
    lse = a.max() + np.log(np.exp(a - a.max()).sum())
    return float(np.sum(np.log(np.arange(1, size))) + (size - 1) * np.log(tau_) + a.sum() - size * lse - xv.sum())


# ---- estimators of ∇_l E[f(z)] for a quadratic f -------------------------------------------------

#: f(v) = Σ_i w_i (v_i − c_i)²: the test function of the estimator study (n = 3).
F_WEIGHTS = np.array([1.0, 2.0, 0.5])
F_CENTRE = np.array([0.3, 0.9, 0.1])
#: The logits of the estimator study.
STUDY_LOGITS = np.array([0.5, -0.2, 0.1])


def quadratic(v):
    return np.sum(F_WEIGHTS * (v - F_CENTRE) ** 2, axis=-1)


def quadratic_grad(v):
    return 2 * F_WEIGHTS * (v - F_CENTRE)


def exact_gradient(logits=STUDY_LOGITS) -> np.ndarray:
    r"""∇_l E[f(z)] = (diag(π) − ππᵀ) F with F_k = f(e_k), π = softmax(l): exact (the expectation
    is a finite sum over the n one-hot vectors)."""
    p = softmax_ce.softmax(logits)
    fk = quadratic(np.eye(logits.size))
    return (np.diag(p) - np.outer(p, p)) @ fk


def estimators(tau_, rng: np.random.Generator, samples: int, logits=STUDY_LOGITS) -> dict:
    """Per-sample gradient estimates, shape (samples, n), for one τ and one shared noise draw:
    straight-through (forward one-hot z, backward through y), relaxed (f and its gradient at y)
    and score-function (f(z) ∇ log π_z, unbiased)."""
    noise = gumbel_max.sample_gumbel(rng, (samples, logits.size))
    yv = sample(logits, tau_, rng, samples, noise=noise)
    zv = sample(logits, tau_, rng, samples, noise=noise, hard=True)
    # (∂y/∂l)ᵀ v = (diag(y) − y yᵀ) v / τ (symmetric): y ⊙ (v − y·v)/τ
    def back(v):
        return yv * (v - np.sum(yv * v, axis=1, keepdims=True)) / tau_
    p = softmax_ce.softmax(logits)
    return {"straight-through": back(quadratic_grad(zv)),
            "relaxed": back(quadratic_grad(yv)),
            "score function": quadratic(zv)[:, None] * (zv - p)}


#: Temperatures of the estimator study, and its sample count per temperature.
STUDY_TAUS = (0.1, 0.2, 0.5, 1.0, 2.0, 5.0)
STUDY_SAMPLES = 100_000


@functools.cache
def estimator_study(seed: int = 5) -> dict:
    """Bias (mean estimate − exact gradient), its standard error, and total variance, per τ.

    The study is seeded, so it is run once per seed (the check table and the page's figure use the
    same run); each call gets its own copy."""
    return copy.deepcopy(_estimator_study(seed))


@functools.cache
def _estimator_study(seed: int) -> dict:
    rng = np.random.default_rng(seed)
    exact = exact_gradient()
    out = {"taus": STUDY_TAUS, "exact": exact}
    for tau_ in STUDY_TAUS:
        for name, est in estimators(tau_, rng, STUDY_SAMPLES).items():
            mean = est.mean(axis=0)
            se = est.std(axis=0, ddof=1) / np.sqrt(len(est))
            row = out.setdefault(name, {"bias": [], "se": [], "variance": []})
            row["bias"].append(mean - exact)
            row["se"].append(se)
            row["variance"].append(float(est.var(axis=0, ddof=1).sum()))
    return out


#: Temperatures at which the biased estimators' bias must be resolved (beyond 4 standard errors).
BIAS_RESOLVED = (0.2, 0.5, 1.0, 2.0, 5.0)


def estimator_table() -> CheckTable:
    """The score-function estimator is unbiased (its mean within 4 standard errors of the exact
    gradient at every τ); straight-through and relaxed are biased (some component beyond 4
    standard errors) at every τ in :data:`BIAS_RESOLVED`. At τ = 0.1 their bias is smaller than
    :data:`STUDY_SAMPLES` samples resolve, and no claim is made."""
    st = estimator_study()
    table = CheckTable(f"Gradient estimators of ∇ₗE[f(z)], {STUDY_SAMPLES:,} samples per τ",
                       ["estimator", "τ", "max |bias| / standard error", "claim"],
                       note="An 'unbiased' row passes when every component of the mean estimate is within "
                            "4 standard errors of the exact gradient; a 'biased' row when some component "
                            "is beyond 4.")
    for name in ("score function", "straight-through", "relaxed"):
        for k_, tau_ in enumerate(st["taus"]):
            ratio = float(np.max(np.abs(st[name]["bias"][k_]) / st[name]["se"][k_]))
            if name == "score function":
                claim, ok = "unbiased", ratio <= 4
            elif tau_ in BIAS_RESOLVED:
                claim, ok = "biased", ratio > 4
            else:
                continue
            table.rows.append({"estimator": name, "τ": tau_, "max |bias| / standard error": ratio,
                               "claim": claim, "passed": ok})
    return table


# ---- the density against numbers ------------------------------------------------------------------


def density_table() -> CheckTable:
    """Eq. 3 integrates to 1 on the simplex (n = 2, 3), and equals the log-space form."""
    table = CheckTable("The Concrete density against numbers", ["check", "π", "τ", "value", "error"],
                       note="Integrals by the tanh-sinh rule (error ≤ 1e-8 to pass); the log-space form "
                            "at 20 seeded random points of the simplex per size (relative error ≤ 1e-12).")
    x, x1, wt = tanh_sinh()
    for probs, tau_ in (([0.3, 0.7], 0.5), ([0.3, 0.7], 2.0), ([0.6, 0.4], 1.0)):
        val = float(np.sum(wt * density(np.stack([x, x1], axis=-1), probs, tau_)))
        table.rows.append({"check": "∫ p dy₁ over (0, 1)", "π": str(probs), "τ": tau_, "value": val,
                           "error": abs(val - 1), "passed": abs(val - 1) <= 1e-8})
    A, B = np.meshgrid(x, x, indexing="ij")
    A1, B1 = np.meshgrid(x1, x1, indexing="ij")
    pts = np.stack([A, B * A1, B1 * A1], axis=-1)  # y = (a, b(1 − a), (1 − b)(1 − a)), |J| = 1 − a
    for probs, tau_ in (([0.2, 0.3, 0.5], 1.0), ([0.2, 0.3, 0.5], 0.7)):
        val = float(np.sum(np.outer(wt, wt) * A1 * density(pts, probs, tau_)))
        table.rows.append({"check": "∫∫ p over the 2-simplex", "π": str(probs), "τ": tau_, "value": val,
                           "error": abs(val - 1), "passed": abs(val - 1) <= 1e-8})
    rng = np.random.default_rng(9)
    for size in (2, 3, 4):
        worst = 0.0
        for _ in range(20):
            probs = rng.dirichlet(np.ones(size))
            pt = rng.dirichlet(np.ones(size))
            tau_ = float(rng.uniform(0.2, 3))
            ref = exp_concrete_log_density(pt, probs, tau_)
            worst = max(worst, abs(float(np.log(density(pt, probs, tau_))) - ref) / max(1, abs(ref)))
        table.rows.append({"check": f"log p = ExpConcrete form (n = {size})", "π": "random", "τ": "random",
                           "value": "", "error": worst, "passed": worst <= 1e-12})
    return table


def histogram_table(seed: int = 4) -> CheckTable:
    """Samples of y₁ (n = 2) against the density integrated over each bin (chi-square)."""
    table = CheckTable("Samples against the density (n = 2, 200,000 seeded samples, 20 bins)",
                       ["π", "τ", "chi-square", "p-value"],
                       note=f"A row passes when its p-value is at least {gumbel_max.P_MIN:g}.")
    rng = np.random.default_rng(seed)
    edges = np.linspace(0, 1, 21)
    x, x1, wt = tanh_sinh()
    for probs, tau_ in (([0.3, 0.7], 0.5), ([0.3, 0.7], 2.0)):
        y1 = sample(np.log(probs), tau_, rng, gumbel_max.MC_SAMPLES)[:, 0]
        mass = []
        for lo, hi in zip(edges[:-1], edges[1:]):
            a_ = lo + (hi - lo) * x  # the rule mapped onto the bin; 1 − a_ from the far end
            mass.append(float((hi - lo) * np.sum(wt * density(np.stack([a_, (1 - hi) + (hi - lo) * x1], -1),
                                                             probs, tau_))))
        stat, _, p = gumbel_max.chi_square(np.histogram(y1, bins=edges)[0], mass)
        table.rows.append({"π": str(probs), "τ": tau_, "chi-square": stat, "p-value": p,
                           "passed": p >= gumbel_max.P_MIN})
    return table


@functools.cache
def numeric_checks() -> list[CheckTable]:
    """The Jacobians against independent oracles; the density against quadrature, the log-space
    form and samples; the estimators' bias."""
    return [crosscheck(results(), points=4, seed=0,
                       title="∂y_i/∂l_j and ∂y_i/∂τ (n = 3) against independent oracles"),
            density_table(), histogram_table(), estimator_table()]
