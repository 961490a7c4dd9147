r"""The LSTM block with peepholes: every local derivative, the one-step backward rule and BPTT.

Notation (column vectors; :math:`H` hidden units, :math:`D` inputs, unit index :math:`k`):

- :math:`x_t \in \mathbb{R}^D` the input, :math:`h_t \in \mathbb{R}^H` the hidden state (block
  output), :math:`c_t \in \mathbb{R}^H` the cell state; ``h_prev``, ``c_prev`` are
  :math:`h_{t-1}, c_{t-1}`;
- :math:`\sigma(u) = 1/(1 + e^{-u})` the logistic sigmoid (the seed writes it :math:`\delta`);
- :math:`W_{x\cdot} \in \mathbb{R}^{H\times D}`, :math:`W_{h\cdot} \in \mathbb{R}^{H\times H}`,
  :math:`b_\cdot \in \mathbb{R}^H` for each of the gates :math:`i, f, o` and the block input
  (subscript :math:`c`, as in the seed);
- the peepholes :math:`W_{ci}, W_{cf}, W_{co}` are **diagonal** :math:`H\times H` matrices (the
  usual choice, after Graves): unit :math:`k` of a gate sees only cell :math:`k`. The code stores
  their diagonals as vectors ``wci``, ``wcf``, ``wco``; :math:`W_{c\cdot,k}` is entry :math:`k`;
- :math:`a^i_t, a^f_t, a^z_t, a^o_t` the pre-activations (what is inside σ or tanh).

Equations (seed, section 3, after Zheng et al. 2017):

.. math::

   i_t &= \sigma(W_{xi} x_t + W_{hi} h_{t-1} + W_{ci} c_{t-1} + b_i) \\
   f_t &= \sigma(W_{xf} x_t + W_{hf} h_{t-1} + W_{cf} c_{t-1} + b_f) \\
   z_t &= \tanh(W_{xc} x_t + W_{hc} h_{t-1} + b_c) \\
   c_t &= f_t \odot c_{t-1} + i_t \odot z_t \\
   o_t &= \sigma(W_{xo} x_t + W_{ho} h_{t-1} + W_{co} c_t + b_o) \\
   h_t &= o_t \odot \tanh(c_t)

Note that the output gate peeks at the *new* cell state :math:`c_t`, so :math:`\partial h_t /
\partial c_t` has two paths. With :math:`W_{ci} = W_{cf} = W_{co} = 0` the block is the standard
LSTM without peepholes.

Examples
--------
>>> import numpy as np
>>> p = init_params(hidden=3, inputs=2, rng=np.random.default_rng(0))
>>> xs = np.random.default_rng(1).normal(size=(4, 2, 1))      # T = 4 steps, batch of 1
>>> hs, cache = forward(p, xs)
>>> hs.shape
(4, 3, 1)
>>> grads, dxs, dh0, dc0 = backward(p, cache, np.ones_like(hs))
>>> sorted(grads) == sorted(p)
True
>>> forward(p, np.zeros((4, 5, 1)))
Traceback (most recent call last):
...
ValueError: inputs xs have shape (4, 5, 1); expected (T, 2, batch) for a block with 2 inputs
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import sympy as sp

from . import rnn_bptt
from .blas import one_thread, threads_for
from .core import Condition, Derivation, Result, evaluate, indexed, notation, sym
from .core import shown_product as _mul
from .oracles import CheckTable, crosscheck, whole_gradient_table

TITLE = "LSTM with peepholes: local derivatives, backward rule and BPTT"

GATES = ("i", "f", "c", "o")  # the block input z uses the seed's subscript c for its weights


class sigma(sp.Function):
    r"""The logistic sigmoid :math:`\sigma(u) = 1/(1+e^{-u})`; its derivative rule
    :math:`\sigma' = \sigma(1-\sigma)` is proved in :func:`activation_derivation`.

    >>> u = sp.Symbol("u")
    >>> sigma(u).diff(u)
    (1 - sigma(u))*sigma(u)
    """

    def fdiff(self, argindex=1):
        return sigma(self.args[0]) * (1 - sigma(self.args[0]))

    def _eval_rewrite_as_exp(self, u, **kwargs):
        return 1 / (1 + sp.exp(-u))

    def _eval_evalf(self, prec):
        return (1 / (1 + sp.exp(-self.args[0])))._eval_evalf(prec)


def explicit(expr):
    r"""Replace σ(u) by (1 + tanh(u/2))/2, which equals 1/(1 + e^{−u}) (see :func:`activation_derivation`):
    published results hold no special functions, and their derivatives stay polynomial in tanh."""
    return expr.replace(sigma, lambda u: (1 + sp.tanh(u / 2)) / 2)


# ---- symbols (each made in one place) -----------------------------------------------------
H = sym("H", meaning="number of hidden units (cells)", integer=True, positive=True)
D = sym("D", meaning="number of inputs", integer=True, positive=True)
k, j, m = (sym(s, integer=True, positive=True) for s in "kjm")
notation(k, r"index of a unit, $1 \le k \le H$")
notation(j, r"index of a unit of $h_{t-1}$ or $c_{t-1}$, $1 \le j \le H$")
notation(m, r"index of an input, $1 \le m \le D$")

x = indexed("x", "x", meaning="input at step $t$, $x_t$", shape=r"${D \times 1}$", real=True)
h_prev = indexed("h_prev", "h_{t-1}", meaning="previous block output (hidden state)", shape=r"${H \times 1}$",
                 real=True)
c_prev = indexed("c_prev", "c_{t-1}", meaning="previous cell state", shape=r"${H \times 1}$", real=True)
W_x = {g: indexed(f"W_x{g}", f"W_{{x{g}}}", real=True) for g in GATES}
W_h = {g: indexed(f"W_h{g}", f"W_{{h{g}}}", real=True) for g in GATES}
b = {g: indexed(f"b_{g}", f"b_{{{g}}}", real=True) for g in GATES}
W_c = {g: indexed(f"W_c{g}", f"W_{{c{g}}}", real=True) for g in ("i", "f", "o")}  # diagonals
#: What each gate's subscript names, for the notation lists (here and in joint_tagging's decoder).
GATE_NAMES = {"i": "input gate $i$", "f": "forget gate $f$", "c": "block input $z$", "o": "output gate $o$"}
for _g, _what in GATE_NAMES.items():
    notation(W_x[_g], f"weights from the input to the {_what}", r"${H \times D}$")
    notation(W_h[_g], f"weights from $h_{{t-1}}$ to the {_what}", r"${H \times H}$")
    if _g in W_c:
        notation(W_c[_g], f"peephole of the {_what}, diagonal: one weight per cell", r"${H \times 1}$")
    notation(b[_g], f"bias of the {_what}", r"${H \times 1}$")
i_t, f_t, z_t, o_t, c_t, h_t = (indexed(nm, tex, real=True) for nm, tex in
                                (("i_t", "i"), ("f_t", "f"), ("z_t", "z"), ("o_t", "o"),
                                 ("c_t", "c"), ("h_t", "h")))
notation(i_t, r"input gate at step $t$, $\sigma(a^i)$", r"${H \times 1}$")
notation(f_t, r"forget gate at step $t$, $\sigma(a^f)$", r"${H \times 1}$")
notation(z_t, r"block input at step $t$, $\tanh(a^z)$", r"${H \times 1}$")
notation(o_t, r"output gate at step $t$, $\sigma(a^o)$", r"${H \times 1}$")
notation(c_t, "cell state at step $t$", r"${H \times 1}$")
notation(h_t, "block output (hidden state) at step $t$", r"${H \times 1}$")


def _lin(g):
    """W_xg x + W_hg h_{t−1} + b_g, row k."""
    return (sp.Sum(W_x[g][k, m] * x[m], (m, 1, D)) + sp.Sum(W_h[g][k, m] * h_prev[m], (m, 1, H))
            + b[g][k])


#: The block, one unit k at a time (the seed's equations with diagonal peepholes).
DEFINITIONS = {
    i_t: sp.Lambda(k, sigma(_lin("i") + W_c["i"][k] * c_prev[k])),
    f_t: sp.Lambda(k, sigma(_lin("f") + W_c["f"][k] * c_prev[k])),
    z_t: sp.Lambda(k, sp.tanh(_lin("c"))),
    c_t: sp.Lambda(k, f_t[k] * c_prev[k] + i_t[k] * z_t[k]),
    o_t: sp.Lambda(k, sigma(_lin("o") + W_c["o"][k] * c_t[k])),
    h_t: sp.Lambda(k, o_t[k] * sp.tanh(c_t[k])),
}

#: Where the steps are checked. Every unit is interchangeable with every other one under a
#: relabelling, so one diagonal (k = j) and one off-diagonal (k ≠ j) pair cover all cases; the
#: symbolic sizes keep the check cheap (the numeric BPTT checks run at H = 16).
INSTANCES = [{H: 2, D: 1, k: 2, j: 1}]
INSTANCES_K = [{H: 2, D: 1, k: 2}]

#: No peepholes: the standard LSTM.
NO_PEEPHOLES = Condition(sym("W_ci = W_cf = W_co = 0", r"W_{ci} = W_{cf} = W_{co} = 0"),
                         (sp.Eq(W_c["i"][k], 0), sp.Eq(W_c["f"][k], 0), sp.Eq(W_c["o"][k], 0)))



# ---- derivations --------------------------------------------------------------------------


u = sym("u", meaning=r"argument of $\sigma$ and $\tanh$ in their derivatives", shape="scalar", real=True)
s_u = sym("s_u", r"\sigma(u)", meaning=r"logistic sigmoid, $1/(1 + e^{-u})$ (the seed writes it $\delta$)",
          shape="scalar", real=True)
s_2u = sym("s_2u", r"\sigma(2u)", meaning=r"the sigmoid at $2u$, $1/(1 + e^{-2u})$", shape="scalar", real=True)


@functools.cache
def activation_derivation() -> Derivation:
    r"""σ' = σ(1 − σ): the gates are i = σ(a^i), f = σ(a^f), o = σ(a^o), so ∂i/∂a^i = i(1 − i), …"""
    d = Derivation("lstm_sigma_prime", "The sigmoid against its argument", sp.Derivative(s_u, u),
                   definitions={s_u: 1 / (1 + sp.exp(-u))}, label="lstm-gates-activation")
    d.step(sp.exp(-u) / (1 + sp.exp(-u)) ** 2, r"$\sigma(u) = 1/(1+e^{-u})$ and the chain rule")
    d.step(_mul(1 / (1 + sp.exp(-u)), sp.exp(-u) / (1 + sp.exp(-u))), "split the square")
    d.step(s_u * (1 - s_u), r"$e^{-u}/(1+e^{-u}) = 1 - \sigma(u)$")
    return d


@functools.cache
def tanh_derivation() -> Derivation:
    r"""tanh' = 1 − tanh², through tanh u = 2σ(2u) − 1 and the sigmoid's rule (no detour through
    sinh and cosh): the block input is z = tanh(a^z), so ∂z/∂a^z = 1 − z²."""
    d = Derivation("lstm_tanh_prime", "The hyperbolic tangent against its argument",
                   sp.Derivative(sp.tanh(u), u), definitions={s_2u: 1 / (1 + sp.exp(-2 * u))},
                   label="lstm-gates-tanh")
    d.step(sp.Derivative(2 * s_2u - 1, u), r"$\tanh u = 2\sigma(2u) - 1$")
    d.step(4 * _mul(s_2u, 1 - s_2u), r"$\sigma' = \sigma(1 - \sigma)$ (above) and the chain rule")
    d.step(_mul(1 + sp.tanh(u), 1 - sp.tanh(u)), r"$2\sigma(2u) = 1 + \tanh u$")
    d.step(1 - sp.tanh(u) ** 2, "multiply out")
    return d


@functools.cache
def dh_dc_derivation() -> Derivation:
    r"""∂h_k/∂c_k: through tanh(c) and through the output gate's peephole on c_t."""
    d = Derivation("lstm_dh_dc", r"The block output against the new cell state",
                   sp.Derivative(h_t[k], c_t[k]), definitions=DEFINITIONS, instances=INSTANCES_K,
                   label="lstm-gates-dh-dc")
    d.step(sp.Derivative(o_t[k] * sp.tanh(c_t[k]), c_t[k]), r"definition of $h_t$")
    d.step(sp.Derivative(o_t[k], c_t[k]) * sp.tanh(c_t[k]) + o_t[k] * (1 - sp.tanh(c_t[k]) ** 2),
           r"product rule; $\tanh' = 1 - \tanh^2$")
    d.step(o_t[k] * (1 - o_t[k]) * W_c["o"][k] * sp.tanh(c_t[k]) + o_t[k] * (1 - sp.tanh(c_t[k]) ** 2),
           r"$\sigma' = \sigma(1-\sigma)$; $\partial a^o_k/\partial c_k = W_{co,k}$ (peephole)")
    return d


#: ∂c_k/∂c_{t−1,k}, the cell's own carousel plus the two peephole paths.
DC_DCPREV = (f_t[k] + c_prev[k] * f_t[k] * (1 - f_t[k]) * W_c["f"][k]
             + z_t[k] * i_t[k] * (1 - i_t[k]) * W_c["i"][k])


@functools.cache
def dc_dcprev_derivation() -> Derivation:
    r"""∂c_k/∂c_{t−1,j} = δ_kj (f_k + peephole paths): the Jacobian is diagonal."""
    d = Derivation("lstm_dc_dcprev", "The new cell state against the previous one",
                   sp.Derivative(c_t[k], c_prev[j]), definitions=DEFINITIONS, instances=INSTANCES
                   + [{H: 2, D: 1, k: 1, j: 1}], label="lstm-gates-dc-dcprev")
    d.step(sp.Derivative(f_t[k] * c_prev[k] + i_t[k] * z_t[k], c_prev[j]), r"definition of $c_t$")
    d.step(sp.KroneckerDelta(k, j) * f_t[k] + c_prev[k] * sp.Derivative(f_t[k], c_prev[j])
           + z_t[k] * sp.Derivative(i_t[k], c_prev[j]),
           r"product rule; $z_t$ does not see $c_{t-1}$")
    d.step(sp.KroneckerDelta(k, j) * DC_DCPREV,
           r"$\sigma' = \sigma(1-\sigma)$; diagonal peepholes: $\partial a^f_k/\partial c_{t-1,j} = "
           r"\delta_{kj} W_{cf,k}$")
    return d


#: ∂c_k/∂h_{t−1,j}: through f, i and z.
DC_DHPREV = (c_prev[k] * f_t[k] * (1 - f_t[k]) * W_h["f"][k, j]
             + z_t[k] * i_t[k] * (1 - i_t[k]) * W_h["i"][k, j]
             + i_t[k] * (1 - z_t[k] ** 2) * W_h["c"][k, j])


@functools.cache
def dc_dhprev_derivation() -> Derivation:
    d = Derivation("lstm_dc_dhprev", "The new cell state against the previous hidden state",
                   sp.Derivative(c_t[k], h_prev[j]), definitions=DEFINITIONS, instances=INSTANCES,
                   label="lstm-gates-dc-dhprev")
    d.step(c_prev[k] * sp.Derivative(f_t[k], h_prev[j]) + z_t[k] * sp.Derivative(i_t[k], h_prev[j])
           + i_t[k] * sp.Derivative(z_t[k], h_prev[j]),
           r"definition of $c_t$; product rule")
    d.step(DC_DHPREV, r"$\sigma' = \sigma(1-\sigma)$, $\tanh' = 1-\tanh^2$; "
                      r"$\partial a^f_k/\partial h_{t-1,j} = W_{hf,kj}$, …")
    return d


@functools.cache
def dh_dhprev_derivation() -> Derivation:
    d = Derivation("lstm_dh_dhprev", "The block output against the previous hidden state",
                   sp.Derivative(h_t[k], h_prev[j]), definitions=DEFINITIONS, instances=INSTANCES,
                   label="lstm-gates-dh-dhprev")
    dc = sp.Derivative(c_t[k], h_prev[j])
    d.step(o_t[k] * (1 - o_t[k]) * (W_h["o"][k, j] + W_c["o"][k] * dc) * sp.tanh(c_t[k])
           + o_t[k] * (1 - sp.tanh(c_t[k]) ** 2) * dc,
           r"$h = o \tanh c$; $h_{t-1}$ reaches $o$ directly and through the peephole on $c_t$")
    d.step(o_t[k] * (1 - o_t[k]) * (W_h["o"][k, j] + W_c["o"][k] * DC_DHPREV) * sp.tanh(c_t[k])
           + o_t[k] * (1 - sp.tanh(c_t[k]) ** 2) * DC_DHPREV,
           r"$\partial c_t/\partial h_{t-1}$ as derived above")
    return d


@functools.cache
def dc_dparams_derivation() -> Derivation:
    r"""∂c_k/∂(every weight family of i, f and the block input)."""
    fam = [("i", i_t[k] * (1 - i_t[k]) * z_t[k]), ("f", f_t[k] * (1 - f_t[k]) * c_prev[k]),
           ("c", i_t[k] * (1 - z_t[k] ** 2))]
    start, end = [], []
    for g, delta in fam:
        wrts = [(W_x[g][k, m], x[m]), (W_h[g][k, j], h_prev[j]), (b[g][k], 1)]
        if g != "c":
            wrts.insert(2, (W_c[g][k], c_prev[k]))
        for w, inp in wrts:
            start.append(sp.Derivative(c_t[k], w))
            end.append(_mul(delta, inp) if inp != 1 else delta)
    inst = [{**q, m: q[D]} for q in INSTANCES]
    d = Derivation("lstm_dc_dparams", "The cell state against the weights of i, f and z",
                   sp.ImmutableMatrix(start), definitions=DEFINITIONS, instances=inst,
                   label="lstm-gates-dc-dparams")
    d.step(sp.ImmutableMatrix(end), r"chain rule through $a^i, a^f, a^z$: (local gate derivative)"
                                    r" $\times$ (what the weight multiplies)")
    return d


@functools.cache
def dh_dparams_derivation() -> Derivation:
    r"""∂h_k/∂(the output gate's weights); c_t does not depend on them."""
    delta = o_t[k] * (1 - o_t[k]) * sp.tanh(c_t[k])
    wrts = [(W_x["o"][k, m], x[m]), (W_h["o"][k, j], h_prev[j]), (W_c["o"][k], c_t[k]), (b["o"][k], 1)]
    inst = [{**q, m: q[D]} for q in INSTANCES]
    d = Derivation("lstm_dh_dparams", "The block output against the output gate's weights",
                   sp.ImmutableMatrix([sp.Derivative(h_t[k], w) for w, _ in wrts]),
                   definitions=DEFINITIONS, instances=inst, label="lstm-gates-dh-dparams")
    d.step(sp.ImmutableMatrix([_mul(delta, inp) if inp != 1 else delta for _, inp in wrts]),
           r"$h = o\tanh c$, $\sigma' = \sigma(1-\sigma)$; $c_t$ does not depend on $W_{\cdot o}$")
    return d


@functools.cache
def standard_lstm_derivation() -> Derivation:
    r"""Without peepholes the cell's self-derivative is the forget gate alone."""
    d = Derivation("lstm_no_peepholes", "The carousel without peepholes",
                   sp.Derivative(c_t[k], c_prev[k]), definitions=DEFINITIONS, instances=INSTANCES_K,
                   label="lstm-gates-standard")
    d.step(DC_DCPREV, r"$\partial c_t/\partial c_{t-1}$ as derived above, at $j = k$")
    d.step(f_t[k], "no peepholes", given=[NO_PEEPHOLES])
    return d


# ---- the carousel for every number of steps, by induction --------------------------------------

from .core import Induction, MatrixProduct, NamedMatrix  # noqa: E402  (the inductions' engine)
from .render import SEPARATED  # noqa: E402

#: The numbers of cells at which the carousel's induction is checked (the first is shown).
CAROUSEL_UNITS = (2, 3)
t_step = sym("t", meaning=r"a step of the sequence (the carousel runs from step $t_0$ to step $t$)", integer=True,
             positive=True)
t_0 = sym("t_0", "t_0", meaning=r"an earlier step, $t_0 \le t$", integer=True, positive=True)
c_seq = indexed("c_seq", "c", meaning=r"cell states along the sequence: $c_{a,s}$ is cell $a$ at step $s$", real=True)
f_seq, i_seq, z_seq, pf_seq, pi_seq = (indexed(nm, tex, real=True) for nm, tex in
                                       (("f_seq", "f"), ("i_seq", "i"), ("z_seq", "z"), ("af_seq", r"\bar a^f"),
                                        ("ai_seq", r"\bar a^i")))
d_carousel = indexed("d_carousel", "d", meaning=r"the carousel factor: $d_{s,k} = \partial c_{s,k}/\partial c_{s-1,k}$, "
                     r"$f_k$ plus the two peephole terms (derived above)", real=True)
SEPARATED.update({c_seq.label, f_seq.label, i_seq.label, z_seq.label})
_C = tuple(sp.Function(f"C{a_}") for a_ in range(1, 4))  # c_t as a function of c_{t0}, cell by cell
_CAROUSEL_SHOWS = (d_carousel.label, t_step, t_0)


def _cell_jacobian(s, r, N, name=None):
    """∂c_s/∂c_r along the cell path (N × N), named."""
    name = name or r"\frac{\partial c_{%s}}{\partial c_{%s}}" % (sp.latex(s), sp.latex(r))
    return NamedMatrix(name, sp.Matrix(N, N, lambda a_, b_: sp.Derivative(c_seq[a_ + 1, s], c_seq[b_ + 1, r])),
                       shows=(c_t.label, t_step, t_0))


def carousel_entry(a_, s):
    """d_{s,a}: :data:`DC_DCPREV` (the diagonal of ∂c_t/∂c_{t−1}, derived above) for cell ``a_`` at step ``s``."""
    return DC_DCPREV.xreplace({f_t[k]: f_seq[a_, s], c_prev[k]: c_seq[a_, s - 1], z_t[k]: z_seq[a_, s],
                               i_t[k]: i_seq[a_, s], W_c["f"][k]: W_c["f"][a_], W_c["i"][k]: W_c["i"][a_]})


def _carousel_factor(s, N):
    r"""∂c_s/∂c_{s−1} = diag(d_s), d_{s,a} = f_{s,a} + c_{s−1,a} f_{s,a}(1 − f_{s,a}) W_cf,a + z_{s,a} i_{s,a}(1 − i_{s,a}) W_ci,a."""
    return NamedMatrix(r"\operatorname{diag}(d_{%s})" % sp.latex(s),
                       sp.diag(*[carousel_entry(a_, s) for a_ in range(1, N + 1)]), shows=_CAROUSEL_SHOWS)


@functools.cache
def _carousel_product(N):
    return MatrixProduct(f"Pi_lstm{N}", lambda s: _carousel_factor(s, N), r"\operatorname{diag}(d_s)",
                         size=N, bound="s", body_text="diag(d_s)", shows=_CAROUSEL_SHOWS)


@functools.cache
def carousel_induction(N: int = CAROUSEL_UNITS[0]) -> Induction:
    r"""Along the cell path (each :math:`h_{s-1}` held fixed, the constant error carousel),
    :math:`\partial c_t/\partial c_{t_0} = \prod_{s=t_0+1}^{t} \operatorname{diag}(d_s)`, with
    :math:`d_{s,k} = f_{s,k} + c_{s-1,k} \sigma'(a^f_{s,k}) W_{cf,k} + z_{s,k} \sigma'(a^i_{s,k}) W_{ci,k}`
    (:func:`carousel_entry`), for every :math:`t \ge t_0`, by induction on
    :math:`t`, entry by entry with ``N`` cells."""
    P = _carousel_product(N)
    ind = Induction(f"lstm_carousel_all_t_n{N}", f"The carousel across any number of steps ({N} cells)", t_step, t_0,
                    lambda s: (_cell_jacobian(s, t_0, N), P(t_0 + 1, s)), label=f"lstm-gates-carousel-induction-n{N}",
                    about=f"entry by entry with {N} cells, each h held fixed")
    base = ind.base_case()
    base.step(NamedMatrix("I", sp.eye(N)), r"$c_{t_0}$ against itself: the identity")
    base.step(P(t_0 + 1, t_0), "the empty product (no factor) is the identity")
    # step t → t + 1: c_t is an unknown function of c_{t0}; one step of the cell, h held fixed
    cells = range(1, N + 1)
    unknown = {c_seq[a_, t_step]: _C[a_ - 1](t_step, *[c_seq[b_, t_0] for b_ in cells]) for a_ in cells}
    one = {**{f_seq[a_, t_step + 1]: sigma(pf_seq[a_, t_step + 1] + W_c["f"][a_] * c_seq[a_, t_step]) for a_ in cells},
           **{i_seq[a_, t_step + 1]: sigma(pi_seq[a_, t_step + 1] + W_c["i"][a_] * c_seq[a_, t_step]) for a_ in cells},
           **{c_seq[a_, t_step + 1]: f_seq[a_, t_step + 1] * c_seq[a_, t_step] + i_seq[a_, t_step + 1] * z_seq[a_, t_step + 1]
              for a_ in cells}}
    st = ind.inductive_step(definitions={**unknown, **one, **P.last_factor(t_0 + 1, t_step + 1)})
    st.step(sp.MatMul(_cell_jacobian(t_step + 1, t_step, N), _cell_jacobian(t_step, t_0, N), evaluate=False),
            r"chain rule: along the cell, $c_{t+1}$ depends on $c_{t_0}$ only through $c_t$")
    st.step(sp.MatMul(_carousel_factor(t_step + 1, N), _cell_jacobian(t_step, t_0, N), evaluate=False),
            r"the one-step derivative $\partial c_t/\partial c_{t-1}$ derived above (diagonal)")
    st.step(sp.MatMul(_carousel_factor(t_step + 1, N), P(t_0 + 1, t_step), evaluate=False), "induction hypothesis",
            given=[ind.hypothesis])
    st.step(P(t_0 + 1, t_step + 1), "the factor of the new step goes on the left of the product")
    return ind


def derivations() -> list[Derivation]:
    """Every derivation of this topic, in reading order (the carousel for every number of steps,
    :func:`carousel_induction`, after the one-step derivatives it multiplies)."""
    return [activation_derivation(), tanh_derivation(), dh_dc_derivation(), dc_dcprev_derivation(),
            standard_lstm_derivation(), *[carousel_induction(N) for N in CAROUSEL_UNITS],
            dc_dhprev_derivation(), dh_dhprev_derivation(), dc_dparams_derivation(), dh_dparams_derivation()]


# ---- the numeric block (column vectors, batch as columns) ----------------------------------

PARAM_NAMES = tuple(f"W{s}{g}" for g in GATES for s in ("x", "h")) + ("wci", "wcf", "wco") \
    + tuple(f"b{g}" for g in GATES)


def _shapes(hidden: int, inputs: int) -> dict:
    out = {}
    for g in GATES:
        out[f"Wx{g}"] = (hidden, inputs)
        out[f"Wh{g}"] = (hidden, hidden)
        out[f"b{g}"] = (hidden,)
    for g in ("i", "f", "o"):
        out[f"wc{g}"] = (hidden,)
    return out


def init_params(hidden: int, inputs: int, rng=None, scale: float = 0.5, peepholes: bool = True,
                dtype=np.float64) -> dict:
    """Random parameters (normal, ``scale``/√fan-in) of ``dtype`` (float64 or float32);
    ``peepholes=False`` gives a standard LSTM."""
    if hidden < 1 or inputs < 1:
        raise ValueError(f"hidden and inputs must be positive, got hidden={hidden}, inputs={inputs}")
    rng = np.random.default_rng(0) if rng is None else rng
    p = {}
    for name, shape in _shapes(hidden, inputs).items():
        fan = shape[1] if len(shape) == 2 else 1
        p[name] = (rng.normal(size=shape) * scale / np.sqrt(fan)).astype(_float_type(dtype))
    if not peepholes:
        for g in ("i", "f", "o"):
            p[f"wc{g}"] = np.zeros(hidden, _float_type(dtype))
    return p


#: The precisions the NumPy code runs in, end to end: every state and gradient has the inputs' type.
FLOAT_TYPES = (np.float64, np.float32)


def _float_type(dtype):
    t = np.dtype(dtype).type
    if t not in FLOAT_TYPES:
        raise ValueError(f"unsupported dtype {np.dtype(dtype).name}; use float64 or float32")
    return t


def _compute_type(p: dict, xs):
    """The one type the pass runs in: object (SymPy) or the inputs' float type, which every
    parameter must share (no silent up- or down-cast)."""
    xs_type = np.asarray(xs).dtype
    if xs_type == object:
        return object
    t = xs_type.type if xs_type.type in FLOAT_TYPES else np.float64   # integers compute in float64
    for name in PARAM_NAMES:
        pt = np.asarray(p[name]).dtype
        if pt != object and pt.type in FLOAT_TYPES and pt.type is not t:
            raise ValueError(f"parameter {name} is {pt.name} but the inputs are {np.dtype(t).name}: "
                             f"give both one precision (init_params(..., dtype=np.{np.dtype(t).name}))")
    return t


def _check(p: dict, xs) -> tuple[int, int]:
    missing = set(PARAM_NAMES) - set(p)
    if missing:
        raise ValueError(f"parameters missing: {', '.join(sorted(missing))}")
    hidden, inputs = np.shape(p["Wxi"])
    for name, shape in _shapes(hidden, inputs).items():
        if np.shape(p[name]) != shape:
            raise ValueError(f"parameter {name} has shape {np.shape(p[name])}; expected {shape}")
    if np.ndim(xs) != 3 or np.shape(xs)[1] != inputs:
        raise ValueError(f"inputs xs have shape {np.shape(xs)}; expected (T, {inputs}, batch) "
                         f"for a block with {inputs} inputs")
    return hidden, inputs


def _object_map(fn, a, out):
    """``fn`` (a SymPy function) on each entry of an object array, into ``out`` if given."""
    res = np.frompyfunc(fn, 1, 1)(a)
    if out is None:
        return res
    out[...] = res
    return out


#: Below this pre-activation σ′ and σ would leave the precision's normal range (and e^{−a} would
#: overflow to inf, making σ′ = inf·0 = nan): σ is evaluated there. ln of the smallest normal
#: number, rounded up: −708 in float64, −87 in float32.
_SIG_FLOOR = {np.dtype(np.float64): -708.0, np.dtype(np.float32): -87.0}


def _sig_slope(a, slope):
    r"""σ(a) into ``a`` (in place) and σ′(a) into ``slope``, both to a few ulps *relative* over
    float64's normal range: σ′ = σ(a)·(e^{−a} σ(a)), where e^{−a} σ(a) = 1 − σ(a) computed without
    the cancellation of 1 − σ (σ′(30) is 9.4e-14, not 1e-3 off; σ′(500) is 7e-218, not 0).
    Pre-activations below −708 are raised to it, where σ and σ′ are 3e-308 (the true values are
    smaller still); in float32, below −87, where they are 1.6e-38.
    """
    if a.dtype == object:
        _object_map(sigma, a, a)
        slope[...] = a * (1 - a)
        return a
    np.maximum(a, _SIG_FLOOR[a.dtype], out=a)
    np.negative(a, out=slope)
    np.exp(slope, out=slope)            # e = e^{−a}
    np.add(slope, 1.0, out=a)
    np.reciprocal(a, out=a)             # σ = 1/(1 + e)
    slope *= a                          # 1 − σ = e σ
    slope *= a                          # σ′ = σ (1 − σ)
    return a


def _tanh_slope(a, slope, out=None):
    r"""tanh(a) into ``out`` (default ``a``) and tanh′(a) = 1/cosh²(a) into ``slope``, to a few ulps
    relative (1 − tanh² would be exactly 0 from |a| ≈ 19 on)."""
    if a.dtype == object:
        res = _object_map(sp.tanh, a, a if out is None else out)
        slope[...] = 1 - res * res
        return res
    with np.errstate(over="ignore"):    # cosh overflows where 1/cosh² underflows: 0 is right
        np.cosh(a, out=slope)
        slope *= slope
        np.reciprocal(slope, out=slope)
    return np.tanh(a, out=a if out is None else out)


def _col(v):
    return np.asarray(v)[:, None]


class StepState(NamedTuple):
    """What the backward rule needs of step t (each ``(H, batch)``)."""

    i: np.ndarray
    f: np.ndarray
    z: np.ndarray
    o: np.ndarray
    c_prev: np.ndarray
    c: np.ndarray
    tc: np.ndarray      # tanh(c_t)
    h_prev: np.ndarray
    slopes: np.ndarray  # (4H, batch): σ′(a^i), σ′(a^f), tanh′(a^z), σ′(a^o), rows as the gates
    tc_slope: np.ndarray  # tanh′(c_t)


@dataclass
class Cache:
    r"""The forward pass kept for :func:`backward`: ``gates`` is ``(T, 4H, batch)`` (rows i, f, z,
    o), ``c`` and ``h`` are ``(T + 1, H, batch)`` with :math:`c_0, h_0` first, ``tc`` is
    :math:`\tanh c_t`, ``(T, H, batch)``; ``slopes`` and ``tc_slope`` are the activations'
    derivatives at the same places (σ′ of the gates, tanh′ of the block input and of the cell),
    computed in the forward pass from the pre-activations, accurate in relative terms."""

    xs: np.ndarray
    gates: np.ndarray
    c: np.ndarray
    tc: np.ndarray
    h: np.ndarray
    slopes: np.ndarray
    tc_slope: np.ndarray
    tau: float | np.ndarray = 1.0   # the input and forget gates' temperature (binary-valued gates)
    hard: bool = False      # step gates: a test-time rule, with no gradient

    @property
    def steps(self) -> int:
        return len(self.tc)

    def step(self, t: int) -> StepState:
        """Step ``t`` (0-based) as views into the arrays."""
        H = self.c.shape[1]
        g = self.gates[t]
        return StepState(g[:H], g[H:2 * H], g[2 * H:3 * H], g[3 * H:], self.c[t], self.c[t + 1],
                         self.tc[t], self.h[t], self.slopes[t], self.tc_slope[t])


def forward(p: dict, xs, h0=None, c0=None, *, noise=None, tau: float = 1.0, hard: bool = False):
    r"""Run the block over ``xs`` (shape ``(T, D, batch)``); return ``hs`` (``(T, H, batch)``) and a
    :class:`Cache` for :func:`backward`. Works on object arrays of SymPy expressions and on float
    arrays, in float64 or float32 end to end: every state, and every gradient of
    :func:`backward`, has the inputs' precision, which the parameters must share.

    The input and forget gates may be made binary-valued (:mod:`derivations.binary_gates`):
    ``noise`` (``(T, 2H, batch)``, rows i then f) is added to their pre-activations and ``tau``
    divides them, :math:`\sigma((a + L)/\tau)` (a number, or one per unit: shape ``(2H, 1)``);
    ``hard`` replaces their σ by the step
    :math:`1[a \ge 0]` (a test-time rule only: :func:`backward` refuses it).
    """
    return _forward(p, xs, h0, c0, noise, tau, hard)


def _forward(p: dict, xs, h0, c0, noise, tau, hard):
    hidden, _ = _check(p, xs)
    dtype = _compute_type(p, xs)
    xs = np.asarray(xs, dtype=dtype)
    T, batch = xs.shape[0], xs.shape[2]
    if isinstance(tau, (int, float)) and tau == 1:
        tau = 1.0
    elif not (np.all(np.isfinite(tau)) and np.all(np.asarray(tau) > 0)):
        raise ValueError(f"the temperature tau must be a finite number > 0, got {tau}")
    if np.ndim(tau) and np.shape(tau) != (2 * hidden, 1):
        raise ValueError(f"tau has shape {np.shape(tau)}; expected a number or one per gate unit, "
                         f"{(2 * hidden, 1)} (rows: input gate, then forget gate)")
    if noise is not None and np.shape(noise) != (T, 2 * hidden, batch):
        raise ValueError(f"noise has shape {np.shape(noise)}; expected {(T, 2 * hidden, batch)} "
                         "(rows: input gate, then forget gate)")
    C = np.zeros((T + 1, hidden, batch), dtype)                   # c_0 … c_T
    Hs = np.zeros((T + 1, hidden, batch), dtype)                  # h_0 … h_T
    for val, buf in ((h0, Hs), (c0, C)):
        if val is not None:
            if np.shape(val) != (hidden, batch):
                raise ValueError(f"h0/c0 have shapes {np.shape(h0)}/{np.shape(c0)}; "
                                 f"expected ({hidden}, {batch})")
            buf[0] = val
    Wx = np.concatenate([p[f"Wx{g}"] for g in GATES])            # (4H, D): all input weights
    Wh = np.concatenate([p[f"Wh{g}"] for g in GATES])            # (4H, H)
    bias = np.concatenate([p[f"b{g}"] for g in GATES])
    # the peepholes as whole (H, batch) arrays: a column spread along short rows at every step
    # costs about three times an elementwise product
    wci, wcf, wco = (np.repeat(_col(p[k]), batch, axis=1) for k in ("wci", "wcf", "wco"))
    with threads_for(2 * Wx.size * T * batch):                   # every step's input part at once
        A = np.matmul(Wx, xs)
    A += np.repeat(bias[:, None], batch, axis=1)                  # plus the biases (T, 4H, batch)
    TC = np.empty((T, hidden, batch), dtype)
    S = np.empty((T, 4 * hidden, batch), dtype)                   # the activations' slopes
    STC = np.empty((T, hidden, batch), dtype)
    inv_tau = None if _unit(tau) else 1 / np.asarray(tau, dtype)  # decided once, not per step
    with one_thread():  # the per-step products are too small to share between BLAS threads
        for t in range(T):                    # each gate array is overwritten in place: a → σ(a)
            a, c = A[t], C[t]                                         # a: the four pre-activations
            a += Wh @ Hs[t]                                           # … + W_h· h_{t−1}
            i, f, z, o = a[:hidden], a[hidden:2 * hidden], a[2 * hidden:3 * hidden], a[3 * hidden:]
            i += wci * c                                              # i_t = σ(… + W_ci c_{t−1})
            f += wcf * c                                              # f_t = σ(… + W_cf c_{t−1})
            gates_if = a[:2 * hidden]
            if noise is not None:
                gates_if += noise[t]                                  # binary-valued: σ((a + L)/τ)
            if inv_tau is not None:
                gates_if *= inv_tau
            s = S[t]
            if hard:
                np.greater_equal(gates_if, 0, out=gates_if, casting="unsafe")  # 1[a ≥ 0]
                s[:2 * hidden] = 0
            else:
                _sig_slope(gates_if, s[:2 * hidden])                  # (i_t and f_t in one call)
            _tanh_slope(z, s[2 * hidden:3 * hidden])                  # z_t = tanh(…)
            c_new = np.multiply(f, c, out=C[t + 1])
            c_new += i * z                                            # c_t = f ⊙ c_{t−1} + i ⊙ z
            o += wco * c_new
            _sig_slope(o, s[3 * hidden:])                             # o_t = σ(… + W_co c_t)
            tc = _tanh_slope(c_new, STC[t], out=TC[t])
            np.multiply(o, tc, out=Hs[t + 1])                         # h_t = o ⊙ tanh(c_t)
    return Hs[1:], Cache(xs, A, C, TC, Hs, S, STC, tau, hard)


def _unit(tau) -> bool:
    """τ = 1 everywhere (the standard LSTM): no scaling at all."""
    return (isinstance(tau, float) and tau == 1.0) or bool(np.all(np.asarray(tau) == 1))


def step_backward(p: dict, s: StepState, dh, dc, Wh=None, out=None, tau: float = 1.0):
    r"""One step back: from ∂J/∂h_t (``dh``) and ∂J/∂c_t through later steps (``dc``) to
    ∂J/∂h_{t−1}, ∂J/∂c_{t−1}, ∂J/∂x_t and the pre-activation errors δ of the four gates
    (written into ``out`` when given). With binary-valued input and forget gates of temperature
    ``tau``, their derivative is :math:`G(1 - G)/\tau` in place of σ′ (the noise is held fixed)."""
    i, f, z, o, c_prev, c, tc, h_prev, slope, tc_slope = s
    wci, wcf, wco = _col(p["wci"]), _col(p["wcf"]), _col(p["wco"])
    H = len(wci)
    delta = np.empty((4 * H,) + np.shape(dh), np.asarray(dh).dtype) if out is None else out
    delta_i, delta_f, delta_z, delta_o = delta[:H], delta[H:2 * H], delta[2 * H:3 * H], delta[3 * H:]
    s_i, s_f, s_z, s_o = slope[:H], slope[H:2 * H], slope[2 * H:3 * H], slope[3 * H:]
    delta_o[...] = dh * tc * s_o                             # ∂h/∂a^o = tanh(c) σ'(a^o)
    dc = dc + dh * o * tc_slope + delta_o * wco              # ∂h/∂c_t: tanh path + peephole
    delta_i[...] = dc * z * s_i                              # ∂c/∂a^i = z σ'(a^i)
    delta_f[...] = dc * c_prev * s_f                         # ∂c/∂a^f = c_{t−1} σ'(a^f)
    if not _unit(tau):                                       # G(1 − G)/τ for G = σ((a + L)/τ)
        delta[:2 * H] *= 1 / tau
    delta_z[...] = dc * i * s_z                              # ∂c/∂a^z = i tanh'(a^z) = i (1 − z²)
    dc_prev = dc * f + delta_i * wci + delta_f * wcf         # ∂c_t/∂c_{t−1}: f + peepholes
    Wh = np.concatenate([p[f"Wh{g}"] for g in GATES]) if Wh is None else Wh
    dh_prev = Wh.T @ delta                                   # ∂c_t/∂h_{t−1}, ∂h_t/∂h_{t−1}
    return dh_prev, dc_prev, delta, dc


def backward(p: dict, cache: Cache, dhs, dh_last=None, dc_last=None, *, inputs: bool = True):
    r"""Backpropagation through time.

    ``dhs[t]`` is ∂J/∂h_t from the loss at step t (shape ``(T, H, batch)``); ``dh_last``,
    ``dc_last`` optional gradients arriving at h_T, c_T from beyond the sequence. Returns the
    parameter gradients (same keys as ``p``), ∂J/∂x_t for every t (``None`` with
    ``inputs=False``, when only the parameters' gradients are wanted), ∂J/∂h_0 and ∂J/∂c_0.
    """
    return _backward(p, cache, dhs, dh_last, dc_last, inputs)


def _backward(p: dict, cache: Cache, dhs, dh_last, dc_last, inputs):
    xs, T = cache.xs, cache.steps
    hidden, n_in = np.shape(p["Wxi"])
    batch = xs.shape[2]
    dhs = np.asarray(dhs)
    if dhs.shape != (T, hidden, batch):
        raise ValueError(f"dhs has shape {dhs.shape}; expected {(T, hidden, batch)}")
    kind = cache.gates.dtype
    for name, val in (("dhs", dhs), ("dh_last", dh_last), ("dc_last", dc_last)):
        vt = None if val is None else np.asarray(val).dtype
        if kind != object and vt is not None and vt != object and vt != kind:
            raise ValueError(f"{name} is {vt.name} but the forward pass ran in {kind.name}: "
                             "give the gradients the forward pass's precision")
    if cache.hard:
        raise ValueError("a forward pass with hard (step) gates has no gradient: "
                         "it is a test-time rule; train with noise and tau instead")
    dh = np.zeros_like(dhs[0]) if dh_last is None else np.asarray(dh_last)
    dc = np.zeros_like(dhs[0]) if dc_last is None else np.asarray(dc_last)
    # δ_t for every t, the steps side by side (δ of step t is delta[:, t]): the weight gradients
    # below are then one matrix product each, with no copy; each step works on a contiguous δ_t
    delta = np.empty((4 * hidden, T, batch), cache.gates.dtype)
    delta_t = np.empty((4 * hidden, batch), cache.gates.dtype)
    tau = 1.0 if _unit(cache.tau) else cache.tau                # decided once, not per step
    Wh = np.concatenate([p[f"Wh{g}"] for g in GATES])
    with one_thread():  # the per-step products are too small to share between BLAS threads
        for t in reversed(range(T)):
            dh, dc, _, _ = step_backward(p, cache.step(t), dh + dhs[t], dc, Wh, out=delta_t, tau=tau)
            delta[:, t] = delta_t
    # Σ_t δ_t x_tᵀ, Σ_t δ_t h_{t−1}ᵀ and W_xᵀ δ_t for every t: one matrix product each
    D2 = delta.reshape(4 * hidden, T * batch)
    with threads_for(2 * D2.size * n_in):
        dWx = D2 @ xs.transpose(0, 2, 1).reshape(T * batch, n_in)
    with threads_for(2 * D2.size * hidden):
        dWh = D2 @ cache.h[:T].transpose(0, 2, 1).reshape(T * batch, hidden)
    db = D2.sum(axis=1)
    Wx = np.concatenate([p[f"Wx{g}"] for g in GATES])
    with threads_for(2 * D2.size * n_in):
        dxs = (Wx.T @ D2).reshape(n_in, T, batch).transpose(1, 0, 2) if inputs else None
    c_prevs, c_news = cache.c[:T].transpose(1, 0, 2), cache.c[1:].transpose(1, 0, 2)
    grads = {}
    for n, g in enumerate(GATES):
        rows = slice(n * hidden, (n + 1) * hidden)
        grads[f"Wx{g}"], grads[f"Wh{g}"], grads[f"b{g}"] = dWx[rows], dWh[rows], db[rows]
    grads["wci"] = (delta[:hidden] * c_prevs).sum(axis=(1, 2))           # peepholes: δ ⊙ c, summed
    grads["wcf"] = (delta[hidden:2 * hidden] * c_prevs).sum(axis=(1, 2))
    grads["wco"] = (delta[3 * hidden:] * c_news).sum(axis=(1, 2))
    return grads, dxs, dh, dc


# ---- an independent, straightforward model for autodiff (oracle and benchmark baseline) -----

def autograd_loss(p: dict, xs, dhs):
    """J = Σ_t ⟨dhs_t, h_t⟩ written plainly in ``autograd.numpy`` (no stacking, no cache)."""
    import autograd.numpy as anp

    sig = lambda u: 1 / (1 + anp.exp(-u))  # noqa: E731
    hidden, batch = p["Wxi"].shape[0], xs.shape[2]
    h = anp.zeros((hidden, batch))
    c = anp.zeros((hidden, batch))
    J = 0.0
    for t in range(xs.shape[0]):
        x_t = xs[t]
        i = sig(p["Wxi"] @ x_t + p["Whi"] @ h + p["wci"][:, None] * c + p["bi"][:, None])
        f = sig(p["Wxf"] @ x_t + p["Whf"] @ h + p["wcf"][:, None] * c + p["bf"][:, None])
        z = anp.tanh(p["Wxc"] @ x_t + p["Whc"] @ h + p["bc"][:, None])
        c = f * c + i * z
        o = sig(p["Wxo"] @ x_t + p["Who"] @ h + p["wco"][:, None] * c + p["bo"][:, None])
        h = o * anp.tanh(c)
        J = J + anp.sum(dhs[t] * h)
    return J


# ---- published results: the local derivatives, element by element --------------------------


def _flat(expr, inst):
    """Plain symbols for the indexed leaves of ``expr`` (``W_hi[1, 2]`` → ``W_hi_12``), σ explicit."""
    expr = explicit(expr)
    names = {}
    for leaf in expr.atoms(sp.Indexed):
        names[leaf] = sp.Symbol(f"{leaf.base.label}_" + "".join(str(q) for q in leaf.indices), real=True)
    return expr.xreplace(names), names


#: Where the local derivatives are published: H = 2, D = 1, row k = 2, column j = 1.
RESULT_INSTANCE = {H: 2, D: 1, k: 2, j: 1}


@functools.cache
def results() -> list[Result]:
    r"""The local derivatives at H = 2, D = 1 (k = 2, j = 1), element by element, from the
    derivations' last steps: ∂c_k/∂c_{t−1,k}, ∂c_k/∂h_{t−1,j}, ∂h_k/∂h_{t−1,j} and ∂h_k/∂W_{co,k}.

    ``of`` is the block written out in plain symbols; σ(u) appears as (1 + tanh(u/2))/2.
    """
    inst = RESULT_INSTANCE
    out = []
    pairs = [(c_t[k], c_prev[k], dc_dcprev_derivation().result.xreplace({j: k}), r"c_{2}"),
             (c_t[k], h_prev[j], dc_dhprev_derivation().result, r"c_{2}"),
             (h_t[k], h_prev[j], dh_dhprev_derivation().result, r"h_{2}"),
             (h_t[k], W_c["o"][k], dh_dparams_derivation().steps[-1].expr[2], r"h_{2}")]
    for of, wrt, claim, name in pairs:
        of_e = evaluate(of.xreplace(inst), DEFINITIONS, inst)
        claim_e = evaluate(claim.xreplace(inst), DEFINITIONS, inst)
        wrt_e = wrt.xreplace(inst)
        of_f, names = _flat(of_e, inst)
        claim_f, names2 = _flat(claim_e, inst)
        out.append(Result(of_f, {**names, **names2}[wrt_e], claim_f, name=name))
    return out


# ---- numeric checks ----------------------------------------------------------------------------


def bptt_check_table(hidden: int = 16, inputs: int = 4, steps: int = 10, batch: int = 2,
                     seed: int = 0, rtol: float = 1e-7) -> CheckTable:
    r"""NumPy BPTT against autograd (every entry) and central differences (random directions)."""
    import autograd

    rng = np.random.default_rng(seed)
    p = init_params(hidden, inputs, rng)
    xs = rng.normal(size=(steps, inputs, batch))
    dhs = rng.normal(size=(steps, hidden, batch))
    _, cache = forward(p, xs)
    grads, *_ = backward(p, cache, dhs)
    ag = autograd.grad(lambda q: autograd_loss(q, xs, dhs))(p)
    err_ag = max(float(np.max(np.abs(grads[nm] - ag[nm]) / (1e-8 + np.abs(ag[nm])))) for nm in p)
    # central differences of the forward pass along random directions (float64, h = 1e-5)
    loss = lambda q: float(np.sum(dhs * forward(q, xs)[0]))  # noqa: E731
    err_fd, eps = 0.0, 1e-5
    for _ in range(3):
        v = {nm: rng.normal(size=np.shape(p[nm])) for nm in p}
        plus = {nm: p[nm] + eps * v[nm] for nm in p}
        minus = {nm: p[nm] - eps * v[nm] for nm in p}
        fd = (loss(plus) - loss(minus)) / (2 * eps)
        an = sum(float(np.sum(grads[nm] * v[nm])) for nm in p)
        err_fd = max(err_fd, abs(fd - an) / max(abs(fd), 1e-8))
    table = whole_gradient_table(
        f"BPTT in NumPy (H = {hidden}, D = {inputs}, T = {steps}, batch {batch}) against independent oracles",
        "Autograd differentiates a separate, plainly written forward pass (autograd_loss); "
        "central differences use h = 1e-5 along 3 random directions. The float32 row runs the same "
        "pass with float32 parameters and inputs and compares with autograd in float64.",
        entries=sum(np.size(v) for v in p.values()), err_autograd=err_ag, err_directional=err_fd,
        directions=3, rtol=rtol)
    table.rows.append(float32_row(p, xs, dhs, ag))
    return table


#: Normwise relative error allowed of a float32 BPTT against float64 autodiff (float32's unit
#: roundoff is 6e-8; ten steps of products and sums stay well inside this).
FLOAT32_RTOL = 1e-5


def float32_row(p: dict, xs, dhs, reference: dict, tol: float = FLOAT32_RTOL, **forward_options) -> dict:
    r"""A check-table row: BPTT run in float32 end to end (every gradient float32), against the
    float64 ``reference`` gradients, max over parameters of ‖g₃₂ − g‖/‖g‖. ``forward_options``
    (noise, tau) go to :func:`forward`."""
    p32 = {k: np.asarray(v, np.float32) for k, v in p.items()}
    _, cache = forward(p32, np.asarray(xs, np.float32), **forward_options)
    grads, *_ = backward(p32, cache, np.asarray(dhs, np.float32), inputs=False)
    types = {g.dtype for g in grads.values()}
    err = max(float(np.linalg.norm(grads[k].astype(float) - reference[k]) / np.linalg.norm(reference[k]))
              for k in p if np.linalg.norm(reference[k]) > 0)
    return {"oracle": "reverse-mode autodiff (autograd), float64", "compared": "float32 pass, every parameter",
            "max relative error": err, "tolerance": f"{tol:g} (normwise, per parameter)",
            "passed": err <= tol and types == {np.dtype(np.float32)}}


@functools.cache
def numeric_checks() -> list[CheckTable]:
    """The published local derivatives against the oracles, and BPTT at H = 16, T = 10."""
    return [crosscheck(results(), points=2, seed=0,
                       title="Local derivatives (H = 2, D = 1) against independent oracles"),
            bptt_check_table()]


# ---- the constant error carousel ----------------------------------------------------------------


def _state_jacobian(p: dict, st: StepState) -> dict:
    r"""The one-step state Jacobian ∂(h_t, c_t)/∂(h_{t−1}, c_{t−1}) of one sequence (batch column
    0), from the derivations above: ``"full"`` (2H × 2H), and its pieces ``"f"``, the peephole
    terms ``"pf"``, ``"pi"`` of the diagonal ∂c_t/∂c_{t−1} = f + pf + pi."""
    H = len(st.i)
    i, f, z, o, cp, tc = (v[:, 0] for v in (st.i, st.f, st.z, st.o, st.c_prev, st.tc))
    di, df, dz, do = (st.slopes[k * H:(k + 1) * H, 0] for k in range(4))
    pf, pi = df * cp * p["wcf"], di * z * p["wci"]
    dc_dc = f + pf + pi                                                   # ∂c_t/∂c_{t−1}, diagonal
    dc_dh = (df * cp)[:, None] * p["Whf"] + (di * z)[:, None] * p["Whi"] + (dz * i)[:, None] * p["Whc"]
    dh_dc = o * st.tc_slope[:, 0] + do * tc * p["wco"]                   # ∂h_t/∂c_t, diagonal
    dh_dh = (do * tc)[:, None] * p["Who"] + dh_dc[:, None] * dc_dh
    full = np.block([[dh_dh, np.diag(dh_dc * dc_dc)], [dc_dh, np.diag(dc_dc)]])
    return {"full": full, "f": f, "pf": pf, "pi": pi}


def carousel_curves(hidden: int = 16, steps: int = 60, seed: int = 0, forget_bias: float = 3.0,
                    rnn_scale: float = 1.0):
    r"""‖∂c_T/∂c_t‖₂ of the LSTM and ‖∂h_T/∂h_t‖₂ of a simple tanh RNN against the lag T − t.

    Both Jacobians are products of one-step Jacobians: for the LSTM the full state Jacobian
    ∂(h_t, c_t)/∂(h_{t−1}, c_{t−1}) derived above; for the RNN h_t = tanh(W h_{t−1} + U x_t),
    diag(1 − h_t²) W, multiplied by :func:`derivations.rnn_bptt.jacobian_norms`. Returns
    ``(lags, lstm_norms, rnn_norms)``.
    """
    rng = np.random.default_rng(seed)
    p = init_params(hidden, 1, rng)
    p["bf"] = p["bf"] + forget_bias
    xs = rng.normal(size=(steps, 1, 1))
    _, cache = forward(p, xs)
    jac = [_state_jacobian(p, cache.step(t))["full"] for t in range(cache.steps)]
    w = rng.normal(size=(hidden, hidden)) * rnn_scale / np.sqrt(hidden)
    u = rng.normal(size=(hidden, 1))
    hs = [np.zeros(hidden)]
    for t in range(steps):
        hs.append(np.tanh(w @ hs[-1] + u @ xs[t, :, 0]))
    lags = np.arange(1, steps)
    lstm_n = []
    prod = np.eye(2 * hidden)
    for lag in lags:
        prod = prod @ jac[steps - lag]           # ∂(h_T,c_T)/∂(h_{T−lag}, c_{T−lag})
        lstm_n.append(np.linalg.norm(prod[hidden:, hidden:], 2))
    # the simple RNN's products diag(1 − h²) W, by the recurrent chapter's own code
    rnn_n = rnn_bptt.jacobian_norms(w, np.array(hs))[1:steps]
    return lags, np.array(lstm_n), rnn_n


def carousel_parts(hidden: int = 16, steps: int = 60, seed: int = 0, forget_bias: float = 3.0,
                   peepholes: bool = True) -> dict:
    r"""What :func:`carousel_curves`' LSTM curve is made of, for the same seeded block and inputs.

    For each lag :math:`\ell = T - t = 1 … T − 1`:

    - ``"state"``: :math:`\lVert \partial c_T/\partial c_t \rVert_2`, the cell block of the
      product of full state Jacobians :math:`\partial(h_k, c_k)/\partial(h_{k-1}, c_{k-1})`
      (every path, through :math:`h` too): :func:`carousel_curves`' curve when ``peepholes``;
    - ``"cell"``: the norm of the product of the direct one-step derivatives alone,
      :math:`\prod_k \partial c_k/\partial c_{k-1}` (diagonal: :math:`f_k` plus the two peephole
      terms of :func:`dc_dcprev_derivation`), the largest over the units;
    - ``"forget"``: the same with the forget gates alone, :math:`\max_n \prod_k f_{n,k}`;

    and ``"f"`` (:math:`f_k`, shape (T, H)), ``"c"`` (:math:`c_0 … c_T`, (T + 1, H)),
    ``"peephole_f"`` and ``"peephole_i"`` (the two peephole terms
    :math:`\sigma'(a^f_k)\, c_{k-1} W_{cf}` and :math:`\sigma'(a^i_k)\, z_k W_{ci}`, (T, H)).
    ``peepholes=False`` zeroes :math:`W_{ci}, W_{cf}, W_{co}` of the same draw.
    """
    rng = np.random.default_rng(seed)
    p = init_params(hidden, 1, rng, peepholes=peepholes)  # draws as carousel_curves does
    p["bf"] = p["bf"] + forget_bias
    xs = rng.normal(size=(steps, 1, 1))
    _, cache = forward(p, xs)
    pieces = [_state_jacobian(p, cache.step(t)) for t in range(cache.steps)]
    jac = [q["full"] for q in pieces]
    fs, pf, pi = (np.array([q[k] for q in pieces]) for k in ("f", "pf", "pi"))
    lags = np.arange(1, steps)
    state, prod = [], np.eye(2 * hidden)
    for lag in lags:
        prod = prod @ jac[steps - lag]
        state.append(np.linalg.norm(prod[hidden:, hidden:], 2))
    # products over the last ℓ steps, k = T − ℓ + 1 … T, one per unit; the norm of a diagonal
    # matrix is its largest entry in magnitude
    cell = np.abs(np.cumprod((fs + pf + pi)[::-1], axis=0))[:steps - 1].max(axis=1)
    forget = np.cumprod(fs[::-1], axis=0)[:steps - 1].max(axis=1)
    return {"lags": lags, "state": np.array(state), "cell": cell, "forget": forget, "f": fs,
            "c": cache.c[:, :, 0].copy(), "peephole_f": pf, "peephole_i": pi}
