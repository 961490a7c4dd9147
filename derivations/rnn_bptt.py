r"""A simple RNN: backpropagation through time as Jacobian products, vanishing and exploding.

Notation (column vectors; :math:`n` hidden units, :math:`m` classes, :math:`q` inputs, steps
:math:`t = 1 … \tau`), after Goodfellow, Bengio and Courville, *Deep Learning*, ch. 10:

- :math:`a^{(t)} = b + W h^{(t-1)} + U x^{(t)}` (``a_t``), :math:`h^{(t)} = \tanh a^{(t)}` (``h_t``);
- :math:`o^{(t)} = c + V h^{(t)}` (``o_t``), :math:`\hat y^{(t)} = \operatorname{softmax}(o^{(t)})`;
- :math:`L = \sum_t L^{(t)}`, :math:`L^{(t)} = -\sum_k y^{(t)}_k \log \hat y^{(t)}_k
  = \sum_k y^{(t)}_k\,(\log\sum_j e^{o^{(t)}_j} - o^{(t)}_k)` with :math:`\sum_k y^{(t)}_k = 1`;
- :math:`W \in \mathbb{R}^{n\times n}`, :math:`U \in \mathbb{R}^{n\times q}`,
  :math:`V \in \mathbb{R}^{m\times n}`, :math:`b \in \mathbb{R}^n`, :math:`c \in \mathbb{R}^m`.

Derived and checked here:

.. math::

    \frac{\partial h^{(t)}}{\partial h^{(t-1)}} = \operatorname{diag}(1 - (h^{(t)})^2)\,W, \qquad
    \frac{\partial h^{(t)}}{\partial h^{(k)}} = \prod_{i=k+1}^{t} \operatorname{diag}(1 - (h^{(i)})^2)\,W

    \nabla_{h^{(t)}}L = V^\top(\hat y^{(t)} - y^{(t)})
        + W^\top \operatorname{diag}(1 - (h^{(t+1)})^2)\,\nabla_{h^{(t+1)}}L

and the parameter gradients (:data:`PARAMETER_GRADIENTS`), e.g.
:math:`\partial L/\partial W_{ij} = \sum_t (1 - h_{i,t}^2)(\nabla_{h^{(t)}}L)_i\, h_{j,t-1}`.
With :math:`\gamma` the largest value of the activation's derivative (1 for tanh, 1/4 for the
sigmoid) and :math:`\lambda_1` the largest singular value of :math:`W`,
:math:`\lVert\partial h^{(t)}/\partial h^{(k)}\rVert_2 \le (\gamma\lambda_1)^{t-k}`
(Pascanu, Mikolov and Bengio 2013); :func:`jacobian_norms` measures the left side.

Examples
--------
>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> p = init_params(n=3, q=2, m=2, rng=rng)
>>> xs, ys = rng.normal(size=(4, 2)), np.eye(2)[[0, 1, 1, 0]]
>>> grads = backward(p, xs, ys)
>>> sorted(grads)
['U', 'V', 'W', 'b', 'c', 'h0']
>>> grads["W"].shape
(3, 3)
>>> hs = forward(p, xs)[0]
>>> norms = jacobian_norms(p["W"], hs)
>>> [round(float(v), 3) for v in norms[:2]]
[1.0, 0.587]
>>> bool(np.all(norms <= norm_bound(p["W"], len(hs) - 1) * (1 + 1e-12)))
True
>>> forward(p, xs[:, :1])
Traceback (most recent call last):
...
ValueError: inputs xs must have shape (T, 2) with T >= 1, got (4, 1)
"""

from __future__ import annotations

import functools
import itertools

import numpy as np
import sympy as sp

from .core import (Condition, Derivation, DerivationError, Induction, MatrixProduct, NamedMatrix, Result, indexed,
                   latex, notation, sym)
from .core import shown_product as _mul
from .oracles import CheckTable, crosscheck
from .render import SEPARATED, latex_names_of
from .sigmoid_neuron import tanh_slope

TITLE = "A simple RNN: BPTT as Jacobian products, vanishing and exploding gradients"

# ---- symbols (each made in one place) -----------------------------------------------------
n = sym("n", meaning="number of hidden units", integer=True, positive=True)  # hidden units
m = sym("m", meaning="number of classes", integer=True, positive=True)  # classes
q = sym("q", meaning="number of inputs", integer=True, positive=True)  # inputs
T = sym("T", r"\tau", meaning="number of steps", integer=True, positive=True)  # steps
i, j, k, r = (sym(s, integer=True, positive=True) for s in "ijkr")
notation(i, r"index of a row: a hidden unit, $1 \le i \le n$ (a class in $V_{ij}$, $c_i$)")
notation(j, r"index of a column: a hidden unit, $1 \le j \le n$ (an input in $U_{ij}$)")
notation(k, r"index in a sum over classes or hidden units; in $\partial h^{(t)}/\partial h^{(k)}$, an earlier step")
t = sym("t", meaning=r"step, $1 \le t \le \tau$", integer=True, positive=True)

#: bound indices of the sums inside definitions, one per definition (a definition's sum must not
#: capture the index it is called with)
_l1, _l2, _l3, _l4, _l5, _l6 = (sp.Dummy(f"l{s}", integer=True, positive=True) for s in range(1, 7))

W = indexed("W", "W", meaning="recurrent weights, hidden to hidden", shape=r"${n \times n}$", real=True)
U = indexed("U", "U", meaning="input weights, input to hidden", shape=r"${n \times q}$", real=True)
V = indexed("V", "V", meaning="output weights, hidden to output", shape=r"${m \times n}$", real=True)
b = indexed("b", "b", meaning="hidden bias", shape=r"${n \times 1}$", real=True)
c = indexed("c", "c", meaning="output bias", shape=r"${m \times 1}$", real=True)

# one step: h^(t-1) → a^(t) → h^(t)
h_prev = indexed("h_prev", r"h^{(t-1)}", meaning="hidden state at step $t - 1$", shape=r"${n \times 1}$", real=True)
h_t = indexed("h_t", r"h^{(t)}", meaning=r"hidden state at step $t$, $\tanh a^{(t)}$", shape=r"${n \times 1}$",
              real=True)
a_t = indexed("a_t", r"a^{(t)}", meaning="pre-activation at step $t$, $b + W h^{(t-1)} + U x^{(t)}$",
              shape=r"${n \times 1}$", real=True)
x_t = indexed("x_t", r"x^{(t)}", meaning="input at step $t$", shape=r"${q \times 1}$", real=True)
ONE_STEP = {a_t: sp.Lambda(r, b[r] + sp.Sum(W[r, _l1] * h_prev[_l1], (_l1, 1, n)) + sp.Sum(U[r, _l2] * x_t[_l2], (_l2, 1, q))),
            h_t: sp.Lambda(r, sp.tanh(a_t[r]))}

# the loss around step t: o^(t), ŷ^(t), and h^(t+1) carrying the rest of the loss
o_t = indexed("o_t", r"o^{(t)}", meaning="output scores at step $t$, $c + V h^{(t)}$", shape=r"${m \times 1}$",
              real=True)
yhat_t = indexed("yhat_t", r"\hat{y}^{(t)}", meaning=r"predicted distribution at step $t$, "
                 r"$\operatorname{softmax}(o^{(t)})$", shape=r"${m \times 1}$", real=True, positive=True)
y_t = indexed("y_t", r"y^{(t)}", meaning="target at step $t$ (entries sum to 1)", shape=r"${m \times 1}$", real=True)
h_next = indexed("h_next", r"h^{(t+1)}", meaning="hidden state at step $t + 1$", shape=r"${n \times 1}$", real=True)
a_next = indexed("a_next", r"a^{(t+1)}", real=True)
x_next = indexed("x_next", r"x^{(t+1)}", real=True)
g_next = indexed("g_next", r"(\nabla_{h^{(t+1)}} L)", meaning="gradient of the loss with respect to "
                 "$h^{(t+1)}$, given as values $g$", shape=r"${n \times 1}$", real=True)
L = sym("L", meaning=r"loss, $L = \sum_t L^{(t)}$, cross-entropy at every step", shape="scalar", real=True)
AROUND_T = {
    o_t: sp.Lambda(r, c[r] + sp.Sum(V[r, _l3] * h_t[_l3], (_l3, 1, n))),
    yhat_t: sp.Lambda(r, sp.exp(o_t[r]) / sp.Sum(sp.exp(o_t[_l4]), (_l4, 1, m))),
    a_next: sp.Lambda(r, b[r] + sp.Sum(W[r, _l5] * h_t[_l5], (_l5, 1, n)) + sp.Sum(U[r, _l6] * x_next[_l6], (_l6, 1, q))),
    h_next: sp.Lambda(r, sp.tanh(a_next[r])),
    # L^(t) in log-sum-exp form, plus the rest of the loss, which depends on h^(t) only through
    # h^(t+1): to first order it is Σ_k g_k h^(t+1)_k with g = ∇_{h^(t+1)} L given.
    L: sp.Sum(y_t[k] * (sp.log(sp.Sum(sp.exp(o_t[j]), (j, 1, m))) - o_t[k]), (k, 1, m))
       + sp.Sum(g_next[k] * h_next[k], (k, 1, n)),
}
SUM_TO_ONE = Condition(sp.Eq(sp.Sum(y_t[k], (k, 1, m)), 1),
                       (sp.Eq(y_t[m], 1 - sp.Sum(y_t[k], (k, 1, m - 1))),))



def _diag(entries):
    entries = list(entries)
    return sp.ImmutableMatrix(len(entries), len(entries), lambda a_, b_: entries[a_] if a_ == b_ else 0)


def _explicit(base, rows, cols=None):
    if cols is None:
        return sp.ImmutableMatrix(rows, 1, lambda a_, _: base[a_ + 1])
    return sp.ImmutableMatrix(rows, cols, lambda a_, b_: base[a_ + 1, b_ + 1])


@functools.cache
def one_step_derivation() -> Derivation:
    """∂h_i^(t)/∂h_j^(t−1) = (1 − h_i^(t)²) W_ij, checked at n = 2, 3 and q = 1, 2."""
    inst = [{n: nn, q: qq, i: ii, j: jj} for nn, qq in ((2, 1), (3, 2)) for ii, jj in ((1, 1), (1, 2), (nn, 1))]
    d = Derivation("rnn_one_step", "One step of the RNN: the Jacobian ∂h(t)/∂h(t−1)",
                   sp.Derivative(h_t[i], h_prev[j]), definitions=ONE_STEP, instances=inst,
                   label="rnn-bptt-one-step")
    d.step(sp.Derivative(sp.tanh(a_t[i]), h_prev[j]), r"definition $h^{(t)} = \tanh a^{(t)}$")
    d.step(_mul(1 - sp.tanh(a_t[i]) ** 2, sp.Derivative(a_t[i], h_prev[j])),
           r"chain rule, $\tanh' = 1 - \tanh^2$")
    d.step((1 - h_t[i] ** 2) * W[i, j], r"$a^{(t)}_i = b_i + \sum_j W_{ij} h^{(t-1)}_j + (Ux^{(t)})_i$; $\tanh a^{(t)} = h^{(t)}$")
    return d


# the Jacobian product at τ = 3 steps: h^(1) → h^(2) → h^(3)
PRODUCT_N = 2
h1 = indexed("h1", r"h^{(1)}", meaning="hidden state at step 1", shape=r"${2 \times 1}$", real=True)
h2 = indexed("h2", r"h^{(2)}", meaning="hidden state at step 2", shape=r"${2 \times 1}$", real=True)
h3 = indexed("h3", r"h^{(3)}", meaning="hidden state at step 3", shape=r"${2 \times 1}$", real=True)
a2 = indexed("a2", r"a^{(2)}", real=True)
a3 = indexed("a3", r"a^{(3)}", real=True)
ux2 = indexed("ux2", r"(Ux^{(2)})", real=True)
ux3 = indexed("ux3", r"(Ux^{(3)})", real=True)
THREE_STEPS = {
    a2: sp.Lambda(r, b[r] + sp.Sum(W[r, _l1] * h1[_l1], (_l1, 1, PRODUCT_N)) + ux2[r]),
    h2: sp.Lambda(r, sp.tanh(a2[r])),
    a3: sp.Lambda(r, b[r] + sp.Sum(W[r, _l2] * h2[_l2], (_l2, 1, PRODUCT_N)) + ux3[r]),
    h3: sp.Lambda(r, sp.tanh(a3[r])),
}


@functools.cache
def jacobian_product_derivation() -> Derivation:
    """∂h(3)/∂h(1) = diag(1 − h(3)²) W diag(1 − h(2)²) W, element by element (hidden 2)."""
    N = PRODUCT_N
    Wm = _explicit(W, N, N)
    J31 = sp.ImmutableMatrix(N, N, lambda a_, b_: sp.Derivative(h3[a_ + 1], h1[b_ + 1]))
    J32 = sp.ImmutableMatrix(N, N, lambda a_, b_: sp.Derivative(h3[a_ + 1], h2[b_ + 1]))
    J21 = sp.ImmutableMatrix(N, N, lambda a_, b_: sp.Derivative(h2[a_ + 1], h1[b_ + 1]))
    D3 = _diag(1 - h3[s + 1] ** 2 for s in range(N))
    D2 = _diag(1 - h2[s + 1] ** 2 for s in range(N))
    d = Derivation("rnn_jacobian_product", "The Jacobian across two steps as a product",
                   J31, definitions=THREE_STEPS, label="rnn-bptt-jacobian-product",
                   lhs=sp.Symbol(r"\frac{\partial h^{(3)}}{\partial h^{(1)}}"))
    notation(d.lhs, r"Jacobian of $h^{(3)}$ with respect to $h^{(1)}$", r"${2 \times 2}$")
    # the chain rule written entry by entry (a MatMul of Derivative matrices would be evaluated,
    # and SymPy's doit() turns ∂h3/∂h2 of two indexed symbols into a silent 0)
    chain = sp.ImmutableMatrix(N, N, lambda a_, b_: sp.Add(*[
        _mul(J32[a_, s], J21[s, b_]) for s in range(N)], evaluate=False))
    d.step(chain, r"chain rule: $h^{(3)}$ depends on $h^{(1)}$ only through $h^{(2)}$")
    d.step(sp.MatMul(D3, Wm, D2, Wm, evaluate=False), "the one-step Jacobian derived above, twice")
    return d


@functools.cache
def recursion_derivation() -> Derivation:
    """(∇_{h(t)} L)_i = Σ_k V_ki (ŷ_k − y_k) + Σ_k W_ki (1 − h(t+1)_k²) (∇_{h(t+1)} L)_k."""
    inst = [{n: 3, m: 2, q: 1, i: 3}]  # n = m = 2 (both i) is checked by the matrix form below
    d = Derivation("rnn_bptt_recursion", "The BPTT recursion for the gradient with respect to h(t)",
                   sp.Derivative(L, h_t[i]), definitions=AROUND_T, instances=inst,
                   label="rnn-bptt-recursion")
    d.step(sp.Sum(_mul(sp.Derivative(L, o_t[k]), sp.Derivative(o_t[k], h_t[i])), (k, 1, m))
           + sp.Sum(_mul(sp.Derivative(L, h_next[k]), sp.Derivative(h_next[k], h_t[i])), (k, 1, n)),
           r"chain rule: $h^{(t)}$ reaches $L$ only through $o^{(t)}$ and $h^{(t+1)}$")
    d.step(sp.Sum((yhat_t[k] - y_t[k]) * V[k, i], (k, 1, m))
           + sp.Sum(_mul(g_next[k], (1 - h_next[k] ** 2) * W[k, i]), (k, 1, n)),
           r"$\partial L/\partial o_k = \hat y_k - y_k$ (softmax-CE); $\partial o_k/\partial h_i = V_{ki}$; "
           r"one-step Jacobian", given=[SUM_TO_ONE])
    return d


@functools.cache
def recursion_matrix_derivation() -> Derivation:
    """The recursion as matrices at n = m = 2: Vᵀ(ŷ − y) + Wᵀ diag(1 − h(t+1)²) ∇_{h(t+1)} L."""
    N, M = 2, 2
    grad = sp.ImmutableMatrix(N, 1, lambda a_, _: sp.Derivative(L, h_t[a_ + 1]))
    d = Derivation("rnn_bptt_recursion_matrix", "The BPTT recursion in matrix form (n = m = 2)", grad,
                   definitions=AROUND_T, instances=[{n: N, m: M, q: 1}], label="rnn-bptt-recursion-matrix",
                   lhs=sp.Symbol(r"\nabla_{h^{(t)}} L"))
    notation(d.lhs, "gradient of the loss with respect to $h^{(t)}$", r"${n \times 1}$")
    d.step(sp.ImmutableMatrix(N, 1, lambda a_, _: sp.Sum((yhat_t[k] - y_t[k]) * V[k, a_ + 1], (k, 1, M))
                              + sp.Sum(g_next[k] * (1 - h_next[k] ** 2) * W[k, a_ + 1], (k, 1, N))),
           "elementwise, the recursion derived above", given=[SUM_TO_ONE])
    d.step(sp.MatAdd(sp.MatMul(_explicit(V, M, N).T, _explicit(yhat_t, M) - _explicit(y_t, M), evaluate=False),
                     sp.MatMul(_explicit(W, N, N).T, _diag(1 - h_next[s + 1] ** 2 for s in range(N)),
                               _explicit(g_next, N), evaluate=False), evaluate=False),
           r"$V^\top(\hat y - y) + W^\top \operatorname{diag}(1 - (h^{(t+1)})^2)\,\nabla_{h^{(t+1)}}L$")
    return d


def derivations() -> list[Derivation | Induction]:
    """Every derivation of this topic, in reading order; the claims for every number of steps
    (:func:`inductions`) after the concrete-size derivations they generalize."""
    return [one_step_derivation(), jacobian_product_derivation(), *[jacobian_induction(N) for N in INDUCTION_UNITS],
            recursion_derivation(), recursion_matrix_derivation(), *[bptt_induction(N) for N in INDUCTION_UNITS]]


# ---- Deep Learning eq. 10.21 as printed ----------------------------------------------------


def eq_10_21_printed(size: int):
    r"""The book's printed form :math:`W^\top (\nabla_{h^{(t+1)}}L)\,\operatorname{diag}(1 - (h^{(t+1)})^2)`
    built from matrix symbols of hidden size ``size``; raises :class:`sympy.ShapeError` when the
    product is undefined (every size but 1)."""
    Ws = sp.MatrixSymbol("W", size, size)
    g = sp.MatrixSymbol("g", size, 1)
    D = sp.MatrixSymbol("D", size, size)
    return sp.MatMul(Ws.T, g, D)


def eq_10_21_corrected(size: int):
    r""":math:`W^\top \operatorname{diag}(1 - (h^{(t+1)})^2)\,\nabla_{h^{(t+1)}}L`: an ``(size, 1)`` vector."""
    Ws = sp.MatrixSymbol("W", size, size)
    g = sp.MatrixSymbol("g", size, 1)
    D = sp.MatrixSymbol("D", size, size)
    return sp.MatMul(Ws.T, D, g)


def erratum_10_21(sizes=(1, 2, 3, 8)) -> CheckTable:
    """For each hidden size: is the printed product defined, and the corrected one's shape."""
    table = CheckTable("Deep Learning eq. 10.21: printed order vs corrected order",
                       ["hidden size n", "printed Wᵀ g diag(…)", "corrected Wᵀ diag(…) g"],
                       note="g = ∇_{h(t+1)}L is n×1 and diag(…) is n×n: the printed product "
                            "(n×n)(n×1)(n×n) is defined only for n = 1.")
    for size in sizes:
        try:
            printed = f"shape {eq_10_21_printed(size).shape}"
            defined = True
        except sp.ShapeError as err:
            printed, defined = f"undefined (ShapeError: {str(err).splitlines()[0][:60]})", False
        corrected = eq_10_21_corrected(size).shape
        table.rows.append({"hidden size n": size, "printed Wᵀ g diag(…)": printed,
                           "corrected Wᵀ diag(…) g": f"shape {corrected}",
                           "passed": corrected == (size, 1) and defined == (size == 1)})
    return table


# ---- the general formulas for the parameter gradients, and the explicit model ------------------

hh = indexed("h", "h", meaning=r"hidden states, $h_{i,t} = h^{(t)}_i$; $h_{i,0} = h^{(0)}_i$ is given",
             shape=r"${n \times (\tau + 1)}$", real=True)          # h[i, t] = h_i^(t); h[i, 0] = h0_i
gh = indexed("gh", r"(\nabla_{h} L)", meaning=r"gradients, $(\nabla_h L)_{i,t} = (\nabla_{h^{(t)}} L)_i$",
             shape=r"${n \times \tau}$", real=True)  # gh[i, t] = (∇_{h(t)} L)_i
yy = indexed("yhat", r"\hat{y}", meaning=r"predicted distributions, $\hat y_{i,t} = \hat y^{(t)}_i$",
             shape=r"${m \times \tau}$", real=True)
ty = indexed("y", "y", meaning=r"targets, $y_{i,t} = y^{(t)}_i$", shape=r"${m \times \tau}$", real=True)
xx = indexed("x", "x", meaning=r"inputs, $x_{j,t} = x^{(t)}_j$", shape=r"${q \times \tau}$", real=True)
s_ = sym("s", meaning=r"step in a sum over time, $1 \le s \le \tau$", integer=True, positive=True)
#: ∂L/∂θ for every parameter, as sums over time of per-step terms (instantiated by :func:`bptt_symbolic`).
PARAMETER_GRADIENTS = {
    "W": sp.Sum((1 - hh[i, s_] ** 2) * gh[i, s_] * hh[j, s_ - 1], (s_, 1, T)),
    "U": sp.Sum((1 - hh[i, s_] ** 2) * gh[i, s_] * xx[j, s_], (s_, 1, T)),
    "b": sp.Sum((1 - hh[i, s_] ** 2) * gh[i, s_], (s_, 1, T)),
    "V": sp.Sum((yy[i, s_] - ty[i, s_]) * hh[j, s_], (s_, 1, T)),
    "c": sp.Sum(yy[i, s_] - ty[i, s_], (s_, 1, T)),
}
#: (∇_{h(t)} L)_i for t < τ (the recursion) and at t = τ.
HIDDEN_GRADIENT = sp.Sum(V[k, i] * (yy[k, t] - ty[k, t]), (k, 1, m)) \
    + sp.Sum(W[k, i] * (1 - hh[k, t + 1] ** 2) * gh[k, t + 1], (k, 1, n))
HIDDEN_GRADIENT_LAST = sp.Sum(V[k, i] * (yy[k, T] - ty[k, T]), (k, 1, m))


# ---- for every number of steps: the Jacobian product and the BPTT recursion by induction -------
#
# Both claims are proved for a symbolic step t, with matrices of a concrete number of units
# (2 and 3), entry by entry, so that the order of each matrix product is kept. Between step k and
# step t the state is a function of h^(k) about which the checker knows nothing:
# h_{c,t} = H_c(t, h_{1,k}, …, h_{n,k}); after step t the rest of the loss is a function R of
# h^(t+1) alone. What the step from t to t + 1 needs of them is the induction hypothesis.

#: The numbers of hidden units at which the inductions are checked (the first is shown).
INDUCTION_UNITS = (2, 3)
#: The number of classes in the BPTT induction.
INDUCTION_CLASSES = 2

oo = indexed("o", "o", meaning=r"output scores, $o_{i,t} = o^{(t)}_i = c_i + (V h^{(t)})_i$", real=True,
             separate=True)
gb = indexed("g", "g", meaning=r"what BPTT computes: $g^{(\tau)} = V^\top(\hat y^{(\tau)} - y^{(\tau)})$, then "
             r"each $g^{(t)}$ from $g^{(t+1)}$", shape=r"${n \times 1}$ per step", real=True, separate=True)
SEPARATED.update({hh.label, yy.label, ty.label, xx.label})
_H = tuple(sp.Function(f"H{c}") for c in range(1, 4))   # h^(t) as a function of h^(k), unit by unit
_R = sp.Function("R")                                     # the loss after step t, a function of h^(t+1)


def _named(name, entries, shows, text_name=None):
    return NamedMatrix(name, entries, text_name, shows)


def _sup(e) -> str:
    with latex_names_of(__name__):  # τ, whatever another topic calls the same symbol
        return "^{(%s)}" % latex(e)


def _jac(a_, b_, N, shows, name):
    """∂h^(a)/∂h^(b) (N × N), named."""
    return _named(name, sp.Matrix(N, N, lambda r_, c_: sp.Derivative(hh[r_ + 1, a_], hh[c_ + 1, b_])), shows)


def _state_jacobian(s, N):
    return _jac(s, k, N, (h_t.label, t, k), r"\frac{\partial h%s}{\partial h^{(k)}}" % _sup(s))


def _slopes(s, N):
    """diag(1 − (h^(s))²)."""
    return _named(r"\operatorname{diag}(1 - (h%s)^2)" % _sup(s),
                  sp.diag(*[1 - hh[c_ + 1, s] ** 2 for c_ in range(N)]), (h_t.label, t))


def _W(N, transposed=False):
    M_ = sp.Matrix(N, N, lambda r_, c_: W[r_ + 1, c_ + 1])
    return _named(r"W^\top" if transposed else "W", M_.T if transposed else M_, (W.label,))


@functools.cache
def _product(N):
    r""":math:`\prod_{s=k+1}^{t} \operatorname{diag}(1 - (h^{(s)})^2)\,W`, the latest step on the left."""
    return MatrixProduct(f"Pi_rnn{N}", lambda s: sp.MatMul(_slopes(s, N), _W(N), evaluate=False),
                         r"\operatorname{diag}(1 - (h^{(s)})^2)\,W", size=N, bound="s",
                         body_text="diag(1 − (h(s))²) W", shows=(h_t.label, W.label, t, k))


def _next_state(N, s):
    """h_{c,s+1} := tanh(b_c + Σ_d W_cd h_{d,s} + U_c1 x_{1,s+1}), one input."""
    return {hh[c_, s + 1]: sp.tanh(b[c_] + sum(W[c_, d_] * hh[d_, s] for d_ in range(1, N + 1)) + U[c_, 1] * xx[1, s + 1])
            for c_ in range(1, N + 1)}


@functools.cache
def jacobian_induction(N: int = INDUCTION_UNITS[0]) -> Induction:
    r""":math:`\partial h^{(t)}/\partial h^{(k)} = \prod_{s=k+1}^{t}\operatorname{diag}(1 - (h^{(s)})^2)\,W`
    for every :math:`t \ge k`, by induction on :math:`t`, entry by entry with ``N`` units."""
    P = _product(N)
    ind = Induction(f"rnn_jacobian_all_t_n{N}", f"The Jacobian across any number of steps ({N} units)", t, k,
                    lambda s: (_state_jacobian(s, N), P(k + 1, s)), label=f"rnn-bptt-jacobian-induction-n{N}",
                    about=f"entry by entry with {N} hidden units")
    base = ind.base_case()
    base.step(_named("I", sp.eye(N), ()), r"$h^{(k)}$ against itself: the identity")
    base.step(P(k + 1, k), "the empty product (no factor) is the identity")
    # step t → t + 1: h^(t) is an unknown function of h^(k); h^(t+1) is one step of the RNN
    unknown = {hh[c_, t]: _H[c_ - 1](t, *[hh[d_, k] for d_ in range(1, N + 1)]) for c_ in range(1, N + 1)}
    st = ind.inductive_step(definitions={**unknown, **_next_state(N, t), **P.last_factor(k + 1, t + 1)})
    one = _jac(t + 1, t, N, (h_t.label, t), r"\frac{\partial h^{(t+1)}}{\partial h^{(t)}}")
    st.step(sp.MatMul(one, _state_jacobian(t, N), evaluate=False),
            r"chain rule: $h^{(t+1)}$ depends on $h^{(k)}$ only through $h^{(t)}$")
    st.step(sp.MatMul(_slopes(t + 1, N), _W(N), _state_jacobian(t, N), evaluate=False),
            "the one-step Jacobian derived above")
    st.step(sp.MatMul(_slopes(t + 1, N), _W(N), P(k + 1, t), evaluate=False), "induction hypothesis",
            given=[ind.hypothesis])
    st.step(P(k + 1, t + 1), "the factor of the new step goes on the left of the product")
    return ind


def _grad_h(s, N, nabla=True):
    """∇_{h(s)} L, entries ∂L/∂h_{c,s}."""
    return _named(r"\nabla_{h%s} L" % _sup(s), sp.Matrix(N, 1, lambda r_, _: sp.Derivative(L, hh[r_ + 1, s])),
                  (h_t.label, L, t, T))


def _g(s, N):
    return _named("g" + _sup(s), sp.Matrix(N, 1, lambda r_, _: gb[r_ + 1, s]), (gb.label, t, T))


def _loss_at(s, M):
    """L^(s) in log-sum-exp form, the cross-entropy at step s."""
    return sum(ty[q_, s] * (sp.log(sum(sp.exp(oo[j_, s]) for j_ in range(1, M + 1))) - oo[q_, s])
               for q_ in range(1, M + 1))


def _outputs(s, N, M):
    """o_{q,s} := c_q + Σ_c V_qc h_{c,s}; ŷ_{q,s} := softmax."""
    defs = {oo[q_, s]: c[q_] + sum(V[q_, c_] * hh[c_, s] for c_ in range(1, N + 1)) for q_ in range(1, M + 1)}
    defs.update({yy[q_, s]: sp.exp(oo[q_, s]) / sum(sp.exp(oo[j_, s]) for j_ in range(1, M + 1))
                 for q_ in range(1, M + 1)})
    return defs


def _sum_to_one(s, M):
    return Condition(sp.Eq(sp.Sum(ty[k, s], (k, 1, M)), 1),
                     (sp.Eq(ty[M, s], 1 - sum(ty[q_, s] for q_ in range(1, M))),))


def _output_error(s, N, M):
    """Vᵀ(ŷ^(s) − y^(s)) as named matrices."""
    Vt = _named(r"V^\top", sp.Matrix(M, N, lambda r_, c_: V[r_ + 1, c_ + 1]).T, (V.label,))
    yhat = _named(r"\hat y" + _sup(s), sp.Matrix(M, 1, lambda r_, _: yy[r_ + 1, s]), (yy.label, t, T))
    y_ = _named("y" + _sup(s), sp.Matrix(M, 1, lambda r_, _: ty[r_ + 1, s]), (ty.label, t, T))
    return sp.MatMul(Vt, sp.MatAdd(yhat, sp.MatMul(-1, y_)), evaluate=False)


def _through_outputs(s, N, M):
    """(∂o^(s)/∂h^(s))ᵀ ∇_{o^(s)} L."""
    do = _named(r"\left(\frac{\partial o%s}{\partial h%s}\right)^{\!\top}" % (_sup(s), _sup(s)),
                sp.Matrix(M, N, lambda r_, c_: sp.Derivative(oo[r_ + 1, s], hh[c_ + 1, s])).T,
                (oo.label, h_t.label, t, T))
    grad_o = _named(r"\nabla_{o%s} L" % _sup(s), sp.Matrix(M, 1, lambda r_, _: sp.Derivative(L, oo[r_ + 1, s])),
                    (oo.label, L, t, T))
    return sp.MatMul(do, grad_o, evaluate=False)


@functools.cache
def bptt_induction(N: int = INDUCTION_UNITS[0], M: int = INDUCTION_CLASSES) -> Induction:
    r""":math:`\nabla_{h^{(t)}} L = g^{(t)}` for every :math:`t \le \tau`, by induction downward from
    :math:`\tau`: the BPTT recursion computes the gradient, entry by entry with ``N`` units and
    ``M`` classes."""
    ind = Induction(f"rnn_bptt_all_t_n{N}", f"BPTT computes the gradient at every step ({N} units)", t, T,
                    lambda s: (_grad_h(s, N), _g(s, N)), downward=True, label=f"rnn-bptt-recursion-induction-n{N}",
                    about=f"entry by entry with {N} hidden units and {M} classes")
    # base: at the last step, h^(τ) reaches L through o^(τ) only (the earlier losses do not see it)
    start = {gb[c_, T]: sum(V[q_, c_] * (yy[q_, T] - ty[q_, T]) for q_ in range(1, M + 1)) for c_ in range(1, N + 1)}
    base = ind.base_case(definitions={L: _loss_at(T, M), **_outputs(T, N, M), **start})
    base.step(_through_outputs(T, N, M), r"chain rule: at the last step $h^{(\tau)}$ reaches $L$ only through $o^{(\tau)}$")
    base.step(_output_error(T, N, M), r"$\partial L/\partial o_k = \hat y_k - y_k$ (softmax-CE); "
              r"$\partial o_k/\partial h_i = V_{ki}$", given=[_sum_to_one(T, M)])
    base.step(_g(T, N), r"where the recursion starts: $g^{(\tau)} = V^\top(\hat y^{(\tau)} - y^{(\tau)})$")
    # step t + 1 → t: the loss after step t is an unknown function R of h^(t+1)
    rest = _R(*[hh[c_, t + 1] for c_ in range(1, N + 1)])
    recursion = {gb[c_, t]: sum(V[q_, c_] * (yy[q_, t] - ty[q_, t]) for q_ in range(1, M + 1))
                 + sum(W[d_, c_] * (1 - hh[d_, t + 1] ** 2) * gb[d_, t + 1] for d_ in range(1, N + 1))
                 for c_ in range(1, N + 1)}
    st = ind.inductive_step(definitions={L: _loss_at(t, M) + rest, **_outputs(t, N, M), **_next_state(N, t),
                                         **recursion})
    one_t = _named(r"\left(\frac{\partial h^{(t+1)}}{\partial h^{(t)}}\right)^{\!\top}",
                   _jac(t + 1, t, N, (), "J").entries.T, (h_t.label, t))
    st.step(sp.MatAdd(_through_outputs(t, N, M), sp.MatMul(one_t, _grad_h(t + 1, N), evaluate=False), evaluate=False),
            r"chain rule: $h^{(t)}$ reaches $L$ only through $o^{(t)}$ and $h^{(t+1)}$")
    st.step(sp.MatAdd(_output_error(t, N, M), sp.MatMul(_W(N, transposed=True), _slopes(t + 1, N), _grad_h(t + 1, N),
                                                          evaluate=False), evaluate=False),
            "softmax-CE as in the base case; the one-step Jacobian derived above, transposed",
            given=[_sum_to_one(t, M)])
    st.step(sp.MatAdd(_output_error(t, N, M), sp.MatMul(_W(N, transposed=True), _slopes(t + 1, N), _g(t + 1, N),
                                                          evaluate=False), evaluate=False),
            "induction hypothesis", given=[ind.hypothesis])
    st.step(_g(t, N), r"the recursion: $g^{(t)} = V^\top(\hat y^{(t)} - y^{(t)}) + W^\top "
            r"\operatorname{diag}(1 - (h^{(t+1)})^2)\,g^{(t+1)}$")
    return ind


def inductions() -> list[Induction]:
    """The claims for every number of steps, at every checked number of units."""
    return [f(N) for f in (jacobian_induction, bptt_induction) for N in INDUCTION_UNITS]

#: Sizes at which the results are published (element by element, every parameter entry).
RESULT_SIZES = {"T": 2, "n": 2, "m": 2, "q": 1}


@functools.cache
def model_symbols(steps: int, hidden: int, classes: int, inputs: int) -> dict:
    """Plain symbols for an explicit RNN: ``W12``, ``U21``, ``b1``, ``V11``, ``c2``, ``h0_1``,
    ``x1_2`` (input 1 at step 2), ``y2_1`` (target class 2 at step 1)."""
    def mat(name, rows, cols):
        return sp.Matrix(rows, cols, lambda a_, b_: sym(f"{name}{a_ + 1}{b_ + 1}", f"{name}_{{{a_ + 1}{b_ + 1}}}", real=True))

    def vec(name, rows, tex):
        return sp.Matrix(rows, 1, lambda a_, _: sym(f"{name}{a_ + 1}", f"{tex}_{{{a_ + 1}}}", real=True))

    return {
        "W": mat("W", hidden, hidden), "U": mat("U", hidden, inputs), "V": mat("V", classes, hidden),
        "b": vec("b", hidden, "b"), "c": vec("c", classes, "c"), "h0": vec("h0_", hidden, "h^{(0)}"),
        "x": [sp.Matrix(inputs, 1, lambda a_, _, s=s: sym(f"x{a_ + 1}_{s}", f"x^{{({s})}}_{{{a_ + 1}}}", real=True))
              for s in range(1, steps + 1)],
        "y": [sp.Matrix(classes, 1, lambda a_, _, s=s: sym(f"y{a_ + 1}_{s}", f"y^{{({s})}}_{{{a_ + 1}}}", real=True))
              for s in range(1, steps + 1)],
    }


def forward_symbolic(steps: int, hidden: int, classes: int, inputs: int):
    """The explicit loss L (log-sum-exp form), the hidden states h(0..τ) and the outputs ŷ(1..τ)."""
    p = model_symbols(steps, hidden, classes, inputs)
    hs, yhats, loss = [p["h0"]], [], sp.Integer(0)
    for s in range(steps):
        a = p["b"] + p["W"] * hs[-1] + p["U"] * p["x"][s]
        hs.append(a.applyfunc(sp.tanh))
        o = p["c"] + p["V"] * hs[-1]
        e = o.applyfunc(sp.exp)
        total = sum(e)
        yhats.append(e / total)
        loss += sum(p["y"][s][kk] * (sp.log(total) - o[kk]) for kk in range(classes))
    return loss, hs, yhats


def bptt_symbolic(steps: int, hidden: int, classes: int, inputs: int) -> dict:
    """Every entry of every parameter gradient, by instantiating :data:`PARAMETER_GRADIENTS` and the
    recursion :data:`HIDDEN_GRADIENT` at this size (explicit expressions in the model's symbols)."""
    p = model_symbols(steps, hidden, classes, inputs)
    _, hs, yhats = forward_symbolic(steps, hidden, classes, inputs)
    values = {}
    for s in range(steps + 1):
        for a_ in range(hidden):
            values[hh[a_ + 1, s]] = hs[s][a_]
    for s in range(1, steps + 1):
        for a_ in range(classes):
            values[yy[a_ + 1, s]] = yhats[s - 1][a_]
            values[ty[a_ + 1, s]] = p["y"][s - 1][a_]
        for a_ in range(inputs):
            values[xx[a_ + 1, s]] = p["x"][s - 1][a_]
    params = {W: p["W"], U: p["U"], V: p["V"]}
    for base, mat in params.items():
        for a_, b_ in itertools.product(range(mat.rows), range(mat.cols)):
            values[base[a_ + 1, b_ + 1]] = mat[a_, b_]
    sizes = {T: steps, n: hidden, m: classes, q: inputs}
    for s in range(steps, 0, -1):  # the recursion, from the last step back
        tmpl = HIDDEN_GRADIENT_LAST if s == steps else HIDDEN_GRADIENT
        for a_ in range(1, hidden + 1):
            values[gh[a_, s]] = tmpl.xreplace({**sizes, i: a_, t: s}).doit().xreplace(values)
    out = {}
    shapes = {"W": (hidden, hidden), "U": (hidden, inputs), "b": (hidden, 1), "V": (classes, hidden),
              "c": (classes, 1)}
    for name, (rows, cols) in shapes.items():
        tmpl = PARAMETER_GRADIENTS[name].xreplace(sizes)
        out[name] = sp.Matrix(rows, cols, lambda a_, b_: tmpl.xreplace({i: a_ + 1, j: b_ + 1}).doit().xreplace(values))
    out["h0"] = sp.Matrix(hidden, 1, lambda a_, _: sp.Sum(W[k, a_ + 1] * (1 - hh[k, 1] ** 2) * gh[k, 1], (k, 1, hidden))
                          .doit().xreplace(values))
    return out


#: The published entries (0-based): off-diagonal where there is one.
PUBLISHED = {"W": (0, 1), "U": (1, 0), "b": (0, 0), "V": (1, 0), "c": (1, 0)}


@functools.cache
def results() -> list[Result]:
    """∂L/∂θ at τ = 2, n = 2, m = 2, q = 1 for one entry of each of W, U, b, V and c
    (:data:`PUBLISHED`; the tests check every entry), with y(t)_2 = 1 − y(t)_1."""
    S = RESULT_SIZES
    loss, _, _ = forward_symbolic(S["T"], S["n"], S["m"], S["q"])
    p = model_symbols(S["T"], S["n"], S["m"], S["q"])
    grads = bptt_symbolic(S["T"], S["n"], S["m"], S["q"])
    where = tuple(sp.Eq(ys[-1], 1 - sum(ys[:-1])) for ys in p["y"])
    out = []
    for name, (a_, b_) in PUBLISHED.items():
        out.append(Result(loss, p[name][a_, b_], grads[name][a_, b_], where, name="L"))
    return out


# ---- numerics: forward, backward, Jacobian norms ----------------------------------------------

ACTIVATIONS = ("tanh", "sigmoid")


def init_params(n: int, q: int, m: int, rng: np.random.Generator, scale: float = 0.5) -> dict:
    """Random parameters ``W, U, V, b, c, h0`` (normal, times ``scale``)."""
    if min(n, q, m) < 1:
        raise ValueError(f"sizes must be positive, got n={n}, q={q}, m={m}")
    shapes = {"W": (n, n), "U": (n, q), "V": (m, n), "b": (n,), "c": (m,), "h0": (n,)}
    return {name: scale * rng.normal(size=shape) for name, shape in shapes.items()}


def _check(p: dict, xs, ys=None):
    W_, U_, V_ = (np.asarray(p[s], dtype=float) for s in "WUV")
    nn = W_.shape[0]
    if W_.shape != (nn, nn):
        raise ValueError(f"W must be square, got shape {W_.shape}")
    if U_.ndim != 2 or U_.shape[0] != nn or V_.ndim != 2 or V_.shape[1] != nn:
        raise ValueError(f"U must be ({nn}, q) and V (m, {nn}), got {U_.shape} and {V_.shape}")
    for name, size in (("b", nn), ("c", V_.shape[0]), ("h0", nn)):
        if np.shape(p[name]) != (size,):
            raise ValueError(f"{name} must have shape ({size},), got {np.shape(p[name])}")
    xs = np.asarray(xs, dtype=float)
    if xs.ndim != 2 or xs.shape[1] != U_.shape[1] or xs.shape[0] < 1:
        raise ValueError(f"inputs xs must have shape (T, {U_.shape[1]}) with T >= 1, got {xs.shape}")
    if ys is not None:
        ys = np.asarray(ys, dtype=float)
        if ys.shape != (xs.shape[0], V_.shape[0]):
            raise ValueError(f"targets ys must have shape {(xs.shape[0], V_.shape[0])}, got {ys.shape}")
        if not np.allclose(ys.sum(axis=1), 1.0):
            raise ValueError("each target y(t) must sum to one (the gradient ŷ − y needs it)")
    return xs, ys


def forward(p: dict, xs):
    """h(0..τ) as a (τ+1, n) array and ŷ(1..τ) as (τ, m): a = b + W h + U x, h = tanh a, ŷ = softmax(c + V h)."""
    hs, yhats, _ = forward_and_preactivations(p, xs)
    return hs, yhats


def forward_and_preactivations(p: dict, xs):
    """:func:`forward`, and the pre-activations a(1..τ) as (τ, n) (the backward pass's tanh′ needs them)."""
    xs, _ = _check(p, xs)
    hs, yhats, pre = [np.asarray(p["h0"], dtype=float)], [], []
    for x in xs:
        pre.append(p["b"] + p["W"] @ hs[-1] + p["U"] @ x)
        hs.append(np.tanh(pre[-1]))
        o = p["c"] + p["V"] @ hs[-1]
        e = np.exp(o - o.max())
        yhats.append(e / e.sum())
    return np.array(hs), np.array(yhats), np.array(pre)


def loss(p: dict, xs, ys) -> float:
    """L = Σ_t Σ_k y_k (logsumexp(o) − o_k)."""
    xs, ys = _check(p, xs, ys)
    hs, _ = forward(p, xs)
    total = 0.0
    for h, y in zip(hs[1:], ys):
        o = p["c"] + p["V"] @ h
        lse = o.max() + np.log(np.exp(o - o.max()).sum())
        total += float(y @ (lse - o))
    return total


def backward(p: dict, xs, ys) -> dict:
    """Every parameter gradient by BPTT (:func:`recursion_matrix_derivation` and :data:`PARAMETER_GRADIENTS`)."""
    xs, ys = _check(p, xs, ys)
    hs, yhats, pre = forward_and_preactivations(p, xs)
    grads = {name: np.zeros_like(np.asarray(p[name], dtype=float)) for name in ("W", "U", "V", "b", "c")}
    dL_dh = np.zeros(hs.shape[1])  # W^T diag(1 - h(t+1)^2) ∇_{h(t+1)} L, zero after the last step
    for s in range(len(xs), 0, -1):
        dL_do = yhats[s - 1] - ys[s - 1]            # ∇_{o(t)} L = ŷ − y
        dL_dh = p["V"].T @ dL_do + dL_dh            # ∇_{h(t)} L
        dL_da = tanh_slope(pre[s - 1]) * dL_dh      # diag(1 − h(t)²) ∇_{h(t)} L, 1 − h² to the ulp
        grads["W"] += np.outer(dL_da, hs[s - 1])
        grads["U"] += np.outer(dL_da, xs[s - 1])
        grads["b"] += dL_da
        grads["V"] += np.outer(dL_do, hs[s])
        grads["c"] += dL_do
        dL_dh = p["W"].T @ dL_da                    # carried to step t − 1
    grads["h0"] = dL_dh
    return grads


def _activation_slope(hs, activation: str):
    if activation == "tanh":
        return 1 - hs ** 2
    if activation == "sigmoid":
        return hs * (1 - hs)
    raise ValueError(f"unknown activation {activation!r}; choose one of: {', '.join(ACTIVATIONS)}")


def jacobian_norms(W, hs, activation: str = "tanh") -> np.ndarray:
    r"""Spectral norms :math:`\lVert \partial h^{(\tau)}/\partial h^{(\tau-\ell)} \rVert_2` for lags
    :math:`\ell = 0 … \tau`.

    ``W`` is the (n, n) recurrent matrix and ``hs`` the hidden states :math:`h^{(0)} … h^{(\tau)}`
    as a (τ+1, n) array of a run with :math:`h^{(t)} = \sigma(W h^{(t-1)} + \dots)`; the one-step
    Jacobian is :math:`\operatorname{diag}(\sigma'^{(t)})\,W` with :math:`\sigma' = 1 - h^2`
    (tanh) or :math:`h(1 - h)` (sigmoid). Entry 0 is the identity's norm, 1.

    >>> jacobian_norms(0.5 * np.eye(2), np.zeros((4, 2))).tolist()
    [1.0, 0.5, 0.25, 0.125]
    """
    W = np.asarray(W, dtype=float)
    hs = np.asarray(hs, dtype=float)
    if W.ndim != 2 or W.shape[0] != W.shape[1]:
        raise ValueError(f"W must be a square matrix, got shape {W.shape}")
    if hs.ndim != 2 or hs.shape[1] != W.shape[0] or hs.shape[0] < 2:
        raise ValueError(f"hs must have shape (T+1, {W.shape[0]}) with T >= 1, got {hs.shape}")
    slopes = _activation_slope(hs, activation)
    J = np.eye(W.shape[0])
    norms = [1.0]
    for s in range(hs.shape[0] - 1, 0, -1):  # ∂h(τ)/∂h(s−1) = ∂h(τ)/∂h(s) · diag(σ'(s)) W
        J = J @ (slopes[s][:, None] * W)
        norms.append(float(np.linalg.norm(J, 2)))
    return np.array(norms)


@functools.cache
def gamma(activation: str = "tanh") -> sp.Expr:
    """The largest value of the activation's derivative, found by SymPy (1 for tanh, 1/4 for sigmoid)."""
    if activation not in ACTIVATIONS:
        raise ValueError(f"unknown activation {activation!r}; choose one of: {', '.join(ACTIVATIONS)}")
    return _gamma(activation)


#: Each activation as a function of z, its slope as a polynomial in the activation's own value
#: u = f(z), and the open interval of values f takes: tanh' = 1 − tanh², σ' = σ(1 − σ).
#: :func:`gamma` checks the identity.
_Z, _U = sp.Symbol("z", real=True), sp.Symbol("u", real=True)
notation(_Z, "argument of the activation", "scalar")
notation(sp.Function("sigma"), r"logistic sigmoid, $\sigma(z) = 1/(1 + e^{-z})$")
_ACTIVATION_OF = {"tanh": sp.tanh(_Z), "sigmoid": 1 / (1 + sp.exp(-_Z))}
_SLOPE_OF_VALUE = {"tanh": (1 - _U**2, (-1, 1)), "sigmoid": (_U * (1 - _U), (0, 1))}


def slope_identity(activation: str) -> sp.Eq:
    """The identity :func:`gamma` starts from, e.g. d tanh(z)/dz = 1 − tanh(z)² (checked there;
    the sigmoid is shown as σ(z))."""
    gamma(activation)  # an unknown name is refused there; the identity is checked there
    f = sp.Function("sigma")(_Z) if activation == "sigmoid" else _ACTIVATION_OF[activation]
    P, _ = _SLOPE_OF_VALUE[activation]
    return sp.Eq(sp.Derivative(f, _Z), P.subs(_U, f), evaluate=False)


def _gamma(activation: str) -> sp.Expr:
    """sup_z f'(z) = max of the slope P(u) over the values u that f takes (P a concave quadratic)."""
    f = _ACTIVATION_OF[activation]
    P, (lo, hi) = _SLOPE_OF_VALUE[activation]
    gap = sp.diff(f, _Z) - P.subs(_U, f)
    if gap != 0 and sp.cancel(gap) != 0:
        raise DerivationError(f"{activation}' is not {P} of its value u = {activation}(z)")
    curvature = sp.diff(P, _U, 2)
    crit = [c for c in sp.solve(sp.diff(P, _U), _U) if lo < c < hi]
    if not (curvature.is_number and curvature < 0) or len(crit) != 1:
        raise DerivationError(f"unexpected shape of {activation}' = {P}: critical points {crit}")
    return P.subs(_U, crit[0])  # concave: the one interior critical point is the maximum


#: γ (the activation's largest slope), λ₁ (the largest singular value of W) and the lag ℓ = t − k.
GAMMA, LAMBDA_1, LAG = sym("gamma_act", r"\gamma", meaning="largest slope of the activation (1 for tanh, 1/4 for the "
                           "sigmoid)", shape="scalar", positive=True), \
    sym("lambda_1", r"\lambda_1", meaning=r"largest singular value of $W$, $\lVert W\rVert_2$", shape="scalar",
        positive=True), \
    sym("lag", r"\ell", meaning="lag: the number of steps between the two hidden states", integer=True,
        nonnegative=True)
#: ‖∂h^(t)/∂h^(t−ℓ)‖₂ ≤ (γλ₁)^ℓ: each one-step Jacobian diag(σ′)W has spectral norm at most γλ₁
#: (the norm is submultiplicative). :func:`norm_bound` evaluates this object and
#: :func:`bound_table` checks it against measured norms.
NORM_BOUND = sp.Le(sym("jacobian_norm", r"\left\lVert \partial h^{(t)} / \partial h^{(t-\ell)} \right\rVert_2",
                       meaning=r"spectral norm of the Jacobian across $\ell$ steps", shape="scalar",
                       nonnegative=True), (GAMMA * LAMBDA_1) ** LAG)


def norm_bound(W, lags, activation: str = "tanh") -> np.ndarray:
    r"""The right side of :data:`NORM_BOUND`, :math:`(\gamma\lambda_1)^{\ell}`, for
    :math:`\ell = 0 … \text{lags}`, λ₁ the largest singular value of W."""
    if int(lags) < 1:
        raise ValueError(f"lags must be at least 1, got {lags}")
    lam = np.linalg.norm(np.asarray(W, dtype=float), 2)
    bound = sp.lambdify((GAMMA, LAMBDA_1, LAG), NORM_BOUND.rhs, "numpy")
    return bound(float(gamma(activation)), lam, np.arange(int(lags) + 1))


def run_rnn(W, xs, U=None, b=None, h0=None, activation: str = "tanh") -> np.ndarray:
    """Hidden states h(0..τ) of h(t) = σ(W h(t−1) + U x(t) + b) (defaults: U = I, b = 0, h0 = 0)."""
    W = np.asarray(W, dtype=float)
    xs = np.asarray(xs, dtype=float)
    nn = W.shape[0]
    U = np.eye(nn, xs.shape[1]) if U is None else np.asarray(U, dtype=float)
    b = np.zeros(nn) if b is None else b
    h = np.zeros(nn) if h0 is None else np.asarray(h0, dtype=float)
    act = np.tanh if activation == "tanh" else (lambda v: 1 / (1 + np.exp(-v)))
    _activation_slope(np.zeros(1), activation)
    hs = [h]
    for x in xs:
        hs.append(act(b + W @ hs[-1] + U @ x))
    return np.array(hs)


def scaled_orthogonal(nn: int, lam: float, rng: np.random.Generator) -> np.ndarray:
    """A random orthogonal matrix times ``lam``: every singular value equals ``lam``."""
    Q, R = np.linalg.qr(rng.normal(size=(nn, nn)))
    return lam * Q * np.sign(np.diag(R))


# ---- numeric checks ----------------------------------------------------------------------------


def _autograd_loss():
    import autograd.numpy as anp

    def f(flat, shapes, xs, ys):
        p, at = {}, 0
        for name, shape in shapes:
            size = int(np.prod(shape))
            p[name] = anp.reshape(flat[at:at + size], shape)
            at += size
        h, total = p["h0"], 0.0
        for x, y in zip(xs, ys):
            h = anp.tanh(anp.dot(p["W"], h) + anp.dot(p["U"], x) + p["b"])
            o = anp.dot(p["V"], h) + p["c"]
            total = total - anp.sum(y * (o - anp.log(anp.sum(anp.exp(o)))))
        return total
    return f


def bptt_table(steps: int = 20, hidden: int = 8, inputs: int = 3, classes: int = 4, seed: int = 0) -> CheckTable:
    """NumPy BPTT at τ = 20, n = 8 against reverse-mode autodiff and central differences."""
    import autograd

    rng = np.random.default_rng(seed)
    p = init_params(hidden, inputs, classes, rng, scale=0.4)
    xs = rng.normal(size=(steps, inputs))
    ys = np.eye(classes)[rng.integers(0, classes, size=steps)]
    grads = backward(p, xs, ys)
    shapes = [(name, np.shape(p[name])) for name in ("W", "U", "V", "b", "c", "h0")]
    flat = np.concatenate([np.ravel(p[name]) for name, _ in shapes])
    f = _autograd_loss()
    ag = autograd.grad(f)(flat, shapes, xs, ys)
    ours = np.concatenate([np.ravel(grads[name]) for name, _ in shapes])
    table = CheckTable(f"BPTT in NumPy (τ = {steps}, n = {hidden}, q = {inputs}, m = {classes}) "
                       "against independent oracles",
                       ["oracle", "entries compared", "max |BPTT − oracle|", "tolerance"],
                       note="autograd differentiates a separate loss written with autograd.numpy; the "
                            "central differences (h = 1e-6) use the module's loss at 40 random entries.")
    err = float(np.max(np.abs(ours - ag)))
    table.rows.append({"oracle": "reverse-mode autodiff (autograd)", "entries compared": ours.size,
                       "max |BPTT − oracle|": err, "tolerance": "1e-10 + 1e-9·|oracle|",
                       "passed": bool(np.all(np.abs(ours - ag) <= 1e-10 + 1e-9 * np.abs(ag)))})
    picks = rng.choice(flat.size, size=40, replace=False)
    eps, worst, ok = 1e-6, 0.0, True
    for idx in picks:
        hi, lo = flat.copy(), flat.copy()
        hi[idx] += eps
        lo[idx] -= eps
        fd = (f(hi, shapes, xs, ys) - f(lo, shapes, xs, ys)) / (2 * eps)
        worst = max(worst, abs(ours[idx] - fd))
        ok &= abs(ours[idx] - fd) <= 1e-7 + 1e-6 * abs(fd)
    table.rows.append({"oracle": "central differences (float64, h = 1e-6)", "entries compared": len(picks),
                       "max |BPTT − oracle|": float(worst), "tolerance": "1e-7 + 1e-6·|oracle|",
                       "passed": bool(ok)})
    return table


def unrolled_hidden_gradient(p: dict, xs, ys, k_: int) -> np.ndarray:
    r""":math:`\nabla_{h^{(k)}}L = \sum_{t \ge k} (\partial h^{(t)}/\partial h^{(k)})^\top V^\top(\hat y^{(t)} - y^{(t)})`
    from the unrolled Jacobian products (no recursion); ``k_`` in 0 … τ."""
    xs, ys = _check(p, xs, ys)
    hs, yhats = forward(p, xs)
    nn = hs.shape[1]
    J = np.eye(nn)  # ∂h(t)/∂h(k)
    total = np.zeros(nn)
    for s in range(k_ + 1, len(xs) + 1):
        J = ((1 - hs[s] ** 2)[:, None] * p["W"]) @ J
        total += J.T @ (p["V"].T @ (yhats[s - 1] - ys[s - 1]))
    if k_ >= 1:
        total += p["V"].T @ (yhats[k_ - 1] - ys[k_ - 1])
    return total


def two_routes_table(steps: int = 20, hidden: int = 8, seed: int = 1) -> CheckTable:
    """∇_{h(0)}L by the recursion (``backward``) and by the unrolled Jacobian products."""
    rng = np.random.default_rng(seed)
    p = init_params(hidden, 3, 4, rng, scale=0.4)
    xs = rng.normal(size=(steps, 3))
    ys = np.eye(4)[rng.integers(0, 4, size=steps)]
    rec = backward(p, xs, ys)["h0"]
    unrolled = unrolled_hidden_gradient(p, xs, ys, 0)
    err = float(np.max(np.abs(rec - unrolled)))
    table = CheckTable(f"Two routes to ∇_h(0) L (τ = {steps}, n = {hidden})",
                       ["route A", "route B", "max |A − B|", "tolerance"])
    table.rows.append({"route A": "BPTT recursion", "route B": "Σ_t (Π diag(1 − h²) W)ᵀ Vᵀ(ŷ − y)",
                       "max |A − B|": err, "tolerance": "1e-12", "passed": err <= 1e-12})
    return table


def bound_table(seed: int = 3, steps: int = 30, hidden: int = 8) -> CheckTable:
    r"""Measured ‖∂h(τ)/∂h(τ−ℓ)‖₂ never exceeds (γλ₁)^ℓ, for tanh and sigmoid, λ₁ below/at/above 1/γ."""
    rng = np.random.default_rng(seed)
    table = CheckTable("The bound ‖∂h(τ)/∂h(τ−ℓ)‖₂ ≤ (γ λ₁)^ℓ against measured norms",
                       ["activation", "γ λ₁", "lags", "max measured / bound", "tolerance"],
                       note=f"Random W = γ⁻¹·(γλ₁)·(normal matrix / its largest singular value), "
                            f"n = {hidden}, inputs ~ N(0, 1), τ = {steps}; pass when every ratio ≤ 1 + 1e-12.")
    for activation in ACTIVATIONS:
        g = float(gamma(activation))
        for prod in (0.8, 1.0, 1.5):
            A = rng.normal(size=(hidden, hidden))
            Wm = (prod / g) * A / np.linalg.norm(A, 2)
            hs = run_rnn(Wm, rng.normal(size=(steps, hidden)), activation=activation)
            ratio = float(np.max((jacobian_norms(Wm, hs, activation) / norm_bound(Wm, steps, activation))[1:]))
            table.rows.append({"activation": activation, "γ λ₁": f"{prod:g}", "lags": f"1 … {steps}",
                               "max measured / bound": ratio, "tolerance": "≤ 1 + 1e-12",
                               "passed": ratio <= 1 + 1e-12})
    return table


@functools.cache
def numeric_checks() -> list[CheckTable]:
    """Results against oracles, BPTT at τ = 20, two routes, the erratum, the norm bound."""
    return [crosscheck(results(), points=2, seed=0,
                       title="∂L/∂θ (τ = 2, n = 2, m = 2, q = 1) against independent oracles"),
            bptt_table(), two_routes_table(), erratum_10_21(), bound_table()]


# ---- the Jacobian product, symbolically, at larger τ (benchmark) --------------------------------


def check_jacobian_product(steps: int, hidden: int = 3) -> dict:
    r"""Check :math:`\partial h^{(\tau)}/\partial h^{(0)} = \prod_t \operatorname{diag}(1 - (h^{(t)})^2)W`
    symbolically, element by element, for ``steps`` steps of ``hidden`` units.

    Route 1: SymPy differentiates each step's definition :math:`h^{(t)} = \tanh(b + W h^{(t-1)} +
    (Ux)^{(t)})` with respect to every entry of :math:`h^{(t-1)}` and, with
    :math:`\tanh a^{(t)}` named :math:`h^{(t)}`, the result must be :math:`(1 - (h^{(t)}_i)^2) W_{ij}`.
    Route 2: the chain rule composes those Jacobians forward (:math:`J \leftarrow J_t J`, as the
    unrolled product) and backward (:math:`G \leftarrow G J_t`, as BPTT does); the two products
    are expanded into polynomials in :math:`W_{ij}` and :math:`d^{(t)}_i = 1 - (h^{(t)}_i)^2` and
    must agree entry by entry. Returns counts; raises :class:`DerivationError` on a mismatch.
    """
    if steps < 1 or hidden < 1:
        raise ValueError(f"need steps >= 1 and hidden >= 1, got steps={steps}, hidden={hidden}")
    Wm = sp.Matrix(hidden, hidden, lambda a_, b_: sp.Symbol(f"W{a_ + 1}{b_ + 1}", real=True))
    bb = sp.Matrix(hidden, 1, lambda a_, _: sp.Symbol(f"b{a_ + 1}", real=True))
    hp = sp.Matrix(hidden, 1, lambda a_, _: sp.Symbol(f"hp{a_ + 1}", real=True))
    ux = sp.Matrix(hidden, 1, lambda a_, _: sp.Symbol(f"ux{a_ + 1}", real=True))
    hn = sp.Matrix(hidden, 1, lambda a_, _: sp.Symbol(f"hn{a_ + 1}", real=True))
    a = bb + Wm * hp + ux
    step_expr = a.applyfunc(sp.tanh)
    J = step_expr.jacobian(hp).xreplace({sp.tanh(a[s]): hn[s] for s in range(hidden)})
    claim = sp.diag(*[1 - hn[s] ** 2 for s in range(hidden)]) * Wm
    if (J - claim).expand() != sp.zeros(hidden, hidden):
        raise DerivationError("one-step Jacobian differs from diag(1 − h²) W")
    # the same Jacobian at every step, with its own d^(t): polynomials in a ring
    names = [f"W{a_}{b_}" for a_ in range(hidden) for b_ in range(hidden)] + \
            [f"d{s}_{a_}" for s in range(1, steps + 1) for a_ in range(hidden)]
    R, *gens = sp.ring(names, sp.ZZ)
    Wr = [[gens[a_ * hidden + b_] for b_ in range(hidden)] for a_ in range(hidden)]
    d = [[gens[hidden * hidden + (s - 1) * hidden + a_] for a_ in range(hidden)] for s in range(1, steps + 1)]

    def one_step(s):  # diag(d^(s)) W
        return [[d[s - 1][a_] * Wr[a_][b_] for b_ in range(hidden)] for a_ in range(hidden)]

    def matmul(A, B):
        return [[sum((A[a_][k_] * B[k_][b_] for k_ in range(hidden)), R.zero) for b_ in range(hidden)]
                for a_ in range(hidden)]

    eye = [[R.one if a_ == b_ else R.zero for b_ in range(hidden)] for a_ in range(hidden)]
    fwd, bwd = eye, eye
    for s in range(1, steps + 1):
        fwd = matmul(one_step(s), fwd)             # unrolled: J(s) ⋯ J(1)
    for s in range(steps, 0, -1):
        bwd = matmul(bwd, one_step(s))             # recursion: from h(τ) back to h(0)
    terms = 0
    for a_, b_ in itertools.product(range(hidden), repeat=2):
        if fwd[a_][b_] != bwd[a_][b_]:
            raise DerivationError(f"entry ({a_ + 1}, {b_ + 1}) of the two products differs")
        terms += len(fwd[a_][b_])
    return {"steps": steps, "hidden": hidden, "entries": hidden * hidden, "monomials": terms}
