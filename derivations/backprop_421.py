r"""Backpropagation in the seed's 4-2-1 network (its Figure 3), and the vectorized δ-rule.

Notation (the seed's, after CS224d; column vectors; layer 1 is the input layer):

- :math:`a^{(1)} = x \in \mathbb{R}^4` the input; :math:`W^{(1)} \in \mathbb{R}^{2\times 4}`,
  :math:`b^{(1)} \in \mathbb{R}^2`;
- :math:`z^{(2)} = W^{(1)} a^{(1)} + b^{(1)}`, :math:`a^{(2)} = f(z^{(2)})` with a generic
  activation :math:`f` (the sigmoid in numbers);
- :math:`s = z^{(3)}_1 = a^{(3)}_1 = W^{(2)} a^{(2)} + b^{(2)}`, :math:`W^{(2)} \in \mathbb{R}^{1\times 2}`
  written :math:`W^{(2)}_i` as in the seed;
- the corrupt window's quantities carry a subscript :math:`c` (:math:`a^{(1)}_c, z^{(2)}_c, s_c`);
- :math:`J = \max(1 + s_c - s, 0)`, seed eq. (6) with :math:`\Delta = 1`;
- :math:`\delta^{(2)}_i := W^{(2)}_i f'(z^{(2)}_i)` (seed eq. 11).

Equations derived and checked here:

.. math::

   \frac{\partial s}{\partial W^{(1)}_{ij}} = W^{(2)}_i f'(z^{(2)}_i)\,a^{(1)}_j = \delta^{(2)}_i a^{(1)}_j
   \quad\text{(seed eqs. 9, 13)},\qquad
   \frac{\partial \mathcal{J}}{\partial W^{(1)}_{ij}} = -\delta^{(2)}_i a^{(1)}_j + \delta^{(2)}_{c,i} a^{(1)}_{c,j}
   \quad (𝒥 > 0),

and, for any widths :math:`n_1, …, n_L` (linear output, read out as :math:`s = v^\top z^{(L)}`),

.. math::

   \delta^{(L)} = v,\quad \delta^{(k)} = f'(z^{(k)}) \circ \big(W^{(k)\top} \delta^{(k+1)}\big),\quad
   \frac{\partial s}{\partial W^{(k)}} = \delta^{(k+1)} a^{(k)\top},\quad
   \frac{\partial s}{\partial b^{(k)}} = \delta^{(k+1)}.

Examples
--------
>>> params = mlp_init([4, 2, 1], seed=0)
>>> [p["W"].shape for p in params]
[(2, 4), (1, 2)]
>>> g = mlp_backward(params, np.ones(4))
>>> [d.shape for d in g["dW"]]
[(2, 4), (1, 2)]
>>> mlp_forward(params, np.ones(3))
Traceback (most recent call last):
...
ValueError: input x has shape (3,) but the first layer expects a vector of length 4
>>> verify_vectorized_rule([3, 5, 4, 2])
{'widths': '3-5-4-2', 'weights': 43, 'biases': 11, 'elements': 54}
"""

from __future__ import annotations

import functools
import time

import numpy as np
import sympy as sp
from sympy.core.function import AppliedUndef

from .core import (Derivation, DerivationError, Induction, NamedMatrix, Result, _canon, _instantiate_definitions,
                   evaluate, indexed, notation, sym)
from .core import shown_product as _mul
from .oracles import CheckTable, crosscheck
from .render import SEPARATED
from .sigmoid_neuron import sigmoid, sigmoid_slope
from .window_scorer import with_sigmoid

TITLE = "The 4-2-1 network: the seed's chain rule, the error-sharing walk, the vectorized δ-rule"

# ---- symbols (each made in one place) -----------------------------------------------------
i, j, k = (sym(t, integer=True, positive=True) for t in "ijk")
notation(i, r"index of a hidden unit, $i \in \{1, 2\}$")
notation(j, r"index of an input, $j \in \{1, \dots, 4\}$")
notation(k, "index of a unit in a sum over a layer")
W1 = indexed("W1", r"W^{(1)}", meaning="first-layer weights; $W^{(1)}_{ij}$ joins input $j$ to hidden unit $i$",
             shape=r"${2 \times 4}$", real=True)
b1 = indexed("b1", r"b^{(1)}", meaning="first-layer bias", shape=r"${2 \times 1}$", real=True)
a1 = indexed("a1", r"a^{(1)}", meaning="input (layer 1), $a^{(1)} = x$", shape=r"${4 \times 1}$", real=True)
z2 = indexed("z2", r"z^{(2)}", meaning=r"hidden pre-activation, $W^{(1)} a^{(1)} + b^{(1)}$", shape=r"${2 \times 1}$",
             real=True)
a2 = indexed("a2", r"a^{(2)}", meaning="hidden activation, $f(z^{(2)})$", shape=r"${2 \times 1}$", real=True)
W2 = indexed("W2", r"W^{(2)}", meaning="output weights, written $W^{(2)}_i$ as in the seed", shape=r"${1 \times 2}$",
             real=True)
delta2 = indexed("delta2", r"\delta^{(2)}", meaning=r"hidden error signal, "
                 r"$\delta^{(2)}_i = W^{(2)}_i f'(z^{(2)}_i)$ (seed eq. 11)", shape=r"${2 \times 1}$", real=True)
a1c = indexed("a1_c", r"a^{(1)}_{c}", meaning="input of the corrupt window", shape=r"${4 \times 1}$", real=True)
z2c = indexed("z2_c", r"z^{(2)}_{c}", meaning="hidden pre-activation of the corrupt window", shape=r"${2 \times 1}$",
              real=True)
a2c = indexed("a2_c", r"a^{(2)}_{c}", meaning="hidden activation of the corrupt window", shape=r"${2 \times 1}$",
              real=True)
delta2c = indexed("delta2_c", r"\delta^{(2)}_{c}", meaning=r"hidden error signal of the corrupt window, "
                  r"$W^{(2)}_i f'(z^{(2)}_{c,i})$", shape=r"${2 \times 1}$", real=True)
b2 = sym("b2", r"b^{(2)}", meaning="output bias", shape="scalar", real=True)
z3 = sym("z3", r"z^{(3)}_{1}", meaning=r"output, $W^{(2)} a^{(2)} + b^{(2)}$ (linear: $a^{(3)}_1 = z^{(3)}_1$)",
         shape="scalar", real=True)
delta3 = sym("delta3", r"\delta^{(3)}_{1}", meaning=r"output error signal, $\partial s/\partial z^{(3)}_1$",
             shape="scalar", real=True)
s = sym("s", meaning=r"score of the true window, $s = z^{(3)}_1$ (of an $L$-layer network, $s = v^\top z^{(L)}$)",
        shape="scalar", real=True)
s_c = sym("s_c", "s_{c}", meaning="score of the corrupt window", shape="scalar", real=True)
J = sym("J", r"\mathcal{J}", meaning=r"loss, $\max(1 + s_c - s, 0)$ (seed eq. 6 with $\Delta = 1$)",
        shape="scalar", real=True)
f = sp.Function("f", real=True)
notation(f, "activation, elementwise (generic in the derivations, the sigmoid in numbers)")



def _fp(arg):
    """f'(arg) as an unevaluated derivative (prints as f'(z))."""
    return sp.Derivative(f(arg), arg)


def _z_written_out(ii, inp):
    """b_i + a_1 W_i1 + … + a_4 W_i4, as the seed writes z^(2)_i."""
    return sp.Add(b1[ii], *[_mul(inp[q], W1[ii, q]) for q in range(1, 5)], evaluate=False)


#: The network of Figure 3 for both windows.
MODEL = {
    z2: sp.Lambda(i, sp.Sum(W1[i, k] * a1[k], (k, 1, 4)) + b1[i]),
    z2c: sp.Lambda(i, sp.Sum(W1[i, k] * a1c[k], (k, 1, 4)) + b1[i]),
    a2: sp.Lambda(i, f(z2[i])),
    a2c: sp.Lambda(i, f(z2c[i])),
    z3: sp.Sum(W2[k] * a2[k], (k, 1, 2)) + b2,
    s: z3,
    s_c: sp.Sum(W2[k] * a2c[k], (k, 1, 2)) + b2,
    delta2: sp.Lambda(i, W2[i] * _fp(z2[i])),
    delta2c: sp.Lambda(i, W2[i] * _fp(z2c[i])),
    delta3: sp.Derivative(s, z3),
}
#: Where 𝒥 > 0 (the seed's assumption) the objective is 1 + s_c − s.
BRANCH = {**MODEL, J: 1 + s_c - s}

#: Every weight of W^(1): i = 1, 2 (hidden unit), j = 1 … 4 (input).
ALL_IJ = [{i: ii, j: jj} for ii in (1, 2) for jj in (1, 2, 3, 4)]


@functools.cache
def chain_derivation() -> Derivation:
    """The seed's chain (its eq. 9) ending in eq. (13), every line a checked step."""
    d = Derivation("ds_dW1", "The seed's chain rule for the score", sp.Derivative(s, W1[i, j]),
                   definitions=MODEL, instances=ALL_IJ, label="backprop-421-chain")
    d.step(sp.Derivative(sp.Sum(W2[k] * a2[k], (k, 1, 2)) + b2, W1[i, j]),
           r"$s = W^{(2)} a^{(2)} + b^{(2)} = W^{(2)}_1 a^{(2)}_1 + W^{(2)}_2 a^{(2)}_2 + b^{(2)}$")
    d.step(sp.Derivative(sp.Sum(W2[k] * a2[k], (k, 1, 2)), W1[i, j]), r"$b^{(2)}$ does not depend on $W^{(1)}$")
    d.step(sp.Derivative(W2[i] * a2[i], W1[i, j]), r"$W^{(1)}_{ij}$ feeds $z^{(2)}_i$, hence $a^{(2)}_i$, only")
    d.step(_mul(W2[i], sp.Derivative(a2[i], z2[i]), sp.Derivative(z2[i], W1[i, j])), "chain rule through $z^{(2)}_i$")
    d.step(_mul(W2[i], _fp(z2[i]), sp.Derivative(z2[i], W1[i, j])), r"$a^{(2)}_i = f(z^{(2)}_i)$")
    d.step(_mul(W2[i], _fp(z2[i]), sp.Derivative(_z_written_out(i, a1), W1[i, j])),
           r"$z^{(2)}_i = b^{(1)}_i + a^{(1)}_1 W^{(1)}_{i1} + \dots + a^{(1)}_4 W^{(1)}_{i4}$")
    d.step(_mul(W2[i], _fp(z2[i]), a1[j]), r"only the term $a^{(1)}_j W^{(1)}_{ij}$ holds $W^{(1)}_{ij}$")
    d.step(delta2[i] * a1[j], r"definition $\delta^{(2)}_i := W^{(2)}_i f'(z^{(2)}_i)$ (seed eq. 11)")
    return d


@functools.cache
def loss_derivation() -> Derivation:
    """∂𝒥/∂W^(1)_ij of the max-margin objective itself, where 𝒥 > 0."""
    d = Derivation("dJ_dW1", "The gradient of the max-margin loss (𝒥 > 0)", sp.Derivative(J, W1[i, j]),
                   definitions=BRANCH, instances=[{i: 1, j: 4}, {i: 2, j: 1}], label="backprop-421-loss")
    d.step(_mul(sp.Derivative(J, s), sp.Derivative(s, W1[i, j])) + _mul(sp.Derivative(J, s_c), sp.Derivative(s_c, W1[i, j])),
           r"chain rule: $W^{(1)}_{ij}$ reaches $\mathcal{J}$ through $s$ and through $s_c$")
    d.step(-sp.Derivative(s, W1[i, j]) + sp.Derivative(s_c, W1[i, j]),
           r"$\partial \mathcal{J}/\partial s = -1$, $\partial \mathcal{J}/\partial s_c = 1$ (seed eq. 8)")
    d.step(-_mul(W2[i], _fp(z2[i]), a1[j]) + _mul(W2[i], _fp(z2c[i]), a1c[j]),
           "the chain rule above, once for each window")
    d.step(-delta2[i] * a1[j] + delta2c[i] * a1c[j], r"definition of $\delta^{(2)}$, $\delta^{(2)}_c$")
    return d


@functools.cache
def walk_derivation() -> Derivation:
    """The seed's nine-step "error sharing" walk for W^(1)_14, as a chain of checked steps."""
    w14 = W1[1, 4]
    d = Derivation("error_sharing_W14", "Error sharing for the weight W(1)_14", sp.Derivative(s, w14),
                   definitions=MODEL, label="backprop-421-walk")
    d.step(_mul(sp.Derivative(s, z3), sp.Derivative(z3, w14)),
           r"steps 2–3: the signal starts at $a^{(3)}_1 = z^{(3)}_1 = s$")
    d.step(_mul(delta3, sp.Derivative(z3, w14)), r"step 3: $\delta^{(3)}_1 = \partial s/\partial z^{(3)}_1 = 1$")
    d.step(_mul(delta3, W2[1], sp.Derivative(a2[1], w14)),
           r"steps 4–5: the share reaching $a^{(2)}_1$ is $\delta^{(3)}_1 W^{(2)}_1$")
    d.step(_mul(delta3, W2[1], _fp(z2[1]), sp.Derivative(z2[1], w14)),
           r"step 6: across the neuron, times its local gradient $f'(z^{(2)}_1)$")
    d.step(_mul(delta2[1], sp.Derivative(z2[1], w14)),
           r"step 7: the signal at $z^{(2)}_1$ is $\delta^{(2)}_1 = f'(z^{(2)}_1) W^{(2)}_1$")
    d.step(_mul(delta2[1], a1[4]), r"step 8: times the input it forwarded, $a^{(1)}_4$")
    d.step(_mul(a1[4], _fp(z2[1]), W2[1]),
           r"step 9 (seed eq. 12): the gradient of the score $s$, not of the loss")
    return d


# ---- the vectorized δ-rule for every layer of an L-layer network, by induction ----------------
#
# Downward from the output layer L: the step from layer l + 1 to layer l is one layer of the
# network, whatever the layers above it do (the score as an unknown function R of z^(l+1)). Checked
# entry by entry with every layer 2 (and 3) units wide, so the matrix products keep their order.

#: The layer widths at which the δ-rule's induction is checked (the first is shown).
INDUCTION_WIDTHS = (2, 3)
layer = sym("l", meaning=r"a layer, $l \le L$: $z^{(l+1)} = W^{(l)} f(z^{(l)}) + b^{(l)}$", integer=True, positive=True)
L_out = sym("L", meaning="the output layer, where the score is read out", integer=True, positive=True)
z_l = indexed("z_layer", "z", meaning=r"pre-activations of any layer: $z_{i,l} = z^{(l)}_i$", real=True)
W_l = indexed("W_layer", "W", meaning=r"weights of layer $l$: $W_{l,ij}$ joins unit $j$ of layer $l$ to unit $i$ "
              r"of layer $l + 1$", real=True)
b_l = indexed("b_layer", "b", real=True)
delta_l = indexed("delta_layer", r"\delta", meaning=r"the rule's error signals, $\delta_{i,l} = \delta^{(l)}_i$",
                  real=True)
v = indexed("v", "v", meaning=r"read-out weights, $s = v^\top z^{(L)}$", real=True)
SEPARATED.update({z_l.label, delta_l.label})
_R = sp.Function("R")  # the score as a function of z^(l+1): the layers above l + 1 and the read-out


def _sup(e) -> str:
    return "^{(%s)}" % sp.latex(e)


def _grad_z(l_, N):
    return NamedMatrix(r"\nabla_{z%s} s" % _sup(l_), sp.Matrix(N, 1, lambda r_, _: sp.Derivative(s, z_l[r_ + 1, l_])),
                       shows=(z_l.label, s, layer, L_out))


def _delta(l_, N):
    return NamedMatrix(r"\delta%s" % _sup(l_), sp.Matrix(N, 1, lambda r_, _: delta_l[r_ + 1, l_]),
                       shows=(delta_l.label, layer, L_out))


def _slopes_of(l_, N):
    return NamedMatrix(r"\operatorname{diag}(f'(z%s))" % _sup(l_), sp.diag(*[_fp(z_l[r_, l_]) for r_ in range(1, N + 1)]),
                       shows=(f, z_l.label, layer))


def _W_t(l_, N):
    return NamedMatrix(r"W^{(%s)\top}" % sp.latex(l_), sp.Matrix(N, N, lambda r_, c_: W_l[l_, c_ + 1, r_ + 1]),
                       shows=(W_l.label, layer))


@functools.cache
def delta_rule_induction(N: int = INDUCTION_WIDTHS[0]) -> Induction:
    r""":math:`\nabla_{z^{(l)}} s = \delta^{(l)}` for every layer :math:`l \le L`, where
    :math:`\delta^{(L)} = v` and :math:`\delta^{(l)} = f'(z^{(l)}) \circ (W^{(l)\top} \delta^{(l+1)})`:
    by induction on :math:`l` downward from :math:`L`, entry by entry with ``N`` units per layer."""
    units = range(1, N + 1)
    ind = Induction(f"delta_rule_all_layers_n{N}", f"The δ-rule at every layer ({N} units per layer)", layer, L_out,
                    lambda l_: (_grad_z(l_, N), _delta(l_, N)), downward=True,
                    label=f"backprop-421-delta-induction-n{N}", about=f"entry by entry with {N} units in every layer")
    base = ind.base_case(definitions={s: sum(v[r_] * z_l[r_, L_out] for r_ in units),
                                      **{delta_l[r_, L_out]: v[r_] for r_ in units}})
    base.step(NamedMatrix("v", sp.Matrix(N, 1, lambda r_, _: v[r_ + 1]), shows=(v.label,)),
              r"$s = v^\top z^{(L)}$")
    base.step(_delta(L_out, N), r"where the rule starts: $\delta^{(L)} = v$")
    l_ = layer
    above = {s: _R(*[z_l[r_, l_ + 1] for r_ in units]),
             **{z_l[r_, l_ + 1]: sum(W_l[l_, r_, c_] * f(z_l[c_, l_]) for c_ in units) + b_l[l_, r_] for r_ in units}}
    rule = {delta_l[r_, l_]: _fp(z_l[r_, l_]) * sum(W_l[l_, c_, r_] * delta_l[c_, l_ + 1] for c_ in units)
            for r_ in units}
    st = ind.inductive_step(definitions={**above, **rule})
    jac_t = NamedMatrix(r"\left(\frac{\partial z^{(l+1)}}{\partial z^{(l)}}\right)^{\!\top}",
                        sp.Matrix(N, N, lambda r_, c_: sp.Derivative(z_l[r_ + 1, l_ + 1], z_l[c_ + 1, l_])).T,
                        shows=(z_l.label, layer))
    st.step(sp.MatMul(jac_t, _grad_z(l_ + 1, N), evaluate=False),
            r"chain rule: $z^{(l)}$ reaches $s$ only through $z^{(l+1)}$")
    st.step(sp.MatMul(_slopes_of(l_, N), _W_t(l_, N), _grad_z(l_ + 1, N), evaluate=False),
            r"$z^{(l+1)}_j = \sum_i W^{(l)}_{ji} f(z^{(l)}_i) + b^{(l)}_j$, so "
            r"$\partial z^{(l+1)}_j/\partial z^{(l)}_i = W^{(l)}_{ji} f'(z^{(l)}_i)$")
    st.step(sp.MatMul(_slopes_of(l_, N), _W_t(l_, N), _delta(l_ + 1, N), evaluate=False), "induction hypothesis",
            given=[ind.hypothesis])
    st.step(_delta(l_, N), r"the rule: $\delta^{(l)} = f'(z^{(l)}) \circ (W^{(l)\top} \delta^{(l+1)})$ "
            r"($\operatorname{diag}(a)\,b = a \circ b$)")
    return ind


def derivations() -> list[Derivation | Induction]:
    """Every derivation of this topic, in reading order; the δ-rule for every layer last."""
    return [chain_derivation(), loss_derivation(), walk_derivation(),
            *[delta_rule_induction(N) for N in INDUCTION_WIDTHS]]


# ---- results: every W^(1)_ij, f = sigmoid, as plain symbols ------------------------------

def _plain():
    out = {}
    for r in (1, 2):
        out[b1[r]] = sym(f"b1_{r}", f"b^{{(1)}}_{{{r}}}", real=True)
        out[W2[r]] = sym(f"W2_{r}", f"W^{{(2)}}_{{{r}}}", real=True)
        for c in (1, 2, 3, 4):
            out[W1[r, c]] = sym(f"W1_{r}{c}", f"W^{{(1)}}_{{{r}{c}}}", real=True)
    for c in (1, 2, 3, 4):
        out[a1[c]] = sym(f"a1_{c}", f"a^{{(1)}}_{{{c}}}", real=True)
        out[a1c[c]] = sym(f"a1c_{c}", f"a^{{(1)}}_{{c,{c}}}", real=True)
    return out


FLAT_SYMBOLS = _plain()


def flat(expr):
    """Plain symbols for the elements and the sigmoid for f: the published (JSON) form."""
    return with_sigmoid(expr).xreplace(FLAT_SYMBOLS)


@functools.cache
def results() -> list[Result]:
    r"""∂s/∂W^(1)_ij (eq. 13) and ∂𝒥/∂W^(1)_ij (𝒥 > 0, ``of`` is 𝒥 = 1 + s_c − s) for all i, j."""
    out = []
    of_s, of_J = flat(evaluate(s, MODEL)), flat(evaluate(J, BRANCH))
    for inst in ALL_IJ:
        wrt = FLAT_SYMBOLS[W1[inst[i], inst[j]]]
        defs = _instantiate_definitions(BRANCH, inst)  # once per weight, for both results
        out.append(Result(of_s, wrt, flat(evaluate(chain_derivation().result, defs, inst, instantiated=True)),
                          name="s"))
        out.append(Result(of_J, wrt, flat(evaluate(loss_derivation().result, defs, inst, instantiated=True)),
                          name=r"\mathcal{J}"))
    return out


def seed_eq10_results() -> list[Result]:
    """The seed's eq. (10) taken at its word, ∂𝒥/∂W^(1)_ij = W^(2)_i f'(z^(2)_i) a^(1)_j (wrong)."""
    of_J = flat(evaluate(J, BRANCH))
    return [Result(of_J, FLAT_SYMBOLS[W1[inst[i], inst[j]]],
                   flat(evaluate(W2[i] * _fp(z2[i]) * a1[j], MODEL, inst)), name=r"\mathcal{J}")
            for inst in ALL_IJ]


# ---- numerics: an MLP of any widths, sigmoid hidden units, linear output -----------------


def mlp_init(widths, seed: int = 0) -> list[dict]:
    """Seeded layers ``[{"W": (n_{k+1}, n_k), "b": (n_{k+1},)}, …]`` for widths n_1 … n_L."""
    widths = list(widths)
    if len(widths) < 2 or any(not isinstance(w, (int, np.integer)) or w < 1 for w in widths):
        raise ValueError(f"widths must be at least two positive integers, got {widths!r}")
    rng = np.random.default_rng(seed)
    return [{"W": rng.normal(scale=1 / np.sqrt(n_in), size=(n_out, n_in)), "b": rng.normal(scale=0.5, size=n_out)}
            for n_in, n_out in zip(widths[:-1], widths[1:])]


def mlp_forward(params, x) -> dict:
    """z^(k+1) = W^(k) a^(k) + b^(k); a^(k) = σ(z^(k)) for hidden layers, a^(L) = z^(L)."""
    x = np.asarray(x, dtype=float)
    n_in = params[0]["W"].shape[1]
    if x.shape != (n_in,):
        raise ValueError(f"input x has shape {x.shape} but the first layer expects a vector of length {n_in}")
    zs, acts = [None], [x]
    for k_, layer in enumerate(params):
        W_, b_ = layer["W"], layer["b"]
        if W_.shape[1] != acts[-1].shape[0] or b_.shape != (W_.shape[0],):
            raise ValueError(f"layer {k_ + 1}: W has shape {W_.shape} and b has shape {b_.shape}, "
                             f"but the layer below has {acts[-1].shape[0]} units")
        zs.append(W_ @ acts[-1] + b_)
        acts.append(sigmoid(zs[-1]) if k_ < len(params) - 1 else zs[-1])
    return {"z": zs, "a": acts}


def mlp_backward(params, x, v=None) -> dict:
    """The vectorized rule for s = vᵀ z^(L) (v = 1 for one output, as in the 4-2-1 network).

    δ^(L) = v; δ^(k) = f'(z^(k)) ∘ (W^(k)ᵀ δ^(k+1)); ∂s/∂W^(k) = δ^(k+1) a^(k)ᵀ; ∂s/∂b^(k) = δ^(k+1).
    """
    fwd = mlp_forward(params, x)
    n_out = params[-1]["W"].shape[0]
    v = np.ones(n_out) if v is None else np.asarray(v, dtype=float)
    if v.shape != (n_out,):
        raise ValueError(f"read-out v has shape {v.shape} but the output layer has {n_out} units")
    L = len(params) + 1
    deltas = {L: v}
    for k_ in range(L - 1, 1, -1):  # layers L-1 … 2; W^(k) is params[k-1]
        slope = sigmoid_slope(fwd["z"][k_ - 1])  # f'(z^(k)) = σ(1 − σ), without its cancellation
        deltas[k_] = slope * (params[k_ - 1]["W"].T @ deltas[k_ + 1])
    dW = [np.outer(deltas[k_ + 1], fwd["a"][k_ - 1]) for k_ in range(1, L)]
    db = [deltas[k_ + 1] for k_ in range(1, L)]
    return {"s": float(v @ fwd["z"][-1]), "delta": deltas, "dW": dW, "db": db, **fwd}


def mlp_score(params, x, v=None) -> float:
    out = mlp_forward(params, x)["z"][-1]
    return float(out.sum() if v is None else np.asarray(v) @ out)


# ---- the vectorized rule, verified element by element ------------------------------------


def verify_vectorized_rule(widths, matrices: dict | None = None) -> dict:
    """Check ∂s/∂W^(k)_ij = (δ^(k+1) a^(k)ᵀ)_ij and ∂s/∂b^(k)_i = δ^(k+1)_i for every element.

    The rule (reverse order, matrices) is compared with a forward-mode chain rule that never uses
    it: a tangent is pushed up from each unit z^(k)_i through SymPy's own derivatives of each
    layer's definition. Both sides are polynomials in the weights, the activations a^(k)_j and the
    opaque f'(z^(k)_j), so ``expand`` decides equality exactly. Raises DerivationError on a mismatch.
    If ``matrices`` is a dict, the rule's δ^(k) and ∂s/∂W^(k) (SymPy matrices) are stored in it.
    """
    widths = [int(w) for w in widths]
    L = len(widths)
    def unit(name, kk, q):  # a^(k)_q with its LaTeX name (1-based, as on the pages)
        return sym(f"{name}{kk}_{q + 1}", f"{name}^{{({kk})}}_{{{q + 1}}}", real=True)

    x_ = [unit("a", 1, q) for q in range(widths[0])]
    Z = {kk: [unit("z", kk, q) for q in range(widths[kk - 1])] for kk in range(2, L + 1)}
    A = {1: x_}
    A.update({kk: [unit("a", kk, q) for q in range(widths[kk - 1])] for kk in range(2, L)})
    A[L] = Z[L]  # linear output
    sep = "," if max(widths) >= 10 else ""  # W_{12} reads as one index pair only below ten units
    Wm = {kk: sp.Matrix(widths[kk], widths[kk - 1],
                        lambda r, c: sym(f"W{kk}_{r + 1}_{c + 1}", f"W^{{({kk})}}_{{{r + 1}{sep}{c + 1}}}", real=True))
          for kk in range(1, L)}
    Bv = {kk: [unit("b", kk, r) for r in range(widths[kk])] for kk in range(1, L)}
    v = [sym(f"v_{q + 1}", f"v_{{{q + 1}}}", real=True) for q in range(widths[-1])]
    zdef = {kk + 1: [sp.Add(*[Wm[kk][r, c] * A[kk][c] for c in range(widths[kk - 1])], Bv[kk][r])
                     for r in range(widths[kk])] for kk in range(1, L)}
    s_def = sp.Add(*[vq * zq for vq, zq in zip(v, Z[L])])
    fprime = {kk: [_canon(sp.diff(f(zz), zz)) for zz in Z[kk]] for kk in range(2, L)}  # ∂a/∂z, by SymPy

    # the rule under test, with matrices
    delta = {L: sp.Matrix(v)}
    for kk in range(L - 1, 1, -1):
        delta[kk] = sp.Matrix(fprime[kk]).multiply_elementwise(Wm[kk].T * delta[kk + 1])
    # the oracle: forward-mode tangents through each layer's definition
    local = {kk: [[sp.diff(zdef[kk + 1][r], A[kk][c]) for c in range(widths[kk - 1])]
                  for r in range(widths[kk])] for kk in range(2, L)}
    ds_dz = {kk: [] for kk in range(2, L + 1)}
    for kk in range(2, L + 1):
        for q in range(widths[kk - 1]):
            tangent = [sp.Integer(1) if r == q else sp.Integer(0) for r in range(widths[kk - 1])]
            for mm in range(kk, L):
                da = [fp * t for fp, t in zip(fprime[mm], tangent)]
                tangent = [sp.Add(*[local[mm][r][c] * da[c] for c in range(widths[mm - 1]) if da[c] != 0])
                           for r in range(widths[mm])]
            ds_dz[kk].append(sp.Add(*[sp.diff(s_def, zz) * t for zz, t in zip(Z[L], tangent)]))
    if matrices is not None:
        matrices["delta"] = delta
        matrices["dW"] = {kk: delta[kk + 1] * sp.Matrix([A[kk]]) for kk in range(1, L)}
    # ∂s/∂W(k)_rc = ∂s/∂z(k+1)_r · ∂z(k+1)_r/∂W(k)_rc (oracle) against the rule's entry (δ a^T)_rc.
    # The first factor is proved equal to δ(k+1)_r once per unit; each entry is then compared with
    # δ_r·(the oracle's local factor), structurally, or by ``expand`` when that is not enough.
    for kk in range(2, L + 1):
        for r in range(widths[kk - 1]):
            if sp.expand(ds_dz[kk][r] - delta[kk][r]) != 0:
                raise DerivationError(f"vectorized rule fails at δ({kk})_{r + 1} for widths {widths}")
    weights = biases = 0
    for kk in range(1, L):
        rule_W = delta[kk + 1] * sp.Matrix([A[kk]])
        for r in range(widths[kk]):
            for c in range(widths[kk - 1]):
                local_rc = sp.diff(zdef[kk + 1][r], Wm[kk][r, c])
                entry = delta[kk + 1][r] * local_rc
                if entry != rule_W[r, c] and sp.expand(ds_dz[kk + 1][r] * local_rc - rule_W[r, c]) != 0:
                    raise DerivationError(f"vectorized rule fails at ∂s/∂W({kk})_{r + 1}{c + 1} for widths {widths}")
                weights += 1
            entry_b = delta[kk + 1][r] * sp.diff(zdef[kk + 1][r], Bv[kk][r])
            if entry_b != delta[kk + 1][r]:
                raise DerivationError(f"vectorized rule fails at ∂s/∂b({kk})_{r + 1} for widths {widths}")
            biases += 1
    return {"widths": "-".join(map(str, widths)), "weights": weights, "biases": biases,
            "elements": weights + biases}


def rule_matrices(widths) -> dict:
    """The rule's δ^(k) and ∂s/∂W^(k) at ``widths``, checked, in display form (f' as a derivative;
    v = 1 for a single output)."""
    mats: dict = {}
    verify_vectorized_rule(widths, matrices=mats)

    def show(M):
        M = M.replace(lambda e: isinstance(e, AppliedUndef) and e.func.__name__ == "f'",
                      lambda e: _fp(e.args[0]))
        if widths[-1] == 1:
            M = M.xreplace({sym("v_1", real=True): sp.Integer(1)})
        return M
    return {key: {kk: show(M) for kk, M in val.items()} for key, val in mats.items()}


def vectorized_table(shapes=((4, 2, 1), (3, 5, 4, 2), (2, 3, 3, 2, 1))) -> CheckTable:
    """The vectorized rule, element by element, at several shapes (symbolic)."""
    table = CheckTable("The vectorized δ-rule, every element of every ∂s/∂W and ∂s/∂b (symbolic)",
                       ["widths", "weights", "biases", "seconds"],
                       note="Rule vs a forward-mode chain rule through SymPy's derivatives of each layer; "
                            "equal when their difference expands to 0 (exact).")
    for widths in shapes:
        t0 = time.perf_counter()
        row = verify_vectorized_rule(widths)
        table.rows.append({"widths": row["widths"], "weights": row["weights"], "biases": row["biases"],
                           "seconds": round(time.perf_counter() - t0, 3), "passed": True})
    return table


def numeric_mlp_table(widths=(64, 64, 64, 1), seed: int = 3, coords: int = 40, h: float = 1e-6) -> CheckTable:
    """``mlp_backward`` at width 64 against central differences and autograd (random coordinates
    and random directions)."""
    import autograd
    import autograd.numpy as anp

    params = mlp_init(widths, seed)
    rng = np.random.default_rng(seed)
    x_ = rng.normal(size=widths[0])
    g = mlp_backward(params, x_)
    flat_params = np.concatenate([np.concatenate([p["W"].ravel(), p["b"]]) for p in params])
    flat_grad = np.concatenate([np.concatenate([gw.ravel(), gb]) for gw, gb in zip(g["dW"], g["db"])])

    def unflatten(vec, lib=np):
        out, pos = [], 0
        for p in params:
            nW, nb = p["W"].size, p["b"].size
            out.append((lib.reshape(vec[pos:pos + nW], p["W"].shape), vec[pos + nW:pos + nW + nb]))
            pos += nW + nb
        return out

    def s_of(vec, lib=np):
        a_ = x_
        layers = unflatten(vec, lib)
        for q, (W_, b_) in enumerate(layers):
            z_ = lib.dot(W_, a_) + b_
            a_ = 1 / (1 + lib.exp(-z_)) if q < len(layers) - 1 else z_
        return lib.sum(a_)

    table = CheckTable(f"NumPy mlp_backward, widths {'-'.join(map(str, widths))} ({flat_params.size} parameters)",
                       ["oracle", "evaluations", "max |backward − oracle|", "tolerance"],
                       note="Central differences (h = 1e-6) at seeded random coordinates and along random "
                            "unit directions; autograd on every parameter.")
    idx = rng.choice(flat_params.size, size=coords, replace=False)
    errs = []
    for q in idx:
        e = np.zeros_like(flat_params)
        e[q] = h
        errs.append(abs((s_of(flat_params + e) - s_of(flat_params - e)) / (2 * h) - flat_grad[q]))
    table.rows.append({"oracle": "central differences, coordinates", "evaluations": coords,
                       "max |backward − oracle|": float(max(errs)), "tolerance": "1e-7",
                       "passed": max(errs) <= 1e-7})
    errs = []
    for _ in range(5):
        u = rng.normal(size=flat_params.size)
        u /= np.linalg.norm(u)
        errs.append(abs((s_of(flat_params + h * u) - s_of(flat_params - h * u)) / (2 * h) - flat_grad @ u))
    table.rows.append({"oracle": "central differences, random directions", "evaluations": 5,
                       "max |backward − oracle|": float(max(errs)), "tolerance": "1e-7",
                       "passed": max(errs) <= 1e-7})
    ag = autograd.grad(lambda vec: s_of(vec, anp))(flat_params)
    err = float(np.max(np.abs(ag - flat_grad)))
    table.rows.append({"oracle": "reverse-mode autodiff (autograd)", "evaluations": flat_params.size,
                       "max |backward − oracle|": err, "tolerance": "1e-12", "passed": err <= 1e-12})
    return table


# ---- the error-sharing walk with numbers ---------------------------------------------------


def seeded_421(seed: int = 0):
    """The seeded 4-2-1 network and the two windows' inputs used on the page."""
    params = mlp_init([4, 2, 1], seed)
    rng = np.random.default_rng(seed + 100)
    return params, rng.normal(size=4), rng.normal(size=4)


def flat_numbers(params, x_, x_c=None) -> dict:
    """The seeded network's numbers for the plain symbols of :data:`FLAT_SYMBOLS` (the true
    window's input, and the corrupt window's when given)."""
    W_1, b_1, W_2 = params[0]["W"], params[0]["b"], params[1]["W"]
    numbers = {**{FLAT_SYMBOLS[W1[r, c]]: W_1[r - 1, c - 1] for r in (1, 2) for c in (1, 2, 3, 4)},
               **{FLAT_SYMBOLS[b1[r]]: b_1[r - 1] for r in (1, 2)},
               **{FLAT_SYMBOLS[W2[r]]: W_2[0, r - 1] for r in (1, 2)},
               **{FLAT_SYMBOLS[a1[c]]: x_[c - 1] for c in (1, 2, 3, 4)}}
    if x_c is not None:
        numbers.update({FLAT_SYMBOLS[a1c[c]]: x_c[c - 1] for c in (1, 2, 3, 4)})
    return numbers


def walk_values(seed: int = 0) -> list[dict]:
    """The error signal at every node of the walk for W^(1)_14, two ways: from ``mlp_backward``
    and from the walk's own checked steps evaluated with f = σ at the same numbers."""
    params, x_, _ = seeded_421(seed)
    g = mlp_backward(params, x_)
    W_1, b_1, W_2 = params[0]["W"], params[0]["b"], params[1]["W"]
    numbers = flat_numbers(params, x_)
    a_2 = g["a"][1]
    rows = [("2–3", "z(3)_1 = a(3)_1 = s", "δ(3)_1", g["delta"][3][0], delta3),
            ("5", "a(2)_1", "δ(3)_1 W(2)_1", g["delta"][3][0] * W_2[0, 0], delta3 * W2[1]),
            ("7", "z(2)_1", "δ(2)_1 = f'(z(2)_1) W(2)_1", g["delta"][2][0], delta2[1]),
            ("8–9", "W(1)_14", "δ(2)_1 a(1)_4", g["dW"][0][0, 3], delta2[1] * a1[4])]
    out = []
    for step_, node, signal, value, expr in rows:
        sym_value = float(flat(evaluate(expr, MODEL)).subs(numbers).evalf(30))
        out.append({"seed step": step_, "node": node, "error signal": signal, "mlp_backward": float(value),
                    "checked step": sym_value, "passed": abs(sym_value - value) <= 1e-12 * max(1, abs(value))})
    assert abs(a_2[0] - sigmoid(W_1[0] @ x_ + b_1[0])) < 1e-15
    return out


def walk_table(seed: int = 0) -> CheckTable:
    table = CheckTable("The error-sharing walk for W(1)_14 with numbers (seeded 4-2-1 network, f = σ)",
                       ["seed step", "node", "error signal", "mlp_backward", "checked step"],
                       note="Pass when the two agree to 1e-12 (relative).")
    table.rows = walk_values(seed)
    return table


# ---- the seed's eq. (7): one step of gradient descent with the derived gradient -----------

SIGMOID_CURVATURE = float(np.sqrt(3) / 18)  # max |σ''(z)| = max |σ(1 − σ)(1 − 2σ)|, at σ = (3 ∓ √3)/6


def _margin(params, x_, x_c) -> float:
    """1 + s_c − s: the loss 𝒥 where it is positive (computed by the forward pass alone)."""
    return 1.0 + mlp_score(params, x_c) - mlp_score(params, x_)


def loss_gradient_W1(params, x_, x_c, results_=None) -> np.ndarray:
    """∇_{W^(1)} 𝒥 (2 × 4) from the derived results (``results()``' ∂𝒥/∂W^(1)_ij, 𝒥 > 0) at numbers."""
    numbers = flat_numbers(params, x_, x_c)
    grad = np.zeros((2, 4))
    index = {FLAT_SYMBOLS[W1[r, c]]: (r - 1, c - 1) for r in (1, 2) for c in (1, 2, 3, 4)}
    for res in (results() if results_ is None else results_):
        if res.name == r"\mathcal{J}":
            grad[index[res.wrt]] = float(res.expr.xreplace(numbers).evalf(30))
    return grad


def descent_values(seed: int = 0, alphas=(1.0, 1e-1, 1e-2, 1e-3, 1e-4), results_=None) -> dict:
    r"""θ(t+1) = θ(t) − α ∇_θ 𝒥 (seed eq. 7) for θ = W^(1), with the derived gradient, at each α.

    To first order :math:`\mathcal{J}(\theta - \alpha g) = \mathcal{J}(\theta) - \alpha\lVert g\rVert^2 + R`,
    and by Taylor's theorem :math:`\lvert R\rvert \le \tfrac{\alpha^2}{2} \max g^\top H g` along the
    segment. Only W^(1) moves, so the Hessian of 1 + s_c − s in W^(1) is, row by row,
    :math:`W^{(2)}_i (\sigma''(z_{c,i})\, a_c a_c^\top - \sigma''(z_i)\, a a^\top)`, and
    :math:`\lvert\sigma''\rvert \le \sqrt{3}/18` everywhere bounds it:
    :math:`\lvert g^\top H g\rvert \le B = \tfrac{\sqrt{3}}{18} \sum_i \lvert W^{(2)}_i\rvert
    \lVert g_i\rVert^2 (\lVert a\rVert^2 + \lVert a_c\rVert^2)`. A row passes when the loss falls
    and the measured decrease is within that bound of :math:`\alpha\lVert g\rVert^2` (both ends
    with 𝒥 > 0, so 𝒥 = 1 + s_c − s there).
    """
    params, x_, x_c = seeded_421(seed)
    J0 = _margin(params, x_, x_c)
    if J0 <= 0:
        raise ValueError(f"seed {seed}: the loss is 0 (the margin is met), so there is no step to take")
    g = loss_gradient_W1(params, x_, x_c, results_)
    gg = float(np.sum(g * g))
    B = SIGMOID_CURVATURE * float(np.sum(np.abs(params[1]["W"][0]) * np.sum(g * g, axis=1))) * float(x_ @ x_ + x_c @ x_c)
    rows = []
    for alpha in alphas:
        stepped = [{"W": params[0]["W"] - alpha * g, "b": params[0]["b"]}, params[1]]
        J1 = _margin(stepped, x_, x_c)
        decrease, predicted = J0 - J1, alpha * gg
        rows.append({"α": alpha, "𝒥 after": J1, "decrease": decrease, "α‖g‖²": predicted,
                     "|decrease/(α‖g‖²) − 1|": abs(decrease / predicted - 1), "Taylor bound": alpha * B / (2 * gg),
                     "passed": bool(J1 > 0 and decrease > 0 and abs(decrease - predicted) <= alpha**2 * B / 2)})
    return {"J": J0, "grad": g, "B": B, "rows": rows}


def descent_table(seed: int = 0, results_=None) -> CheckTable:
    table = CheckTable("One step of gradient descent on W(1) with the derived gradient (seed eq. 7)",
                       ["α", "decrease", "α‖g‖²", "|decrease/(α‖g‖²) − 1|", "Taylor bound"],
                       note="Pass when the loss falls and |decrease/(α‖g‖²) − 1| ≤ α·B/(2‖g‖²), "
                            "the Taylor bound.")
    table.rows = descent_values(seed, results_=results_)["rows"]
    return table


@functools.cache
def numeric_checks() -> list[CheckTable]:
    """Results against oracles; the rule element by element; width-64 numbers; the walk's numbers."""
    return [crosscheck(results(), points=2, seed=0,
                       title="∂s/∂W(1)_ij and ∂𝒥/∂W(1)_ij (𝒥 > 0, f = σ) against independent oracles"),
            vectorized_table(), numeric_mlp_table(), walk_table(), descent_table()]
