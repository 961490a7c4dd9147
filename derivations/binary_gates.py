r"""Binary-valued LSTM gates (G2-LSTM, Li et al. 2018): the gate as a two-class Gumbel-softmax,
the probability that it is nearly open, its gradient, and the cell that uses it.

Notation (one gate unit; the cell's vectors are as in :mod:`derivations.lstm_gates`):

- :math:`\alpha` the gate's pre-activation (its logit), :math:`\tau > 0` the temperature;
- :math:`U` uniform on :math:`(0, 1)` and :math:`L = \log U - \log(1 - U)` logistic noise
  (:mod:`derivations.gumbel_max`); :math:`g_1, g_2` independent standard Gumbels;
- the gate :math:`G(\alpha, \tau) = \sigma((\alpha + L)/\tau)`.

Derived and checked here:

- :math:`G` is the first coordinate of a two-class Gumbel-softmax sample with logits
  :math:`(\alpha, 0)`: :math:`\sigma((\alpha + g_1 - g_2)/\tau)`, and :math:`g_1 - g_2` is
  logistic like :math:`L`;
- its law: :math:`P(G \le \sigma(w)) = \sigma(\tau w - \alpha)`, so
  :math:`P(G \ge 1 - \varepsilon) = \sigma(\alpha - \tau\log(1/\varepsilon - 1))`; and for
  :math:`0 < \varepsilon < 1/2` the bounds
  :math:`\sigma(\alpha) - (\tau/4)\log(1/\varepsilon) \le P(G \ge 1 - \varepsilon) \le \sigma(\alpha)`,
  each gap written as an expression whose sign SymPy certifies (an integral of
  :math:`(\sigma - \tfrac12)^2` or of :math:`\sigma(1 - \sigma)`, plus :math:`-\log(1 - \varepsilon)`),
  after proving :math:`\tfrac14 - \sigma' = (\sigma - \tfrac12)^2`: σ is ¼-Lipschitz;
- :math:`\partial G/\partial\alpha = G(1 - G)/\tau` and
  :math:`\partial G/\partial\tau = -G(1 - G)(\alpha + L)/\tau^2` with the noise held fixed, and the
  G2-LSTM cell's :math:`\partial c_t/\partial a^i = z_t\, i_t(1 - i_t)/\tau`,
  :math:`\partial c_t/\partial a^f = c_{t-1} f_t(1 - f_t)/\tau`.

Numerics: the G2-LSTM is :func:`derivations.lstm_gates.forward` and
:func:`~derivations.lstm_gates.backward` with noise added to the input and forget gates and their
temperature (one implementation of the cell); :func:`train` fits it and the standard LSTM to a
toy memory task; :func:`round_gate_weights` is the authors' compression test.

Examples
--------
>>> import numpy as np
>>> float(tail_probability(alpha=0.0, tau=1.0, eps=0.25))      # σ(−log 3) = 1/4
0.25
>>> tail_probability(alpha=0.0, tau=0.0, eps=0.1)
Traceback (most recent call last):
...
ValueError: the temperature tau must be a finite number > 0, got 0.0
>>> tail_probability(alpha=0.0, tau=1.0, eps=0.5)
Traceback (most recent call last):
...
ValueError: epsilon must lie in the open interval (0, 1/2), got 0.5
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import sympy as sp

from . import gumbel_max, lstm_gates
from .core import Derivation, Result, notation, sym
from .core import shown_product as _mul
from .oracles import CheckTable, crosscheck, whole_gradient_table

TITLE = "Binary-valued LSTM gates (G2-LSTM): the gate's law and bounds, its gradient, trained on a memory task"

# ---- symbols (each made in one place) -----------------------------------------------------
alpha = sym("alpha", r"\alpha", meaning="pre-activation (logit) of a gate", shape="scalar", real=True)
tau = sym("tau", r"\tau", meaning="temperature", shape="scalar", positive=True)
L = sym("noise", "L", meaning=r"logistic noise, $L = \log U - \log(1 - U)$ with $U$ uniform on $(0, 1)$",
        shape="scalar", real=True)
g1 = sym("g1", "g_1", meaning="standard Gumbel noise added to the logit $\\alpha$", shape="scalar", real=True)
g2 = sym("g2", "g_2", meaning="standard Gumbel noise added to the logit $0$", shape="scalar", real=True)
G = sym("G", meaning=r"the binary-valued gate, $G = \sigma((\alpha + L)/\tau)$", shape="scalar", real=True)
y1 = sym("y1", "y_1", meaning=r"first coordinate of a two-class Gumbel-softmax sample with logits $(\alpha, 0)$",
         shape="scalar", real=True)
w = sym("w", meaning=r"a logit: the threshold $\sigma(w)$ at which the gate's CDF is taken", shape="scalar",
        real=True)
eps = sym("epsilon", r"\varepsilon", meaning=r"distance from 1 at which the gate counts as open, "
          r"$0 < \varepsilon < 1/2$", shape="scalar", positive=True)
u = sym("u", meaning=r"argument of $\sigma$", shape="scalar", real=True)
v = sym("v", meaning="integration variable", shape="scalar", real=True)
d = sym("d", meaning=r"the shift $\tau\log(1/\varepsilon - 1)$, $\ge 0$ for $\varepsilon \le 1/2$",
        shape="scalar", real=True)
P_cdf = sym("P_cdf", r"P\left(G \le \sigma(w)\right)", meaning=r"the gate's distribution function at $\sigma(w)$",
            shape="scalar")
P_open = sym("P_open", r"P\left(G \ge 1 - \varepsilon\right)", meaning="probability that the gate is nearly open",
             shape="scalar")
gap_up = sym("gap_up", r"\sigma(\alpha) - P\left(G \ge 1 - \varepsilon\right)",
             meaning="the gap below the upper bound", shape="scalar")
gap_low = sym("gap_low", r"P\left(G \ge 1 - \varepsilon\right) - \left(\sigma(\alpha) - "
              r"\tfrac{\tau}{4}\log\tfrac{1}{\varepsilon}\right)", meaning="the gap above the lower bound",
              shape="scalar")
# the G2-LSTM cell, one unit (the rest of the cell is lstm_gates')
a_i = sym("a_i", "a^i", meaning="pre-activation of the input gate (one unit)", shape="scalar", real=True)
a_f = sym("a_f", "a^f", meaning="pre-activation of the forget gate (one unit)", shape="scalar", real=True)
L_i = sym("noise_i", "L_i", meaning="logistic noise of the input gate (one unit)", shape="scalar", real=True)
L_f = sym("noise_f", "L_f", meaning="logistic noise of the forget gate (one unit)", shape="scalar", real=True)
i_g = sym("i_g", "i", meaning=r"input gate, $\sigma((a^i + L_i)/\tau)$", shape="scalar", real=True)
f_g = sym("f_g", "f", meaning=r"forget gate, $\sigma((a^f + L_f)/\tau)$", shape="scalar", real=True)
z = sym("z", meaning=r"block input, $\tanh(a^z)$ (one unit)", shape="scalar", real=True)
c_prev = sym("c_prev", "c_{t-1}", meaning="previous cell state (one unit)", shape="scalar", real=True)
c = sym("c", "c_t", meaning=r"cell state, $c_t = f c_{t-1} + i z$ (one unit)", shape="scalar", real=True)

sigma = gumbel_max.sigma
notation(sigma, r"logistic sigmoid, $\sigma(u) = 1/(1 + e^{-u})$")

#: σ(u) := 1/(1 + e^{−u}) (part 1's σ); G := σ((α + L)/τ); d := τ(log(1 − ε) − log ε).
LOGISTIC = sp.Lambda(u, 1 / (1 + sp.exp(-u)))
DEFINITIONS = {sigma: LOGISTIC, G: sigma((alpha + L) / tau), d: tau * (sp.log(1 - eps) - sp.log(eps))}
CELL_DEFINITIONS = {sigma: LOGISTIC, i_g: sigma((a_i + L_i) / tau), f_g: sigma((a_f + L_f) / tau),
                    c: f_g * c_prev + i_g * z}


# ---- derivations --------------------------------------------------------------------------


@functools.cache
def two_class_derivation() -> Derivation:
    r"""The first coordinate of a two-class Gumbel-softmax sample with logits (α, 0) is σ of the
    logit plus a difference of Gumbels, over τ."""
    ea = sp.exp((alpha + g1) / tau)
    dd = Derivation("g2_two_class", "The gate is a two-class Gumbel-softmax", ea / (ea + sp.exp((0 + g2) / tau)),
                    definitions=DEFINITIONS, lhs=y1, label="binary-gates-two-class")
    dd.step(1 / (1 + sp.exp(-(alpha + g1 - g2) / tau)), r"divide above and below by $e^{(\alpha + g_1)/\tau}$")
    dd.step(sigma((alpha + g1 - g2) / tau), r"definition of $\sigma$")
    return dd


@functools.cache
def cdf_derivation() -> Derivation:
    r"""P(G ≤ σ(w)) = P(L ≤ τw − α) = σ(τw − α): σ is increasing and L has CDF σ."""
    dd = Derivation("g2_cdf", "The gate's distribution function", sigma(tau * w - alpha),
                    definitions=DEFINITIONS, lhs=P_cdf, label="binary-gates-cdf")
    dd.step(1 / (1 + sp.exp(alpha - tau * w)), r"definition of $\sigma$")
    dd.step(1 / (1 + sp.exp(alpha) * sp.exp(-tau * w)), r"$e^{p + q} = e^p e^q$")
    return dd


@functools.cache
def tail_derivation() -> Derivation:
    r"""P(G ≥ 1 − ε) = 1 − P(G ≤ σ(w)) at σ(w) = 1 − ε, i.e. w = log(1/ε − 1)."""
    wd = sp.log(1 / eps - 1)
    dd = Derivation("g2_tail", r"The probability that the gate is nearly open", 1 - sigma(tau * wd - alpha),
                    definitions=DEFINITIONS, lhs=P_open, label="binary-gates-tail")
    dd.step(1 - 1 / (1 + sp.exp(alpha - tau * wd)), r"definition of $\sigma$")
    dd.step(sp.exp(alpha - tau * wd) / (1 + sp.exp(alpha - tau * wd)), "one fraction")
    dd.step(1 / (1 + sp.exp(-(alpha - tau * wd))), r"divide above and below by $e^{\alpha - \tau\log(1/\varepsilon - 1)}$")
    dd.step(sigma(alpha - tau * wd), r"definition of $\sigma$")
    return dd


@functools.cache
def slope_derivation() -> Derivation:
    r"""¼ − σ′(u) = (σ(u) − ½)²: σ′ is at most ¼ (at u = 0), so σ is ¼-Lipschitz."""
    dd = Derivation("g2_sigmoid_slope", r"The sigmoid's slope is at most 1/4",
                    sp.Rational(1, 4) - sp.Derivative(sigma(u), u), definitions=DEFINITIONS,
                    label="binary-gates-slope")
    dd.step(sp.Rational(1, 4) - _mul(sigma(u), 1 - sigma(u)), r"$\sigma' = \sigma(1 - \sigma)$ (the sigmoid neuron's derivation)")
    dd.step((sigma(u) - sp.Rational(1, 2)) ** 2, r"complete the square")
    return dd


@functools.cache
def upper_bound_derivation() -> Derivation:
    r"""σ(α) − P(G ≥ 1 − ε) = ∫_{α−d}^{α} σ(v)(1 − σ(v)) dv with d = τ log(1/ε − 1): an integral
    of a positive function over an interval of length d ≥ 0 (for ε ≤ ½)."""
    dd = Derivation("g2_upper_bound", "The upper bound: the gap as an integral of σ′",
                    sigma(alpha) - sigma(alpha - tau * sp.log(1 / eps - 1)), definitions=DEFINITIONS,
                    lhs=gap_up, label="binary-gates-upper")
    dd.step(sigma(alpha) - sigma(alpha - d), r"$d := \tau\log(1/\varepsilon - 1) = \tau(\log(1 - \varepsilon) - \log\varepsilon)$")
    dd.step(sp.Integral(sp.Derivative(sigma(v), v), (v, alpha - d, alpha)),
            "fundamental theorem of calculus")
    dd.step(sp.Integral(_mul(sigma(v), 1 - sigma(v)), (v, alpha - d, alpha)),
            r"$\sigma' = \sigma(1 - \sigma)$")
    return dd


@functools.cache
def lower_bound_derivation() -> Derivation:
    r"""P(G ≥ 1 − ε) − (σ(α) − (τ/4) log(1/ε)) = ∫_{α−d}^{α} (σ(v) − ½)² dv − (τ/4) log(1 − ε):
    both terms are ≥ 0 for 0 < ε ≤ ½."""
    lo = alpha - d
    dd = Derivation("g2_lower_bound", r"The lower bound: the gap as an integral of a square",
                    sigma(alpha - tau * sp.log(1 / eps - 1)) - sigma(alpha) - tau / 4 * sp.log(eps),
                    definitions=DEFINITIONS, lhs=gap_low, label="binary-gates-lower")
    dd.step(sigma(lo) - sigma(alpha) - tau / 4 * sp.log(eps),
            r"$d := \tau\log(1/\varepsilon - 1)$; $\log(1/\varepsilon) = -\log\varepsilon$")
    dd.step(-sp.Integral(sp.Derivative(sigma(v), v), (v, lo, alpha)) - tau / 4 * sp.log(eps),
            "fundamental theorem of calculus")
    dd.step(sp.Integral(sp.Rational(1, 4) - sp.Derivative(sigma(v), v), (v, lo, alpha))
            - tau / 4 * sp.log(1 - eps),
            r"$\int_{\alpha - d}^{\alpha} \tfrac14\, dv = \tfrac{d}{4}$ and $d = \tau(\log(1 - \varepsilon) - \log\varepsilon)$")
    dd.step(sp.Integral((sigma(v) - sp.Rational(1, 2)) ** 2, (v, lo, alpha)) - tau / 4 * sp.log(1 - eps),
            r"$\tfrac14 - \sigma' = (\sigma - \tfrac12)^2$ (above)")
    return dd


@functools.cache
def gate_derivative_derivation() -> Derivation:
    r"""∂G/∂α = G(1 − G)/τ with the noise L held fixed (the reparameterisation)."""
    dd = Derivation("g2_gate_derivative", r"The gate against its pre-activation, noise held fixed",
                    sp.Derivative(G, alpha), definitions=DEFINITIONS, label="binary-gates-derivative")
    dd.step(_mul(sigma((alpha + L) / tau), 1 - sigma((alpha + L) / tau), 1 / tau),
            r"definition of $G$; $\sigma' = \sigma(1 - \sigma)$ and the chain rule, "
            r"$\partial((\alpha + L)/\tau)/\partial\alpha = 1/\tau$")
    dd.step(_mul(G, 1 - G) / tau, r"definition of $G$")
    return dd


@functools.cache
def temperature_derivation() -> Derivation:
    r"""∂G/∂τ = −G(1 − G)(α + L)/τ², for a learned temperature."""
    dd = Derivation("g2_temperature_derivative", r"The gate against its temperature, noise held fixed",
                    sp.Derivative(G, tau), definitions=DEFINITIONS, label="binary-gates-temperature")
    dd.step(_mul(-1, sigma((alpha + L) / tau), 1 - sigma((alpha + L) / tau), alpha + L, tau**-2),
            r"definition of $G$; $\sigma' = \sigma(1 - \sigma)$ and the chain rule, "
            r"$\partial((\alpha + L)/\tau)/\partial\tau = -(\alpha + L)/\tau^2$")
    dd.step(-_mul(G, 1 - G, alpha + L) / tau**2, r"definition of $G$")
    return dd


@functools.cache
def cell_derivation() -> Derivation:
    r"""The G2-LSTM cell state against the input and forget gates' pre-activations: G(1 − G)/τ in
    place of σ′ = σ(1 − σ)."""
    dd = Derivation("g2_cell", r"The cell state against the gates' pre-activations",
                    sp.Matrix([sp.Derivative(c, a_i), sp.Derivative(c, a_f)]), definitions=CELL_DEFINITIONS,
                    label="binary-gates-cell")
    dd.step(sp.Matrix([z * sp.Derivative(i_g, a_i), c_prev * sp.Derivative(f_g, a_f)]),
            r"$c_t = f c_{t-1} + i z$: only $i$ depends on $a^i$, only $f$ on $a^f$")
    dd.step(sp.Matrix([_mul(z, i_g, 1 - i_g) / tau, _mul(c_prev, f_g, 1 - f_g) / tau]),
            r"$\partial G/\partial\alpha = G(1 - G)/\tau$ (above), for each gate")
    return dd


def derivations() -> list[Derivation]:
    return [two_class_derivation(), cdf_derivation(), tail_derivation(), slope_derivation(),
            upper_bound_derivation(), lower_bound_derivation(), gate_derivative_derivation(),
            temperature_derivation(), cell_derivation()]


# ---- the signs behind the bounds, certified by SymPy ----------------------------------------


def _explicit(expr):
    """σ written out, so that SymPy's assumptions can reason about the expression."""
    return expr.replace(sigma, lambda a: 1 / (1 + sp.exp(-a)))


def _answer_text(answer) -> str:
    """SymPy's verdict in words: true / false / undecided, or a set of ε as inequalities."""
    if answer is None or isinstance(answer, bool):
        return {True: "true", False: "false", None: "undecided"}[answer]
    if isinstance(answer, sp.Interval):
        lo = "<" if answer.left_open else "≤"
        hi = "<" if answer.right_open else "≤"
        return f"{answer.start} {lo} ε {hi} {answer.end}"
    return str(answer)


@functools.cache
def sign_certificates() -> CheckTable:
    r"""The facts that turn the two gap derivations into inequalities, each decided by SymPy
    (assumptions or an exact inequality solver), none assumed:

    the integrands (σ − ½)² ≥ 0 and σ(1 − σ) > 0 for real v; the interval [α − d, α] has length
    d ≥ 0 exactly when ε ≤ ½; and −log(1 − ε) > 0 on (0, 1)."""
    upper, lower = upper_bound_derivation().result, lower_bound_derivation().result
    integrand_up = upper.function
    integral_low = next(t for t in lower.args if isinstance(t, sp.Integral))
    log_term = lower - integral_low
    e = sp.Symbol("e", real=True)   # ε without its assumptions: the solver finds the set itself
    length = sp.solve_univariate_inequality(
        sp.Ge(DEFINITIONS[d].xreplace({eps: e}) / tau, 0), e, relational=False, domain=sp.Interval.open(0, 1))
    log_sign = sp.solve_univariate_inequality(
        sp.Gt((log_term / tau).xreplace({eps: e}), 0), e, relational=False, domain=sp.Interval.open(0, 1))
    table = CheckTable("Signs behind the bounds, decided by SymPy", ["fact", "SymPy's answer"],
                       note="Each fact is decided by SymPy's assumptions system or by its exact solver "
                            "for one-variable inequalities; the bounds follow because an integral of a "
                            "non-negative function over [α − d, α] with d ≥ 0 is non-negative.")
    rows = [(r"(σ(v) − 1/2)² ≥ 0 for real v", _explicit(integral_low.function).is_nonnegative, True),
            (r"σ(v)(1 − σ(v)) > 0 for real v", sp.together(_explicit(integrand_up)).is_positive, True),
            ("d ≥ 0 for ε in (0, 1) exactly when", length, sp.Interval.Lopen(0, sp.Rational(1, 2))),
            ("−(τ/4) log(1 − ε) > 0 for ε in (0, 1) exactly when", log_sign, sp.Interval.open(0, 1))]
    for fact, answer, wanted in rows:
        table.rows.append({"fact": fact, "SymPy's answer": _answer_text(answer), "passed": answer == wanted})
    return table


# ---- numbers: the gate's law -----------------------------------------------------------------

#: The temperature of the page's experiment: the authors' code defaults to 1.0; the paper's 0.9
#: could not be confirmed here (see the page).
TAU = 1.0


def check_tau(tau_) -> float:
    """A temperature as a float, or one clear error."""
    if not (isinstance(tau_, (int, float, np.floating, np.integer)) and np.isfinite(tau_) and tau_ > 0):
        raise ValueError(f"the temperature tau must be a finite number > 0, got {tau_}")
    return float(tau_)


def check_eps(eps_) -> float:
    if not (isinstance(eps_, (int, float, np.floating, np.integer)) and 0 < eps_ < 0.5):
        raise ValueError(f"epsilon must lie in the open interval (0, 1/2), got {eps_}")
    return float(eps_)


def _stable(expr, args):
    """``expr`` compiled for NumPy with σ evaluated without overflow."""
    from .sigmoid_neuron import sigmoid as stable_sigmoid

    return sp.lambdify(args, expr, modules=[{"sigma": stable_sigmoid}, "numpy"])


@functools.cache
def _tail_function():
    return _stable(tail_derivation().result, (alpha, tau, eps))


def tail_probability(alpha, tau, eps):
    r"""P(G ≥ 1 − ε) = σ(α − τ log(1/ε − 1)), compiled from the derivation's last step."""
    return _tail_function()(np.asarray(alpha, dtype=float), check_tau(tau), check_eps(eps))


def lower_bound(alpha, tau, eps):
    r"""σ(α) − (τ/4) log(1/ε), the bound below P(G ≥ 1 − ε) (the lower-bound derivation's left side)."""
    from .sigmoid_neuron import sigmoid as stable_sigmoid

    return stable_sigmoid(alpha) - check_tau(tau) / 4 * np.log(1 / check_eps(eps))


@functools.cache
def _density_function():
    yy = sp.Symbol("y", positive=True)
    cdf = cdf_derivation().result.xreplace({w: sp.log(yy) - sp.log(1 - yy)})   # σ(w) = y
    return _stable(sp.diff(cdf, yy), (yy, alpha, tau))


def density(y, alpha, tau):
    """The gate's density on (0, 1): the derivative of its distribution function (derived above)."""
    y = np.asarray(y, dtype=float)
    if not ((y > 0) & (y < 1)).all():
        raise ValueError("the gate's density is defined on the open interval (0, 1)")
    return _density_function()(y, np.asarray(alpha, dtype=float), check_tau(tau))


def sample_gate(alpha, tau, rng: np.random.Generator, size) -> np.ndarray:
    """G = σ((α + L)/τ) with L = log U − log(1 − U) (part 1's always-finite sampler)."""
    from .sigmoid_neuron import sigmoid as stable_sigmoid

    return stable_sigmoid((alpha + gumbel_max.logistic_noise(rng, size)) / check_tau(tau))


#: (α, τ, ε) at which the formula for P(G ≥ 1 − ε) is compared with sampling.
MC_POINTS = ((0.0, 1.0, 0.1), (1.5, 0.5, 0.05), (-1.0, 2.0, 0.2), (3.0, 0.9, 0.01))


def law_table(seed: int = 2) -> CheckTable:
    r"""P(G ≥ 1 − ε) from the formula against the frequency in seeded samples (a two-sided
    binomial z-test), and the bounds at the same points; the density against part 1's Concrete
    density at n = 2 with π = (e^α, 1)."""
    from math import erfc, sqrt

    from . import gumbel_softmax

    table = CheckTable("The gate's law against sampling and against the Concrete density",
                       ["quantity", "at", "compared with", "value", "passes when"],
                       note=f"{gumbel_max.MC_SAMPLES:,} seeded samples per row; a row of the sampling test passes "
                            f"when its two-sided p-value is at least {gumbel_max.P_MIN:g}.")
    rng = np.random.default_rng(seed)
    for a, t, e in MC_POINTS:
        p = float(tail_probability(a, t, e))
        freq = float(np.mean(sample_gate(a, t, rng, gumbel_max.MC_SAMPLES) >= 1 - e))
        zscore = (freq - p) / sqrt(p * (1 - p) / gumbel_max.MC_SAMPLES)
        pval = erfc(abs(zscore) / sqrt(2))
        at = f"α = {a:g}, τ = {t:g}, ε = {e:g}"
        table.rows.append({"quantity": "P(G ≥ 1 − ε) = σ(α − τ log(1/ε − 1))", "at": at,
                           "compared with": f"frequency {freq:.4f} (formula {p:.4f})", "value": pval,
                           "passes when": f"p-value ≥ {gumbel_max.P_MIN:g}", "passed": pval >= gumbel_max.P_MIN})
        from .sigmoid_neuron import sigmoid as stable_sigmoid
        lo, hi = float(lower_bound(a, t, e)), float(stable_sigmoid(a))
        table.rows.append({"quantity": "σ(α) − (τ/4) log(1/ε) ≤ P ≤ σ(α)", "at": at,
                           "compared with": f"{lo:.4f} ≤ {p:.4f} ≤ {hi:.4f}", "value": min(p - lo, hi - p),
                           "passes when": "both gaps ≥ 0", "passed": lo <= p <= hi})
    ys = np.linspace(0.02, 0.98, 49)
    worst = 0.0
    for a, t in ((0.0, 1.0), (1.5, 0.5), (-1.0, 2.0)):
        ours = density(ys, a, t)
        concrete = gumbel_softmax.density(np.stack([ys, 1 - ys], axis=-1), [np.exp(a), 1.0], t)
        worst = max(worst, float(np.max(np.abs(ours - concrete) / concrete)))
    table.rows.append({"quantity": "density of G", "at": "49 points of (0, 1), 3 (α, τ)",
                       "compared with": "Concrete density, n = 2, π = (e^α, 1) (part 1)", "value": worst,
                       "passes when": "relative error ≤ 1e-12", "passed": worst <= 1e-12})
    return table


# ---- the G2-LSTM: lstm_gates' cell with binary-valued input and forget gates -------------------


#: The test-time rules the authors' code offers: σ(α) (no noise, no temperature) or the step 1[α ≥ 0].
TEST_RULES = ("sigmoid", "step")


def gate_noise(rng: np.random.Generator, steps: int, hidden: int, batch: int, share: float = 1.0) -> np.ndarray:
    r"""Fresh logistic noise for the input and forget gates, shape ``(steps, 2·hidden, batch)``
    (rows i then f). ``share`` < 1 is the authors' per-gate noise dropout (in their code, not in
    the paper): each entry keeps its noise with probability ``share`` (B ~ Bernoulli(share),
    noise B·L) and is otherwise noise-free, though still divided by τ."""
    if not 0 < share <= 1:
        raise ValueError(f"the share of gates with noise must lie in (0, 1], got {share}")
    noise = gumbel_max.logistic_noise(rng, (steps, 2 * hidden, batch))
    if share < 1:
        noise *= rng.random(noise.shape) < share
    return noise


def forward(p: dict, xs, *, noise=None, tau: float = TAU, rule: str = "train"):
    r"""The G2-LSTM over ``xs`` (``(T, D, batch)``), returning ``hs`` and the cache of
    :func:`derivations.lstm_gates.forward`. ``rule="train"`` needs the noise (held fixed, so that
    :func:`derivations.lstm_gates.backward` gives the reparameterised gradient); the test-time
    rules are ``"sigmoid"`` (σ(α)) and ``"step"`` (1[α ≥ 0])."""
    check_tau(tau)
    if rule == "train":
        if noise is None:
            raise ValueError("training needs the gate noise (see gate_noise): it is held fixed for the gradient")
        return lstm_gates.forward(p, xs, noise=noise, tau=tau)
    if rule not in TEST_RULES:
        raise ValueError(f"unknown rule {rule!r}; valid rules: train, {', '.join(TEST_RULES)}")
    if noise is not None:
        raise ValueError(f"the test-time rule {rule!r} uses no noise")
    return lstm_gates.forward(p, xs, hard=(rule == "step"))


def autograd_loss(p: dict, xs, dhs, noise, tau_):
    r"""J = Σ_t ⟨dhs_t, h_t⟩ of the G2-LSTM, written plainly in ``autograd.numpy`` (no stacking, no
    cache, no code shared with :func:`derivations.lstm_gates.forward`)."""
    import autograd.numpy as anp

    sig = lambda a: 1 / (1 + anp.exp(-a))  # noqa: E731
    H, batch = p["Wxi"].shape[0], xs.shape[2]
    h, cs, J = anp.zeros((H, batch)), anp.zeros((H, batch)), 0.0
    for t in range(xs.shape[0]):
        pre = {g: p[f"Wx{g}"] @ xs[t] + p[f"Wh{g}"] @ h + p[f"b{g}"][:, None] for g in lstm_gates.GATES}
        i = sig((pre["i"] + p["wci"][:, None] * cs + noise[t][:H]) / tau_)
        f = sig((pre["f"] + p["wcf"][:, None] * cs + noise[t][H:]) / tau_)
        cs = f * cs + i * anp.tanh(pre["c"])
        o = sig(pre["o"] + p["wco"][:, None] * cs)
        h = o * anp.tanh(cs)
        J = J + anp.sum(dhs[t] * h)
    return J


def bptt_check_table(hidden: int = 16, inputs: int = 4, steps: int = 10, batch: int = 2, tau_: float = 0.7,
                     seed: int = 0, rtol: float = 1e-7) -> CheckTable:
    r"""The G2-LSTM's BPTT (noise fixed, τ ≠ 1) against autograd (every entry) and central
    differences (random directions)."""
    import autograd

    rng = np.random.default_rng(seed)
    p = lstm_gates.init_params(hidden, inputs, rng)
    xs = rng.normal(size=(steps, inputs, batch))
    dhs = rng.normal(size=(steps, hidden, batch))
    noise = gate_noise(rng, steps, hidden, batch)
    _, cache = forward(p, xs, noise=noise, tau=tau_)
    grads, *_ = lstm_gates.backward(p, cache, dhs, inputs=False)
    ag = autograd.grad(lambda q: autograd_loss(q, xs, dhs, noise, tau_))(p)
    err_ag = max(float(np.max(np.abs(grads[nm] - ag[nm]) / (1e-8 + np.abs(ag[nm])))) for nm in p)
    loss = lambda q: float(np.sum(dhs * forward(q, xs, noise=noise, tau=tau_)[0]))  # noqa: E731
    err_fd, h = 0.0, 1e-5
    for _ in range(3):
        dirs = {nm: rng.normal(size=np.shape(p[nm])) for nm in p}
        fd = (loss({nm: p[nm] + h * dirs[nm] for nm in p}) - loss({nm: p[nm] - h * dirs[nm] for nm in p})) / (2 * h)
        an = sum(float(np.sum(grads[nm] * dirs[nm])) for nm in p)
        err_fd = max(err_fd, abs(fd - an) / max(abs(fd), 1e-8))
    table = whole_gradient_table(
        f"G2-LSTM BPTT in NumPy (H = {hidden}, D = {inputs}, T = {steps}, batch {batch}, τ = {tau_:g}, "
        "noise fixed) against independent oracles",
        "Autograd differentiates a separate, plainly written G2-LSTM (autograd_loss) with the same noise; "
        "central differences use h = 1e-5 along 3 random directions. The float32 row runs the same pass "
        "in float32 (parameters, inputs and noise) and compares with autograd in float64.",
        entries=sum(np.size(q) for q in p.values()), err_autograd=err_ag, err_directional=err_fd,
        directions=3, rtol=rtol)
    table.rows.append(lstm_gates.float32_row(p, xs, dhs, ag, noise=noise.astype(np.float32), tau=tau_))
    return table


# ---- published results: the gradients, in plain symbols -------------------------------------


def _plain(expr, defs):
    """``expr`` with the named intermediates and σ written out (what the oracles differentiate)."""
    from .core import evaluate

    return _explicit(evaluate(expr, defs))


@functools.cache
def results() -> list[Result]:
    r"""∂G/∂α, ∂G/∂τ (noise fixed) and the cell's ∂c_t/∂a^i, ∂c_t/∂a^f, from the derivations' last
    steps, with σ written out."""
    cell = cell_derivation().result
    return [Result(_plain(G, DEFINITIONS), alpha, _plain(gate_derivative_derivation().result, DEFINITIONS), name="G"),
            Result(_plain(G, DEFINITIONS), tau, _plain(temperature_derivation().result, DEFINITIONS), name="G"),
            Result(_plain(c, CELL_DEFINITIONS), a_i, _plain(cell[0], CELL_DEFINITIONS), name="c_t"),
            Result(_plain(c, CELL_DEFINITIONS), a_f, _plain(cell[1], CELL_DEFINITIONS), name="c_t")]


@functools.cache
def numeric_checks() -> list[CheckTable]:
    return [crosscheck(results(), points=3, seed=0, title="Gate and cell gradients against independent oracles"),
            sign_certificates(), law_table(), bptt_check_table()]


# ---- a toy task where the gates matter, and the two models trained on it -------------------------


#: The experiment's settings (the page runs them; ``make bench`` times the page): 8 cells,
#: sequences of 16 steps, batches of 32, 400 Adam updates at rate 0.02, three seeds. Chosen so
#: that the standard LSTM learns the task within the page's time budget; the G2-LSTM gets the same.
HIDDEN, STEPS, BATCH, UPDATES, LEARNING_RATE = 8, 16, 32, 400, 0.02
SEEDS = (0, 1, 2)


def memory_task(rng: np.random.Generator, batch: int, steps: int = STEPS):
    r"""Remember a marked number over a gap: channel 0 carries a uniform number in (−1, 1) at
    every step, channel 1 marks one step in the first half with a 1; the target is the marked
    number, to be output after the last step. Predicting 0 scores the variance, 1/3."""
    if steps < 2 or batch < 1:
        raise ValueError(f"the task needs at least 2 steps and a batch of 1, got steps={steps}, batch={batch}")
    xs = np.zeros((steps, 2, batch))
    xs[:, 0] = rng.uniform(-1, 1, size=(steps, batch))
    marked = rng.integers(0, steps // 2, size=batch)
    xs[marked, 1, np.arange(batch)] = 1.0
    return xs, xs[marked, 0, np.arange(batch)]


@dataclass
class Trained:
    """A model fitted by :func:`train`: the LSTM parameters, the read-out and the loss curve."""

    kind: str                 # "lstm" or "g2"
    params: dict
    readout: np.ndarray       # (H + 1,): weights, then bias
    losses: np.ndarray        # training loss (mean squared error) at each update
    tau: float = TAU




def _init(seed: int, hidden: int):
    """The initialisation of seed ``seed``: both kinds of model start from it."""
    init = np.random.default_rng(seed)
    p = lstm_gates.init_params(hidden, 2, init, scale=1.0, peepholes=False)
    p["bf"] += 1.0                                         # the usual forget-gate bias
    return p, np.append(init.normal(size=hidden) / np.sqrt(hidden), 0.0)


def _pack(models: list[dict], hidden: int) -> tuple[dict, dict]:
    """K models side by side as one block of K·H cells: input weights and biases stacked, the
    recurrent weights block-diagonal; returns the packed parameters and the 0/1 masks that keep
    every model's gradient inside its own block."""
    K = len(models)
    blocks = np.kron(np.eye(K), np.ones((hidden, hidden)))
    packed, masks = {}, {}
    for name in models[0]:
        if name.startswith("Wh"):
            packed[name] = np.zeros((K * hidden, K * hidden))
            for k, q in enumerate(models):
                packed[name][k * hidden:(k + 1) * hidden, k * hidden:(k + 1) * hidden] = q[name]
            masks[name] = blocks
        else:
            packed[name] = np.concatenate([q[name] for q in models])
    return packed, masks


def _unpack(packed: dict, k: int, hidden: int) -> dict:
    rows = slice(k * hidden, (k + 1) * hidden)
    return {name: (v[rows, rows] if name.startswith("Wh") else v[rows]).copy() for name, v in packed.items()}


def train_many(runs, *, updates: int = UPDATES, hidden: int = HIDDEN, steps: int = STEPS,
               batch: int = BATCH, lr: float = LEARNING_RATE, tau_: float = TAU, share: float = 1.0,
               data_seed: int = 0) -> list[Trained]:
    r"""Fit each ``(kind, seed)`` of ``runs`` — a standard LSTM (``"lstm"``) or a G2-LSTM (``"g2"``)
    — to :func:`memory_task` with Adam: the models of one seed start from the same
    initialisation, and every model sees the same batches; each G2-LSTM draws its noise from its
    own stream. No peepholes, as in the authors' code.

    All models run as one network of K·H cells whose recurrent weights are block-diagonal and
    whose gradients are masked to the blocks (the LSTM's blocks get no noise and temperature 1),
    so one forward and backward pass per update serves them all; every model's numbers are
    those it would have alone, up to the rounding of the matrix products.
    """
    runs = list(runs)
    if not runs:
        raise ValueError("no models to train")
    for kind, _ in runs:
        if kind not in ("lstm", "g2"):
            raise ValueError(f"unknown model {kind!r}; valid models: lstm, g2")
    if updates < 1:
        raise ValueError(f"updates must be at least 1, got {updates}")
    check_tau(tau_)
    K, H = len(runs), hidden
    inits = [_init(seed, H) for _, seed in runs]
    p, masks = _pack([q for q, _ in inits], H)
    readouts = np.array([r for _, r in inits])                            # (K, H + 1)
    noisy = [k for k, (kind, _) in enumerate(runs) if kind == "g2"]
    taus = np.ones((2 * K * H, 1))
    for k in noisy:
        taus[k * H:(k + 1) * H] = taus[K * H + k * H:K * H + (k + 1) * H] = tau_
    noise_rngs = {k: np.random.default_rng([runs[k][1], 2]) for k in noisy}
    data = np.random.default_rng([data_seed, 1])
    trainable = [name for name in p if not name.startswith("wc")]        # peepholes stay 0
    m = {name: np.zeros_like(p[name]) for name in trainable} | {"out": np.zeros_like(readouts)}
    s2 = {name: np.zeros_like(val) for name, val in m.items()}
    losses = np.empty((updates, K))
    b1, b2 = 0.9, 0.999
    for n in range(updates):
        xs, target = memory_task(data, batch, steps)
        noise = np.zeros((steps, 2 * K * H, batch))
        for k in noisy:
            own = gate_noise(noise_rngs[k], steps, H, batch, share)
            noise[:, k * H:(k + 1) * H] = own[:, :H]
            noise[:, K * H + k * H:K * H + (k + 1) * H] = own[:, H:]
        hs, cache = lstm_gates.forward(p, xs, noise=noise if noisy else None, tau=taus if noisy else 1.0)
        hT = hs[-1].reshape(K, H, batch)
        err = np.einsum("kh,khb->kb", readouts[:, :H], hT) + readouts[:, H:] - target   # (K, batch)
        losses[n] = np.mean(err * err, axis=1)
        g = 2 * err / batch
        dhs = np.zeros_like(hs)
        dhs[-1] = (readouts[:, :H, None] * g[:, None, :]).reshape(K * H, batch)
        grads, *_ = lstm_gates.backward(p, cache, dhs, inputs=False)
        for name, mask in masks.items():
            grads[name] *= mask
        grads["out"] = np.concatenate([np.einsum("khb,kb->kh", hT, g), g.sum(axis=1, keepdims=True)], axis=1)
        for name in m:
            m[name] = b1 * m[name] + (1 - b1) * grads[name]
            s2[name] = b2 * s2[name] + (1 - b2) * grads[name] ** 2
            step = lr * (m[name] / (1 - b1 ** (n + 1))) / (np.sqrt(s2[name] / (1 - b2 ** (n + 1))) + 1e-8)
            if name == "out":
                readouts -= step
            else:
                p[name] -= step
    return [Trained(kind, _unpack(p, k, H), readouts[k].copy(), losses[:, k].copy(), tau_ if kind == "g2" else 1.0)
            for k, (kind, _) in enumerate(runs)]


def train(kind: str, *, seed: int = 0, **settings) -> Trained:
    """One model fitted by :func:`train_many`."""
    return train_many([(kind, seed)], **settings)[0]


def held_out_loss(model: Trained, xs, target, rule: str = "sigmoid", params: dict | None = None) -> float:
    """Mean squared error on held-out data with a test-time rule (both models use σ(α) for
    ``"sigmoid"``; ``"step"`` makes the input and forget gates 0/1)."""
    p = model.params if params is None else params
    hs, _ = forward(p, xs, rule=rule)
    err = model.readout[:-1] @ hs[-1] + model.readout[-1] - target
    return float(np.mean(err * err))


def gate_values(model: Trained, xs, rule: str = "sigmoid") -> tuple[np.ndarray, np.ndarray]:
    """The input and forget gates' values over held-out data (flattened)."""
    _, cache = forward(model.params, xs, rule=rule)
    H = model.params["Wxi"].shape[0]
    return cache.gates[:, :H].ravel(), cache.gates[:, H:2 * H].ravel()


#: The authors' compression test on the input and forget gates' weights: clip to [−c, c], then
#: round to multiples of r (the machine-translation setting reported: r = 0.5, c = 1.0).
ROUND_GRID, CLIP = 0.5, 1.0


def round_gate_weights(p: dict, grid: float = ROUND_GRID, clip: float | None = CLIP) -> dict:
    """A copy of ``p`` whose input- and forget-gate weight matrices (W_x·, W_h·; not the biases)
    are clipped to [−clip, clip] (unless ``clip`` is None: the language-model test rounds only)
    and rounded to multiples of ``grid``."""
    if not (grid > 0 and (clip is None or clip > 0)):
        raise ValueError(f"grid and clip must be > 0, got grid={grid}, clip={clip}")
    out = {k: np.array(v, copy=True) for k, v in p.items()}
    for g in ("i", "f"):
        for kind in ("Wx", "Wh"):
            q = out[f"{kind}{g}"] if clip is None else np.clip(out[f"{kind}{g}"], -clip, clip)
            out[f"{kind}{g}"] = np.round(q / grid) * grid
    return out


#: Held-out sequences for the experiment's test errors and gate histograms.
TEST_SIZE, TEST_SEED = 2000, 99


@functools.cache
def experiment() -> dict:
    r"""The page's experiment, from fixed seeds: both models on every seed of :data:`SEEDS`, their
    held-out errors under each test rule and after compressing the gates' weights, and their gate
    values. Returns ``{"models": [...], "rows": [...], "gates": {kind: (i, f)}}``."""
    runs = [(kind, seed) for seed in SEEDS for kind in ("lstm", "g2")]
    models = train_many(runs)
    xs, target = memory_task(np.random.default_rng(TEST_SEED), TEST_SIZE)
    rows, gates = [], {"lstm": ([], []), "g2": ([], [])}
    for (kind, seed), model in zip(runs, models):
        row = {"model": kind, "seed": seed, "test": held_out_loss(model, xs, target),
               "rounded": held_out_loss(model, xs, target, params=round_gate_weights(model.params, clip=None)),
               "clipped": held_out_loss(model, xs, target, params=round_gate_weights(model.params))}
        row["step"] = held_out_loss(model, xs, target, rule="step")
        i, f = gate_values(model, xs)
        row["binary_i"] = float(np.mean((i < 0.1) | (i > 0.9)))
        row["binary_f"] = float(np.mean((f < 0.1) | (f > 0.9)))
        gates[kind][0].append(i)
        gates[kind][1].append(f)
        rows.append(row)
    return {"models": models, "rows": rows, "baseline": float(np.var(target)),
            "gates": {k: (np.concatenate(i), np.concatenate(f)) for k, (i, f) in gates.items()}}
