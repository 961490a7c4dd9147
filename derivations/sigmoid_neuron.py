r"""A single sigmoid neuron and its three gradients.

Notation (column vectors, inputs numbered :math:`1 … n`):

- :math:`x \in \mathbb{R}^n` the input, :math:`w \in \mathbb{R}^n` the weights, :math:`b` the bias;
- :math:`z = w^\top x + b = \sum_k w_k x_k + b` the neuron's input;
- :math:`\sigma(z) = 1/(1 + e^{-z})` the logistic sigmoid;
- :math:`a = \sigma(z)` the activation (seed: "One Neuron Computation").

Equations derived and checked here:

.. math::

   \sigma'(z) = \sigma(z)\,(1 - \sigma(z)), \qquad
   \frac{\partial a}{\partial w_j} = a(1 - a)\,x_j, \qquad
   \frac{\partial a}{\partial b} = a(1 - a), \qquad
   \frac{\partial a}{\partial x_j} = a(1 - a)\,w_j.

Examples
--------
>>> import numpy as np
>>> w, x = np.array([1.0, -2.0]), np.array([0.5, 0.25])
>>> float(neuron_forward(w, x, 0.0))
0.5
>>> g = neuron_backward(w, x, 0.0)
>>> g["dw"].tolist(), float(g["db"]), g["dx"].tolist()
([0.125, 0.0625], 0.25, [0.25, -0.5])
>>> neuron_forward(w, np.zeros(3), 0.0)
Traceback (most recent call last):
...
ValueError: input x has shape (3,) but the weights w have shape (2,): they must be equal-length vectors
"""

from __future__ import annotations

import functools

import numpy as np
import sympy as sp

from .core import Derivation, Result, evaluate, indexed, notation, sym
from .core import shown_product as _mul
from .oracles import CheckTable, crosscheck

TITLE = "A sigmoid neuron: σ' = σ(1 − σ) and ∂a/∂w, ∂a/∂b, ∂a/∂x"

#: Input sizes at which every step is checked (j takes the first and the last input).
SIZES = (1, 2)
#: Input size at which results are published (elementwise).
N_SHOWN = 3

# ---- symbols (each made in one place) -----------------------------------------------------
n = sym("n", meaning="number of inputs", integer=True, positive=True)
j, k = (sym(s, integer=True, positive=True) for s in "jk")
notation(j, r"index of an input, $1 \le j \le n$")
notation(k, r"index of an input in a sum, $1 \le k \le n$")
w = indexed("w", "w", meaning="weights", shape=r"${n \times 1}$", real=True)
x = indexed("x", "x", meaning="input", shape=r"${n \times 1}$", real=True)
b = sym("b", meaning="bias", shape="scalar", real=True)
z = sym("z", meaning=r"the neuron's input, $w^\top x + b$", shape="scalar", real=True)
a = sym("a", meaning=r"the neuron's activation, $\sigma(z)$", shape="scalar", real=True)
sigma = sym("sigma", r"\sigma", meaning=r"logistic sigmoid, $\sigma(u) = 1/(1 + e^{-u})$", shape="scalar", real=True)
u = sym("u", meaning=r"argument of $\sigma$ in the derivation of $\sigma'$", shape="scalar",
        real=True)  # the argument of σ in the standalone derivation of σ'



def logistic(t):
    r"""σ(t) = 1/(1 + e^{-t}) as a SymPy expression."""
    return 1 / (1 + sp.exp(-t))


#: z := Σ_k w_k x_k + b,  a := σ(z)
DEFINITIONS = {z: sp.Sum(w[k] * x[k], (k, 1, n)) + b, a: logistic(z)}


def _instances():
    return [{n: size, j: jj} for size in SIZES for jj in sorted({1, size})]


@functools.cache
def sigmoid_prime_derivation() -> Derivation:
    r"""σ'(u) = σ(u)(1 − σ(u)), from the definition, one rule per step."""
    e = sp.exp(-u)
    d = Derivation("sigmoid_prime", "The derivative of the sigmoid", sp.Derivative(sigma, u),
                   definitions={sigma: logistic(u)}, label="sigmoid-neuron-sigma-prime")
    d.step(sp.Derivative((1 + e) ** -1, u), r"definition $\sigma(u) = (1 + e^{-u})^{-1}$")
    d.step(_mul(-1, (1 + e) ** -2, -e), r"chain rule: $(v^{-1})' = -v^{-2} v'$ and $(e^{-u})' = -e^{-u}$")
    d.step(e / (1 + e) ** 2, "the two minus signs cancel")
    d.step(_mul(1 / (1 + e), e / (1 + e)), "split the fraction")
    d.step(_mul(1 / (1 + e), 1 - 1 / (1 + e)), r"$\frac{e^{-u}}{1 + e^{-u}} = 1 - \frac{1}{1 + e^{-u}}$")
    d.step(_mul(sigma, 1 - sigma), r"definition of $\sigma$")
    return d


def _gradient(name, title, wrt, local, local_why, label):
    d = Derivation(name, title, sp.Derivative(a, wrt), definitions=DEFINITIONS,
                   instances=_instances(), label=label)
    d.step(_mul(sp.Derivative(a, z), sp.Derivative(z, wrt)), "chain rule through $z$")
    d.step(_mul(a, 1 - a, sp.Derivative(z, wrt)), r"$\sigma' = \sigma(1 - \sigma)$ and $a = \sigma(z)$")
    d.step(_mul(a, 1 - a, local) if local != 1 else _mul(a, 1 - a), local_why)
    return d


@functools.cache
def dw_derivation() -> Derivation:
    return _gradient("neuron_dw", "The gradient with respect to a weight", w[j], x[j],
                     r"$z = \sum_k w_k x_k + b$: only the term $w_j x_j$ holds $w_j$",
                     "sigmoid-neuron-dw")


@functools.cache
def db_derivation() -> Derivation:
    return _gradient("neuron_db", "The gradient with respect to the bias", b, sp.Integer(1),
                     r"$\partial z / \partial b = 1$", "sigmoid-neuron-db")


@functools.cache
def dx_derivation() -> Derivation:
    return _gradient("neuron_dx", "The gradient with respect to an input", x[j], w[j],
                     r"only the term $w_j x_j$ holds $x_j$", "sigmoid-neuron-dx")


def derivations() -> list[Derivation]:
    """Every derivation of this topic, in reading order."""
    return [sigmoid_prime_derivation(), dw_derivation(), db_derivation(), dx_derivation()]


# ---- results: elementwise, at n = 3, as plain symbols ------------------------------------

W = [sym(f"w{r}", f"w_{{{r}}}", real=True) for r in range(1, N_SHOWN + 1)]
X = [sym(f"x{r}", f"x_{{{r}}}", real=True) for r in range(1, N_SHOWN + 1)]


def flat(expr):
    """Replace w[r], x[r] by the plain symbols w_r, x_r (published results are scalar)."""
    return sp.together(expr).xreplace({**{w[r + 1]: W[r] for r in range(N_SHOWN)},
                          **{x[r + 1]: X[r] for r in range(N_SHOWN)}})


@functools.cache
def results() -> list[Result]:
    """∂a/∂w_j, ∂a/∂b, ∂a/∂x_j at n = 3, each from its derivation's last step.

    The last step a(1 − a)·… is written over one denominator (``together``), e^{-z}/(1 + e^{-z})²·…,
    the form direct differentiation gives, so the published and direct forms compare quickly.
    """
    inst = {n: N_SHOWN}
    of = flat(evaluate(a, DEFINITIONS, inst))
    out = []
    for r in range(1, N_SHOWN + 1):
        out.append(Result(of, W[r - 1], flat(evaluate(dw_derivation().result, DEFINITIONS, {**inst, j: r})),
                          name="a"))
    out.append(Result(of, b, flat(evaluate(db_derivation().result, DEFINITIONS, {**inst, j: 1})), name="a"))
    for r in range(1, N_SHOWN + 1):
        out.append(Result(of, X[r - 1], flat(evaluate(dx_derivation().result, DEFINITIONS, {**inst, j: r})),
                          name="a"))
    return out


# ---- numerics ----------------------------------------------------------------------------


def _vectors(w_, x_, b_):
    w_, x_ = np.asarray(w_, dtype=float), np.asarray(x_, dtype=float)
    if w_.ndim != 1 or w_.size == 0:
        raise ValueError(f"weights w must be a non-empty vector, got shape {w_.shape}")
    if x_.shape != w_.shape:
        raise ValueError(f"input x has shape {x_.shape} but the weights w have shape {w_.shape}: "
                         "they must be equal-length vectors")
    if np.ndim(b_) != 0:
        raise ValueError(f"bias b must be a scalar, got shape {np.shape(b_)}")
    return w_, x_, float(b_)


def sigmoid(t):
    """σ(t), computed without overflow for large ``|t|``."""
    t = np.asarray(t, dtype=float)
    e = np.exp(-np.abs(t))
    return np.where(t >= 0, 1 / (1 + e), e / (1 + e))


def sigmoid_slope(t):
    """σ′(t) = e/(1 + e)² with e = e^{−|t|}: the same number as σ(t)(1 − σ(t)), accurate to a few
    ulps *relative* for every float64 ``t``. The textbook form cancels: 1 − σ(t) keeps no digits
    once σ(t) rounds to 1, so σ(1 − σ) is 0 from t ≈ 37 on, where σ′(40) = 4.2e-18.

    >>> float(sigmoid_slope(0.0)), float(sigmoid_slope(40.0)) > 0
    (0.25, True)
    """
    t = np.asarray(t, dtype=float)
    e = np.exp(-np.abs(t))
    return e / (1 + e) ** 2


def tanh_slope(t):
    """tanh′(t) = 1/cosh²(t) = 4e/(1 + e)² with e = e^{−2|t|}, accurate to a few ulps relative for
    every float64 ``t`` (1 − tanh² is 0 from t ≈ 19 on)."""
    t = np.asarray(t, dtype=float)
    e = np.exp(-2 * np.abs(t))
    return 4 * e / (1 + e) ** 2


def neuron_forward(w_, x_, b_):
    """a = σ(wᵀx + b)."""
    w_, x_, b_ = _vectors(w_, x_, b_)
    return sigmoid(w_ @ x_ + b_)


def neuron_backward(w_, x_, b_):
    """The three gradients of a: ``dw = a(1−a)x``, ``db = a(1−a)``, ``dx = a(1−a)w``."""
    w_, x_, b_ = _vectors(w_, x_, b_)
    z_ = w_ @ x_ + b_
    a_ = sigmoid(z_)
    local = sigmoid_slope(z_)  # σ'(z) = σ(z)(1 − σ(z)), eq. (sigmoid-neuron-sigma-prime), without its cancellation
    return {"a": a_, "dw": local * x_, "db": local, "dx": local * w_}


@functools.cache
def numeric_checks() -> list[CheckTable]:
    """The published results against independent oracles, and the NumPy code against differences."""
    return [crosscheck(results(), points=3, seed=0,
                       title=f"∂a/∂w_j, ∂a/∂b, ∂a/∂x_j (n = {N_SHOWN}) against independent oracles"),
            numpy_table()]


def numpy_table(sizes=(3, 100), seed: int = 1) -> CheckTable:
    """``neuron_backward`` against float64 central differences of ``neuron_forward``."""
    table = CheckTable("NumPy neuron_backward against central differences (h = 1e-6)",
                       ["n", "gradient", "max |backward − difference|", "tolerance"],
                       note="Seeded normal w, x, b; pass when the error is ≤ 1e-8.")
    rng = np.random.default_rng(seed)
    h = 1e-6
    for size in sizes:
        w_, x_, b_ = rng.normal(size=size), rng.normal(size=size), float(rng.normal())
        g = neuron_backward(w_, x_, b_)
        eye = np.eye(size)
        num = {"dw": np.array([neuron_forward(w_ + h * e, x_, b_) - neuron_forward(w_ - h * e, x_, b_) for e in eye]),
               "dx": np.array([neuron_forward(w_, x_ + h * e, b_) - neuron_forward(w_, x_ - h * e, b_) for e in eye]),
               "db": np.array(neuron_forward(w_, x_, b_ + h) - neuron_forward(w_, x_, b_ - h))}
        for key, val in num.items():
            err = float(np.max(np.abs(g[key] - val / (2 * h))))
            table.rows.append({"n": size, "gradient": key, "max |backward − difference|": err,
                               "tolerance": "1e-8", "passed": err <= 1e-8})
    return table
