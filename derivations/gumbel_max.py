r"""The Gumbel distribution and the Gumbel-max trick.

Notation (classes numbered :math:`1 … n`):

- :math:`F(x) = \exp(-e^{-x})` the standard Gumbel CDF, :math:`f = F'` its density;
- :math:`U \sim \mathrm{Uniform}(0, 1)` and :math:`g = -\log(-\log U)` a standard Gumbel sample;
- :math:`\pi \in \mathbb{R}^n_{>0}` class weights (probabilities up to a positive factor) and
  :math:`a_i = \log \pi_i` their logits;
- :math:`\sigma(x) = 1/(1 + e^{-x})` the logistic sigmoid;
- :math:`\tau > 0` a temperature.

Derived and checked here (every step a checked step):

- :math:`f(x) = e^{-x} F(x)` and the sampler :math:`g = F^{-1}(U) = -\log(-\log U)`;
- the Gumbel-max theorem :math:`P(\operatorname{argmax}_i (a_i + g_i) = k) = \pi_k / \sum_j \pi_j`,
  by the integral over the winning value, the substitution :math:`t = e^{-z}` and SymPy's own
  integration, at :math:`n = 2 … 5`;
- the difference of two independent Gumbels has CDF :math:`\sigma`: it is logistic, so the sigmoid
  is the two-class softmax and :math:`\log U - \log(1 - U)` is logistic noise;
- :math:`\operatorname{softmax}(x/\tau)` tends to the one-hot argmax as :math:`\tau \to 0^+`
  (when the maximum is unique; to :math:`1/m` on each of :math:`m` tied maxima) and to the uniform
  vector as :math:`\tau \to \infty`.

The samplers draw :math:`U` on the open interval, so no sample is ever infinite; seeded Monte
Carlo checks test them with a chi-square and a Kolmogorov–Smirnov statistic.

Examples
--------
>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> g = sample_gumbel(rng, 100_000)
>>> bool(np.isfinite(g).all()), round(float(g.mean()), 2)  # the mean is Euler's γ ≈ 0.5772
(True, 0.58)
>>> counts = np.bincount(gumbel_max_sample([0.2, 0.3, 0.5], rng, 100_000), minlength=3)
>>> (counts / counts.sum()).round(2).tolist()
[0.2, 0.3, 0.5]
>>> gumbel_max_sample([0.2, -0.3], rng, 1)
Traceback (most recent call last):
...
ValueError: class weights must be finite and non-negative with at least one positive, got [0.2, -0.3]
"""

from __future__ import annotations

import functools

import mpmath
import numpy as np
import sympy as sp

from . import sigmoid_neuron
from .core import Change, Derivation, Result, evaluate, indexed, notation, sym
from .core import shown_product as _mul
from .oracles import CheckTable, crosscheck

TITLE = "The Gumbel-max trick: Gumbel noise, argmax and the softmax; logistic noise and the sigmoid"

#: Class counts at which the Gumbel-max theorem is checked (SymPy integrates at each).
SIZES = range(2, 6)

# ---- symbols (each made in one place) -----------------------------------------------------
n = sym("n", meaning="number of classes", integer=True, positive=True)
i, j, k, m = (sym(s, integer=True, positive=True) for s in "ijkm")
notation(i, r"index of a class, $1 \le i \le n$")
notation(j, r"index of a class, $1 \le j \le n$")
notation(k, r"index of a class, $1 \le k \le n$ (the winner, in the theorem)")
notation(m, "number of tied largest logits")
x = sym("x", meaning=r"a point of the real line: the argument of $F$, $f$ and $\sigma$", shape="scalar", real=True)
g = sym("g", meaning="a standard Gumbel sample", shape="scalar", real=True)
s = sym("s", meaning="the value of $g_2$ (integration variable)", shape="scalar", real=True)
z = sym("z", meaning="the winning value $a_k + g_k$ (integration variable)", shape="scalar", real=True)
t = sym("t", meaning="integration variable after the substitution $t = e^{-z}$ (or $e^{-s}$)", shape="scalar",
        positive=True)
tau = sym("tau", r"\tau", meaning="temperature", shape="scalar", positive=True)
U = sym("U", meaning="uniform random number on the open interval $(0, 1)$", shape="scalar", positive=True)
pi = indexed("pi", r"\pi", meaning="class weights: probabilities, or any positive multiple of them",
             shape=r"${n \times 1}$", positive=True)
a = indexed("a", "a", meaning=r"logits, $a_i = \log \pi_i$", shape=r"${n \times 1}$", real=True)
d = indexed("d", "d", meaning="gaps to the largest logit, $d_j = x_1 - x_j$", shape=r"${n \times 1}$", positive=True)
P_win = sym("P_win", r"P_k", meaning=r"probability that class $k$ wins, $P(\operatorname{argmax}_i (a_i + g_i) = k)$",
            shape="scalar", positive=True)  # P(argmax_i (a_i + g_i) = k)
P_diff = sym("P_diff", r"P\left(g_1 - g_2 \le x\right)", meaning="CDF at $x$ of the difference of two "
             "independent standard Gumbels", shape="scalar", positive=True)
P_noise = sym("P_noise", r"P\left(\log U - \log(1 - U) \le x\right)", positive=True)

F = sp.Function("F")
f = sp.Function("f")
sigma = sp.Function("sigma")
notation(F, r"standard Gumbel CDF, $F(x) = \exp(-e^{-x})$")
notation(f, "standard Gumbel density, $f = F'$")
notation(sigma, r"logistic sigmoid, $\sigma(x) = 1/(1 + e^{-x})$")

#: F(x) := exp(−e^{−x}), the standard Gumbel CDF
GUMBEL_CDF = sp.Lambda(x, sp.exp(-sp.exp(-x)))
#: f(x) := F'(x), its density
GUMBEL_PDF = sp.Lambda(x, sp.Derivative(F(x), x))
#: σ(x) := 1/(1 + e^{−x})
LOGISTIC = sp.Lambda(x, 1 / (1 + sp.exp(-x)))
#: a_i := log π_i
LOGITS = sp.Lambda(i, sp.log(pi[i]))
DEFINITIONS = {F: GUMBEL_CDF, f: GUMBEL_PDF, sigma: LOGISTIC, a: LOGITS}



@functools.cache
def density_derivation() -> Derivation:
    """f = F' = e^{−x} F(x): the density is the CDF times e^{−x}."""
    dd = Derivation("gumbel_density", "The Gumbel density", f(x), definitions=DEFINITIONS,
                    label="gumbel-density")
    dd.step(sp.Derivative(sp.exp(-sp.exp(-x)), x), r"$f = F'$ and $F(x) = \exp(-e^{-x})$")
    dd.step(_mul(sp.exp(-x), sp.exp(-sp.exp(-x))), r"chain rule: $(e^{v})' = e^{v} v'$ with $v = -e^{-x}$")
    dd.step(_mul(sp.exp(-x), F(x)), "definition of $F$")
    return dd


@functools.cache
def sampler_derivation() -> Derivation:
    """g = −log(−log U) when U = F(g): the sampler is the inverse CDF."""
    dd = Derivation("gumbel_sampler", "The sampler inverts the CDF", g,
                    definitions={**DEFINITIONS, U: F(g)}, label="gumbel-sampler")
    dd.step(-sp.log(sp.exp(-g), evaluate=False), r"$\log e^{v} = v$ for real $v$")
    dd.step(-sp.log(-sp.log(sp.exp(-sp.exp(-g), evaluate=False), evaluate=False), evaluate=False),
            r"$\log e^{v} = v$ again, with $v = -e^{-g}$")
    dd.step(-sp.log(-sp.log(F(g))), r"definition of $F$")
    dd.step(-sp.log(-sp.log(U)), r"$U := F(g)$, which is uniform on $(0, 1)$ when $g$ is Gumbel")
    return dd


def _instances(size_range=SIZES):
    """n = 2 … 5; the winning class k is the first and the last (any other is one of these after
    relabelling the classes)."""
    return [{n: size, k: kk} for size in size_range for kk in sorted({1, size})]


@functools.cache
def theorem_derivation() -> Derivation:
    r"""P(argmax_i (a_i + g_i) = k) = π_k / Σ_j π_j, through ∫ f(z − a_k) Π_{i≠k} F(z − a_i) dz."""
    total = sp.Sum(pi[i], (i, 1, n))
    dz = (z, -sp.oo, sp.oo)
    dd = Derivation("gumbel_max_theorem", "The Gumbel-max theorem",
                    sp.Integral(_mul(f(z - a[k]), sp.Product(F(z - a[i]), (i, 1, k - 1)),
                                     sp.Product(F(z - a[i]), (i, k + 1, n))), dz),
                    definitions=DEFINITIONS, instances=_instances(), lhs=P_win,
                    label="gumbel-max-theorem")
    dd.step(sp.Integral(_mul(sp.exp(-(z - a[k])), sp.Product(F(z - a[i]), (i, 1, n))), dz),
            r"$f = e^{-x} F$: the $k$-th factor joins the product")
    dd.step(sp.Integral(_mul(pi[k], sp.exp(-z), sp.exp(-sp.exp(-z) * total)), dz),
            r"$F(z - a_i) = \exp(-\pi_i e^{-z})$; $\prod_i e^{v_i} = e^{\sum_i v_i}$")
    dd.step(sp.Integral(_mul(pi[k], sp.exp(-t * total)), (t, 0, sp.oo)),
            r"substitute $t = e^{-z}$, $dt = -e^{-z}\, dz$", change=Change(z, t, sp.exp(-z)))
    dd.step(pi[k] / total, r"$\int_0^\infty e^{-ct}\, dt = 1/c$ (SymPy integrates)")
    return dd


@functools.cache
def difference_derivation() -> Derivation:
    """P(g_1 − g_2 ≤ x) = σ(x): the difference of two independent Gumbels is logistic."""
    c = 1 + sp.exp(-x)
    ds = (s, -sp.oo, sp.oo)
    dd = Derivation("gumbel_difference", "The difference of two Gumbels is logistic",
                    sp.Integral(_mul(f(s), F(x + s)), ds), definitions=DEFINITIONS, lhs=P_diff,
                    label="gumbel-difference")
    dd.step(sp.Integral(_mul(sp.exp(-s), sp.exp(-sp.exp(-s)), sp.exp(-sp.exp(-x) * sp.exp(-s))), ds),
            r"$f(s) = e^{-s} F(s)$, $F(x + s) = \exp(-e^{-x} e^{-s})$")
    dd.step(sp.Integral(_mul(sp.exp(-s), sp.exp(-c * sp.exp(-s))), ds), "collect the exponents")
    dd.step(sp.Integral(sp.exp(-c * t), (t, 0, sp.oo)), r"substitute $t = e^{-s}$",
            change=Change(s, t, sp.exp(-s)))
    dd.step(1 / c, r"$\int_0^\infty e^{-ct}\, dt = 1/c$ (SymPy integrates)")
    dd.step(sigma(x), r"definition of $\sigma$")
    return dd


@functools.cache
def two_class_derivation() -> Derivation:
    """σ(a_1 − a_2) = π_1/(π_1 + π_2): the sigmoid is the two-class softmax."""
    dd = Derivation("sigmoid_two_class", "The sigmoid is the two-class softmax", sigma(a[1] - a[2]),
                    definitions=DEFINITIONS, label="sigmoid-two-class")
    dd.step(1 / (1 + sp.exp(-(a[1] - a[2]))), r"definition of $\sigma$")
    dd.step(sp.exp(a[1]) / (sp.exp(a[1]) + sp.exp(a[2])), r"multiply above and below by $e^{a_1}$")
    dd.step(pi[1] / (pi[1] + pi[2]), r"$e^{a_i} = \pi_i$: the Gumbel-max theorem at $n = 2$")
    return dd


@functools.cache
def noise_derivation() -> Derivation:
    """x = log U − log(1 − U) when U = σ(x): logistic noise is σ⁻¹ of a uniform."""
    dd = Derivation("logistic_noise", "Logistic noise inverts the sigmoid", x,
                    definitions={**DEFINITIONS, U: sigma(x)}, label="logistic-noise")
    dd.step(sp.log(sp.exp(x), evaluate=False), r"$\log e^{v} = v$")
    dd.step(sp.log(sigma(x) / (1 - sigma(x))), r"$\sigma(x) / (1 - \sigma(x)) = e^{x}$")
    dd.step(sp.log(U) - sp.log(1 - U), r"$U := \sigma(x)$, uniform on $(0, 1)$ when $x$ is logistic; "
            r"$\log(p/q) = \log p - \log q$")
    return dd


# ---- temperature: softmax(x/τ) at the two ends -----------------------------------------------

def _tempered(num, others):
    """One entry of softmax(x/τ) written through the gaps d_j = x_1 − x_j to the largest logit x_1."""
    return num / (1 + sp.Sum(sp.exp(-d[j] / tau), (j, others, n)))


@functools.cache
def gap_form_derivation() -> Derivation:
    r"""softmax(x/τ)_k = e^{−d_k/τ} / Σ_j e^{−d_j/τ}, d_j = x_1 − x_j: the shift by the maximum."""
    xs = indexed("x_logit", "x", meaning=r"logits, the largest first: $x_1 = \max_j x_j$", shape=r"${n \times 1}$",
                 real=True)
    gaps = sp.Lambda(j, xs[1] - xs[j])
    dd = Derivation("softmax_gap_form", "Softmax at temperature τ, through the gaps to the maximum",
                    sp.exp(xs[k] / tau) / sp.Sum(sp.exp(xs[j] / tau), (j, 1, n)),
                    definitions={d: gaps}, instances=_instances(range(2, 6)), label="softmax-gap-form")
    dd.step(sp.exp(-d[k] / tau) / sp.Sum(sp.exp(-d[j] / tau), (j, 1, n)),
            r"divide by $e^{x_1/\tau}$; $d_j := x_1 - x_j$")
    return dd


def _limit_instances(pairs):
    return [{n: size, k: kk} for size, kk in pairs]


@functools.cache
def cold_limit_derivations() -> list[Derivation]:
    r"""τ → 0⁺ with a unique maximum (d_j > 0 for j ≥ 2): the winner's entry tends to 1, every other
    entry to 0; with m tied maxima, each tied entry tends to 1/m."""
    win = Derivation("softmax_cold_winner", "τ → 0⁺: the largest logit's entry",
                     sp.Limit(_tempered(1, 2), tau, 0, "+"), instances=_limit_instances(
                         [(2, 1), (3, 1), (4, 1), (5, 1)]), label="softmax-cold-winner")
    win.step(sp.Integer(1), r"every gap $d_j > 0$ (a unique maximum)")
    lose = Derivation("softmax_cold_loser", "τ → 0⁺: any other entry",
                      sp.Limit(_tempered(sp.exp(-d[k] / tau), 2), tau, 0, "+"),
                      instances=_limit_instances([(2, 2), (3, 2), (3, 3), (4, 2), (4, 4), (5, 5)]),
                      label="softmax-cold-loser")
    lose.step(sp.Integer(0), r"$e^{-d_k/\tau} \to 0$, the denominator $\to 1$")
    tie = Derivation("softmax_cold_tie", "τ → 0⁺ with m tied maxima",
                     sp.Limit(1 / (m + sp.Sum(sp.exp(-d[j] / tau), (j, m + 1, n))), tau, 0, "+"),
                     instances=[{n: 3, m: 2}, {n: 3, m: 3}, {n: 4, m: 2}, {n: 4, m: 3}, {n: 5, m: 3}],
                     label="softmax-cold-tie")
    tie.step(1 / m, r"$m$ gaps are $0$; the others $> 0$")
    return [win, lose, tie]


@functools.cache
def hot_limit_derivation() -> Derivation:
    """τ → ∞: every entry tends to 1/n, whatever the logits."""
    xi = indexed("x_hot", "x", meaning="logits, any real values", shape=r"${n \times 1}$", real=True)
    dd = Derivation("softmax_hot", "τ → ∞: the uniform vector",
                    sp.Limit(sp.exp(xi[k] / tau) / sp.Sum(sp.exp(xi[j] / tau), (j, 1, n)), tau, sp.oo),
                    instances=_instances(range(2, 6)), label="softmax-hot")
    dd.step(1 / n, r"$e^{x_j/\tau} \to 1$ for every $j$")
    return dd


def derivations() -> list[Derivation]:
    """Every derivation of this topic, in reading order."""
    return [density_derivation(), sampler_derivation(), theorem_derivation(), difference_derivation(),
            two_class_derivation(), noise_derivation(), gap_form_derivation(),
            *cold_limit_derivations(), hot_limit_derivation()]


# ---- results (published, scalar) ---------------------------------------------------------------

A = [sym(f"a{r}", f"a_{{{r}}}", real=True) for r in range(1, 4)]


@functools.cache
def results() -> list[Result]:
    """f = ∂F/∂x, ∂σ/∂x, and ∂P(argmax = k)/∂a_j at n = 3 (the softmax Jacobian the score-function
    estimator of part 2 uses), each from its derivation's objects."""
    out = [Result(evaluate(F(x), DEFINITIONS), x, evaluate(density_derivation().result, DEFINITIONS),
                  name="F"),
           Result(evaluate(sigma(x), DEFINITIONS), x,
                  evaluate(sigma(x) * (1 - sigma(x)), DEFINITIONS), name=r"\sigma")]
    # the theorem's probability as a function of the logits a_j (π_j = e^{a_j})
    back = {pi[r + 1]: sp.exp(A[r]) for r in range(3)}
    for kk in range(1, 4):
        prob = evaluate(theorem_derivation().result, {}, {n: 3, k: kk}).xreplace(back)
        for r in range(1, 4):
            expr = prob * (sp.KroneckerDelta(kk, r) - evaluate(theorem_derivation().result, {},
                                                               {n: 3, k: r}).xreplace(back))
            out.append(Result(prob, A[r - 1], expr, name=fr"P_{{{kk}}}"))
    return out


# ---- numerics: samplers that never see log 0 ----------------------------------------------------

_GRID = 2.0 ** 52


def uniform_open(rng: np.random.Generator, size) -> np.ndarray:
    """U on the open interval (0, 1): (K + ½)/2⁵² with K uniform on {0, …, 2⁵² − 1}. Every K + ½
    is exact in float64 (53 significant bits), so the smallest U is 2⁻⁵³, the largest 1 − 2⁻⁵³,
    and neither log U nor log(1 − U) ever sees 0."""
    return (rng.integers(0, 2**52, size=size, dtype=np.int64) + 0.5) / _GRID


def gumbel_from_uniform(u) -> np.ndarray:
    """g = −log(−log U) (the sampler derivation). For U in (0, 1) as floats, log U is computed to
    full relative precision, so no special form is needed near 1."""
    return -np.log(-np.log(np.asarray(u, dtype=float)))


def sample_gumbel(rng: np.random.Generator, size) -> np.ndarray:
    """Standard Gumbel samples by inverting the CDF; always finite."""
    return gumbel_from_uniform(uniform_open(rng, size))


def logistic_noise(rng: np.random.Generator, size) -> np.ndarray:
    """log U − log(1 − U) (logistic noise, derived above); always finite."""
    u = uniform_open(rng, size)
    return np.log(u) - np.log1p(-u)


def check_weights(probs) -> np.ndarray:
    """Class weights as a float vector, or one clear error (they need not sum to one)."""
    p = np.asarray(probs, dtype=float)
    if p.ndim != 1 or p.size < 2:
        raise ValueError(f"class weights must be a vector of at least 2 entries, got shape {p.shape}")
    if not (np.isfinite(p).all() and (p >= 0).all() and (p > 0).any()):
        raise ValueError("class weights must be finite and non-negative with at least one positive, "
                         f"got {p.tolist()}")
    return p


def gumbel_max_sample(probs, rng: np.random.Generator, size: int) -> np.ndarray:
    """``size`` class indices (0-based) drawn by argmax_i (log π_i + g_i); a class of weight 0 is
    never drawn."""
    p = check_weights(probs)
    with np.errstate(divide="ignore"):
        logits = np.log(p)
    return np.argmax(logits + sample_gumbel(rng, (size, p.size)), axis=1)


# ---- goodness of fit -------------------------------------------------------------------------------

def chi_square(counts, probs) -> tuple[float, int, float]:
    """Pearson's statistic of ``counts`` against class probabilities ``probs`` (normalised here),
    its degrees of freedom and its p-value, P(χ²_df ≥ statistic) = Q(df/2, statistic/2).

    A class of weight 0 is left out (one fewer degree of freedom); a count in such a class is an
    impossible observation, and the p-value is 0."""
    counts = np.asarray(counts, dtype=float)
    p = check_weights(probs)
    if counts.shape != p.shape:
        raise ValueError(f"{counts.size} counts for {p.size} classes: they must match")
    if (counts[p == 0] > 0).any():
        return float("inf"), int((p > 0).sum()) - 1, 0.0
    counts, p = counts[p > 0], p[p > 0]
    expected = counts.sum() * p / p.sum()
    stat = float(((counts - expected) ** 2 / expected).sum())
    df = counts.size - 1
    if df == 0:
        return stat, 0, 1.0
    return stat, df, float(mpmath.gammainc(df / 2, stat / 2, mpmath.inf, regularized=True))


def kolmogorov_sf(lam: float) -> float:
    r"""P(K > λ) for the Kolmogorov distribution: 2 Σ_{r≥1} (−1)^{r−1} e^{−2r²λ²} for λ ≥ 1, and
    1 − (√(2π)/λ) Σ_{r≥1} e^{−(2r−1)²π²/(8λ²)} below, where the first series converges slowly."""
    if lam <= 0:
        return 1.0
    r = np.arange(1, 101)
    if lam >= 1:
        return float(np.clip(2 * np.sum((-1.0) ** (r - 1) * np.exp(-2 * r**2 * lam**2)), 0.0, 1.0))
    cdf = np.sqrt(2 * np.pi) / lam * np.sum(np.exp(-((2 * r - 1) ** 2) * np.pi**2 / (8 * lam**2)))
    return float(np.clip(1 - cdf, 0.0, 1.0))


def ks_test(samples, cdf) -> tuple[float, float]:
    """The Kolmogorov–Smirnov statistic D of ``samples`` against ``cdf`` and its asymptotic p-value
    P(K > √N D) (:func:`kolmogorov_sf`)."""
    xs = np.sort(np.asarray(samples, dtype=float))
    N = xs.size
    c = cdf(xs)
    D = float(max((np.arange(1, N + 1) / N - c).max(), (c - np.arange(N) / N).max()))
    return D, kolmogorov_sf(np.sqrt(N) * D)


#: A Monte Carlo check fails when its p-value falls below this (seeded, so a pass is reproducible).
P_MIN = 1e-3
#: Samples per Monte Carlo check.
MC_SAMPLES = 200_000


def gumbel_cdf(v):
    return np.exp(-np.exp(-np.asarray(v, dtype=float)))


def logistic_cdf(v):
    """The logistic CDF σ(v): the sigmoid neuron's overflow-free :func:`~derivations.sigmoid_neuron.sigmoid`."""
    return sigmoid_neuron.sigmoid(v)


def monte_carlo_table(sampler=gumbel_max_sample, seed: int = 1) -> CheckTable:
    """Gumbel-max frequencies against π (chi-square), and the samplers against their CDFs (KS)."""
    table = CheckTable(f"Monte Carlo: {MC_SAMPLES:,} seeded samples per row (seed {seed})",
                       ["what is sampled", "against", "statistic", "p-value"],
                       note=f"A row passes when its p-value is at least {P_MIN:g}.")
    rng = np.random.default_rng(seed)
    for probs in ([0.2, 0.3, 0.5], [0.05, 0.1, 0.15, 0.3, 0.4], [0.9, 0.05, 0.05]):
        counts = np.bincount(sampler(probs, rng, MC_SAMPLES), minlength=len(probs))
        stat, df, p = chi_square(counts, probs)
        table.rows.append({"what is sampled": f"argmax(log π + g), π = {probs}",
                           "against": f"π (chi-square, {df} d.f.)", "statistic": stat, "p-value": p,
                           "passed": p >= P_MIN})
    for what, draw, cdf, name in (
            ("g = −log(−log U)", lambda: sample_gumbel(rng, MC_SAMPLES), gumbel_cdf, "F (KS)"),
            ("g₁ − g₂", lambda: sample_gumbel(rng, MC_SAMPLES) - sample_gumbel(rng, MC_SAMPLES),
             logistic_cdf, "σ (KS)"),
            ("log U − log(1 − U)", lambda: logistic_noise(rng, MC_SAMPLES), logistic_cdf, "σ (KS)")):
        D, p = ks_test(draw(), cdf)
        table.rows.append({"what is sampled": what, "against": name, "statistic": D, "p-value": p,
                           "passed": p >= P_MIN})
    return table


@functools.cache
def numeric_checks() -> list[CheckTable]:
    """The results against independent oracles, and the samplers against their laws."""
    return [crosscheck(results(), points=5, seed=0,
                       title="f = ∂F/∂x, ∂σ/∂x and ∂P(argmax = k)/∂a_j (n = 3) against independent oracles"),
            monte_carlo_table()]
