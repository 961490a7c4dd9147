r"""Exercises whose solutions cannot be wrong: two or three a chapter, each solution a checked derivation.

Every exercise is an :class:`Exercise`: a statement (MyST, with ``$…$`` math), the chapter page it
belongs to, and a solution that is a :class:`~derivations.core.Derivation` like every other on the
site, checked step by step when the page is built, with its published results compared against
independent oracles (the table under each solution). A wrong solution cannot be shown: the page's
cell that renders it fails, and so does the build.

The exercises use the notation of their chapter pages (column vectors; a subscript is an entry):

- softmax and cross-entropy: the gradient of log-sum-exp, :math:`\partial/\partial z_i \log\sum_k e^{z_k}
  = \hat y_i`; cross-entropy against a smoothed target :math:`y = (1 - \varepsilon) e + \varepsilon/n`,
  :math:`\partial\mathrm{CE}/\partial z_i = \hat y_i - y_i`;
- feed-forward networks: a sigmoid neuron under cross-entropy, :math:`\partial\ell/\partial w_j = (a - y)
  x_j`; the window scorer with :math:`f = \tanh`, :math:`\partial\mathcal{J}/\partial b_i = U_i (a_i^2 -
  a_{c,i}^2)`; the δ-rule of a 3-3-1 network with :math:`\tanh`, :math:`\partial s/\partial W^{(1)}_{ij}
  = \delta^{(2)}_i a^{(1)}_j`;
- LSTM: :math:`\partial c_{t,k}/\partial b_{f,k} = c_{t-1,k} f_k (1 - f_k)`, and the same bias through the
  output gate's peephole to :math:`h_t`;
- the softmax family: the Gumbel-softmax Jacobian at :math:`\tau = 1/2`, :math:`2 y_i(\delta_{ij} - y_j)`;
  the two-class temperature derivative :math:`-y_1 (1 - y_1)(s_1 - s_2)/\tau`;
- recurrent networks: :math:`\partial h_2/\partial w` of a scalar RNN through time; an IndRNN with ReLU,
  :math:`\partial h_3/\partial h_0 = u^3` where every unit is active.

Examples
--------
>>> [e.key for e in EXERCISES][:3]
['softmax-lse', 'softmax-smoothing', 'ff-bce']
>>> exercise("ff-bce").page
'sigmoid_neuron'
>>> exercise("nope")
Traceback (most recent call last):
...
KeyError: "no exercise 'nope'; the exercises are: softmax-lse, softmax-smoothing, ff-bce, ff-window-tanh, ff-331-tanh, lstm-dc-dbf, lstm-dh-dbf, gumbel-jacobian-half, gumbel-two-class-tau, rnn-scalar-bptt, indrnn-relu"
"""

from __future__ import annotations

import functools
import itertools
from dataclasses import dataclass
from typing import Callable

import sympy as sp

from .core import Condition, Derivation, Result, evaluate, indexed, notation, sym
from .core import shown_product as _mul
from .lstm_gates import explicit, sigma
from .oracles import CheckTable, crosscheck
from .sigmoid_neuron import logistic

TITLE = "Exercises with checked solutions: two or three a chapter"


@dataclass(frozen=True)
class Exercise:
    """One exercise: what to derive, where it belongs, and its checked solution."""

    key: str             #: a short name, also the label of its solution (``exercise-<key>``)
    chapter: str         #: the chapter, as the book's chapter map names it
    page: str            #: the chapter page it belongs to (a document name, e.g. ``"sigmoid_neuron"``)
    title: str           #: its heading on the exercises page
    statement: str       #: what to derive, in MyST (``$…$`` math)
    derivation: Callable[[], Derivation]
    results: Callable[[], list[Result]]

    @property
    def label(self) -> str:
        return f"exercise-{self.key}"


def _partial_of(expr, wrt):
    return sp.Derivative(expr, wrt)


# ============================================================================================
# Softmax and cross-entropy
# ============================================================================================
n = sym("n", meaning="number of classes (softmax); of inputs (the neuron); of hidden units (the scorer)",
        integer=True, positive=True)
i, j, k, q = (sym(s, integer=True, positive=True) for s in "ijkq")
notation(i, r"index of an entry (a class, a hidden unit, a row), from 1")
notation(j, r"index of an entry (a class, an input, a column), from 1")
notation(k, r"index of an entry in a sum, from 1")
z = indexed("z", "z", meaning="logits (softmax exercises)", shape=r"${n \times 1}$", real=True)
yhat = indexed("yhat", r"\hat{y}", meaning=r"predicted distribution, $\operatorname{softmax}(z)$", shape=r"${n \times 1}$",
               real=True, positive=True)
LSE = sym("LSE", r"\operatorname{LSE}", meaning=r"log-sum-exp of the logits, $\log \sum_k e^{z_k}$", shape="scalar",
          real=True)
e = indexed("e", "e", meaning="one-hot gold class", shape=r"${n \times 1}$", real=True, nonnegative=True)
eps = sym("epsilon", r"\varepsilon", meaning=r"label-smoothing weight, $0 < \varepsilon < 1$", shape="scalar",
          real=True, positive=True)
ys = indexed("ys", "y", meaning=r"smoothed target, $y_k = (1 - \varepsilon) e_k + \varepsilon / n$",
             shape=r"${n \times 1}$", real=True)
CE = sym("CE", r"\mathrm{CE}", meaning="cross-entropy of the prediction against the target", shape="scalar", real=True)

_SUM_EXP = sp.Sum(sp.exp(z[q]), (q, 1, n))
SOFTMAX_DEFS = {yhat: sp.Lambda(k, sp.exp(z[k]) / _SUM_EXP), LSE: sp.log(_SUM_EXP)}
SMOOTH_DEFS = {**SOFTMAX_DEFS, ys: sp.Lambda(k, (1 - eps) * e[k] + eps / n),
               CE: -sp.Sum(ys[k] * sp.log(yhat[k]), (k, 1, n))}
ONE_HOT = Condition(sp.Eq(sp.Sum(e[k], (k, 1, n)), 1), (sp.Eq(e[n], 1 - sp.Sum(e[k], (k, 1, n - 1))),))


def _class_instances(*sizes):
    return [{n: size, i: ii} for size in sizes for ii in sorted({1, size})]


@functools.cache
def lse_derivation() -> Derivation:
    d = Derivation("exercise_lse", "The gradient of log-sum-exp", sp.Derivative(LSE, z[i]),
                   definitions=SOFTMAX_DEFS, instances=_class_instances(2, 3, 4), label="exercise-softmax-lse")
    d.step(_mul(1 / _SUM_EXP, sp.Derivative(_SUM_EXP, z[i])), r"definition of $\operatorname{LSE}$; $(\log u)' = u'/u$")
    d.step(sp.exp(z[i]) / _SUM_EXP, r"only the term $q = i$ of the sum holds $z_i$")
    d.step(yhat[i], r"definition of $\hat y_i$: the softmax")
    return d


@functools.cache
def smoothing_derivation() -> Derivation:
    d = Derivation("exercise_smoothing", "Cross-entropy against a smoothed target", sp.Derivative(CE, z[i]),
                   definitions=SMOOTH_DEFS, instances=_class_instances(2, 3), label="exercise-softmax-smoothing")
    d.step(-sp.Sum(_mul(ys[k], 1 / yhat[k], sp.Derivative(yhat[k], z[i])), (k, 1, n)),
           r"definition of $\mathrm{CE}$; $(\log u)' = u'/u$; $y$ does not depend on $z$")
    d.step(-sp.Sum(ys[k] * (sp.KroneckerDelta(k, i) - yhat[i]), (k, 1, n)),
           r"softmax Jacobian $\partial \hat y_k/\partial z_i = \hat y_k(\delta_{ki} - \hat y_i)$")
    d.step(yhat[i] * sp.Sum(ys[k], (k, 1, n)) - ys[i], r"split the sum; $\delta_{ki}$ keeps only $k = i$")
    d.step(yhat[i] * ((1 - eps) * sp.Sum(e[k], (k, 1, n)) + eps) - ys[i],
           r"definition of $y$: $\sum_k y_k = (1 - \varepsilon)\sum_k e_k + n \cdot \varepsilon/n$")
    d.step(yhat[i] - ys[i], "the gold class is one-hot: its entries sum to 1", given=[ONE_HOT])
    return d


Z3 = [sym(f"z{r}", f"z_{{{r}}}", real=True) for r in (1, 2, 3)]
E3 = [sym(f"e{r}", f"e_{{{r}}}", real=True, nonnegative=True) for r in (1, 2, 3)]


def _flat_softmax(expr):
    return expr.xreplace({**{z[r + 1]: Z3[r] for r in range(3)}, **{e[r + 1]: E3[r] for r in range(3)}})


@functools.cache
def lse_results() -> list[Result]:
    inst = {n: 3}
    of = _flat_softmax(evaluate(LSE, SOFTMAX_DEFS, inst))
    return [Result(of, Z3[r - 1], _flat_softmax(evaluate(lse_derivation().result, SOFTMAX_DEFS, {**inst, i: r})),
                   name=r"\operatorname{LSE}") for r in (1, 2, 3)]


@functools.cache
def smoothing_results() -> list[Result]:
    inst = {n: 3}
    of = _flat_softmax(evaluate(CE, SMOOTH_DEFS, inst))
    where = (sp.Eq(E3[2], 1 - E3[0] - E3[1]),)
    return [Result(of, Z3[r - 1], _flat_softmax(evaluate(smoothing_derivation().result, SMOOTH_DEFS, {**inst, i: r})),
                   where, name=r"\mathrm{CE}") for r in (1, 2, 3)]


# ============================================================================================
# Feed-forward networks
# ============================================================================================
w = indexed("w", "w", meaning="weights of the neuron", shape=r"${n \times 1}$", real=True)
x = indexed("x", "x", meaning="input (of the neuron; of the scorer's true window)", shape=r"${n \times 1}$", real=True)
b = sym("b", meaning="bias of the neuron", shape="scalar", real=True)
zn = sym("z_n", "z", meaning=r"the neuron's input, $w^\top x + b$", shape="scalar", real=True)
a = sym("a", meaning=r"the neuron's activation, $\sigma(z)$", shape="scalar", real=True)
y = sym("y", meaning=r"the neuron's target, $0 \le y \le 1$", shape="scalar", real=True)
ell = sym("ell", r"\ell", meaning=r"the neuron's cross-entropy loss, $-y \log a - (1 - y)\log(1 - a)$", shape="scalar",
          real=True)
BCE_DEFS = {zn: sp.Sum(w[k] * x[k], (k, 1, n)) + b, a: logistic(zn), ell: -(y * sp.log(a) + (1 - y) * sp.log(1 - a))}


@functools.cache
def bce_derivation() -> Derivation:
    inst = [{n: size, j: jj} for size in (1, 2) for jj in sorted({1, size})]
    d = Derivation("exercise_bce", "A sigmoid neuron under cross-entropy", sp.Derivative(ell, w[j]),
                   definitions=BCE_DEFS, instances=inst, label="exercise-ff-bce")
    d.step(_mul(sp.Derivative(ell, a), sp.Derivative(a, zn), sp.Derivative(zn, w[j])), "chain rule through $a$ and $z$")
    d.step(_mul(-(y / a - (1 - y) / (1 - a)), a, 1 - a, x[j]),
           r"$(\log u)' = u'/u$; $\sigma' = \sigma(1 - \sigma)$; only the term $w_j x_j$ of $z$ holds $w_j$")
    d.step(_mul(-(y * (1 - a) - (1 - y) * a), x[j]), r"multiply out: $a(1 - a)$ cancels both denominators")
    d.step(_mul(a - y, x[j]), r"$-(y - ya - a + ya) = a - y$")
    return d


W2S = [sym(f"w{r}", f"w_{{{r}}}", real=True) for r in (1, 2)]
X2S = [sym(f"x{r}", f"x_{{{r}}}", real=True) for r in (1, 2)]


@functools.cache
def bce_results() -> list[Result]:
    inst = {n: 2}
    flat = {**{w[r + 1]: W2S[r] for r in range(2)}, **{x[r + 1]: X2S[r] for r in range(2)}}
    of = evaluate(ell, BCE_DEFS, inst).xreplace(flat)
    return [Result(of, W2S[r - 1], evaluate(bce_derivation().result, BCE_DEFS, {**inst, j: r}).xreplace(flat),
                   name=r"\ell") for r in (1, 2)]


# ---- the window scorer with f = tanh ------------------------------------------------------------
D = sym("D", meaning="input size of the window scorer", integer=True, positive=True)
l_ = sym("l", integer=True, positive=True)
notation(l_, r"index of an input in a sum, $1 \le l \le D$")
W = indexed("W", "W", meaning="the scorer's hidden weights, shared by both windows", shape=r"${n \times D}$", real=True)
bv = indexed("b_w", "b", meaning="the scorer's hidden bias", shape=r"${n \times 1}$", real=True)
U = indexed("U", "U", meaning="the scorer's read-out weights", shape=r"${n \times 1}$", real=True)
xc = indexed("x_c", "x_{c}", meaning="the corrupt window", shape=r"${D \times 1}$", real=True)
zw = indexed("z_w", "z", meaning="hidden pre-activation of the true window, $Wx + b$", shape=r"${n \times 1}$", real=True)
zwc = indexed("z_wc", "z_{c}", meaning="hidden pre-activation of the corrupt window, $Wx_c + b$", shape=r"${n \times 1}$",
              real=True)
aw = indexed("a_w", "a", meaning=r"hidden activation of the true window, $\tanh z$", shape=r"${n \times 1}$", real=True)
awc = indexed("a_wc", "a_{c}", meaning=r"hidden activation of the corrupt window, $\tanh z_c$", shape=r"${n \times 1}$",
              real=True)
s = sym("s", meaning=r"the true window's score $U^\top a$; the 3-3-1 network's score", shape="scalar", real=True)
s_c = sym("s_c", "s_{c}", meaning=r"the corrupt window's score, $U^\top a_c$", shape="scalar", real=True)
J = sym("J", r"\mathcal{J}", meaning=r"max-margin objective on its branch $\mathcal{J} > 0$: $\Delta + s_c - s$",
        shape="scalar", real=True)
Delta = sym("Delta", r"\Delta", meaning="the margin", shape="scalar", real=True)
WINDOW_DEFS = {
    zw: sp.Lambda(i, sp.Sum(W[i, l_] * x[l_], (l_, 1, D)) + bv[i]),
    zwc: sp.Lambda(i, sp.Sum(W[i, l_] * xc[l_], (l_, 1, D)) + bv[i]),
    aw: sp.Lambda(i, sp.tanh(zw[i])), awc: sp.Lambda(i, sp.tanh(zwc[i])),
    s: sp.Sum(U[k] * aw[k], (k, 1, n)), s_c: sp.Sum(U[k] * awc[k], (k, 1, n)),
    J: Delta + s_c - s,
}


@functools.cache
def window_derivation() -> Derivation:
    inst = [{n: 1, D: 1, i: 1}, {n: 2, D: 3, i: 1}, {n: 2, D: 3, i: 2}]
    d = Derivation("exercise_window_tanh", "The window scorer's bias gradient with f = tanh", sp.Derivative(J, bv[i]),
                   definitions=WINDOW_DEFS, instances=inst, label="exercise-ff-window-tanh")
    d.step(-sp.Derivative(s, bv[i]) + sp.Derivative(s_c, bv[i]),
           r"$\mathcal{J} = \Delta + s_c - s$ on its branch $\mathcal{J} > 0$; $b$ reaches both scores")
    d.step(-_mul(U[i], sp.Derivative(aw[i], bv[i])) + _mul(U[i], sp.Derivative(awc[i], bv[i])),
           r"$s = \sum_k U_k a_k$: only $a_i$ holds $b_i$ (likewise for $s_c$)")
    d.step(-_mul(U[i], 1 - aw[i] ** 2) + _mul(U[i], 1 - awc[i] ** 2),
           r"$\tanh' = 1 - \tanh^2$ and $\partial z_i/\partial b_i = 1$")
    d.step(_mul(U[i], aw[i] ** 2 - awc[i] ** 2), "collect: the two 1s cancel")
    return d


def _plain(base, latex_base, *shape):
    if len(shape) == 1:
        return {base[r]: sym(f"{base.label}_{r}", f"{latex_base}_{{{r}}}", real=True) for r in range(1, shape[0] + 1)}
    return {base[r, c]: sym(f"{base.label}_{r}{c}", f"{latex_base}_{{{r}{c}}}", real=True)
            for r in range(1, shape[0] + 1) for c in range(1, shape[1] + 1)}


WINDOW_FLAT = {**_plain(W, "W", 2, 2), **_plain(bv, "b", 2), **_plain(U, "U", 2), **_plain(x, "x", 2),
               **_plain(xc, "x_{c}", 2)}


@functools.cache
def window_results() -> list[Result]:
    inst = {n: 2, D: 2}
    of = evaluate(J, WINDOW_DEFS, inst).xreplace(WINDOW_FLAT)
    return [Result(of, WINDOW_FLAT[bv[r]], evaluate(window_derivation().result, WINDOW_DEFS, {**inst, i: r})
                   .xreplace(WINDOW_FLAT), name=r"\mathcal{J}") for r in (1, 2)]


# ---- the δ-rule of a 3-3-1 network with tanh ----------------------------------------------------
W1 = indexed("W1", "W^{(1)}", meaning="first-layer weights of the 3-3-1 network", shape=r"${3 \times 3}$", real=True)
b1 = indexed("b1", "b^{(1)}", meaning="first-layer bias of the 3-3-1 network", shape=r"${3 \times 1}$", real=True)
W2 = indexed("W2", "W^{(2)}", meaning="second-layer weights of the 3-3-1 network", shape=r"${1 \times 3}$", real=True)
b2 = sym("b2", "b^{(2)}", meaning="second-layer bias of the 3-3-1 network", shape="scalar", real=True)
a1 = indexed("a1", "a^{(1)}", meaning="the 3-3-1 network's input", shape=r"${3 \times 1}$", real=True)
z2 = indexed("z2", "z^{(2)}", meaning=r"hidden pre-activation, $W^{(1)} a^{(1)} + b^{(1)}$", shape=r"${3 \times 1}$",
             real=True)
a2 = indexed("a2", "a^{(2)}", meaning=r"hidden activation, $\tanh z^{(2)}$", shape=r"${3 \times 1}$", real=True)
delta2 = indexed("delta2", r"\delta^{(2)}", meaning=r"error at the hidden units, $\partial s/\partial z^{(2)}$",
                 shape=r"${3 \times 1}$", real=True)
NET_DEFS = {
    z2: sp.Lambda(i, sp.Sum(W1[i, k] * a1[k], (k, 1, 3)) + b1[i]),
    a2: sp.Lambda(i, sp.tanh(z2[i])),
    s: sp.Sum(W2[k] * a2[k], (k, 1, 3)) + b2,
    delta2: sp.Lambda(i, W2[i] * (1 - a2[i] ** 2)),
}


@functools.cache
def net_derivation() -> Derivation:
    inst = [{i: ii, j: jj} for ii, jj in itertools.product((1, 2, 3), repeat=2)]
    d = Derivation("exercise_331", "The δ-rule of a 3-3-1 network with tanh", sp.Derivative(s, W1[i, j]),
                   definitions=NET_DEFS, instances=inst, label="exercise-ff-331-tanh")
    d.step(_mul(W2[i], sp.Derivative(a2[i], W1[i, j])), r"$W^{(1)}_{ij}$ feeds $z^{(2)}_i$, hence $a^{(2)}_i$, only")
    d.step(_mul(W2[i], 1 - a2[i] ** 2, sp.Derivative(z2[i], W1[i, j])), r"$\tanh' = 1 - \tanh^2$")
    d.step(_mul(W2[i], 1 - a2[i] ** 2, a1[j]), r"$z^{(2)}_i = \sum_k W^{(1)}_{ik} a^{(1)}_k + b^{(1)}_i$")
    d.step(delta2[i] * a1[j], r"definition $\delta^{(2)}_i := W^{(2)}_i (1 - (a^{(2)}_i)^2)$")
    return d


NET_FLAT = {**_plain(W1, "W^{(1)}", 3, 3), **_plain(b1, "b^{(1)}", 3), **_plain(W2, "W^{(2)}", 3),
            **_plain(a1, "a^{(1)}", 3)}


@functools.cache
def net_results() -> list[Result]:
    of = evaluate(s, NET_DEFS).xreplace(NET_FLAT)
    return [Result(of, NET_FLAT[W1[r, c]], evaluate(net_derivation().result, NET_DEFS, {i: r, j: c}).xreplace(NET_FLAT),
                   name="s") for r, c in itertools.product((1, 2, 3), repeat=2)]


# ============================================================================================
# LSTM
# ============================================================================================
H = sym("H", meaning="number of LSTM units", integer=True, positive=True)
Dx = sym("D_x", "D", meaning="number of LSTM inputs", integer=True, positive=True)
m_ = sym("m", integer=True, positive=True)
notation(m_, r"index of an input or of a unit of $h_{t-1}$ in a sum")
x_t = indexed("x_t", "x", meaning="LSTM input at step $t$", shape=r"${D \times 1}$", real=True)
h_prev = indexed("h_prev", "h_{t-1}", meaning="previous hidden state", shape=r"${H \times 1}$", real=True)
c_prev = indexed("c_prev", "c_{t-1}", meaning="previous cell state", shape=r"${H \times 1}$", real=True)
GATES = ("i", "f", "c", "o")
Wx = {g: indexed(f"W_x{g}", f"W_{{x{g}}}", real=True) for g in GATES}
Wh = {g: indexed(f"W_h{g}", f"W_{{h{g}}}", real=True) for g in GATES}
bg = {g: indexed(f"b_{g}", f"b_{{{g}}}", real=True) for g in GATES}
Wcp = {g: indexed(f"W_c{g}", f"W_{{c{g}}}", real=True) for g in ("i", "f", "o")}
_WHAT = {"i": "input gate", "f": "forget gate", "c": "block input", "o": "output gate"}
for _g in GATES:
    notation(Wx[_g], f"weights from $x$ to the {_WHAT[_g]}", r"${H \times D}$")
    notation(Wh[_g], f"weights from $h_{{t-1}}$ to the {_WHAT[_g]}", r"${H \times H}$")
    notation(bg[_g], f"bias of the {_WHAT[_g]}", r"${H \times 1}$")
for _g in Wcp:
    notation(Wcp[_g], f"peephole of the {_WHAT[_g]}, diagonal: one weight per cell", r"${H \times 1}$")
notation(sigma, r"the logistic sigmoid, $\sigma(u) = 1/(1 + e^{-u})$")
ig = indexed("i_t", "i", meaning="input gate at step $t$", shape=r"${H \times 1}$", real=True)
fg = indexed("f_t", "f", meaning="forget gate at step $t$", shape=r"${H \times 1}$", real=True)
zg = indexed("z_t", "z", meaning=r"block input at step $t$, $\tanh(\cdot)$", shape=r"${H \times 1}$", real=True)
og = indexed("o_t", "o", meaning="output gate at step $t$ (its peephole reads $c_t$)", shape=r"${H \times 1}$", real=True)
cg = indexed("c_t", "c", meaning=r"cell state at step $t$, $f \odot c_{t-1} + i \odot z$", shape=r"${H \times 1}$",
             real=True)
hg = indexed("h_t", "h", meaning=r"hidden state at step $t$, $o \odot \tanh c$", shape=r"${H \times 1}$", real=True)


def _pre(g, peep=None):
    out = sp.Sum(Wx[g][k, m_] * x_t[m_], (m_, 1, Dx)) + sp.Sum(Wh[g][k, m_] * h_prev[m_], (m_, 1, H)) + bg[g][k]
    return out + Wcp[g][k] * peep if peep is not None else out


LSTM_DEFS = {
    ig: sp.Lambda(k, sigma(_pre("i", c_prev[k]))), fg: sp.Lambda(k, sigma(_pre("f", c_prev[k]))),
    zg: sp.Lambda(k, sp.tanh(_pre("c"))), cg: sp.Lambda(k, fg[k] * c_prev[k] + ig[k] * zg[k]),
    og: sp.Lambda(k, sigma(_pre("o", cg[k]))), hg: sp.Lambda(k, og[k] * sp.tanh(cg[k])),
}
_LSTM_INST = [{H: 1, Dx: 1, k: 1}, {H: 2, Dx: 2, k: 2}]


@functools.cache
def dc_dbf_derivation() -> Derivation:
    d = Derivation("exercise_dc_dbf", "The cell state against the forget gate's bias",
                   sp.Derivative(cg[k], bg["f"][k]), definitions=LSTM_DEFS, instances=_LSTM_INST,
                   label="exercise-lstm-dc-dbf")
    d.step(_mul(sp.Derivative(fg[k], bg["f"][k]), c_prev[k]) + _mul(sp.Derivative(ig[k], bg["f"][k]), zg[k])
           + _mul(ig[k], sp.Derivative(zg[k], bg["f"][k])), r"product rule on $c_k = f_k c_{t-1,k} + i_k z_k$")
    d.step(_mul(sp.Derivative(fg[k], bg["f"][k]), c_prev[k]), r"$i$ and $z$ do not read $b_f$")
    d.step(_mul(fg[k], 1 - fg[k], c_prev[k]), r"$\sigma' = \sigma(1 - \sigma)$; $b_{f,k}$ enters $f_k$'s argument with weight 1")
    return d


@functools.cache
def dh_dbf_derivation() -> Derivation:
    d = Derivation("exercise_dh_dbf", "The hidden state against the forget gate's bias",
                   sp.Derivative(hg[k], bg["f"][k]), definitions=LSTM_DEFS, instances=_LSTM_INST,
                   label="exercise-lstm-dh-dbf")
    d.step(_mul(sp.Derivative(hg[k], cg[k]), sp.Derivative(cg[k], bg["f"][k])),
           r"chain rule: $b_f$ reaches $h_t$ only through $c_t$ (directly, and through the peephole of $o$)")
    d.step(_mul(og[k] * (1 - sp.tanh(cg[k]) ** 2) + sp.tanh(cg[k]) * og[k] * (1 - og[k]) * Wcp["o"][k],
                fg[k], 1 - fg[k], c_prev[k]),
           r"product rule on $h = o \tanh c$ with $\partial o_k/\partial c_k = o_k(1 - o_k) W_{co,k}$; "
           r"the previous exercise")
    return d


LSTM_FLAT = {**{Wx[g][1, 1]: sym(f"W_x{g}11", f"W_{{x{g}}}", real=True) for g in GATES},
             **{Wh[g][1, 1]: sym(f"W_h{g}11", f"W_{{h{g}}}", real=True) for g in GATES},
             **{bg[g][1]: sym(f"b_{g}1", f"b_{{{g}}}", real=True) for g in GATES},
             **{Wcp[g][1]: sym(f"W_c{g}1", f"W_{{c{g}}}", real=True) for g in Wcp},
             x_t[1]: sym("x_t1", "x", real=True), h_prev[1]: sym("h_prev1", "h_{t-1}", real=True),
             c_prev[1]: sym("c_prev1", "c_{t-1}", real=True)}


def _lstm_results(of_symbol, deriv, name) -> list[Result]:
    inst = {H: 1, Dx: 1, k: 1}
    of = explicit(evaluate(of_symbol[1], LSTM_DEFS, inst)).xreplace(LSTM_FLAT)
    expr = explicit(evaluate(deriv.result, LSTM_DEFS, inst)).xreplace(LSTM_FLAT)
    return [Result(of, LSTM_FLAT[bg["f"][1]], expr, name=name)]


@functools.cache
def dc_dbf_results() -> list[Result]:
    return _lstm_results(cg, dc_dbf_derivation(), "c_{t}")


@functools.cache
def dh_dbf_results() -> list[Result]:
    return _lstm_results(hg, dh_dbf_derivation(), "h_{t}")


# ============================================================================================
# The softmax family
# ============================================================================================
lg = indexed("l", "l", meaning=r"logits of the Gumbel-softmax, $\log \pi$ up to a constant", shape=r"${n \times 1}$",
             real=True)
gg = indexed("g", "g", meaning="Gumbel noise, held fixed (reparameterised)", shape=r"${n \times 1}$", real=True)
sg = indexed("s_g", "s", meaning=r"scaled perturbed logits, $s = (l + g)/\tau$", shape=r"${n \times 1}$", real=True)
yg = indexed("y_g", "y", meaning=r"Gumbel-softmax sample, $\operatorname{softmax}(s)$", shape=r"${n \times 1}$",
             real=True, positive=True)
tau = sym("tau", r"\tau", meaning="temperature", shape="scalar", real=True, positive=True)
HALF = sp.Rational(1, 2)
GS_HALF_DEFS = {sg: sp.Lambda(k, (lg[k] + gg[k]) / HALF),
                yg: sp.Lambda(i, sp.exp(sg[i]) / sp.Sum(sp.exp(sg[q]), (q, 1, 3)))}


@functools.cache
def gumbel_half_derivation() -> Derivation:
    inst = [{i: ii, j: jj} for ii, jj in itertools.product((1, 2, 3), repeat=2)]
    d = Derivation("exercise_gumbel_half", "The Gumbel-softmax Jacobian at τ = 1/2", sp.Derivative(yg[i], lg[j]),
                   definitions=GS_HALF_DEFS, instances=inst, label="exercise-gumbel-jacobian-half")
    d.step(sp.Sum(_mul(sp.Derivative(yg[i], sg[k]), sp.Derivative(sg[k], lg[j])), (k, 1, 3)),
           r"chain rule through $s = (l + g)/\tau$")
    d.step(sp.Sum(_mul(yg[i] * (sp.KroneckerDelta(i, k) - yg[k]), 2 * sp.KroneckerDelta(k, j)), (k, 1, 3)),
           r"softmax Jacobian; $\partial s_k/\partial l_j = \delta_{kj}/\tau = 2\delta_{kj}$")
    d.step(2 * yg[i] * (sp.KroneckerDelta(i, j) - yg[j]), r"$\delta_{kj}$ keeps only $k = j$")
    return d


L3 = [sym(f"l{r}", f"l_{{{r}}}", real=True) for r in (1, 2, 3)]
G3 = [sym(f"g{r}", f"g_{{{r}}}", real=True) for r in (1, 2, 3)]
GS_FLAT = {**{lg[r + 1]: L3[r] for r in range(3)}, **{gg[r + 1]: G3[r] for r in range(3)}}


@functools.cache
def gumbel_half_results() -> list[Result]:
    out = []
    for r, c in itertools.product((1, 2, 3), repeat=2):
        of = evaluate(yg[r], GS_HALF_DEFS).xreplace(GS_FLAT)
        expr = evaluate(gumbel_half_derivation().result, GS_HALF_DEFS, {i: r, j: c}).xreplace(GS_FLAT)
        out.append(Result(of, L3[c - 1], expr, name=f"y_{{{r}}}"))
    return out


GS_TWO_DEFS = {sg: sp.Lambda(k, (lg[k] + gg[k]) / tau),
               yg: sp.Lambda(i, sp.exp(sg[i]) / (sp.exp(sg[1]) + sp.exp(sg[2])))}


@functools.cache
def gumbel_tau_derivation() -> Derivation:
    d = Derivation("exercise_gumbel_tau", "Two classes: the sample against the temperature", sp.Derivative(yg[1], tau),
                   definitions=GS_TWO_DEFS, label="exercise-gumbel-two-class-tau")
    d.step(_mul(yg[1], 1 - yg[1], sp.Derivative(sg[1] - sg[2], tau)),
           r"divide above and below by $e^{s_1}$: $y_1 = \sigma(s_1 - s_2)$; $\sigma' = \sigma(1 - \sigma)$")
    d.step(-_mul(yg[1], 1 - yg[1], sg[1] - sg[2]) / tau,
           r"$\partial s_k/\partial\tau = -(l_k + g_k)/\tau^2 = -s_k/\tau$")
    return d


@functools.cache
def gumbel_tau_results() -> list[Result]:
    of = evaluate(yg[1], GS_TWO_DEFS).xreplace(GS_FLAT)
    return [Result(of, tau, evaluate(gumbel_tau_derivation().result, GS_TWO_DEFS).xreplace(GS_FLAT), name="y_{1}")]


# ============================================================================================
# Recurrent networks
# ============================================================================================
wr = sym("w_r", "w", meaning="the scalar RNN's recurrent weight", shape="scalar", real=True)
ur = sym("u_r", "u", meaning="the scalar RNN's input weight; the IndRNN neuron's recurrent weight", shape="scalar",
         real=True)
br = sym("b_r", "b", meaning="the recurrent networks' bias", shape="scalar", real=True)
xr = indexed("x_r", "x", meaning="the recurrent networks' inputs, one a step", shape="scalar a step", real=True)
hr = indexed("h_r", "h", meaning="the recurrent networks' hidden state at step $t$; $h_0$ is given", shape="scalar a step",
             real=True)
ar = indexed("a_r", "a", meaning="the IndRNN neuron's pre-activation at step $t$", shape="scalar a step", real=True)
wi = sym("w_i", "w", real=True)  # the IndRNN's input weight (printed w: it plays the RNN's input role)
notation(wi, "the IndRNN neuron's input weight", "scalar")
RNN_DEFS = {hr[1]: sp.tanh(wr * hr[0] + ur * xr[1] + br), hr[2]: sp.tanh(wr * hr[1] + ur * xr[2] + br)}


@functools.cache
def rnn_derivation() -> Derivation:
    d = Derivation("exercise_rnn_bptt", "A scalar RNN: ∂h₂/∂w through time", sp.Derivative(hr[2], wr),
                   definitions=RNN_DEFS, label="exercise-rnn-scalar-bptt")
    d.step(_mul(1 - hr[2] ** 2, sp.Derivative(wr * hr[1], wr)),
           r"$\tanh' = 1 - \tanh^2$; $u x_2$ and $b$ do not depend on $w$")
    d.step(_mul(1 - hr[2] ** 2, hr[1] + _mul(wr, sp.Derivative(hr[1], wr))),
           r"product rule: $w$ appears directly and, one step back in time, inside $h_1$")
    d.step(_mul(1 - hr[2] ** 2, hr[1] + _mul(wr, 1 - hr[1] ** 2, hr[0])),
           r"the same rule one step earlier: $\partial h_1/\partial w = (1 - h_1^2) h_0$")
    return d


RNN_FLAT = {hr[0]: sym("h0", "h_{0}", real=True), xr[1]: sym("x1", "x_{1}", real=True),
            xr[2]: sym("x2", "x_{2}", real=True)}


@functools.cache
def rnn_results() -> list[Result]:
    of = evaluate(hr[2], RNN_DEFS).xreplace(RNN_FLAT)
    return [Result(of, wr, evaluate(rnn_derivation().result, RNN_DEFS).xreplace(RNN_FLAT), name="h_{2}")]


STEPS = 3
IND_DEFS = {}
for _t in range(1, STEPS + 1):
    IND_DEFS[ar[_t]] = wi * xr[_t] + ur * hr[_t - 1] + br
    IND_DEFS[hr[_t]] = sp.Max(ar[_t], 0)


@functools.cache
def active_condition() -> Condition:
    """Every pre-activation positive: each ReLU's unit step is 1 (written as the checker expands it)."""
    subs = tuple(sp.Eq(sp.Heaviside(evaluate(ar[t], IND_DEFS)), 1) for t in range(1, STEPS + 1))
    return Condition(sym("a_1, a_2, a_3 > 0", r"a_{1}, a_{2}, a_{3} > 0"), subs)


@functools.cache
def indrnn_derivation() -> Derivation:
    d = Derivation("exercise_indrnn_relu", "An IndRNN neuron with ReLU: three steps back",
                   sp.Derivative(hr[STEPS], hr[0]), definitions=IND_DEFS, label="exercise-indrnn-relu")
    d.step(_mul(*[f for t in range(STEPS, 0, -1) for f in (sp.Heaviside(ar[t]), ur)]),
           r"chain rule; $\frac{d}{da}\max(a, 0) = \theta(a)$, the unit step; $\partial a_{t+1}/\partial h_t = u$")
    d.step(ur ** STEPS, r"every unit active: each $\theta = 1$", given=[active_condition()])
    return d


IND_FLAT = {hr[0]: sym("h0", "h_{0}", real=True), **{xr[t]: sym(f"x{t}", f"x_{{{t}}}", real=True)
                                                     for t in range(1, STEPS + 1)}}
_u, _h0 = sp.Dummy("u"), sp.Dummy("h0")


@functools.cache
def indrnn_results() -> list[Result]:
    """∂h₃/∂h₀ wherever no pre-activation is 0: the step before the 'active' condition. For numbers
    θ(u) is written (1 + sign u)/2 (the same function): NumPy's printer would try to simplify a
    Piecewise's conditions."""
    of = evaluate(hr[STEPS], IND_DEFS).xreplace(IND_FLAT)
    expr = evaluate(indrnn_derivation().steps[1].expr, IND_DEFS).xreplace(IND_FLAT)
    return [Result(of, IND_FLAT[hr[0]], expr, name=f"h_{{{STEPS}}}",
                   realize={sp.Heaviside: sp.Lambda((_u, _h0), (1 + sp.sign(_u)) / 2)})]


# ============================================================================================
# The list
# ============================================================================================
SOFTMAX_CE, FEEDFORWARD, LSTM, FAMILY, RECURRENT = (
    "Softmax and cross-entropy", "Feed-forward networks and backpropagation", "LSTM", "The softmax family",
    "Recurrent networks")

EXERCISES = (
    Exercise("softmax-lse", SOFTMAX_CE, "softmax_ce", "The gradient of log-sum-exp",
             r"Show that the gradient of $\operatorname{LSE}(z) = \log \sum_k e^{z_k}$ is the softmax: "
             r"$\partial \operatorname{LSE}/\partial z_i = \hat y_i$. (This is why the log-sum-exp shift of the "
             r"chapter changes the value of $\operatorname{LSE}$ by the shift but never its gradient.)",
             lse_derivation, lse_results),
    Exercise("softmax-smoothing", SOFTMAX_CE, "softmax_ce", "Cross-entropy against a smoothed target",
             r"Label smoothing trains against $y_k = (1 - \varepsilon) e_k + \varepsilon/n$ instead of the one-hot "
             r"$e$. Derive $\partial \mathrm{CE}/\partial z_i$ for $\mathrm{CE} = -\sum_k y_k \log \hat y_k$ and say "
             r"which property of $y$ makes it $\hat y_i - y_i$.",
             smoothing_derivation, smoothing_results),
    Exercise("ff-bce", FEEDFORWARD, "sigmoid_neuron", "A sigmoid neuron under cross-entropy",
             r"The neuron $a = \sigma(w^\top x + b)$ is trained on the loss $\ell = -y \log a - (1 - y) \log(1 - a)$. "
             r"Derive $\partial \ell/\partial w_j$ and show that $\sigma'$ cancels: the gradient is "
             r"$(a - y) x_j$, which does not vanish when the neuron saturates on the wrong side.",
             bce_derivation, bce_results),
    Exercise("ff-window-tanh", FEEDFORWARD, "window_scorer", "The window scorer's bias gradient with tanh",
             r"Take the window scorer with $f = \tanh$: $a = \tanh(Wx + b)$, $a_c = \tanh(Wx_c + b)$, $s = U^\top a$, "
             r"$s_c = U^\top a_c$. On the branch $\mathcal{J} > 0$ of the max-margin objective, derive "
             r"$\partial \mathcal{J}/\partial b_i$ and write it with the activations only.",
             window_derivation, window_results),
    Exercise("ff-331-tanh", FEEDFORWARD, "backprop_421", "The δ-rule of a 3-3-1 network with tanh",
             r"A 3-3-1 network computes $s = W^{(2)} \tanh(W^{(1)} a^{(1)} + b^{(1)}) + b^{(2)}$. Derive "
             r"$\partial s/\partial W^{(1)}_{ij}$ for every weight and show it is $\delta^{(2)}_i a^{(1)}_j$ with "
             r"$\delta^{(2)}_i = W^{(2)}_i (1 - (a^{(2)}_i)^2)$: the δ-rule with $\tanh' = 1 - \tanh^2$ in place "
             r"of $\sigma' = \sigma(1 - \sigma)$.",
             net_derivation, net_results),
    Exercise("lstm-dc-dbf", LSTM, "lstm_gates", "The cell state against the forget gate's bias",
             r"For one step of the peephole LSTM of the chapter, derive $\partial c_{t,k}/\partial b_{f,k}$, "
             r"the derivative of a unit's cell state with respect to its own forget-gate bias.",
             dc_dbf_derivation, dc_dbf_results),
    Exercise("lstm-dh-dbf", LSTM, "lstm_gates", "The hidden state against the forget gate's bias",
             r"Continue: derive $\partial h_{t,k}/\partial b_{f,k}$ for $h_t = o_t \odot \tanh c_t$, where the output "
             r"gate's peephole reads the *new* cell state $c_t$, so $b_f$ reaches $h_t$ twice.",
             dh_dbf_derivation, dh_dbf_results),
    Exercise("gumbel-jacobian-half", FAMILY, "gumbel_softmax", "The Gumbel-softmax Jacobian at τ = 1/2",
             r"A Gumbel-softmax sample of three classes at temperature $\tau = 1/2$ is $y = \operatorname{softmax}"
             r"(2(l + g))$, with the noise $g$ held fixed. Derive the Jacobian $\partial y_i/\partial l_j$ for "
             r"every $i, j$.",
             gumbel_half_derivation, gumbel_half_results),
    Exercise("gumbel-two-class-tau", FAMILY, "binary_gates", "Two classes: the sample against the temperature",
             r"With two classes the Gumbel-softmax is a sigmoid, $y_1 = \sigma(s_1 - s_2)$ with $s = (l + g)/\tau$. "
             r"Derive $\partial y_1/\partial\tau$ and say where it vanishes.",
             gumbel_tau_derivation, gumbel_tau_results),
    Exercise("rnn-scalar-bptt", RECURRENT, "rnn_bptt", "A scalar RNN: ∂h₂/∂w through time",
             r"A scalar RNN computes $h_t = \tanh(w h_{t-1} + u x_t + b)$ from a given $h_0$. Derive "
             r"$\partial h_2/\partial w$ by backpropagation through time: $w$ acts at both steps.",
             rnn_derivation, rnn_results),
    Exercise("indrnn-relu", RECURRENT, "indrnn", "An IndRNN neuron with ReLU: three steps back",
             r"An IndRNN neuron with ReLU computes $h_t = \max(a_t, 0)$, $a_t = w x_t + u h_{t-1} + b$. Derive "
             r"$\partial h_3/\partial h_0$ where every unit is active ($a_1, a_2, a_3 > 0$), and read off the range "
             r"of $u$ for which it neither vanishes nor explodes over many steps.",
             indrnn_derivation, indrnn_results),
)


def exercise(key: str) -> Exercise:
    """The exercise called ``key``."""
    for ex in EXERCISES:
        if ex.key == key:
            return ex
    raise KeyError(f"no exercise {key!r}; the exercises are: {', '.join(e.key for e in EXERCISES)}")


def chapters() -> list[str]:
    """The chapters, in the order of the exercises."""
    return list(dict.fromkeys(ex.chapter for ex in EXERCISES))


def derivations() -> list[Derivation]:
    """Every exercise's solution, in reading order."""
    return [ex.derivation() for ex in EXERCISES]


@functools.cache
def results() -> list[Result]:
    """Every solution's published results (scalar, at a concrete size)."""
    return [r for ex in EXERCISES for r in ex.results()]


@functools.cache
def check_table(key: str) -> CheckTable:
    """One solution's results against the independent oracles."""
    ex = exercise(key)
    return crosscheck(ex.results(), points=3, seed=0, title=f"{ex.title}: the results against independent oracles")


@functools.cache
def numeric_checks() -> list[CheckTable]:
    """Every solution's numeric check, in the order of the exercises."""
    return [check_table(ex.key) for ex in EXERCISES]


def solution_markdown(key: str) -> str:
    """An exercise as MyST: the chapter it belongs to, its statement, and its solution, collapsed
    in a dropdown (sphinx-togglebutton), with the checked derivation and its numeric check.

    The derivation is checked first (:meth:`~derivations.core.Derivation.latex` checks), and the
    table raises if an oracle disagrees: a wrong solution fails the cell, and the page."""
    ex = exercise(key)
    d = ex.derivation()
    tex = d.latex()  # checks every step first: a wrong step raises here, naming it
    table = check_table(key).assert_ok()
    return "\n".join([
        f"*From the chapter* {{doc}}`{ex.page}`.",
        "",
        ex.statement,
        "",
        ":::{admonition} Solution: a checked derivation",
        ":class: dropdown",
        "",
        f"{d.summary()[0].upper()}{d.summary()[1:]} (every step proved when the page is built):",
        "",
        "```{math}",
        f":label: {ex.label}",
        tex,
        "```",
        "",
        f"{len(ex.results())} published result(s) (`derive show exercises --format json`) against the oracles:",
        "",
        f"<div class='table-scroll'>{table._repr_html_()}</div>",
        ":::",
    ])
