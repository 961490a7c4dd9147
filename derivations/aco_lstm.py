r"""LSTM with ant colony optimization: the masked gradient the ants' networks train with, the
pheromone dynamics, and a seeded search over the connections of a small LSTM network.

After ElSaid, El Jamiy, Higgins, Wild and Desell (2018), who let ants choose which connections of
an LSTM network exist and train each chosen network with backpropagation.

Notation (column vectors, as in :mod:`derivations.lstm_gates`, whose block this module reuses,
without peepholes in the derivations, as in the search's networks unless ``peepholes=True``:
:math:`H` cells, :math:`D` inputs, unit index :math:`k`, input index :math:`m`):

- a 0/1 *mask* :math:`M_{x\cdot} \in \{0, 1\}^{H\times D}`, :math:`M_{h\cdot} \in
  \{0, 1\}^{H\times H}`, :math:`M_v \in \{0, 1\}^H` for every weight matrix of the block and for
  the read-out :math:`v \in \mathbb{R}^H`; the block computes with the *effective* weights
  :math:`\tilde W = M \odot W` (entry by entry), and the network predicts
  :math:`\hat y = \tilde v^\top h_T + b_y`; the loss of one window is :math:`J = \tfrac12(\hat y - y)^2`;
- a *candidate graph*: edges start → input :math:`m`, input :math:`m` → cell :math:`k` (one edge
  masks :math:`W_{x\cdot,km}` of all four gates), cell :math:`k` → cell :math:`j` (recurrent:
  :math:`h_{t-1,k}` enters the gates of cell :math:`j`, entry :math:`W_{h\cdot,jk}`) and cell
  :math:`k` → output (:math:`v_k`);
- :math:`\tau_e > 0` the pheromone on edge :math:`e`, :math:`\eta_e > 0` an optional heuristic,
  :math:`\alpha, \beta` their exponents; :math:`\rho \in (0, 1)` the evaporation rate and
  :math:`\Delta` the deposit of one update.

Derived and checked here (every step a checked step):

.. math::

   \frac{\partial J}{\partial W_{km}} = M_{km}\,\frac{\partial J}{\partial \tilde W_{km}}
   \qquad\text{(zero wherever } M_{km} = 0\text{)},

   p_e = \frac{\tau_e^\alpha \eta_e^\beta}{\sum_q \tau_q^\alpha \eta_q^\beta}
       = \operatorname{softmax}(\alpha \log\tau + \beta\log\eta)_e, \qquad
   \frac{\partial p_e}{\partial \tau_q} = \frac{\alpha}{\tau_q}\, p_e (\delta_{eq} - p_q),

   \tau_{n+1} = (1-\rho)\tau_n + \Delta \;\Rightarrow\;
   \tau_n = (1-\rho)^n(\tau_0 - \tau^*) + \tau^*, \quad \tau^* = \Delta/\rho,

and, for the authors' multiplicative rule :math:`\tau \leftarrow \kappa\tau` (:math:`\kappa =
1.15`), the number of good updates to the cap, :math:`n_c = \log(\tau_{\max}/\tau_0)/\log\kappa`.

The search (:func:`search`, :func:`compare`) is NumPy: ants sample sub-networks from the
pheromones (:func:`sample_structure`), each is trained briefly with the masked BPTT
(:func:`loss_and_grad`, :func:`train`: full-batch Adam) and scored by its validation MSE, and the
pheromones evaporate and receive deposits (:func:`update_pheromone`). The fitness evaluations of a
generation go through a :class:`concurrent.futures.Executor`; every ant's random numbers come
from ``numpy.random.SeedSequence([seed, generation, ant])``, so a result does not depend on the
executor or the number of workers. ``python -m derivations.aco_lstm --ants N --generations G``
runs a larger search.

Examples
--------
>>> import numpy as np
>>> data = make_data(SeriesConfig())
>>> data.X_train.shape, data.y_train.shape        # (T, D, windows): 4 steps of 5 sensors
((4, 5, 133), (133,))
>>> graph = Graph(inputs=5, hidden=4)
>>> graph.size                                    # 5 start, 20 input, 16 recurrent, 4 output edges
45
>>> used = sample_structure(graph, np.ones(graph.size), np.random.default_rng(0), SearchConfig())
>>> masks = structure_masks(graph, used)
>>> p = init_network(4, 5, np.random.default_rng(1))
>>> J, grads = loss_and_grad(p, masks, data.X_train, data.y_train)
>>> bool(np.all(grads["Wxi"][masks["Wxi"] == 0] == 0))   # a masked weight gets exactly zero
True
>>> SearchConfig(rho=1.5).validate()
Traceback (most recent call last):
...
ValueError: the evaporation rate rho must be in (0, 1), got 1.5
"""

from __future__ import annotations

import argparse
import concurrent.futures
import contextlib
import functools
import math
import multiprocessing as mp
import os
import sys
import time
from dataclasses import dataclass

import numpy as np
import sympy as sp

from . import lstm_gates
from .core import Condition, Derivation, Result, evaluate, indexed, notation, sym
from .core import shown_product as _mul
from .oracles import CheckTable, crosscheck, whole_gradient_table
from .render import MODULE_NAMES, register_name

TITLE = "LSTM with ant colony optimization: masked gradients, pheromone dynamics and a seeded search"

GATES = lstm_gates.GATES

# ---- symbols (each made in one place; the block's own come from lstm_gates) ------------------


def _adopt(obj, meaning: str, shape: str | None = None):
    """List a symbol of :mod:`derivations.lstm_gates` in this topic's notation, printed with the
    name lstm_gates gave it (so this topic's derivations show it the same way)."""
    label = obj.label if isinstance(obj, sp.IndexedBase) else obj
    name = MODULE_NAMES.get(lstm_gates.__name__, {}).get(label)
    if name is not None:
        register_name(label, name, __name__)
    notation(obj, meaning, shape)
    return obj


H, D, k, j, m = lstm_gates.H, lstm_gates.D, lstm_gates.k, lstm_gates.j, lstm_gates.m
_adopt(H, "number of cells (hidden units)")
_adopt(D, "number of inputs (sensors)")
_adopt(k, r"index of a cell, $1 \le k \le H$")
_adopt(j, r"index of a cell of $h_{t-1}$, $1 \le j \le H$")
_adopt(m, r"index of an input, $1 \le m \le D$")
a_ = sym("a_idx", "a", integer=True, positive=True)
notation(a_, r"index of a cell in a sum, $1 \le a \le H$")
_adopt(lstm_gates.x, "input at the step, $x_t$", r"${D \times 1}$")
# the weights the derivations show: an input weight (of the input gate) and a recurrent weight
# (of the forget gate); every gate's weights enter the block the same way
_gate = lstm_gates.GATE_NAMES
_adopt(lstm_gates.W_x["i"], f"weights from the input to the {_gate['i']} (trained)", r"${H \times D}$")
_adopt(lstm_gates.W_h["f"], f"weights from $h_{{t-1}}$ to the {_gate['f']} (trained)", r"${H \times H}$")
for _name, _what in (("i_t", "input gate"), ("z_t", "block input"), ("o_t", "output gate"),
                     ("c_t", "cell state"), ("h_t", "block output (hidden state)")):
    _adopt(getattr(lstm_gates, _name), f"{_what} at the step", r"${H \times 1}$")

#: The effective weights the block multiplies, W̃ = M ⊙ W, and the 0/1 masks.
Wt_x = {g: indexed(f"Wt_x{g}", rf"\tilde W_{{x{g}}}", real=True) for g in GATES}
Wt_h = {g: indexed(f"Wt_h{g}", rf"\tilde W_{{h{g}}}", real=True) for g in GATES}
M_x = {g: indexed(f"M_x{g}", f"M_{{x{g}}}", real=True) for g in GATES}
M_h = {g: indexed(f"M_h{g}", f"M_{{h{g}}}", real=True) for g in GATES}
notation(Wt_x["i"], rf"effective input weights of the {_gate['i']}, $M \odot W$", r"${H \times D}$")
notation(M_x["i"], f"0/1 mask of the input weights of the {_gate['i']}", r"${H \times D}$")
notation(Wt_h["f"], rf"effective recurrent weights of the {_gate['f']}, $M \odot W$", r"${H \times H}$")
notation(M_h["f"], f"0/1 mask of the recurrent weights of the {_gate['f']}", r"${H \times H}$")
v = indexed("v_out", "v", meaning="read-out weights, cell to output (trained)", shape=r"${H \times 1}$", real=True)
vt = indexed("vt_out", r"\tilde v", meaning=r"effective read-out weights, $M_v \odot v$", shape=r"${H \times 1}$",
             real=True)
M_v = indexed("M_v", "M_{v}", meaning="0/1 mask of the read-out weights", shape=r"${H \times 1}$", real=True)
b_y = sym("b_y_out", "b_{y}", meaning="bias of the output", shape="scalar", real=True)
y = sym("y_aco", "y", meaning="target: the sensor channel some steps ahead", shape="scalar", real=True)
yhat = sym("yhat_aco", r"\hat y", meaning=r"prediction, $\tilde v^\top h_t + b_y$", shape="scalar", real=True)
J = sym("J_aco", "J", meaning=r"loss of one window, $\tfrac12 (\hat y - y)^2$", shape="scalar", real=True)

_SWAP = {lstm_gates.W_x[g]: Wt_x[g] for g in GATES} | {lstm_gates.W_h[g]: Wt_h[g] for g in GATES}
_NO_PEEPHOLES = {eq.lhs: eq.rhs for eq in lstm_gates.NO_PEEPHOLES.subs}

#: The masked block: lstm_gates' equations of the standard LSTM (its peepholes W_c· = 0, as the
#: search's networks have none) with W̃ in place of W, W̃ := M ⊙ W, the read-out and the loss (one
#: step: h_{t−1} and c_{t−1} are inputs; BPTT, peepholes included, is checked numerically).
DEFINITIONS = {key: sp.Lambda(val.variables, val.expr.xreplace(_NO_PEEPHOLES).xreplace(_SWAP))
               for key, val in lstm_gates.DEFINITIONS.items()}
for _g in GATES:
    DEFINITIONS[Wt_x[_g]] = sp.Lambda((k, m), M_x[_g][k, m] * lstm_gates.W_x[_g][k, m])
    DEFINITIONS[Wt_h[_g]] = sp.Lambda((k, j), M_h[_g][k, j] * lstm_gates.W_h[_g][k, j])
DEFINITIONS[vt] = sp.Lambda(k, M_v[k] * v[k])
DEFINITIONS[yhat] = sp.Sum(vt[k] * lstm_gates.h_t[k], (k, 1, H)) + b_y
DEFINITIONS[J] = (yhat - y) ** 2 / 2

#: Where the masked gradient is checked: two cells (a diagonal and an off-diagonal entry), one input.
INSTANCE = {H: 2, D: 1, k: 2, j: 1, m: 1}

#: One weight of each kind: an input weight (of the input gate), a recurrent weight (of the forget
#: gate) and a read-out weight. Every gate's weights enter the block the same way.
MASKED_ENTRIES = ((lstm_gates.W_x["i"], Wt_x["i"], M_x["i"], (k, m)),
                  (lstm_gates.W_h["f"], Wt_h["f"], M_h["f"], (k, j)),
                  (v, vt, M_v, (k,)))


# ---- derivations: the masked gradient ----------------------------------------------------------


@functools.cache
def masked_gradient_derivation() -> Derivation:
    r"""∂J/∂W_{km} = M_{km} ∂J/∂W̃_{km}: the gradient of a masked weight is the mask times the
    dense gradient with respect to the effective weight."""
    start, chain, masked = [], [], []
    for W, Wt, M, idx in MASKED_ENTRIES:
        start.append(sp.Derivative(J, W[idx]))
        chain.append(_mul(sp.Derivative(J, Wt[idx]), sp.Derivative(Wt[idx], W[idx])))
        masked.append(_mul(M[idx], sp.Derivative(J, Wt[idx])))
    d = Derivation("aco_masked_gradient", "The gradient of a masked weight", sp.ImmutableMatrix(start),
                   definitions=DEFINITIONS, instances=[INSTANCE], label="aco-masked-gradient")
    d.step(sp.ImmutableMatrix(chain), r"chain rule: $W_{km}$ enters $J$ only through $\tilde W_{km} = "
                                      r"M_{km} W_{km}$ (the product is entry by entry)")
    d.step(sp.ImmutableMatrix(masked), r"$\partial \tilde W_{km} / \partial W_{km} = M_{km}$")
    return d


def _dense_input_gate():
    r"""∂J/∂W̃_{xi,km} through the block, with lstm_gates' own results for ∂h_k/∂c_k and ∂c_k/∂W_{xi,km}."""
    dh_dc = lstm_gates.dh_dc_derivation().result.xreplace(_NO_PEEPHOLES)   # no peephole: o(1 − tanh² c)
    i_t, z_t, x = lstm_gates.i_t, lstm_gates.z_t, lstm_gates.x
    return yhat - y, vt[k], dh_dc, i_t[k] * (1 - i_t[k]) * z_t[k] * x[m]


@functools.cache
def dense_gradient_derivation() -> Derivation:
    r"""The masked gradient of an input weight written out: M_{xi,km} (ŷ − y) ṽ_k ∂h_k/∂c_k i_k(1 − i_k) z_k x_m."""
    Wt, M, h_t, c_t = Wt_x["i"], M_x["i"], lstm_gates.h_t, lstm_gates.c_t
    err, vk, dh_dc, dc_dw = _dense_input_gate()
    d = Derivation("aco_dense_gradient", "The masked gradient of an input weight, through the block",
                   _mul(M[k, m], sp.Derivative(J, Wt[k, m])), definitions=DEFINITIONS,
                   instances=[{H: 2, D: 1, k: 2, m: 1}], label="aco-dense-gradient")
    d.step(_mul(M[k, m], err, sp.Sum(vt[a_] * sp.Derivative(h_t[a_], Wt[k, m]), (a_, 1, H))),
           r"$J = \tfrac12 (\hat y - y)^2$, $\hat y = \sum_a \tilde v_a h_a + b_y$")
    d.step(_mul(M[k, m], err, vk, sp.Derivative(h_t[k], c_t[k]), sp.Derivative(c_t[k], Wt[k, m])),
           r"only cell $k$ multiplies row $k$ of $\tilde W_{xi}$, and only through $c_k$")
    d.step(_mul(M[k, m], err, vk, dh_dc, dc_dw),
           r"$\partial h_k/\partial c_k$ (no peephole) and $\partial c_k/\partial W_{xi,km}$ from the LSTM "
           r"block's derivations")
    return d


#: The mask entry is 0: the connection is absent.
ABSENT = Condition(sp.Eq(M_x["i"][k, m], 0), (sp.Eq(M_x["i"][k, m], 0),))


@functools.cache
def zero_gradient_derivation() -> Derivation:
    r"""Where M_{km} = 0 the gradient is exactly 0, whatever the dense gradient is."""
    d = Derivation("aco_zero_gradient", "An absent connection gets no gradient",
                   _mul(M_x["i"][k, m], sp.Derivative(J, Wt_x["i"][k, m])), definitions=DEFINITIONS,
                   instances=[{H: 2, D: 1, k: 2, m: 1}], lhs=sp.Derivative(J, lstm_gates.W_x["i"][k, m]),
                   label="aco-zero-gradient")
    d.step(sp.Integer(0), "the mask entry is a factor", given=[ABSENT])
    return d


# ---- derivations: the ants' choice rule ---------------------------------------------------------

N_out = sym("N_out", "N", meaning="number of candidate edges leaving a node", integer=True, positive=True)
e, q = (sym(s, integer=True, positive=True) for s in "eq")
notation(e, r"index of a candidate edge out of the ant's node, $1 \le e \le N$")
notation(q, r"index of a candidate edge out of the same node, $1 \le q \le N$")
tau = indexed("tau_edge", r"\tau", meaning=r"pheromone on edge $e$ (or $q$), $\tau_e > 0$", shape=r"${N \times 1}$",
              positive=True)
eta = indexed("eta", r"\eta", meaning=r"heuristic desirability of an edge, $\eta_e > 0$ (1 here)",
              shape=r"${N \times 1}$", positive=True)
alpha = sym("alpha", r"\alpha", meaning="exponent of the pheromone in the choice rule", shape="scalar", positive=True)
beta = sym("beta", r"\beta", meaning="exponent of the heuristic in the choice rule", shape="scalar", positive=True)
p = indexed("p_edge", "p", meaning=r"probability that the ant takes edge $e$", shape=r"${N \times 1}$", positive=True)
s = indexed("score", "s", meaning=r"score of an edge, $\log(\tau_e^\alpha \eta_e^\beta)$",
            shape=r"${N \times 1}$", real=True)

#: The choice rule (a definition): p_e = τ_e^α η_e^β / Σ_q τ_q^α η_q^β over the edges out of the node.
CHOICE = {p: sp.Lambda(e, tau[e] ** alpha * eta[e] ** beta
                       / sp.Sum(tau[q] ** alpha * eta[q] ** beta, (q, 1, N_out))),
          s: sp.Lambda(e, sp.log(tau[e] ** alpha * eta[e] ** beta))}
CHOICE_INSTANCES = [{N_out: 3, e: 1, q: 1}, {N_out: 3, e: 1, q: 2}, {N_out: 4, e: 3, q: 2}]


@functools.cache
def score_derivation() -> Derivation:
    r"""The score s_e := log(τ_e^α η_e^β) is α log τ_e + β log η_e: linear in the log-pheromone."""
    d = Derivation("aco_score", "The score of an edge", s[e], definitions=CHOICE, label="aco-score")
    d.step(sp.log(tau[e] ** alpha * eta[e] ** beta), "definition of the score")
    d.step(alpha * sp.log(tau[e]) + beta * sp.log(eta[e]), r"$\log(xy) = \log x + \log y$ and "
           r"$\log x^\alpha = \alpha \log x$ for $x, y > 0$")
    return d


@functools.cache
def choice_softmax_derivation() -> Derivation:
    r"""The choice rule is a softmax of the scores s_e = log(τ_e^α η_e^β) = α log τ_e + β log η_e."""
    r_ = sym("r_idx", "r", integer=True, positive=True)
    notation(r_, r"index of an edge in a sum, $1 \le r \le N$")
    d = Derivation("aco_choice_softmax", "The ant's choice rule is a softmax", p[e], definitions=CHOICE,
                   instances=[{N_out: 3, e: 2}], label="aco-choice-softmax")
    d.step(tau[e] ** alpha * eta[e] ** beta / sp.Sum(tau[r_] ** alpha * eta[r_] ** beta, (r_, 1, N_out)),
           "definition of the choice rule")
    d.step(sp.exp(s[e]) / sp.Sum(sp.exp(s[r_]), (r_, 1, N_out)),
           r"$\tau^\alpha \eta^\beta = e^{s}$ with the score $s = \log(\tau^\alpha \eta^\beta)$")
    return d


@functools.cache
def choice_jacobian_derivation() -> Derivation:
    r"""∂p_e/∂τ_q = (α/τ_q) p_e (δ_eq − p_q): raising one edge's pheromone takes probability from the others."""
    d = Derivation("aco_choice_jacobian", "How the choice probabilities move with the pheromone",
                   sp.Derivative(p[e], tau[q]), definitions=CHOICE, instances=CHOICE_INSTANCES,
                   label="aco-choice-jacobian")
    d.step(_mul(sp.Derivative(s[q], tau[q]), p[e], sp.KroneckerDelta(e, q) - p[q]),
           r"softmax Jacobian $\partial p_e/\partial s_q = p_e(\delta_{eq} - p_q)$, chain rule through $s_q$")
    d.step(_mul(alpha / tau[q], p[e], sp.KroneckerDelta(e, q) - p[q]), r"$\partial s_q/\partial \tau_q = \alpha/\tau_q$")
    return d


# ---- derivations: evaporation and deposit --------------------------------------------------------

rho = sym("rho", r"\rho", meaning=r"evaporation rate, $0 < \rho < 1$", shape="scalar", positive=True)
Delta = sym("Delta", r"\Delta", meaning="pheromone deposited on the edge at each update", shape="scalar",
            positive=True)
tau0 = sym("tau_0", r"\tau_{0}", meaning="initial pheromone of the edge", shape="scalar", positive=True)
tau_star = sym("tau_star", r"\tau^{*}", meaning=r"fixed point of the update, $\Delta/\rho$", shape="scalar",
               positive=True)
n = sym("n", meaning=r"number of updates so far (the identities hold for every real $n \ge 0$)", shape="scalar",
        nonnegative=True)
tau_n = indexed("tau_n", r"\tau", meaning=r"pheromone of one edge after $n$ updates (closed form)", shape="scalar",
                positive=True)
kappa = sym("kappa", r"\kappa", meaning=r"factor of a good update in the authors' rule (1.15), $\kappa > 1$",
            shape="scalar", positive=True)
tau_max = sym("tau_max", r"\tau_{\max}", meaning="cap on the pheromone (20 in the authors' code)", shape="scalar",
              positive=True)
n_cap = sym("n_cap", "n_{c}", meaning="number of good updates that take $\\tau_0$ to the cap", shape="scalar",
            positive=True)


def evaporate_deposit(t, rate, deposit):
    """One update of an edge's pheromone: evaporation at ``rate``, then ``deposit``:
    τ ← (1 − ρ) τ + Δ (numbers, arrays or SymPy expressions)."""
    return (1 - rate) * t + deposit


@functools.cache
def _rsolve_closed_form():
    """SymPy's solution of τ_{n+1} = (1 − ρ) τ_n + Δ with τ_0 given (``sympy.rsolve``)."""
    f = sp.Function("tau_rec")
    sol = sp.rsolve(f(n + 1) - evaporate_deposit(f(n), rho, Delta), f(n), {f(0): tau0})
    if sol is None:  # pragma: no cover - SymPy solves this linear recurrence
        raise RuntimeError("sympy.rsolve found no closed form")
    return sol


@functools.cache
def _fixed_point():
    """The fixed point of the update, by ``sympy.solve``: the one τ with τ = (1 − ρ) τ + Δ."""
    t = sp.Symbol("t_fixed", positive=True)
    (sol,) = sp.solve(sp.Eq(t, evaporate_deposit(t, rho, Delta)), t)
    return sol


#: τ_n in closed form, the fixed point τ* := Δ/ρ (both from SymPy's solvers, see the derivations).
CLOSED_FORM = (1 - rho) ** n * (tau0 - tau_star) + tau_star
PHEROMONE = {tau_star: _fixed_point(), tau_n: sp.Lambda(n, CLOSED_FORM)}


@functools.cache
def fixed_point_derivation() -> Derivation:
    r"""τ* = Δ/ρ (``sympy.solve``) is a fixed point: one update leaves it where it is."""
    d = Derivation("aco_fixed_point", "The fixed point of evaporation and deposit",
                   evaporate_deposit(tau_star, rho, Delta), definitions={tau_star: _fixed_point()},
                   label="aco-fixed-point")
    d.step(evaporate_deposit(Delta / rho, rho, Delta), r"$\tau^* := \Delta/\rho$ (the solution of "
                                                       r"$\tau = (1-\rho)\tau + \Delta$)")
    d.step(Delta / rho - Delta + Delta, "multiply out")
    d.step(tau_star, r"$\Delta/\rho = \tau^*$")
    return d


@functools.cache
def closed_form_derivation() -> Derivation:
    r"""SymPy's rsolve solution, rewritten around the fixed point: τ_n = (1 − ρ)^n (τ_0 − τ*) + τ*."""
    d = Derivation("aco_closed_form", "The pheromone after n updates", _rsolve_closed_form(),
                   definitions={tau_star: _fixed_point()}, lhs=tau_n[n], label="aco-closed-form")
    d.step(CLOSED_FORM, r"collect around $\tau^* = \Delta/\rho$")
    return d


@functools.cache
def recurrence_derivation() -> Derivation:
    r"""The closed form satisfies the update: (1 − ρ) τ_n + Δ = τ_{n+1} (with τ_0 = τ_0 at n = 0,
    :func:`start_derivation`, this is the induction that proves it for every n)."""
    d = Derivation("aco_recurrence", "The closed form obeys the update", evaporate_deposit(tau_n[n], rho, Delta),
                   definitions=PHEROMONE, label="aco-recurrence")
    d.step(evaporate_deposit(CLOSED_FORM, rho, Delta), r"the closed form of $\tau_n$")
    d.step((1 - rho) ** (n + 1) * (tau0 - tau_star) + (1 - rho) * tau_star + Delta, "multiply out")
    d.step((1 - rho) ** (n + 1) * (tau0 - tau_star) + tau_star,
           r"$(1 - \rho)\tau^* + \Delta = \tau^*$ (the fixed point)")
    d.step(tau_n[n + 1], r"the closed form at $n + 1$")
    return d


@functools.cache
def start_derivation() -> Derivation:
    r"""The closed form starts where the edge starts: τ_n at n = 0 is τ_0."""
    at_zero = sp.Add(_mul(sp.Pow(1 - rho, 0, evaluate=False), tau0 - tau_star), tau_star, evaluate=False)
    d = Derivation("aco_start", "The closed form at n = 0", at_zero, definitions=PHEROMONE, label="aco-start")
    d.step(tau0, r"$(1 - \rho)^0 = 1$")
    return d


@functools.cache
def _rsolve_growth():
    """SymPy's solution of τ_{n+1} = κ τ_n: geometric growth τ_0 κ^n (the authors' good update, uncapped)."""
    f = sp.Function("tau_rec")
    return sp.rsolve(f(n + 1) - kappa * f(n), f(n), {f(0): tau0})


#: n_c := log(τ_max/τ_0)/log κ, solving τ_0 κ^n = τ_max for n.
GROWTH = {n_cap: sp.log(tau_max / tau0) / sp.log(kappa)}


@functools.cache
def growth_to_cap_derivation() -> Derivation:
    r"""With τ ← κτ on every good update (``rsolve``: τ_n = τ_0 κ^n), the cap τ_max is reached after
    n_c = log(τ_max/τ_0)/log κ updates."""
    grown = _rsolve_growth().xreplace({n: n_cap})
    d = Derivation("aco_growth_to_cap", "Multiplicative deposits reach the cap", grown, definitions=GROWTH,
                   label="aco-growth-to-cap")
    d.step(_mul(tau0, sp.exp(n_cap * sp.log(kappa))), r"$\kappa^{n} = e^{n \log \kappa}$; $\tau_n = \tau_0 \kappa^n$ "
                                                     r"solves $\tau_{n+1} = \kappa \tau_n$")
    d.step(_mul(tau0, tau_max / tau0), r"$n_c := \log(\tau_{\max}/\tau_0)/\log\kappa$")
    d.step(tau_max, "cancel")
    return d


def derivations() -> list[Derivation]:
    """Every derivation of this topic, in reading order."""
    return [masked_gradient_derivation(), dense_gradient_derivation(), zero_gradient_derivation(),
            score_derivation(), choice_softmax_derivation(), choice_jacobian_derivation(), fixed_point_derivation(),
            closed_form_derivation(), recurrence_derivation(), start_derivation(), growth_to_cap_derivation()]


# ---- published results (scalar, plain symbols) ---------------------------------------------------


def _flat(expr):
    """Plain symbols for the indexed leaves of ``expr`` (``W_xi[2, 1]`` → ``W_xi_21``); σ written
    with tanh (:func:`derivations.lstm_gates.explicit`), so the results hold no special functions."""
    expr = lstm_gates.explicit(expr)
    names = {leaf: sp.Symbol(f"{leaf.base.label}_" + "".join(str(i) for i in leaf.indices),
                             **leaf.base.label.assumptions0)
             for leaf in expr.atoms(sp.Indexed)}
    return expr.xreplace(names), names


#: Where the pheromone results are published: after three updates.
RESULT_UPDATES = 3


@functools.cache
def results() -> list[Result]:
    r"""At H = 2, D = 1 (k = 2, j = 1, m = 1): ∂J/∂W_{xi,21}, ∂J/∂W_{hf,21} and ∂J/∂v_2 of the masked
    block, each the last step of :func:`masked_gradient_derivation` written out; the choice rule's
    ∂p_1/∂u_1 and ∂p_1/∂u_2 at N = 3 against the log-pheromones u_q = log τ_q (τ_q times the
    result of :func:`choice_jacobian_derivation`; results hold for every real input); and
    ∂τ_3/∂τ_0, ∂τ_3/∂ρ, ∂τ_3/∂Δ of the closed form, where ``of`` is the update applied three times."""
    out = []
    inst = INSTANCE
    of_e = evaluate(J, DEFINITIONS, inst)
    of_flat, names = _flat(of_e)
    last = masked_gradient_derivation().result
    for (W, _, _, idx), claim in zip(MASKED_ENTRIES, last):
        claim_flat, more = _flat(evaluate(claim, DEFINITIONS, inst))
        wrt = {**names, **more}[W[idx].xreplace(inst)]
        out.append(Result(of_flat, wrt, claim_flat, name="J"))
    # the choice rule against the log-pheromones u_r = log τ_r (and w_r = log η_r), real numbers:
    # ∂p_e/∂u_q = τ_q ∂p_e/∂τ_q, the Jacobian derivation's result times τ_q
    inst = CHOICE_INSTANCES[0]
    to_logs = {}
    for r in range(1, inst[N_out] + 1):
        to_logs[tau[r]] = sp.exp(sym(f"log_tau_{r}", rf"\log\tau_{{{r}}}", real=True))
        to_logs[eta[r]] = sp.exp(sym(f"log_eta_{r}", rf"\log\eta_{{{r}}}", real=True))

    def in_logs(expr):
        return sp.powsimp(expr.xreplace(to_logs), force=True)

    of_e = in_logs(evaluate(p[e], CHOICE, inst))
    for qq in (1, 2):
        claim = evaluate(choice_jacobian_derivation().result * tau[q], CHOICE, {**inst, q: qq})
        out.append(Result(of_e, to_logs[tau[qq]].args[0], in_logs(claim), name="p_{1}"))
    iterated = tau0
    for _ in range(RESULT_UPDATES):
        iterated = evaporate_deposit(iterated, rho, Delta)
    closed = closed_form_derivation().result.xreplace(PHEROMONE).xreplace({n: RESULT_UPDATES})
    for wrt in (tau0, rho, Delta):
        out.append(Result(iterated, wrt, sp.diff(closed, wrt), name=r"\tau_{3}"))
    return out


# ---- the masked network in NumPy ------------------------------------------------------------------

#: The parameters of a network: the block's (:data:`derivations.lstm_gates.PARAM_NAMES`), the
#: read-out ``v`` (H,) and the output bias ``by`` (1,).
PARAM_NAMES = lstm_gates.PARAM_NAMES + ("v", "by")


def param_shapes(hidden: int, inputs: int) -> dict:
    """The shape of every parameter (and so of its mask)."""
    out = {}
    for g in GATES:
        out[f"Wx{g}"], out[f"Wh{g}"], out[f"b{g}"] = (hidden, inputs), (hidden, hidden), (hidden,)
    for g in ("i", "f", "o"):
        out[f"wc{g}"] = (hidden,)
    out["v"], out["by"] = (hidden,), (1,)
    return out


def init_network(hidden: int, inputs: int, rng, peepholes: bool = False) -> dict:
    """The block's parameters from :func:`derivations.lstm_gates.init_params` (forget-gate bias +1),
    a read-out drawn with scale 1/√H and a zero output bias."""
    net = lstm_gates.init_params(hidden, inputs, rng, peepholes=peepholes)
    net["bf"] = net["bf"] + 1.0
    net["v"] = rng.normal(size=hidden) / np.sqrt(hidden)
    net["by"] = np.zeros(1)
    return net


def check_masks(masks: dict, hidden: int, inputs: int) -> None:
    """One clear error for a mask that is missing, of the wrong shape, or not 0/1."""
    for name, shape in param_shapes(hidden, inputs).items():
        if name not in masks:
            raise ValueError(f"no mask for {name}: every parameter needs one (all ones keeps it dense)")
        got = np.shape(masks[name])
        if got != shape:
            raise ValueError(f"the mask for {name} has shape {got}; expected {shape}, the shape of the "
                             f"weight it multiplies (H = {hidden}, D = {inputs})")
        if not np.all((np.asarray(masks[name]) == 0) | (np.asarray(masks[name]) == 1)):
            raise ValueError(f"the mask for {name} must hold only 0 and 1")


def dense_masks(hidden: int, inputs: int, peepholes: bool = False) -> dict:
    """Every connection present (peepholes only with ``peepholes``)."""
    out = {name: np.ones(shape) for name, shape in param_shapes(hidden, inputs).items()}
    if not peepholes:
        for g in ("i", "f", "o"):
            out[f"wc{g}"] = np.zeros(hidden)
    return out


def effective(net: dict, masks: dict) -> dict:
    r"""The effective parameters :math:`\tilde W = M \odot W` the block computes with."""
    return {name: net[name] * masks[name] for name in PARAM_NAMES}


def predict(net: dict, masks: dict, X):
    """ŷ = ṽᵀ h_T + b_y for every window of ``X`` (shape (T, D, windows))."""
    eff = effective(net, masks)
    hs, _ = lstm_gates.forward(eff, X)
    return eff["v"] @ hs[-1] + eff["by"][0]


def loss_and_grad(net: dict, masks: dict, X, y, *, check: bool = True):
    r"""J = ½ mean over windows of (ŷ − y)², and ∂J/∂W = M ⊙ ∂J/∂W̃ for every parameter.

    The block runs with the effective weights W̃ = M ⊙ W (:func:`derivations.lstm_gates.forward`);
    :func:`derivations.lstm_gates.backward` gives the dense gradient with respect to W̃, and the
    mask multiplies it (:func:`masked_gradient_derivation`): a masked weight gets exactly 0.
    """
    if check:
        check_masks(masks, *np.shape(net["Wxi"]))
    eff = effective(net, masks)                              # W̃ = M ⊙ W
    hs, cache = lstm_gates.forward(eff, X)
    h_T = hs[-1]                                             # (H, windows)
    err = eff["v"] @ h_T + eff["by"][0] - y                  # ŷ − y
    batch = err.size
    J = 0.5 * float(err @ err) / batch
    dy = err / batch                                         # ∂J/∂ŷ per window
    dhs = np.zeros_like(hs)
    dhs[-1] = np.outer(eff["v"], dy)                         # ∂J/∂h_T = ṽ ∂J/∂ŷ
    dense, *_ = lstm_gates.backward(eff, cache, dhs, inputs=False)   # ∂J/∂W̃
    dense["v"] = h_T @ dy                                    # ∂J/∂ṽ = h_T ∂J/∂ŷ
    dense["by"] = np.array([dy.sum()])
    return J, {name: masks[name] * dense[name] for name in PARAM_NAMES}   # ∂J/∂W = M ⊙ ∂J/∂W̃


def autograd_loss(net: dict, masks: dict, X, y):
    """The same loss for HIPS autograd, with the mask applied inside: an independent oracle.

    h_t comes from :func:`derivations.lstm_gates.autograd_loss`, the block written plainly for
    autodiff: it returns Σ_t ⟨λ_t, h_t⟩, linear in λ, so its gradient with respect to λ is h_t
    (autograd differentiates that gradient again, with respect to the weights)."""
    import autograd
    import autograd.numpy as anp

    eff = {name: net[name] * masks[name] for name in PARAM_NAMES}
    T, batch, hidden = np.shape(X)[0], np.shape(X)[2], np.shape(net["Wxi"])[0]
    hs = autograd.grad(lambda lam: lstm_gates.autograd_loss(eff, X, lam))(anp.zeros((T, hidden, batch)))
    err = anp.dot(eff["v"], hs[-1]) + eff["by"][0] - y
    return 0.5 * anp.mean(err ** 2)


@dataclass(frozen=True)
class Adam:
    """Adam's settings (Kingma and Ba): full-batch steps of size ``lr``."""

    lr: float = 0.05
    beta1: float = 0.9
    beta2: float = 0.999
    eps: float = 1e-8


def train(net: dict, masks: dict, X, y, steps: int, opt: Adam = Adam(), *, every: int = 0, monitor=None) -> list:
    """``steps`` full-batch Adam updates of ``net`` (in place) on the masked loss; returns
    ``monitor(net)`` after every ``every`` updates (an empty list without them).

    The parameters live in one flat vector (``net``'s arrays become views of it), so an update is
    a few operations on that vector. A masked weight has gradient 0, so its moments stay 0 and it
    never moves."""
    check_masks(masks, *np.shape(net["Wxi"]))
    shapes = {name: np.shape(net[name]) for name in PARAM_NAMES}
    theta = np.concatenate([np.ravel(net[name]).astype(float) for name in PARAM_NAMES])
    offsets = np.cumsum([0] + [int(np.prod(shp)) for shp in shapes.values()])
    for name, a, b in zip(PARAM_NAMES, offsets[:-1], offsets[1:]):
        net[name] = theta[a:b].reshape(shapes[name])          # a view: it moves with theta
    mom, sq, curve = np.zeros_like(theta), np.zeros_like(theta), []
    for t in range(1, steps + 1):
        _, grads = loss_and_grad(net, masks, X, y, check=False)
        g = np.concatenate([np.ravel(grads[name]) for name in PARAM_NAMES])
        c1, c2 = 1 - opt.beta1 ** t, 1 - opt.beta2 ** t
        mom *= opt.beta1
        mom += (1 - opt.beta1) * g
        sq *= opt.beta2
        sq += (1 - opt.beta2) * g * g
        theta -= opt.lr * (mom / c1) / (np.sqrt(sq / c2) + opt.eps)
        if every and monitor is not None and t % every == 0:
            curve.append(monitor(net))
    return curve


def mse(net: dict, masks: dict, X, y) -> float:
    """The mean squared error of the network's predictions for windows ``X``."""
    err = predict(net, masks, X) - y
    return float(np.mean(err * err))


# ---- the task: a seeded multi-sensor series, windows, splits ---------------------------------------

#: The sensors of the synthetic series; the target is the vibration channel some steps ahead.
SENSORS = ("vibration", "lead", "speed", "temperature", "noise")
TARGET = 0
#: Each of the training, validation and test parts needs at least this many windows.
MIN_SPLIT = 4
_SERIES_STREAM, _DENSE_STREAM = 7_001, 7_002  # SeedSequence keys of the series and the dense baseline


@dataclass(frozen=True)
class SeriesConfig:
    """The synthetic task: ``length`` steps of the five :data:`SENSORS`, windows of ``window`` steps,
    the target ``horizon`` steps after a window's last step, noise of standard deviation ``noise``."""

    length: int = 240
    window: int = 4
    horizon: int = 4
    noise: float = 0.1
    seed: int = 0

    def validate(self) -> "SeriesConfig":
        for name in ("length", "window", "horizon"):
            val = getattr(self, name)
            if not isinstance(val, (int, np.integer)) or val < 1:
                raise ValueError(f"the series' {name} must be a positive whole number, got {val!r}")
        if not (np.isfinite(self.noise) and self.noise >= 0):
            raise ValueError(f"the noise level must be a finite number >= 0, got {self.noise!r}")
        if not isinstance(self.seed, (int, np.integer)) or self.seed < 0:
            raise ValueError(f"the seed must be a whole number >= 0, got {self.seed!r}")
        return self

    @property
    def gap(self) -> int:
        """Windows dropped between two parts of the split, so that no step is in both."""
        return self.window + self.horizon - 1


def make_series(cfg: SeriesConfig = SeriesConfig()) -> np.ndarray:
    r"""A seeded multi-sensor series, shape ``(length, 5)``, in the spirit of the turbine data:

    - *speed* :math:`s_t = \sin(2\pi t/41 + \varphi_0) + \tfrac12 d_t`, a slow load with a
      random-walk drift :math:`d_t`;
    - *vibration* (the target) :math:`(1 + 0.4 \sin(2\pi t/41 + \varphi_0)) \sin(2\pi t/11 + \varphi_1)
      + \tfrac12 \sin(2\pi t/41 + \varphi_0) + 0.3 d_t`: a fast oscillation whose amplitude the
      load modulates;
    - *lead*: the fast oscillation three steps early, :math:`\sin(2\pi (t + 3)/11 + \varphi_1)`
      (a sensor upstream);
    - *temperature*: :math:`0.7 \sin(2\pi t/67 + \varphi_2) + 0.8 d_t`, the drift and a slow cycle
      of its own; *noise*: white noise only;

    each plus white noise of standard deviation ``cfg.noise``.
    """
    cfg.validate()
    rng = np.random.default_rng(np.random.SeedSequence([cfg.seed, _SERIES_STREAM]))
    t = np.arange(cfg.length, dtype=float)
    ph = rng.uniform(0, 2 * np.pi, size=3)
    load = np.sin(2 * np.pi * t / 41 + ph[0])
    drift = np.cumsum(rng.normal(0, 0.03, cfg.length))
    drift -= drift.mean()
    fast = np.sin(2 * np.pi * t / 11 + ph[1])
    cols = [(1 + 0.4 * load) * fast + 0.5 * load + 0.3 * drift,
            np.sin(2 * np.pi * (t + 3) / 11 + ph[1]),
            load + 0.5 * drift,
            0.7 * np.sin(2 * np.pi * t / 67 + ph[2]) + 0.8 * drift,
            rng.normal(0, 1, cfg.length)]
    series = np.stack(cols, axis=1)
    return series + cfg.noise * rng.normal(0, 1, size=series.shape)


def make_windows(series, window: int, horizon: int, target: int = TARGET):
    """Inputs ``X`` of shape ``(window, sensors, N)`` (window n is steps n … n + window − 1) and
    targets ``y`` (N,), the target channel ``horizon`` steps after each window's last step."""
    series = np.asarray(series, dtype=float)
    if series.ndim != 2:
        raise ValueError(f"the series must have shape (steps, sensors), got {series.shape}")
    count = len(series) - window - horizon + 1
    if count < 1:
        raise ValueError(f"a series of {len(series)} steps is too short for a window of {window} steps "
                         f"predicting {horizon} ahead: it needs at least {window + horizon} steps")
    idx = np.arange(count)[:, None] + np.arange(window)[None, :]          # (N, window)
    X = series[idx].transpose(1, 2, 0)                                  # (window, sensors, N)
    return np.ascontiguousarray(X), series[np.arange(count) + window - 1 + horizon, target]


@dataclass(frozen=True)
class Data:
    """Windows for training, validation and test (60/20/20 in time order, a gap of
    :attr:`SeriesConfig.gap` windows between the parts), standardised with the training steps'
    mean and standard deviation; ``err_ref`` is the validation MSE of predicting the training mean."""

    X_train: np.ndarray
    y_train: np.ndarray
    X_val: np.ndarray
    y_val: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    err_ref: float


def split_sizes(cfg: SeriesConfig) -> tuple[int, int, int]:
    """The number of training, validation and test windows, or one clear error if too few."""
    count = cfg.length - cfg.window - cfg.horizon + 1
    need = 3 * MIN_SPLIT + 2 * cfg.gap
    if count < need:
        raise ValueError(f"a series of {cfg.length} steps is too short for windows of {cfg.window} steps "
                         f"predicting {cfg.horizon} ahead: the train/validation/test split needs at least "
                         f"{need + cfg.window + cfg.horizon - 1} steps")
    usable = count - 2 * cfg.gap
    n_val = n_test = max(MIN_SPLIT, usable // 5)
    return usable - n_val - n_test, n_val, n_test


@functools.lru_cache(maxsize=8)
def make_data(cfg: SeriesConfig = SeriesConfig()) -> Data:
    """The task's windows (cached: a pure function of ``cfg``)."""
    cfg.validate()
    n_train, n_val, n_test = split_sizes(cfg)
    series = make_series(cfg)
    rows = n_train + cfg.window - 1                                      # steps the training inputs see
    mean, std = series[:rows].mean(axis=0), series[:rows].std(axis=0)
    X, y_all = make_windows((series - mean) / std, cfg.window, cfg.horizon)
    starts = (0, n_train + cfg.gap, n_train + n_val + 2 * cfg.gap)
    parts = [(X[:, :, a:a + size], y_all[a:a + size]) for a, size in zip(starts, (n_train, n_val, n_test))]
    (Xtr, ytr), (Xva, yva), (Xte, yte) = parts
    for arr in (Xtr, Xva, Xte):
        arr.flags.writeable = False
    return Data(np.ascontiguousarray(Xtr), ytr, np.ascontiguousarray(Xva), yva, np.ascontiguousarray(Xte), yte,
                float(np.mean((yva - ytr.mean()) ** 2)))


# ---- the candidate graph and the ants --------------------------------------------------------------


class Graph:
    """The candidate connections of a network of ``hidden`` cells fed by ``inputs`` sensors.

    Edge numbers: ``start[m]`` (start → input m), ``input[m, k]`` (input m → cell k: masks
    :math:`W_{x\\cdot,km}` of all four gates), ``recurrent[k, j]`` (cell k → cell j: masks
    :math:`W_{h\\cdot,jk}`, through which :math:`h_{t-1,k}` enters cell j's gates) and
    ``output[k]`` (cell k → output: masks :math:`v_k`)."""

    def __init__(self, inputs: int, hidden: int):
        if inputs < 1 or hidden < 1:
            raise ValueError(f"the graph needs at least one input and one cell, got inputs={inputs}, "
                             f"hidden={hidden}")
        self.inputs, self.hidden = int(inputs), int(hidden)
        Dn, Hn = self.inputs, self.hidden
        self.start = np.arange(Dn)
        self.input = Dn + np.arange(Dn * Hn).reshape(Dn, Hn)
        self.recurrent = Dn + Dn * Hn + np.arange(Hn * Hn).reshape(Hn, Hn)
        self.output = Dn + Dn * Hn + Hn * Hn + np.arange(Hn)
        self.size = Dn + Dn * Hn + Hn * Hn + Hn

    def groups(self) -> list[tuple[str, slice]]:
        """The four kinds of edge and where they lie among the edge numbers."""
        Dn, Hn = self.inputs, self.hidden
        a, b, c = Dn, Dn + Dn * Hn, Dn + Dn * Hn + Hn * Hn
        return [("start → input", slice(0, a)), ("input → cell", slice(a, b)),
                ("cell → cell", slice(b, c)), ("cell → output", slice(c, self.size))]


def _roulette(weights, rng) -> int:
    """Index r with probability weights[r] / Σ weights (one uniform number from ``rng``)."""
    cum = np.cumsum(weights)
    total = cum[-1]
    if not (np.isfinite(total) and total > 0):
        raise ValueError("the pheromones out of a node sum to 0 (or are not finite): the ant cannot choose; "
                         "keep tau_min > 0")
    return min(int(np.searchsorted(cum, rng.random() * total, side="right")), len(cum) - 1)


def sample_structure(graph: Graph, tau_edges, rng, config: "SearchConfig", eta=None) -> np.ndarray:
    r"""One ant's sub-network: the union of ``config.walks`` walks, as a boolean vector over the edges.

    A walk goes start → input m → cell k, then from a cell either to the output (and ends) or, at
    most ``config.max_hops`` times, along a recurrent edge to another cell (or the same one). At
    each node it takes an outgoing edge with the probability of the choice rule,
    :math:`p_e \propto \tau_e^\alpha \eta_e^\beta` (:func:`choice_softmax_derivation`)."""
    w = np.asarray(tau_edges, dtype=float) ** config.alpha
    if eta is not None:
        w = w * np.asarray(eta, dtype=float) ** config.beta
    used = np.zeros(graph.size, dtype=bool)
    for _ in range(config.walks):
        sensor = _roulette(w[graph.start], rng)
        used[graph.start[sensor]] = True
        cell = _roulette(w[graph.input[sensor]], rng)
        used[graph.input[sensor, cell]] = True
        for hop in range(config.max_hops + 1):
            # edge 0 of the options ends the walk at the output; edge 1 + j hops to cell j
            options = graph.output[cell:cell + 1]
            if hop < config.max_hops:
                options = np.concatenate((options, graph.recurrent[cell]))
            pick = _roulette(w[options], rng)
            used[options[pick]] = True
            if pick == 0:
                break
            cell = pick - 1
    return used


def structure_masks(graph: Graph, used, peepholes: bool = False) -> dict:
    """The masks of a sub-network (every parameter's, :func:`param_shapes`): an edge's mask entries
    are 1 for all four gates; a cell on any used edge keeps its biases (and its peepholes with
    ``peepholes``); the output bias is always kept."""
    used = np.asarray(used, dtype=bool)
    if used.shape != (graph.size,):
        raise ValueError(f"a structure is a boolean vector over the {graph.size} edges, got shape {used.shape}")
    Hn = graph.hidden
    mx = used[graph.input].T.astype(float)                  # (H, D): row cell k, column input m
    mh = used[graph.recurrent].T.astype(float)              # (H, H): row j (receiving), column k (sending)
    mv = used[graph.output].astype(float)
    active = (mx.any(axis=1) | mh.any(axis=1) | mh.any(axis=0) | (mv > 0)).astype(float)
    masks = {"v": mv, "by": np.ones(1)}
    for g in GATES:
        masks[f"Wx{g}"], masks[f"Wh{g}"], masks[f"b{g}"] = mx.copy(), mh.copy(), active.copy()
    for g in ("i", "f", "o"):
        masks[f"wc{g}"] = active.copy() if peepholes else np.zeros(Hn)
    return masks


def weight_count(masks: dict) -> int:
    """The number of weights a network has: the mask entries that are 1, biases included."""
    return int(sum(np.sum(masks[name]) for name in PARAM_NAMES))


# ---- pheromone update --------------------------------------------------------------------------------


@dataclass(frozen=True)
class SearchConfig:
    """The search's settings. Those marked *design* are this module's choices where the papers and
    the authors' code differ or say nothing (see the page).

    - ``ants`` sub-networks per generation, ``generations``; a sub-network has ``hidden`` cells;
    - ``walks`` walks per ant, each at most ``max_hops`` recurrent hops (*design*);
    - ``alpha``, ``beta``: exponents of the choice rule (η = 1 unless given: the authors' code has
      no heuristic);
    - ``rho``: evaporation rate, 0 < ρ < 1; ``deposit``: Q, the most an ant deposits; ``elite``:
      how many of the best ants of a generation deposit (*design*);
    - ``tau0``, ``tau_min``, ``tau_max``: initial pheromone and the MAX–MIN bounds (``tau_max``
      ``None``: the largest fixed point, elite·Q/ρ);
    - ``steps`` full-batch Adam updates of each sub-network at learning rate ``lr``;
      ``peepholes``: train the peepholes of used cells too.
    """

    ants: int = 6
    generations: int = 5
    hidden: int = 4
    walks: int = 6
    max_hops: int = 1
    alpha: float = 1.0
    beta: float = 0.0
    rho: float = 0.25
    deposit: float = 1.0
    elite: int = 2
    tau0: float = 1.0
    tau_min: float = 0.05
    tau_max: float | None = None
    steps: int = 20
    lr: float = 0.05
    peepholes: bool = False

    @property
    def cap(self) -> float:
        r"""The upper pheromone bound: ``tau_max``, or the largest fixed point
        :math:`\Delta/\rho` of an edge that every elite ant deposits the most on, elite·Q/ρ."""
        return self.tau_max if self.tau_max is not None else self.elite * self.deposit / self.rho

    def validate(self) -> "SearchConfig":
        if not 0 < self.rho < 1:
            raise ValueError(f"the evaporation rate rho must be in (0, 1), got {self.rho}")
        if not isinstance(self.ants, (int, np.integer)) or self.ants < 1:
            raise ValueError(f"the colony needs at least one ant, got ants={self.ants}")
        for name in ("generations", "hidden", "walks", "steps", "elite"):
            val = getattr(self, name)
            if not isinstance(val, (int, np.integer)) or val < 1:
                raise ValueError(f"{name} must be a whole number >= 1, got {val!r}")
        if not isinstance(self.max_hops, (int, np.integer)) or self.max_hops < 0:
            raise ValueError(f"max_hops must be a whole number >= 0, got {self.max_hops!r}")
        for name in ("alpha", "deposit", "tau0", "lr"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be > 0, got {getattr(self, name)}")
        if not self.beta >= 0:
            raise ValueError(f"beta must be >= 0, got {self.beta}")
        if not 0 < self.tau_min <= self.tau0 <= self.cap:
            raise ValueError(f"the pheromone bounds need 0 < tau_min <= tau0 <= tau_max, got "
                             f"{self.tau_min}, {self.tau0}, {self.cap}")
        return self


def quality(errors, err_ref: float, deposit: float = 1.0) -> np.ndarray:
    """What an ant deposits: Q · max(0, 1 − error/err_ref), in [0, Q]; a network no better than
    predicting the training mean (or one whose training diverged) deposits nothing."""
    errors = np.asarray(errors, dtype=float)
    good = np.where(np.isfinite(errors), 1 - errors / err_ref, 0.0)
    return deposit * np.clip(good, 0.0, None)


def update_pheromone(tau_edges, used, errors, err_ref: float, config: SearchConfig) -> np.ndarray:
    r"""One generation's update: every edge evaporates, :math:`\tau \leftarrow (1-\rho)\tau`, then the
    ``config.elite`` best ants (lowest validation error) deposit :func:`quality` on each edge they
    used, and the result is clipped to [``tau_min``, :attr:`SearchConfig.cap`] (MAX–MIN)."""
    used = np.asarray(used, dtype=bool)
    errors = np.asarray(errors, dtype=float)
    if used.ndim != 2 or used.shape[0] != errors.shape[0] or used.shape[1] != np.shape(tau_edges)[0]:
        raise ValueError(f"used {used.shape} must be (ants, edges) for {errors.shape[0]} errors and "
                         f"{np.shape(tau_edges)[0]} edges")
    order = np.argsort(np.where(np.isfinite(errors), errors, np.inf), kind="stable")[:config.elite]
    gain = quality(errors, err_ref, config.deposit)
    deposit = (gain[order, None] * used[order]).sum(axis=0)
    return np.clip(evaporate_deposit(np.asarray(tau_edges, dtype=float), config.rho, deposit),
                   config.tau_min, config.cap)


# ---- fitness evaluations: one task per ant, its random numbers from (seed, generation, ant) ---------


def ant_seeds(seed: int, generation: int, ant: int):
    """The two random streams of one ant, from ``SeedSequence([seed, generation, ant])``: one to
    sample its structure, one to draw its initial weights. Nothing comes from the worker."""
    sample, init = np.random.SeedSequence([seed, generation, ant]).spawn(2)
    return sample, init


@dataclass(frozen=True)
class Task:
    """One fitness evaluation: train the structure ``used`` and score it."""

    series: SeriesConfig
    config: SearchConfig
    used: np.ndarray
    seed: int
    generation: int
    ant: int


def evaluate_structure(task: Task) -> tuple[float, float]:
    """Train the task's sub-network (``config.steps`` Adam updates from weights drawn from its own
    stream) and return its validation and test MSE. A pure function of the task."""
    data, cfg = make_data(task.series), task.config
    graph = Graph(len(SENSORS), cfg.hidden)
    masks = structure_masks(graph, task.used, cfg.peepholes)
    _, init = ant_seeds(task.seed, task.generation, task.ant)
    net = init_network(cfg.hidden, len(SENSORS), np.random.default_rng(init), cfg.peepholes)
    with np.errstate(all="ignore"):  # a diverging run scores NaN: it deposits nothing
        train(net, masks, data.X_train, data.y_train, cfg.steps, Adam(cfg.lr))
        return mse(net, masks, data.X_val, data.y_val), mse(net, masks, data.X_test, data.y_test)


@dataclass
class DenseResult:
    """The dense network trained for the search's whole budget, scored as often as the search
    scores a network: validation and test MSE after every ``every`` updates (one sub-network's
    training), ``per_generation`` of them to a generation; and its number of weights."""

    val: np.ndarray
    test: np.ndarray
    every: int
    per_generation: int
    weights: int

    @property
    def updates(self) -> int:
        return self.every * len(self.val)

    def best_so_far(self) -> np.ndarray:
        """The best validation MSE up to the end of each generation's worth of updates."""
        val = np.where(np.isfinite(self.val), self.val, np.inf).reshape(-1, self.per_generation)
        return np.minimum.accumulate(val.min(axis=1))

    def best(self) -> int:
        """The checkpoint with the lowest validation MSE (early stopping)."""
        return int(np.argmin(np.where(np.isfinite(self.val), self.val, np.inf)))


def dense_baseline(series: SeriesConfig, config: SearchConfig, seed: int = 0) -> DenseResult:
    """The dense network (every edge) trained for ants × generations × steps updates, as many as the
    whole search makes, and scored after every ``steps`` of them, as often as the search scores."""
    data = make_data(series)
    masks = dense_masks(config.hidden, len(SENSORS), config.peepholes)
    rng = np.random.default_rng(np.random.SeedSequence([seed, _DENSE_STREAM]))
    net = init_network(config.hidden, len(SENSORS), rng, config.peepholes)
    with np.errstate(all="ignore"):
        curve = train(net, masks, data.X_train, data.y_train, config.steps * config.ants * config.generations,
                      Adam(config.lr), every=config.steps,
                      monitor=lambda nw: (mse(nw, masks, data.X_val, data.y_val),
                                          mse(nw, masks, data.X_test, data.y_test)))
    val, test = np.array(curve).T
    return DenseResult(val, test, config.steps, config.ants, weight_count(masks))


class SerialExecutor(concurrent.futures.Executor):
    """Runs every task in this process, in order (``map`` is lazy, so progress shows task by task)."""

    def submit(self, fn, /, *args, **kwargs):
        """Run ``fn(*args, **kwargs)`` now; return a finished future with its result or exception."""
        fut = concurrent.futures.Future()
        try:
            fut.set_result(fn(*args, **kwargs))
        except BaseException as exc:  # noqa: BLE001 - handed to the caller by result()
            fut.set_exception(exc)
        return fut

    def map(self, fn, *iterables, timeout=None, chunksize=1):
        """``fn`` over the iterables, lazily and in order (``timeout`` and ``chunksize`` are ignored)."""
        return map(fn, *iterables)


def process_pool(workers: int) -> concurrent.futures.ProcessPoolExecutor:
    """A pool of ``workers`` processes forked from a clean server process that has imported this
    module (``forkserver``): safe inside pytest-xdist workers and Jupyter kernels, which run threads
    a plain fork would copy in an unknown state."""
    ctx = mp.get_context("forkserver")
    ctx.set_forkserver_preload([__name__ if __name__ != "__main__" else "derivations.aco_lstm"])
    return concurrent.futures.ProcessPoolExecutor(max_workers=workers, mp_context=ctx)


@contextlib.contextmanager
def executor_for(executor=None, workers: int | None = None):
    """The executor to use: ``executor`` itself (a ``dask.distributed.Client`` is turned into its
    ``get_executor()``), else a process pool of ``workers`` (default: every core), or this process
    when ``workers`` is 1. A pool made here is shut down on leaving."""
    if executor is not None:
        yield executor.get_executor() if hasattr(executor, "get_executor") else executor
        return
    workers = (os.cpu_count() or 1) if workers is None else workers
    if not isinstance(workers, (int, np.integer)) or workers < 1:
        raise ValueError(f"workers must be a whole number >= 1, got {workers!r}")
    if workers == 1:
        yield SerialExecutor()
        return
    pool = process_pool(workers)
    try:
        yield pool
    finally:
        pool.shutdown(cancel_futures=True)


@dataclass
class SearchResult:
    """A search's record: ``used`` (generations, ants, edges), validation and test MSE
    (generations, ants), and the pheromones before every generation and after the last,
    ``tau`` (generations + 1, edges)."""

    graph: Graph
    series: SeriesConfig
    config: SearchConfig
    seed: int
    learn: bool
    used: np.ndarray
    val: np.ndarray
    test: np.ndarray
    tau: np.ndarray
    err_ref: float

    def best_so_far(self) -> np.ndarray:
        """The best validation MSE found up to each generation."""
        val = np.where(np.isfinite(self.val), self.val, np.inf)
        return np.minimum.accumulate(val.min(axis=1))

    def best(self) -> tuple[int, int]:
        """(generation, ant) of the lowest validation MSE (the first such, if tied)."""
        val = np.where(np.isfinite(self.val), self.val, np.inf)
        g, a = np.unravel_index(int(np.argmin(val)), val.shape)
        return int(g), int(a)

    def best_masks(self) -> dict:
        g, a = self.best()
        return structure_masks(self.graph, self.used[g, a], self.config.peepholes)

    def best_weights(self) -> int:
        return weight_count(self.best_masks())


def search(series: SeriesConfig = SeriesConfig(), config: SearchConfig = SearchConfig(), *, seed: int = 0,
           executor=None, workers: int | None = None, learn: bool = True, progress=None,
           memo: dict | None = None) -> SearchResult:
    """Ant colony search over the connections of an LSTM network.

    Each generation: every ant samples a structure from the pheromones in this process
    (:func:`sample_structure`, its stream from :func:`ant_seeds`); the fitness evaluations
    (:func:`evaluate_structure`) go through ``executor.map`` (see :func:`executor_for`); then, with
    ``learn``, :func:`update_pheromone`. ``learn=False`` is random search with the same sampler and
    the same random numbers: the pheromones stay at τ_0. ``progress(done, total)`` is called after
    every evaluation; ``memo`` reuses evaluations of identical tasks (the two searches of
    :func:`compare` share their first generation).
    """
    config.validate()
    series.validate()
    if not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"the seed must be a whole number >= 0, got {seed!r}")
    data = make_data(series)
    graph = Graph(len(SENSORS), config.hidden)
    G, A = config.generations, config.ants
    tau_edges = np.full(graph.size, float(config.tau0))
    taus, used_all, vals, tests = [tau_edges], [], [], []
    memo = {} if memo is None else memo
    done = 0
    with executor_for(executor, workers) as ex:
        for gen in range(G):
            used = np.stack([sample_structure(graph, tau_edges, np.random.default_rng(ant_seeds(seed, gen, a)[0]),
                                              config) for a in range(A)])
            tasks = [Task(series, config, used[a], seed, gen, a) for a in range(A)]
            keys = [(series, config, seed, gen, a, used[a].tobytes()) for a in range(A)]
            todo = [t for t, key in zip(tasks, keys) if key not in memo]
            fresh = iter(ex.map(evaluate_structure, todo))
            scores = []
            for key in keys:
                if key not in memo:
                    memo[key] = next(fresh)
                scores.append(memo[key])
                done += 1
                if progress is not None:
                    progress(done, G * A)
            val, test = np.array(scores, dtype=float).T
            if learn:
                tau_edges = update_pheromone(tau_edges, used, val, data.err_ref, config)
            taus.append(tau_edges)
            used_all.append(used)
            vals.append(val)
            tests.append(test)
    return SearchResult(graph, series, config, seed, learn, np.array(used_all), np.array(vals),
                        np.array(tests), np.array(taus), data.err_ref)


@dataclass
class Comparison:
    """ACO, random search with the same budget and sampler, and the dense network with the same
    number of weight updates."""

    aco: SearchResult
    random: SearchResult
    dense: DenseResult


def compare(series: SeriesConfig = SeriesConfig(), config: SearchConfig = SearchConfig(), *, seed: int = 0,
            executor=None, workers: int | None = None, progress=None) -> Comparison:
    """Run :func:`search` with and without learning and :func:`dense_baseline`, on one executor
    (the dense network trains in one task of its own, beside the searches)."""
    config.validate()
    series.validate()
    total = 2 * config.ants * config.generations
    memo: dict = {}
    with executor_for(executor, workers) as ex:
        dense_future = ex.submit(dense_baseline, series, config, seed)
        report = None if progress is None else (lambda offset: lambda done, _: progress(offset + done, total))
        aco = search(series, config, seed=seed, executor=ex, learn=True, memo=memo,
                     progress=None if report is None else report(0))
        rnd = search(series, config, seed=seed, executor=ex, learn=False, memo=memo,
                     progress=None if report is None else report(total // 2))
        dense = dense_future.result()
    return Comparison(aco, rnd, dense)


# ---- numeric checks -----------------------------------------------------------------------------------


def _random_masks(hidden: int, inputs: int, rng, keep: float = 0.6) -> dict:
    """Masks with each entry 1 with probability ``keep`` (every parameter, peepholes too)."""
    return {name: (rng.random(shape) < keep).astype(float) for name, shape in param_shapes(hidden, inputs).items()}


def masked_bptt_table(hidden: int = 4, inputs: int = 3, steps: int = 6, batch: int = 3, seed: int = 0,
                      rtol: float = 1e-7) -> CheckTable:
    """The masked BPTT of :func:`loss_and_grad` (random masks on every parameter, peepholes on)
    against autograd of :func:`autograd_loss` (every entry) and central differences of the loss
    along random directions (float64, h = 1e-5)."""
    import autograd

    rng = np.random.default_rng(seed)
    net = init_network(hidden, inputs, rng, peepholes=True)
    masks = _random_masks(hidden, inputs, rng)
    X, yy = rng.normal(size=(steps, inputs, batch)), rng.normal(size=batch)
    _, grads = loss_and_grad(net, masks, X, yy)
    ag = autograd.grad(lambda nw: autograd_loss(nw, masks, X, yy))(net)
    err_ag = max(float(np.max(np.abs(grads[nm] - ag[nm]) / (1e-8 + np.abs(ag[nm])))) for nm in PARAM_NAMES)
    err_fd, eps, directions = 0.0, 1e-5, 3
    for _ in range(directions):
        d = {nm: rng.normal(size=np.shape(net[nm])) for nm in PARAM_NAMES}
        plus = loss_and_grad({nm: net[nm] + eps * d[nm] for nm in PARAM_NAMES}, masks, X, yy)[0]
        minus = loss_and_grad({nm: net[nm] - eps * d[nm] for nm in PARAM_NAMES}, masks, X, yy)[0]
        fd = (plus - minus) / (2 * eps)
        an = sum(float(np.sum(grads[nm] * d[nm])) for nm in PARAM_NAMES)
        err_fd = max(err_fd, abs(fd - an) / max(abs(fd), 1e-8))
    table = whole_gradient_table(
        f"Masked BPTT (H = {hidden}, D = {inputs}, T = {steps}, batch {batch}, "
        f"{int(sum(masks[nm].sum() for nm in PARAM_NAMES))} of {sum(masks[nm].size for nm in PARAM_NAMES)} "
        "weights present) against independent oracles",
        "Autograd differentiates the loss with the mask applied inside a separately written forward pass "
        "(autograd_loss, through lstm_gates.autograd_loss); central differences use h = 1e-5 along 3 random "
        "directions of all weights, masked ones included.",
        entries=sum(np.size(net[nm]) for nm in PARAM_NAMES), err_autograd=err_ag, err_directional=err_fd,
        directions=directions, rtol=rtol)
    return table


def masked_claims_table(hidden: int = 4, inputs: int = 3, steps: int = 6, batch: int = 3, seed: int = 0) -> CheckTable:
    r"""The derivation's two claims, entry by entry, for the network of :func:`masked_bptt_table`: the
    gradient is exactly 0 where M = 0, and it is M ⊙ (the dense network's gradient at W̃ = M ⊙ W)."""
    rng = np.random.default_rng(seed)
    net = init_network(hidden, inputs, rng, peepholes=True)
    masks = _random_masks(hidden, inputs, rng)
    X, yy = rng.normal(size=(steps, inputs, batch)), rng.normal(size=batch)
    _, grads = loss_and_grad(net, masks, X, yy)
    nonzero = sum(int(np.count_nonzero(grads[nm][masks[nm] == 0])) for nm in PARAM_NAMES)
    absent = sum(int(np.sum(masks[nm] == 0)) for nm in PARAM_NAMES)
    ones = dense_masks(hidden, inputs, peepholes=True)
    _, dense = loss_and_grad(effective(net, masks), ones, X, yy)       # ∂J/∂W̃, at W̃ = M ⊙ W
    err_prod = max(float(np.max(np.abs(grads[nm] - masks[nm] * dense[nm]))) for nm in PARAM_NAMES)
    table = CheckTable("The masked gradient, entry by entry (the network of the table above)",
                       ["claim", "compared", "found", "required"])
    table.rows.append({"claim": "∂J/∂W = 0 where M = 0", "compared": f"all {absent} masked entries",
                       "found": f"{nonzero} nonzero", "required": "every one exactly 0", "passed": nonzero == 0})
    table.rows.append({"claim": "∂J/∂W = M ⊙ ∂J/∂W̃ (the dense network at W̃ = M ⊙ W)",
                       "compared": f"all {sum(np.size(net[nm]) for nm in PARAM_NAMES)} entries",
                       "found": f"max |difference| {err_prod:.1e}", "required": "at most 1e-15",
                       "passed": err_prod <= 1e-15})
    return table


def _iterate(t, rate, deposit, count, low=-np.inf, high=np.inf):
    out = [t]
    for _ in range(count):
        out.append(min(max(evaporate_deposit(out[-1], rate, deposit), low), high))
    return np.array(out)


@functools.cache
def _closed_form_function():
    return sp.lambdify((tau0, rho, Delta, n), closed_form_derivation().result.xreplace(PHEROMONE), "numpy")


def closed_form_numeric(t0, rate, deposit, count):
    """τ_0 … τ_count from the derived closed form (:func:`closed_form_derivation`), in float64."""
    return _closed_form_function()(t0, rate, deposit, np.arange(count + 1, dtype=float))


#: The authors' multiplicative rule (SOURCES: ant_col_ver1.py): ×1.15 for a good edge, ×0.85 for
#: another, cap 20, everything ×0.9 every 100 networks.
AUTHORS_RULE = {"good": 1.15, "bad": 0.85, "cap": 20.0, "decay": 0.9, "every": 100}


def steps_to_cap(t0: float = 1.0, factor: float = AUTHORS_RULE["good"], cap: float = AUTHORS_RULE["cap"]) -> float:
    """n_c = log(τ_max/τ_0)/log κ, evaluated from :func:`growth_to_cap_derivation`'s definition."""
    return float(GROWTH[n_cap].subs({tau_max: cap, tau0: t0, kappa: factor}))


def pheromone_table(count: int = 60) -> CheckTable:
    """The closed form against the update iterated; the MAX–MIN clip's limit; the authors' capped rule."""
    table = CheckTable("Pheromone dynamics: derived forms against the update iterated",
                       ["case", "compared", "max relative error", "tolerance"],
                       note="Iterated in float64 from the update τ ← (1 − ρ)τ + Δ itself.")
    for t0, rate, dep in ((1.0, 0.25, 0.8), (0.05, 0.1, 1.0), (10.0, 0.8, 0.5), (3.0, 0.5, 1.5)):
        it = _iterate(t0, rate, dep, count)
        cf = closed_form_numeric(t0, rate, dep, count)
        err = float(np.max(np.abs(cf - it) / np.abs(it)))
        table.rows.append({"case": f"closed form, τ0 = {t0}, ρ = {rate}, Δ = {dep}", "compared": f"n = 0 … {count}",
                           "max relative error": err, "tolerance": "1e-12", "passed": err <= 1e-12})
    for t0, rate, dep, low, high in ((1.0, 0.25, 1.0, 0.05, 2.0), (1.0, 0.25, 0.001, 0.05, 8.0)):
        it = _iterate(t0, rate, dep, 400, low, high)
        want = min(max(dep / rate, low), high)
        err = abs(it[-1] - want) / want
        table.rows.append({"case": f"MAX–MIN: Δ/ρ = {dep / rate:g} clipped to [{low}, {high}]",
                           "compared": "τ after 400 updates vs clip(Δ/ρ)", "max relative error": err,
                           "tolerance": "1e-12", "passed": err <= 1e-12})
    rule = AUTHORS_RULE
    it = [1.0]
    while it[-1] < rule["cap"] and len(it) < 100:
        it.append(min(rule["good"] * it[-1], rule["cap"]))              # τ ← min(1.15 τ, 20)
    first = len(it) - 1
    n_c = steps_to_cap()
    table.rows.append({"case": "authors' rule: τ0 = 1, ×1.15 per good update, cap 20",
                       "compared": f"first n at the cap ({first}) vs ⌈n_c⌉ = ⌈{n_c:.2f}⌉",
                       "max relative error": float(abs(first - math.ceil(n_c))), "tolerance": "exactly equal",
                       "passed": first == math.ceil(n_c)})
    return table


@functools.cache
def numeric_checks() -> list[CheckTable]:
    """The results against independent oracles, the masked BPTT, and the pheromone forms."""
    return [crosscheck(results(), points=2, seed=0,
                       title="Masked gradient (H = 2, D = 1), choice rule (N = 3) and τ_3 against independent oracles"),
            masked_bptt_table(), masked_claims_table(), pheromone_table()]


# ---- the command line -----------------------------------------------------------------------------------


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one readable line instead of usage + message
        raise ValueError(f"{message} (see --help)")


def _parser() -> argparse.ArgumentParser:
    d = SearchConfig()
    p = _Parser(prog="python -m derivations.aco_lstm",
                description="Ant colony search over the connections of a small LSTM network, beside random "
                            "search with the same budget and a dense network with as many weight updates.")
    p.add_argument("--ants", type=int, default=20, help="sub-networks per generation (default 20)")
    p.add_argument("--generations", type=int, default=10, help="generations (default 10)")
    p.add_argument("--workers", type=int, default=None, help="processes (default: every core; 1: this process)")
    p.add_argument("--seed", type=int, default=0, help="seed of the whole search (default 0)")
    p.add_argument("--steps", type=int, default=40, help="Adam updates per sub-network (default 40)")
    p.add_argument("--hidden", type=int, default=d.hidden, help=f"cells of the network (default {d.hidden})")
    p.add_argument("--rho", type=float, default=d.rho, help=f"evaporation rate in (0, 1) (default {d.rho})")
    p.add_argument("--length", type=int, default=600, help="steps of the synthetic series (default 600)")
    return p


class ProgressBar:
    """A one-line progress display on a stream (stderr): redrawn in place on a terminal, a line
    every tenth of the way otherwise."""

    def __init__(self, stream=None, width: int = 30):
        self.stream, self.width = stream or sys.stderr, width
        self.start, self.shown = time.perf_counter(), -1
        self.tty = hasattr(self.stream, "isatty") and self.stream.isatty()

    def __call__(self, done: int, total: int) -> None:
        tenth = 10 * done // max(total, 1)
        if not self.tty and tenth == self.shown and done != total:
            return
        self.shown = tenth
        filled = self.width * done // max(total, 1)
        line = (f"[{'#' * filled}{'.' * (self.width - filled)}] {done}/{total} evaluations, "
                f"{time.perf_counter() - self.start:.0f} s")
        self.stream.write(("\r" + line) if self.tty else line + "\n")
        if self.tty and done == total:
            self.stream.write("\n")
        self.stream.flush()


def summary(result: Comparison) -> str:
    """What a comparison found, one line per method."""
    aco, rnd, dense = result.aco, result.random, result.dense
    cfg = aco.config
    lines = [f"search: {cfg.ants} ants x {cfg.generations} generations, {cfg.steps} Adam updates each, "
             f"{cfg.hidden} cells, rho {cfg.rho}, seed {aco.seed}; validation MSE of predicting the mean "
             f"{aco.err_ref:.4f}"]
    for name, res in (("ACO", aco), ("random search", rnd)):
        g, a = res.best()
        lines.append(f"{name:<14} best validation MSE {res.val[g, a]:.4f} (test {res.test[g, a]:.4f}), "
                     f"{res.best_weights()} weights, found in generation {g + 1}")
    best = dense.best()
    lines.append(f"{'dense LSTM':<14} best validation MSE {dense.val[best]:.4f} (test {dense.test[best]:.4f}), "
                 f"{dense.weights} weights, after {dense.every * (best + 1)} of {dense.updates} updates")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """``python -m derivations.aco_lstm``: a larger search; prints the summary (exit 2 on bad input)."""
    try:
        args = _parser().parse_args(argv)
        config = SearchConfig(ants=args.ants, generations=args.generations, hidden=args.hidden, rho=args.rho,
                              steps=args.steps).validate()
        series = SeriesConfig(length=args.length).validate()
        split_sizes(series)
        result = compare(series, config, seed=args.seed, workers=args.workers, progress=ProgressBar())
    except ValueError as err:
        print(f"aco_lstm: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("aco_lstm: interrupted", file=sys.stderr)
        return 130
    print(summary(result))
    return 0


if __name__ == "__main__":
    from derivations.aco_lstm import main as _main  # the package's module, so pickled tasks name it

    sys.exit(_main())
