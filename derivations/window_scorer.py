r"""The NER window scorer of the seed (after CS224d): s = Uᵀ f(Wx + b), and its max-margin loss.

Notation (column vectors; the true window and the corrupt window share every parameter):

- :math:`d` the word-vector dimension, :math:`N` the window length, :math:`D = dN` the input size,
  :math:`m` the number of hidden units (the seed: :math:`d = 4`, :math:`N = 5`, :math:`m = 8`);
- :math:`x \in \mathbb{R}^{D}` the true window ("Museums in Paris are amazing"), the word vectors
  stacked; :math:`x_c` the corrupt window ("Not all museums in Paris");
- :math:`W \in \mathbb{R}^{m \times D}`, :math:`b \in \mathbb{R}^m`, :math:`U \in \mathbb{R}^m`;
- :math:`z = Wx + b`, :math:`a = f(z)`, :math:`s = U^\top a`; likewise :math:`z_c, a_c, s_c`
  from :math:`x_c`; :math:`f` the activation (generic in the derivations, the sigmoid in numbers);
- :math:`J = \max(\Delta + s_c - s, 0)` the max-margin objective (seed eq. 6);
- :math:`\delta_i = U_i f'(z_i)` and :math:`\delta_{c,i} = U_i f'(z_{c,i})`.

Equations derived and checked here (on the branch :math:`\mathcal{J} > 0`, where :math:`\mathcal{J} = \Delta + s_c - s`):

.. math::

   \frac{\partial \mathcal{J}}{\partial s} = -1,\quad \frac{\partial \mathcal{J}}{\partial s_c} = 1,\quad
   \frac{\partial \mathcal{J}}{\partial W_{ij}} = -\delta_i x_j + \delta_{c,i} x_{c,j},\quad
   \frac{\partial \mathcal{J}}{\partial b_i} = -\delta_i + \delta_{c,i},\quad
   \frac{\partial \mathcal{J}}{\partial U_i} = -a_i + a_{c,i},

.. math::

   \frac{\partial \mathcal{J}}{\partial x_j} = -\sum_k \delta_k W_{kj},\qquad
   \frac{\partial \mathcal{J}}{\partial x_{c,j}} = \sum_k \delta_{c,k} W_{kj}.

Where :math:`\Delta + s_c - s < 0` (the margin is met, so :math:`\mathcal{J} = 0`) every gradient is 0; at
:math:`\Delta + s_c - s = 0` (the kink) the gradient is undefined. :math:`\mathcal{J}` itself is never negative.

Examples
--------
>>> [(row["name"], row["shape"]) for row in shape_table(4, 5, 8)][:4]
[('x', (20,)), ('W', (8, 20)), ('b', (8,)), ('z = Wx + b', (8,))]
>>> params = init_params(4, 5, 8, seed=0)
>>> score(params, np.zeros(19))
Traceback (most recent call last):
...
ValueError: window x has shape (19,) but W has shape (8, 20): x must be a vector of length 20 (5 words × 4 dims)
>>> float(max_margin(2.0, 0.5, delta=1.0)), float(max_margin(0.5, 2.0, delta=1.0))
(0.0, 2.5)
"""

from __future__ import annotations

import functools

import numpy as np
import sympy as sp
from sympy.core.function import AppliedUndef

from .core import Condition, Derivation, Result, evaluate, indexed, notation, sym
from .core import shown_product as _mul
from .oracles import CheckTable, crosscheck
from .sigmoid_neuron import logistic, sigmoid, sigmoid_slope

TITLE = "The window scorer s = Uᵀf(Wx + b) and its max-margin gradients"

#: The seed's sizes: word-vector dimension, window length, hidden units.
SEED_DIM, SEED_WINDOW, SEED_HIDDEN = 4, 5, 8
#: The seed's two windows.
TRUE_WINDOW = ("museums", "in", "paris", "are", "amazing")
CORRUPT_WINDOW = ("not", "all", "museums", "in", "paris")
#: ``|Δ + s_c − s|`` below this (relative to the scores) counts as the kink, where J has no gradient.
KINK_TOL = 1e-12
#: Sizes (hidden m, input D) at which results are published elementwise.
M_SHOWN, D_SHOWN = 2, 2

# ---- symbols (each made in one place) -----------------------------------------------------
m = sym("m", meaning="number of hidden units", integer=True, positive=True)
D = sym("D", meaning=r"input size, $D = dN$ (window length $N$ × word-vector dimension $d$)", integer=True,
        positive=True)
i, j, k, l = (sym(t, integer=True, positive=True) for t in "ijkl")
notation(i, r"index of a hidden unit, $1 \le i \le m$")
notation(j, r"index of an input, $1 \le j \le D$")
notation(k, r"index of a hidden unit in a sum, $1 \le k \le m$")
notation(l, r"index of an input in a sum, $1 \le l \le D$")
W = indexed("W", "W", meaning="hidden-layer weights, shared by both windows", shape=r"${m \times D}$", real=True)
b = indexed("b", "b", meaning="hidden-layer bias", shape=r"${m \times 1}$", real=True)
U = indexed("U", "U", meaning="scoring weights", shape=r"${m \times 1}$", real=True)
x = indexed("x", "x", meaning="true window, its word vectors stacked", shape=r"${D \times 1}$", real=True)
xc = indexed("x_c", "x_{c}", meaning="corrupt window, its word vectors stacked", shape=r"${D \times 1}$", real=True)
z = indexed("z", "z", meaning="hidden pre-activation of the true window, $Wx + b$", shape=r"${m \times 1}$", real=True)
zc = indexed("z_c", "z_{c}", meaning="hidden pre-activation of the corrupt window, $Wx_c + b$", shape=r"${m \times 1}$",
             real=True)
a = indexed("a", "a", meaning="hidden activation of the true window, $f(z)$", shape=r"${m \times 1}$", real=True)
ac = indexed("a_c", "a_{c}", meaning="hidden activation of the corrupt window, $f(z_c)$", shape=r"${m \times 1}$",
             real=True)
delta = indexed("delta", r"\delta", meaning=r"error of a hidden unit, $\delta_i = U_i f'(z_i)$",
                shape=r"${m \times 1}$", real=True)
deltac = indexed("delta_c", r"\delta_{c}", meaning=r"error of a hidden unit for the corrupt window, "
                 r"$\delta_{c,i} = U_i f'(z_{c,i})$", shape=r"${m \times 1}$", real=True)
s = sym("s", meaning=r"score of the true window, $U^\top a$", shape="scalar", real=True)
s_c = sym("s_c", "s_{c}", meaning=r"score of the corrupt window, $U^\top a_c$", shape="scalar", real=True)
J = sym("J", r"\mathcal{J}", meaning=r"max-margin objective, $\max(\Delta + s_c - s, 0)$ (seed eq. 6)",
        shape="scalar", real=True)
Delta = sym("Delta", r"\Delta", meaning="margin by which the true window should outscore the corrupt one",
            shape="scalar", real=True)
f = sp.Function("f", real=True)
notation(f, "activation, elementwise (generic in the derivations, the sigmoid in numbers)")

#: The margin u = Δ + s_c − s; J = max(u, 0).
MARGIN = Delta + s_c - s

#: The model, for both windows, as the checker knows it.
MODEL = {
    z: sp.Lambda(i, sp.Sum(W[i, l] * x[l], (l, 1, D)) + b[i]),
    zc: sp.Lambda(i, sp.Sum(W[i, l] * xc[l], (l, 1, D)) + b[i]),
    a: sp.Lambda(i, f(z[i])),
    ac: sp.Lambda(i, f(zc[i])),
    s: sp.Sum(U[k] * a[k], (k, 1, m)),
    s_c: sp.Sum(U[k] * ac[k], (k, 1, m)),
    delta: sp.Lambda(i, U[i] * sp.Derivative(f(z[i]), z[i])),
    deltac: sp.Lambda(i, U[i] * sp.Derivative(f(zc[i]), zc[i])),
}
#: On the branch 𝒥 > 0 the objective is the margin itself.
BRANCH = {**MODEL, J: MARGIN}

ACTIVE = Condition(sp.StrictGreaterThan(MARGIN, 0), (sp.Eq(sp.Heaviside(MARGIN), 1),))
FLAT = Condition(sp.StrictLessThan(MARGIN, 0), (sp.Eq(sp.Heaviside(MARGIN), 0),))



def _instances():
    """(m, D) = (1, 1) and (2, 3); i and j take the first and the last unit."""
    out = [{m: 1, D: 1, i: 1, j: 1}]
    out += [{m: 2, D: 3, i: ii, j: jj} for ii, jj in ((1, 3), (2, 1))]
    return out


@functools.cache
def margin_derivation(active: bool = True) -> Derivation:
    """∂𝒥/∂s and ∂𝒥/∂s_c of J = max(Δ + s_c − s, 0), on one side of the kink."""
    cond, vals, word = (ACTIVE, (-1, 1), "active") if active else (FLAT, (0, 0), "flat")
    d = Derivation(f"margin_{word}", f"The max-margin objective where Δ + s_c − s {'>' if active else '<'} 0",
                   sp.ImmutableMatrix([sp.Derivative(J, s), sp.Derivative(J, s_c)]),
                   definitions={J: sp.Max(MARGIN, 0)}, label=f"window-scorer-margin-{word}")
    d.step(sp.ImmutableMatrix([-sp.Heaviside(MARGIN), sp.Heaviside(MARGIN)]),
           r"$\frac{d}{du}\max(u, 0) = \theta(u)$, the unit step (undefined at $u = 0$); "
           r"$u = \Delta + s_c - s$")
    d.step(sp.ImmutableMatrix(list(vals)), f"$\\theta(u) = {1 if active else 0}$ here", given=[cond])
    return d


def _branch_derivation(name, title, wrt, direct, local, local_why, final, final_why, label):
    d = Derivation(name, title, sp.Derivative(J, wrt), definitions=BRANCH, instances=_instances(),
                   label=label)
    d.step(_mul(sp.Derivative(J, s), sp.Derivative(s, wrt)) + _mul(sp.Derivative(J, s_c), sp.Derivative(s_c, wrt)),
           r"chain rule: the parameter reaches $\mathcal{J}$ through both scores")
    d.step(-sp.Derivative(s, wrt) + sp.Derivative(s_c, wrt),
           r"$\partial \mathcal{J}/\partial s = -1$, $\partial \mathcal{J}/\partial s_c = 1$ where $\mathcal{J} > 0$")
    d.step(local, local_why)
    if final is not None:
        d.step(final, final_why)
    return d


def _fp(arg):
    """f'(arg) as an unevaluated derivative (prints as f'(z_i))."""
    return sp.Derivative(f(arg), arg)


@functools.cache
def dW_derivation() -> Derivation:
    return _branch_derivation(
        "window_dW", "The gradient with respect to W (both windows)", W[i, j], None,
        -_mul(U[i], _fp(z[i]), x[j]) + _mul(U[i], _fp(zc[i]), xc[j]),
        r"$s = \sum_k U_k f(z_k)$; only $z_i$ holds $W_{ij}$, and $\partial z_i/\partial W_{ij} = x_j$",
        -delta[i] * x[j] + deltac[i] * xc[j], r"definition of $\delta$, $\delta_c$",
        "window-scorer-dW")


@functools.cache
def db_derivation() -> Derivation:
    return _branch_derivation(
        "window_db", "The gradient with respect to b", b[i], None,
        -_mul(U[i], _fp(z[i])) + _mul(U[i], _fp(zc[i])), r"$\partial z_i/\partial b_i = 1$",
        -delta[i] + deltac[i], r"definition of $\delta$, $\delta_c$", "window-scorer-db")


@functools.cache
def dU_derivation() -> Derivation:
    return _branch_derivation(
        "window_dU", "The gradient with respect to U", U[i], None,
        -f(z[i]) + f(zc[i]), r"$s = \sum_k U_k a_k$ with $a_k = f(z_k)$",
        -a[i] + ac[i], r"definition of $a$, $a_c$", "window-scorer-dU")


@functools.cache
def dx_derivation() -> Derivation:
    return _branch_derivation(
        "window_dx", "The gradient with respect to the true window x", x[j], None,
        -sp.Sum(_mul(U[k], _fp(z[k]), W[k, j]), (k, 1, m)),
        r"every $z_k$ holds $x_j$ with weight $W_{kj}$; $s_c$ does not depend on $x$",
        -sp.Sum(delta[k] * W[k, j], (k, 1, m)), r"definition of $\delta$", "window-scorer-dx")


@functools.cache
def dxc_derivation() -> Derivation:
    return _branch_derivation(
        "window_dxc", "The gradient with respect to the corrupt window x_c", xc[j], None,
        sp.Sum(_mul(U[k], _fp(zc[k]), W[k, j]), (k, 1, m)),
        r"every $z_{c,k}$ holds $x_{c,j}$ with weight $W_{kj}$; $s$ does not depend on $x_c$",
        sp.Sum(deltac[k] * W[k, j], (k, 1, m)), r"definition of $\delta_c$", "window-scorer-dxc")


def derivations() -> list[Derivation]:
    """Every derivation of this topic, in reading order."""
    return [margin_derivation(True), margin_derivation(False), dW_derivation(), db_derivation(),
            dU_derivation(), dx_derivation(), dxc_derivation()]


# ---- results: elementwise, at m = 2, D = 2, f = sigmoid, as plain symbols ----------------

def _plain(base, latex_base, *shape):
    if len(shape) == 1:
        return {base[r + 1]: sym(f"{base.label}{r + 1}", f"{latex_base}_{{{r + 1}}}", real=True)
                for r in range(shape[0])}
    return {base[r + 1, c + 1]: sym(f"{base.label}{r + 1}{c + 1}", f"{latex_base}_{{{r + 1}{c + 1}}}", real=True)
            for r in range(shape[0]) for c in range(shape[1])}


FLAT_SYMBOLS = {**_plain(W, "W", M_SHOWN, D_SHOWN), **_plain(b, "b", M_SHOWN), **_plain(U, "U", M_SHOWN),
                **_plain(x, "x", D_SHOWN), **_plain(xc, "x_{c}", D_SHOWN)}


def with_sigmoid(expr):
    r"""Make the generic activation concrete: f → σ, f' → σ' = e^{-t}/(1 + e^{-t})²
    (= σ(1 − σ), proved by :func:`derivations.sigmoid_neuron.sigmoid_prime_derivation`)."""
    def conc(e):
        t = e.args[0]
        return logistic(t) if e.func.__name__ == "f" else sp.exp(-t) / (1 + sp.exp(-t)) ** 2
    return expr.replace(lambda e: isinstance(e, AppliedUndef) and e.func.__name__ in ("f", "f'"), conc)


def flat(expr):
    """Plain symbols for the elements and the sigmoid for f: the published (JSON) form."""
    return with_sigmoid(expr).xreplace(FLAT_SYMBOLS)


@functools.cache
def results() -> list[Result]:
    """∂𝒥/∂W_ij, ∂𝒥/∂b_i, ∂𝒥/∂U_i, ∂𝒥/∂x_j, ∂𝒥/∂x_c,j at m = D = 2, on the branch 𝒥 > 0.

    ``of`` is J = Δ + s_c − s, the objective where it is positive (the published branch).
    """
    inst = {m: M_SHOWN, D: D_SHOWN}
    of = flat(evaluate(J, BRANCH, inst))
    out = []

    def add(deriv, wrt, idx):
        expr = flat(evaluate(deriv.result, BRANCH, {**inst, **idx}))
        out.append(Result(of, FLAT_SYMBOLS[wrt], expr, name=r"\mathcal{J}"))

    for r in range(1, M_SHOWN + 1):
        for c in range(1, D_SHOWN + 1):
            add(dW_derivation(), W[r, c], {i: r, j: c})
    for r in range(1, M_SHOWN + 1):
        add(db_derivation(), b[r], {i: r})
        add(dU_derivation(), U[r], {i: r})
    for c in range(1, D_SHOWN + 1):
        add(dx_derivation(), x[c], {j: c})
        add(dxc_derivation(), xc[c], {j: c})
    return out


# ---- numerics: shapes, the model, the worked example -------------------------------------


def init_params(dim: int = SEED_DIM, window: int = SEED_WINDOW, hidden: int = SEED_HIDDEN,
                seed: int = 0) -> dict:
    """Seeded parameters W (hidden × dim·window), b (hidden), U (hidden)."""
    for name, v in (("dimension", dim), ("window", window), ("hidden", hidden)):
        if not isinstance(v, (int, np.integer)) or v < 1:
            raise ValueError(f"{name} must be a positive integer, got {v!r}")
    rng = np.random.default_rng(seed)
    size = dim * window
    return {"W": rng.normal(scale=1 / np.sqrt(size), size=(hidden, size)),
            "b": rng.normal(scale=0.1, size=hidden), "U": rng.normal(scale=1 / np.sqrt(hidden), size=hidden),
            "dim": dim, "window": window}


def _check(params, x_):
    W_, b_, U_ = (np.asarray(params[key], dtype=float) for key in "WbU")
    if W_.ndim != 2:
        raise ValueError(f"W must be a matrix, got shape {W_.shape}")
    if b_.shape != (W_.shape[0],) or U_.shape != (W_.shape[0],):
        raise ValueError(f"b has shape {b_.shape} and U has shape {U_.shape}, but W has shape {W_.shape}: "
                         f"both must be vectors of length {W_.shape[0]} (the hidden units)")
    x_ = np.asarray(x_, dtype=float)
    if x_.shape != (W_.shape[1],):
        how = ""
        if "dim" in params:
            how = f" ({params['window']} words × {params['dim']} dims)"
        raise ValueError(f"window x has shape {x_.shape} but W has shape {W_.shape}: "
                         f"x must be a vector of length {W_.shape[1]}{how}")
    return W_, b_, U_, x_


def score(params, x_) -> dict:
    """The forward pass z = Wx + b, a = σ(z), s = Uᵀa, with every shape asserted."""
    W_, b_, U_, x_ = _check(params, x_)
    z_ = W_ @ x_ + b_
    a_ = sigmoid(z_)
    s_ = U_ @ a_
    assert z_.shape == a_.shape == (W_.shape[0],) and np.ndim(s_) == 0
    return {"x": x_, "z": z_, "a": a_, "s": float(s_)}


def max_margin(s_, s_c_, delta: float = 1.0) -> float:
    """J = max(Δ + s_c − s, 0) (seed eq. 6)."""
    return max(delta + s_c_ - s_, 0.0)


def backward(params, x_, x_c, delta: float = 1.0) -> dict:
    """J and its gradients for W, b, U, x and x_c (both windows contribute).

    Raises ValueError at the kink Δ + s_c − s = 0 (to within :data:`KINK_TOL`, relative), where
    the gradient is undefined.
    """
    W_ = np.asarray(params["W"], dtype=float)
    fwd, fwd_c = score(params, x_), score(params, x_c)
    u = delta + fwd_c["s"] - fwd["s"]
    if abs(u) <= KINK_TOL * max(1.0, abs(delta), abs(fwd["s"]), abs(fwd_c["s"])):
        raise ValueError(f"Δ + s_c − s = {u:.3g}: J = max(·, 0) is at its kink (within rounding) "
                         "and has no gradient there")
    dJ_ds, dJ_dsc = (-1.0, 1.0) if u > 0 else (0.0, 0.0)  # eq. (window-scorer-margin-active/flat)
    U_ = np.asarray(params["U"], dtype=float)
    delta_ = dJ_ds * U_ * sigmoid_slope(fwd["z"])  # ∂𝒥/∂z = ∂𝒥/∂s · U ∘ f'(z), f' = σ(1 − σ) to the ulp
    delta_c = dJ_dsc * U_ * sigmoid_slope(fwd_c["z"])
    return {"J": max(u, 0.0), "s": fwd["s"], "s_c": fwd_c["s"],
            "dW": np.outer(delta_, fwd["x"]) + np.outer(delta_c, fwd_c["x"]),
            "db": delta_ + delta_c, "dU": dJ_ds * fwd["a"] + dJ_dsc * fwd_c["a"],
            "dx": W_.T @ delta_, "dx_c": W_.T @ delta_c}


def shape_table(dim: int = SEED_DIM, window: int = SEED_WINDOW, hidden: int = SEED_HIDDEN) -> list[dict]:
    """The seed's "analysis of dimensions", computed from the model's own arrays."""
    params = init_params(dim, window, hidden)
    fwd = score(params, np.zeros(dim * window))
    rows = [("x", fwd["x"], f"{window} word vectors of dimension {dim}, stacked"),
            ("W", params["W"], "hidden × input"), ("b", params["b"], "one bias per hidden unit"),
            ("z = Wx + b", fwd["z"], "hidden pre-activations"), ("a = f(z)", fwd["a"], "hidden activations"),
            ("U", params["U"], "one read-out weight per hidden unit"), ("s = Uᵀa", np.float64(fwd["s"]), "the score")]
    expected = {"x": (dim * window,), "W": (hidden, dim * window), "b": (hidden,), "z = Wx + b": (hidden,),
                "a = f(z)": (hidden,), "U": (hidden,), "s = Uᵀa": ()}
    out = []
    for name, arr, meaning in rows:
        shape = tuple(np.shape(arr))
        assert shape == expected[name], (name, shape, expected[name])
        out.append({"name": name, "shape": shape, "meaning": meaning})
    return out


def vocabulary() -> list[str]:
    """The words of the two windows, in order of first appearance."""
    return list(dict.fromkeys(TRUE_WINDOW + CORRUPT_WINDOW))


def embedding_table(dim: int = SEED_DIM, seed: int = 1) -> dict[str, np.ndarray]:
    """A small seeded embedding table over the two windows' words."""
    rng = np.random.default_rng(seed)
    return {w: rng.normal(size=dim) for w in vocabulary()}


def window_vector(words, table) -> np.ndarray:
    """x: the window's word vectors stacked into one column."""
    try:
        return np.concatenate([table[w] for w in words])
    except KeyError as err:
        raise ValueError(f"word {err.args[0]!r} is not in the embedding table") from None


def embedding_gradient(grads, table) -> dict[str, np.ndarray]:
    """∂𝒥/∂L_w for every word: its slices of ∂𝒥/∂x and ∂𝒥/∂x_c, summed over its occurrences."""
    dim = len(next(iter(table.values())))
    out = {w: np.zeros(dim) for w in table}
    for words, g in ((TRUE_WINDOW, grads["dx"]), (CORRUPT_WINDOW, grads["dx_c"])):
        for pos, w in enumerate(words):
            out[w] += g[pos * dim:(pos + 1) * dim]
    return out


def worked_example(delta: float = 1.0, seed: int = 0):
    """The seed's two windows through the seed-sized scorer: parameters, table, scores, gradients."""
    params = init_params(seed=seed)
    table = embedding_table()
    x_, x_c = window_vector(TRUE_WINDOW, table), window_vector(CORRUPT_WINDOW, table)
    grads = backward(params, x_, x_c, delta)
    return params, table, x_, x_c, grads


def _loss(params, table, delta=1.0):
    x_, x_c = window_vector(TRUE_WINDOW, table), window_vector(CORRUPT_WINDOW, table)
    return max_margin(score(params, x_)["s"], score(params, x_c)["s"], delta)


@functools.cache
def numeric_checks() -> list[CheckTable]:
    """The published results against independent oracles; the NumPy code against differences."""
    return [crosscheck(results(), points=2, seed=0,
                       title=f"∂𝒥/∂W, ∂𝒥/∂b, ∂𝒥/∂U, ∂𝒥/∂x, ∂𝒥/∂x_c (m = D = {M_SHOWN}, f = σ, 𝒥 > 0) "
                             "against independent oracles"),
            numpy_table()]


def numpy_table(h: float = 1e-6) -> CheckTable:
    """``backward`` at the seed's sizes (the worked example) against central differences of J."""
    params, table, x_, x_c, grads = worked_example()
    out = CheckTable("NumPy backward on the worked example (d = 4, N = 5, m = 8) against central "
                     "differences of J (h = 1e-6)", ["gradient", "entries", "max |backward − difference|",
                                                     "tolerance"],
                     note=f"J = {grads['J']:.4f} > 0, far from the kink compared with h; pass when the error ≤ 1e-8.")

    def fd(getter):
        return lambda e: (getter(e, +h) - getter(e, -h)) / (2 * h)

    def perturbed(key, idx, t):
        p = {kk: (np.array(v, dtype=float, copy=True) if kk in "WbU" else v) for kk, v in params.items()}
        p[key][idx] += t
        return _loss(p, table)

    def perturbed_word(w, c, t):
        tb = {kk: v.copy() for kk, v in table.items()}
        tb[w][c] += t
        return _loss(params, tb)

    for key in ("W", "b", "U"):
        arr = np.asarray(params[key])
        num = np.array([fd(lambda idx, t: perturbed(key, idx, t))(idx) for idx in np.ndindex(arr.shape)])
        err = float(np.max(np.abs(grads["d" + key].ravel() - num)))
        out.rows.append({"gradient": f"∂𝒥/∂{key}", "entries": arr.size, "max |backward − difference|": err,
                         "tolerance": "1e-8", "passed": err <= 1e-8})
    emb = embedding_gradient(grads, table)
    errs = [abs(emb[w][c] - fd(lambda idx, t: perturbed_word(w, c, t))(0)) for w in table for c in range(len(table[w]))]
    out.rows.append({"gradient": "∂𝒥/∂L (L: the embedding table; rows of both windows)", "entries": len(errs),
                     "max |backward − difference|": float(max(errs)), "tolerance": "1e-8",
                     "passed": max(errs) <= 1e-8})
    return out
