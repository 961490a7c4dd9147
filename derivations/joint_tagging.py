r"""The joint entity–relation tagger of Zheng et al. (ACL 2017): bi-LSTM encoder, LSTM decoder
that reads the previous tag vector, softmax output and the α-biased objective.

Notation (column vectors; one sentence of :math:`n` words, :math:`N_t` tags, index :math:`t`
for words, :math:`k` for tags):

- :math:`w_t` the embedding of word :math:`t`; the encoder runs a forward and a backward LSTM
  (the peephole block of :mod:`derivations.lstm_gates`) and concatenates their outputs,
  :math:`h_t = [\overrightarrow{h}_t; \overleftarrow{h}_t]`;
- the decoder (superscript (2), written :math:`s_t = h^{(2)}_t` in the code) reads :math:`h_t`, its
  own :math:`s_{t-1}` and the previous tag vector :math:`T_{t-1}`; only its output gate has a
  peephole, and :math:`o` takes no :math:`T_{t-1}`:

.. math::

   i_t &= \sigma(W_{wi} h_t + W_{hi} s_{t-1} + W_{ti} T_{t-1} + b_i) \\
   f_t &= \sigma(W_{wf} h_t + W_{hf} s_{t-1} + W_{tf} T_{t-1} + b_f) \\
   z_t &= \tanh(W_{wc} h_t + W_{hc} s_{t-1} + W_{tc} T_{t-1} + b_c) \\
   c_t &= f_t \odot c_{t-1} + i_t \odot z_t \\
   o_t &= \sigma(W_{wo} h_t + W_{ho} s_{t-1} + W_{co} c_t + b_o) \\
   s_t &= o_t \odot \tanh(c_t) \\
   T_t &= W_{ts} s_t + b_T, \qquad y_t = W_y T_t + b_y, \qquad p_t = \operatorname{softmax}(y_t)

- the objective (minimised; the paper maximises its negative) is
  :math:`J = -\sum_t \omega_t \log p_t(\text{gold}_t)` with :math:`\omega_t = 1` when the gold tag
  is "O" and :math:`\omega_t = \alpha` otherwise (α = 10 in the paper); :math:`e_t` is the
  one-hot gold tag.

The relation-classification branch of the hybrid model (Zheng et al., Neurocomputing 2017; the
seed: "merge :math:`h_t` into the word embeddings, then a CNN"): a merge layer, a 1-D convolution
over the sentence, max-pooling over positions and a softmax over the relation types. For one
filter :math:`F \in \mathbb{R}^{K \times D}` over the merged inputs :math:`x_\ell = [w_\ell; h_\ell]`:

.. math::

   g_t = \sum_{\kappa=1}^{K} \sum_{d=1}^{D} F_{\kappa d}\, x_{t+\kappa-1,d} + b_F, \qquad
   v_t = \tanh g_t, \qquad m = \max_t v_t, \qquad p = \operatorname{softmax}(V m + b_V),

and, where position :math:`t^*` is the unique maximum,
:math:`\partial m/\partial F_{\kappa d} = (1 - v_{t^*}^2)\, x_{t^*+\kappa-1,d}`,
:math:`\partial m/\partial b_F = 1 - v_{t^*}^2` and
:math:`\partial m/\partial x_{\ell d} = (1 - v_{t^*}^2) F_{\ell - t^* + 1, d}` for the words of the pooled
window (0 for the others). At a tie the code passes the gradient to the first maximiser, a
subgradient of the max (:func:`tie_table`).

Examples
--------
>>> model = TaggerModel.create(vocab=VOCAB, tags=TAGS, rng=np.random.default_rng(0))
>>> words, tags = CORPUS[0]
>>> " ".join(words)
'New York is in America'
>>> " ".join(tags)
'B-CT-2 E-CT-2 O O S-CT-1'
>>> round(float(model.loss(words, tags)), 6) > 0
True
>>> model.loss(words, tags[:3])
Traceback (most recent call last):
...
ValueError: sentence has 5 words but 3 tags
>>> x = merge(model, words)
>>> x.shape  # five words; embedding (6) and both encoder directions (6 + 6)
(5, 18)
>>> rc = RelationClassifier.create(x.shape[1], filters=4, width=2)
>>> p, loss, _ = rc.forward(x, "contains(e2, e1)")
>>> p.shape, bool(np.isclose(p.sum(), 1)), loss > 0
((3,), True, True)
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import sympy as sp

from . import lstm_gates
from .core import Condition, Derivation, Result, evaluate, indexed, notation, sym
from .core import shown_product as _mul
from .lstm_gates import sigma
from .oracles import CheckTable, crosscheck, whole_gradient_table
from .sigmoid_neuron import sigmoid_slope, tanh_slope
from .softmax_ce import ce_grad, log_softmax

TITLE = ("Joint entity–relation extraction: the tagger's α-weighted output gradient and its route back; "
         "the relation classifier's max-pooled CNN")

# ---- the output layer: softmax–CE with the weight ω ----------------------------------------------
N = sym("N", meaning="number of tags", integer=True, positive=True)
i, k, r, q = (sym(s_, integer=True, positive=True) for s_ in "ikrq")
notation(i, r"index of a tag, $1 \le i \le N$")
notation(k, r"index of a tag, $1 \le k \le N$; in the decoder's derivatives, of a decoder unit")
notation(r, r"index of an entry of the tag vector, $1 \le r \le M$")
y = indexed("y", "y", meaning="tag scores at step $t$, $y_t = W_y T_t + b_y$", shape=r"${N \times 1}$", real=True)
e = indexed("e", "e", meaning="gold tag at step $t$, one-hot", shape=r"${N \times 1}$", real=True, nonnegative=True)
p = indexed("p", "p", meaning=r"tag probabilities at step $t$, $\operatorname{softmax}(y_t)$", shape=r"${N \times 1}$",
            real=True, positive=True)
omega = sym("omega", r"\omega", meaning=r"weight of step $t$: 1 when the gold tag is “O”, $\alpha$ otherwise",
            shape="scalar", real=True, positive=True)
J = sym("J", "J_t", meaning=r"objective of step $t$, $-\omega_t \sum_k e_{t,k} \log p_{t,k}$", shape="scalar",
        real=True)

OUT_DEFS = {p: sp.Lambda(k, sp.exp(y[k]) / sp.Sum(sp.exp(y[q]), (q, 1, N))),
            J: -omega * sp.Sum(e[k] * sp.log(p[k]), (k, 1, N))}
ONE_HOT = Condition(sp.Eq(sp.Sum(e[k], (k, 1, N)), 1), (sp.Eq(e[N], 1 - sp.Sum(e[k], (k, 1, N - 1))),))



@functools.cache
def output_derivation() -> Derivation:
    r"""∂J_t/∂y_{t,i} = ω (p_i − e_i): the softmax–CE gradient, scaled by the tag's weight."""
    inst = [{N: 3, i: 1}, {N: 3, i: 3}]
    d = Derivation("jt_output", "The weighted objective against the scores",
                   sp.Derivative(J, y[i]), definitions=OUT_DEFS, instances=inst,
                   label="joint-tagging-output")
    d.step(-omega * sp.Sum(_mul(e[k], 1 / p[k], sp.Derivative(p[k], y[i])), (k, 1, N)),
           r"definition of $J_t$; $(\log u)' = u'/u$")
    d.step(-omega * sp.Sum(e[k] * (sp.KroneckerDelta(k, i) - p[i]), (k, 1, N)),
           r"softmax Jacobian $\partial p_k/\partial y_i = p_k(\delta_{ki} - p_i)$")
    d.step(omega * (p[i] * sp.Sum(e[k], (k, 1, N)) - e[i]), r"split the sum")
    d.step(omega * (p[i] - e[i]), "the gold tag is one-hot", given=[ONE_HOT])
    return d


# ---- back through T_t into the decoder ----------------------------------------------------------
M = sym("M", meaning="size of the tag vector", integer=True, positive=True)   # size of the tag vector T_t
S = sym("S", meaning="number of decoder units", integer=True, positive=True)   # decoder units
j = sym("j", meaning=r"index of what is differentiated by: a unit of $s_t$, $h_t$ or $T_{t-1}$", integer=True,
        positive=True)
W_y = indexed("W_y", "W_{y}", meaning="weights from the tag vector to the tag scores", shape=r"${N \times M}$",
              real=True)
b_y = indexed("b_y", "b_{y}", meaning="bias of the tag scores", shape=r"${N \times 1}$", real=True)
W_ts = indexed("W_ts", "W_{ts}", meaning="weights from the decoder state to the tag vector", shape=r"${M \times S}$",
               real=True)
b_T = indexed("b_T", "b_{T}", meaning="bias of the tag vector", shape=r"${M \times 1}$", real=True)
T_vec = indexed("T_t", "T", meaning="tag vector at step $t$, $W_{ts} s_t + b_T$", shape=r"${M \times 1}$", real=True)
s_vec = indexed("s_t", "s", meaning="decoder state at step $t$ (the paper's $h^{(2)}_t$), read by $T_t$",
                shape=r"${S \times 1}$", real=True)
dy = indexed("dy", r"\delta^{y}", meaning=r"error at the tag scores, $\delta^y_k = \partial J_t/\partial y_k$",
             shape=r"${N \times 1}$", real=True)

ROUTE_DEFS = {
    y: sp.Lambda(k, sp.Sum(W_y[k, r] * T_vec[r], (r, 1, M)) + b_y[k]),
    T_vec: sp.Lambda(r, sp.Sum(W_ts[r, q] * s_vec[q], (q, 1, S)) + b_T[r]),
}


@functools.cache
def route_derivation() -> Derivation:
    r"""∂J_t/∂s_{t,j} = Σ_r W_ts,rj Σ_k W_y,kr δ^y_k: both output layers are linear.

    J_t depends on s_t only through y_t, so the chain rule starts the derivation:
    ∂J_t/∂s_j = Σ_k δ^y_k ∂y_k/∂s_j with δ^y_k := ∂J_t/∂y_k from :func:`output_derivation`.
    """
    d = Derivation("jt_route", "From the scores back to the decoder state",
                   sp.Sum(_mul(dy[k], sp.Derivative(y[k], s_vec[j])), (k, 1, N)),
                   definitions=ROUTE_DEFS, instances=[{N: 3, M: 2, S: 2, j: 2}],
                   label="joint-tagging-route", lhs=sp.Derivative(J, s_vec[j]))
    d.step(sp.Sum(_mul(dy[k], sp.Sum(W_y[k, r] * sp.Derivative(T_vec[r], s_vec[j]), (r, 1, M))), (k, 1, N)),
           r"$y = W_y T + b_y$")
    d.step(sp.Sum(W_ts[r, j] * sp.Sum(W_y[k, r] * dy[k], (k, 1, N)), (r, 1, M)),
           r"$T = W_{ts} s + b_T$; swap the sums: $(W_{ts}^\top W_y^\top \delta^y)_j$")
    return d


# ---- through the decoder into the encoder -------------------------------------------------------
Hh = sym("Hh", "2H", meaning="size of the encoder output (both directions)", integer=True,
         positive=True)   # encoder output size (both directions)
h_enc = indexed("h_enc", "h", meaning=r"encoder output at step $t$, $[\overrightarrow{h}_t; \overleftarrow{h}_t]$",
                shape=r"${2H \times 1}$", real=True)
T_prev = indexed("T_prev", "T_{t-1}", meaning="previous tag vector", shape=r"${M \times 1}$", real=True)
s_prev = indexed("s_prev", "s_{t-1}", meaning="previous decoder state", shape=r"${S \times 1}$", real=True)
c_prev = indexed("c2_prev", "c_{t-1}", meaning="previous decoder cell state", shape=r"${S \times 1}$", real=True)
DG = ("i", "f", "c", "o")
W_w = {g: indexed(f"W_w{g}", f"W_{{w{g}}}", real=True) for g in DG}
W_hd = {g: indexed(f"W_hd{g}", f"W_{{h{g}}}", real=True) for g in DG}
W_t = {g: indexed(f"W_t{g}", f"W_{{t{g}}}", real=True) for g in ("i", "f", "c")}
b_d = {g: indexed(f"b_d{g}", f"b_{{{g}}}", real=True) for g in DG}
W_co = indexed("W_co2", "W_{co}", real=True)
for _g, _what in lstm_gates.GATE_NAMES.items():
    notation(W_w[_g], f"weights from the encoder output to the decoder's {_what}", r"${S \times 2H}$")
    notation(W_hd[_g], f"weights from $s_{{t-1}}$ to the decoder's {_what}", r"${S \times S}$")
    if _g in W_t:
        notation(W_t[_g], f"weights from $T_{{t-1}}$ to the decoder's {_what}", r"${S \times M}$")
    notation(b_d[_g], f"bias of the decoder's {_what}", r"${S \times 1}$")
notation(W_co, "peephole of the decoder's output gate, diagonal: one weight per cell", r"${S \times 1}$")
gi, gf, gz, go, gc, gs = (indexed(nm, tex, real=True) for nm, tex in
                          (("i2", "i"), ("f2", "f"), ("z2", "z"), ("o2", "o"), ("c2", "c"), ("s2", "s")))
notation(gi, "decoder input gate at step $t$", r"${S \times 1}$")
notation(gf, "decoder forget gate at step $t$", r"${S \times 1}$")
notation(gz, "decoder block input at step $t$", r"${S \times 1}$")
notation(go, "decoder output gate at step $t$", r"${S \times 1}$")
notation(gc, "decoder cell state at step $t$", r"${S \times 1}$")
notation(gs, r"decoder state at step $t$, $o_t \odot \tanh(c_t)$", r"${S \times 1}$")


def _pre(g):
    out = sp.Sum(W_w[g][k, q] * h_enc[q], (q, 1, Hh)) + sp.Sum(W_hd[g][k, q] * s_prev[q], (q, 1, S)) + b_d[g][k]
    if g != "o":
        out += sp.Sum(W_t[g][k, q] * T_prev[q], (q, 1, M))
    return out


DEC_DEFS = {gi: sp.Lambda(k, sigma(_pre("i"))), gf: sp.Lambda(k, sigma(_pre("f"))),
            gz: sp.Lambda(k, sp.tanh(_pre("c"))), gc: sp.Lambda(k, gf[k] * c_prev[k] + gi[k] * gz[k]),
            go: sp.Lambda(k, sigma(_pre("o") + W_co[k] * gc[k])), gs: sp.Lambda(k, go[k] * sp.tanh(gc[k]))}


def _dc(W):
    return (c_prev[k] * gf[k] * (1 - gf[k]) * W["f"][k, j] + gz[k] * gi[k] * (1 - gi[k]) * W["i"][k, j]
            + gi[k] * (1 - gz[k] ** 2) * W["c"][k, j])


@functools.cache
def decoder_derivation() -> Derivation:
    r"""∂s_k/∂h_j (into the encoder) and ∂s_k/∂T_{t−1,j} (back to the previous tag vector)."""
    dch, dct = _dc(W_w), _dc(W_t)
    osl = go[k] * (1 - go[k]) * sp.tanh(gc[k])
    odc = go[k] * (1 - sp.tanh(gc[k]) ** 2) + osl * W_co[k]
    d = Derivation("jt_decoder", "The decoder state against the encoder output and the previous tag vector",
                   sp.ImmutableMatrix([sp.Derivative(gs[k], h_enc[j]), sp.Derivative(gs[k], T_prev[j])]),
                   definitions=DEC_DEFS, instances=[{Hh: 2, S: 2, M: 2, k: 2, j: 1}],
                   label="joint-tagging-decoder")
    d.step(sp.ImmutableMatrix([osl * W_w["o"][k, j] + odc * sp.Derivative(gc[k], h_enc[j]),
                               odc * sp.Derivative(gc[k], T_prev[j])]),
           r"$s = o\tanh c$ with the peephole on $c_t$ (as for $\partial h/\partial c$ in the LSTM chapter); $o$ takes no $T_{t-1}$")
    d.step(sp.ImmutableMatrix([osl * W_w["o"][k, j] + odc * dch, odc * dct]),
           r"$c = f c_{t-1} + i z$ (as for $\partial c/\partial h_{t-1}$ in the LSTM chapter), no peepholes on $i, f$")
    return d


# ---- the relation-classification branch: merge layer → CNN → max-pooling → softmax ------------------
# The hybrid model's second branch (Zheng et al., Neurocomputing 2017; the seed: "merge h_t into the
# word embeddings w_1 … w_n, then a CNN"). One filter is derived here; every filter is the same
# computation with its own F and b_F. Sizes of the derivations: n = 4 words, width K = 2, D = 2
# features a word, so T = n − K + 1 = 3 positions; the pooled maximum is at position 2.
RC_WORDS, RC_WIDTH, RC_FEATURES = 4, 2, 2
RC_POSITIONS = RC_WORDS - RC_WIDTH + 1
RC_POOLED = 2  # the position whose feature is the maximum, in the derivations
x_rc = indexed("x_rc", "x", meaning=r"merge layer's output for word $\ell$, $x_\ell = [w_\ell; h_\ell]$ (the CNN's input)",
               shape=r"${n \times D}$", real=True)
F_rc = indexed("F_rc", "F", meaning=r"weights of one convolution filter, $K$ words wide", shape=r"${K \times D}$",
               real=True)
b_F = sym("b_F", "b_{F}", meaning="bias of the filter", shape="scalar", real=True)
g_rc = indexed("g_rc", "g", meaning=r"the filter's response at position $t$, "
               r"$g_t = \sum_\kappa \sum_d F_{\kappa d} x_{t+\kappa-1,d} + b_F$", shape=r"${(n-K+1) \times 1}$", real=True)
v_rc = indexed("v_rc", "v", meaning=r"the filter's feature at position $t$, $v_t = \tanh g_t$",
               shape=r"${(n-K+1) \times 1}$", real=True)
m_rc = sym("m_rc", "m", meaning=r"the max-pooled feature, $m = \max_t v_t$ (one entry of the vector fed to the softmax)",
           shape="scalar", real=True)
kappa = sym("kappa", r"\kappa", integer=True, positive=True)
d_rc = sym("d_rc", "d", integer=True, positive=True)
t_rc = sym("t_rc", "t", integer=True, positive=True)
notation(kappa, r"index of a row of the filter (a word of its window), $1 \le \kappa \le K$")
notation(d_rc, r"index of a feature of the merged input, $1 \le d \le D$")
notation(t_rc, r"position of the filter's window, $1 \le t \le n - K + 1$")


class PooledMax(sp.Max):
    r"""``max(v_1, …, v_T)`` kept as written: SymPy's ``Max`` compares its arguments when it is made
    (for expanded :math:`\tanh` of sums that takes seconds), which a maximum of features that are
    all different functions never needs. Its derivative is SymPy's own,
    :math:`\partial \max(v)/\partial v_t = \theta(v_t - \max_{s \ne t} v_s)`."""

    def __new__(cls, *args, **assumptions):
        assumptions["evaluate"] = False
        return super().__new__(cls, *args, **assumptions)

    def fdiff(self, argindex):
        others = [a for q, a in enumerate(self.args) if q != argindex - 1]
        rest = others[0] if len(others) == 1 else sp.Max(*others, evaluate=False)
        return sp.Heaviside(self.args[argindex - 1] - rest)


def _response(t):
    return sp.Sum(sp.Sum(F_rc[kappa, d_rc] * x_rc[t + kappa - 1, d_rc], (d_rc, 1, RC_FEATURES)),
                  (kappa, 1, RC_WIDTH)) + b_F


#: The filter, its features and the pooled maximum, as the checker knows them.
RC_DEFS = {g_rc: sp.Lambda(t_rc, _response(t_rc)), v_rc: sp.Lambda(t_rc, sp.tanh(g_rc[t_rc])),
           m_rc: PooledMax(*[v_rc[t] for t in range(1, RC_POSITIONS + 1)])}
#: The pooling rule alone: m = max(v_1, v_2, v_3) of free features.
POOL_DEFS = {m_rc: sp.Max(*[v_rc[t] for t in range(1, RC_POSITIONS + 1)])}


@functools.cache
def pooled_condition() -> Condition:
    r""":math:`v_2 > v_t` for every other :math:`t` (position 2 is the unique maximum): every step
    of θ that the derivative of the max holds is then 1 at position 2 and 0 elsewhere, for free
    features and for the filter's own :math:`v_t = \tanh g_t` (written out as the checker writes them)."""
    subs = []
    for defs in (POOL_DEFS, RC_DEFS):
        for t in range(1, RC_POSITIONS + 1):
            subs.append(sp.Eq(evaluate(sp.Derivative(m_rc, v_rc[t]), defs), int(t == RC_POOLED)))
    others = ", ".join(f"v_{{{t}}}" for t in range(1, RC_POSITIONS + 1) if t != RC_POOLED)
    shown = sym("v_2 is the unique maximum", rf"v_{{{RC_POOLED}}} > {others}")
    return Condition(shown, tuple(subs))


def _dm_dv(t):
    return sp.Derivative(m_rc, v_rc[t])


@functools.cache
def pool_derivation() -> Derivation:
    r"""∂max(v)/∂v_t = θ(v_t − max_{s≠t} v_s): 1 at the unique maximum, 0 elsewhere."""
    vs = range(1, RC_POSITIONS + 1)
    d = Derivation("rc_pool", "The max-pooling layer against its inputs",
                   sp.ImmutableMatrix([_dm_dv(t) for t in vs]), definitions=POOL_DEFS, label="joint-tagging-rc-pool")
    d.step(sp.ImmutableMatrix([sp.Heaviside(v_rc[t] - sp.Max(*[v_rc[s] for s in vs if s != t])) for t in vs]),
           r"$\partial \max(v)/\partial v_t = \theta(v_t - \max_{s \ne t} v_s)$, $\theta$ the unit step "
           r"(undefined at 0: a tie)")
    d.step(sp.ImmutableMatrix([int(t == RC_POOLED) for t in vs]),
           r"only the maximum passes the gradient", given=[pooled_condition()])
    return d


def _through_features(local):
    """Σ_t ∂m/∂v_t · (1 − v_t²) · local(t): the chain rule through tanh, for every position."""
    return sp.Add(*[_mul(_dm_dv(t), 1 - v_rc[t] ** 2, *([local(t)] if local(t) != 1 else []))
                    for t in range(1, RC_POSITIONS + 1) if local(t) != 0])


@functools.cache
def filter_derivation() -> Derivation:
    r"""∂m/∂F_{κd} = (1 − v_2²) x_{κ+1,d}: the window that won the pooling, times its tanh slope."""
    inst = [{kappa: kk, d_rc: dd} for kk in range(1, RC_WIDTH + 1) for dd in range(1, RC_FEATURES + 1)]
    d = Derivation("rc_filter", "The pooled feature against the filter's weights", sp.Derivative(m_rc, F_rc[kappa, d_rc]),
                   definitions=RC_DEFS, instances=inst, label="joint-tagging-rc-filter")
    d.step(sp.Sum(_mul(_dm_dv(t_rc), sp.Derivative(v_rc[t_rc], F_rc[kappa, d_rc])), (t_rc, 1, RC_POSITIONS)),
           r"chain rule: $F_{\kappa d}$ reaches $m$ through every position's feature")
    d.step(sp.Sum(_mul(_dm_dv(t_rc), 1 - v_rc[t_rc] ** 2, x_rc[t_rc + kappa - 1, d_rc]), (t_rc, 1, RC_POSITIONS)),
           r"$\tanh' = 1 - \tanh^2$; $g_t$ holds $F_{\kappa d}$ once, times $x_{t+\kappa-1,d}$")
    d.step(_mul(1 - v_rc[RC_POOLED] ** 2, x_rc[RC_POOLED + kappa - 1, d_rc]),
           r"the pooling rule above: only position 2 passes the gradient", given=[pooled_condition()])
    return d


@functools.cache
def bias_derivation() -> Derivation:
    r"""∂m/∂b_F = 1 − v_2²."""
    d = Derivation("rc_bias", "The pooled feature against the filter's bias", sp.Derivative(m_rc, b_F),
                   definitions=RC_DEFS, label="joint-tagging-rc-bias")
    d.step(_through_features(lambda t: 1), r"chain rule, $\tanh' = 1 - \tanh^2$ and $\partial g_t/\partial b_F = 1$")
    d.step(1 - v_rc[RC_POOLED] ** 2, r"the pooling rule above", given=[pooled_condition()])
    return d


def _tap(word, t, d):
    """F_{κd} with κ = word − t + 1, the filter row that position t applies to the word (0 outside the window)."""
    kk = word - t + 1
    return F_rc[kk, d] if 1 <= kk <= RC_WIDTH else 0


@functools.cache
def input_derivation() -> Derivation:
    r"""∂m/∂x_{ℓd} for every word ℓ: (1 − v_2²) F_{ℓ−1,d} inside the pooled window, 0 outside it."""
    words = range(1, RC_WORDS + 1)
    d = Derivation("rc_input", "The pooled feature against the merged input, word by word",
                   sp.ImmutableMatrix([sp.Derivative(m_rc, x_rc[w, d_rc]) for w in words]), definitions=RC_DEFS,
                   instances=[{d_rc: dd} for dd in range(1, RC_FEATURES + 1)], label="joint-tagging-rc-input")
    d.step(sp.ImmutableMatrix([_through_features(lambda t, w=w: _tap(w, t, d_rc)) for w in words]),
           r"chain rule: word $\ell$ is row $\ell - t + 1$ of the window at every position $t$ it falls in; "
           r"$\tanh' = 1 - \tanh^2$")
    d.step(sp.ImmutableMatrix([_mul(1 - v_rc[RC_POOLED] ** 2, _tap(w, RC_POOLED, d_rc)) if _tap(w, RC_POOLED, d_rc) != 0
                               else 0 for w in words]),
           r"the pooling rule above: words outside the pooled window get no gradient", given=[pooled_condition()])
    return d


def rc_derivations() -> list[Derivation]:
    """The relation-classification branch's derivations, in reading order."""
    return [pool_derivation(), filter_derivation(), bias_derivation(), input_derivation()]


def derivations() -> list[Derivation]:
    return [output_derivation(), route_derivation(), decoder_derivation(), *rc_derivations()]


# ---- published results: ∂J_t/∂y_i at N = 3 -----------------------------------------------------
YS = [sym(f"y{n_}", f"y_{{{n_}}}", real=True) for n_ in (1, 2, 3)]
ES = [sym(f"e{n_}", f"e_{{{n_}}}", real=True, nonnegative=True) for n_ in (1, 2, 3)]


@functools.cache
def output_results() -> list[Result]:
    """∂J_t/∂y_i (N = 3 tags, e_3 = 1 − e_1 − e_2), from the output derivation's last step."""
    flat = {**{y[n_ + 1]: YS[n_] for n_ in range(3)}, **{e[n_ + 1]: ES[n_] for n_ in range(3)}}
    inst = {N: 3}
    of = evaluate(J, OUT_DEFS, inst).xreplace(flat)
    d = output_derivation()
    where = (sp.Eq(ES[2], 1 - ES[0] - ES[1]),)
    return [Result(of, YS[v - 1], evaluate(d.result, OUT_DEFS, {**inst, i: v}).xreplace(flat), where,
                   name="J_t") for v in (1, 2, 3)]



# ---- published results of the relation-classification branch: ∂m/∂F, ∂m/∂b_F, ∂m/∂x ------------------
RC_F = {F_rc[kk, dd]: sym(f"F{kk}{dd}", f"F_{{{kk}{dd}}}", real=True)
        for kk in range(1, RC_WIDTH + 1) for dd in range(1, RC_FEATURES + 1)}
RC_X = {x_rc[w, dd]: sym(f"x{w}{dd}", f"x_{{{w}{dd}}}", real=True)
        for w in range(1, RC_WORDS + 1) for dd in range(1, RC_FEATURES + 1)}


def _rc_flat(expr):
    """Plain symbols for the filter and the inputs, SymPy's own Max: the published (JSON) form."""
    expr = expr.xreplace({**RC_F, **RC_X})
    return expr.replace(lambda e: isinstance(e, PooledMax), lambda e: sp.Max(*e.args))


_u, _h0 = sp.Dummy("u"), sp.Dummy("h0")
#: For numbers only, θ(u) is written (1 + sign u)/2, the same function (θ(0) = 1/2 included): NumPy's
#: code printer turns a Heaviside into a Piecewise and tries to simplify its conditions, which takes
#: minutes for these arguments.
RC_REALIZE = {sp.Heaviside: sp.Lambda((_u, _h0), (1 + sp.sign(_u)) / 2)}  # SymPy's θ(u) carries θ(0) = 1/2


@functools.cache
def rc_results() -> list[Result]:
    r"""∂m/∂F_{κd}, ∂m/∂b_F and ∂m/∂x_{ℓd} at n = 4, K = D = 2, wherever the maximum is unique.

    Each is the derivation's step *before* the pooling rule is applied: a sum over the positions of
    θ(v_t − max_{s≠t} v_s) times the position's derivative, which holds whichever position wins
    (the derivations then take position 2). ``of`` is m = max(tanh g_1, tanh g_2, tanh g_3)."""
    of = _rc_flat(evaluate(m_rc, RC_DEFS))
    out = []
    general = filter_derivation().steps[2].expr
    for kk in range(1, RC_WIDTH + 1):
        for dd in range(1, RC_FEATURES + 1):
            expr = _rc_flat(evaluate(general, RC_DEFS, {kappa: kk, d_rc: dd}))
            out.append(Result(of, RC_F[F_rc[kk, dd]], expr, name="m", realize=RC_REALIZE))
    out.append(Result(of, b_F, _rc_flat(evaluate(bias_derivation().steps[1].expr, RC_DEFS)), name="m",
                      realize=RC_REALIZE))
    rows = input_derivation().steps[1].expr
    for dd in range(1, RC_FEATURES + 1):
        for w in range(1, RC_WORDS + 1):
            expr = _rc_flat(evaluate(rows[w - 1], RC_DEFS, {d_rc: dd}))
            out.append(Result(of, RC_X[x_rc[w, dd]], expr, name="m", realize=RC_REALIZE))
    return out


@functools.cache
def results() -> list[Result]:
    """Every published result: the output layer's, then the relation-classification branch's."""
    return output_results() + rc_results()


# ---- the numeric model ----------------------------------------------------------------------------
TAGS = ("O", "B-CT-1", "E-CT-1", "S-CT-1", "B-CT-2", "E-CT-2", "S-CT-2")
CORPUS = [
    ("New York is in America".split(), "B-CT-2 E-CT-2 O O S-CT-1".split()),
    ("Paris is in France".split(), "S-CT-2 O O S-CT-1".split()),
    ("Wuhan is a city of China".split(), "S-CT-2 O O O O S-CT-1".split()),
    ("America has New York".split(), "S-CT-1 O B-CT-2 E-CT-2".split()),
    ("the United States has Boston".split(), "O B-CT-1 E-CT-1 O S-CT-2".split()),
    ("Boston is in the United States".split(), "S-CT-2 O O O B-CT-1 E-CT-1".split()),
]
VOCAB = tuple(sorted({w for ws, _ in CORPUS for w in ws}))


def _softmax(v):
    """Softmax of each column."""
    ex = np.exp(v - v.max(axis=0))
    return ex / ex.sum(axis=0)


def _reorder(a, rev):
    """``a`` (steps, d, B) with column b's steps taken in the order ``rev[:, b]`` (the reversed
    read of each sentence, padding last; the order is its own inverse)."""
    return a[rev, :, np.arange(a.shape[2])].transpose(0, 2, 1)


def _sig(a):
    return 0.5 * (1.0 + np.tanh(0.5 * a))


@dataclass
class TaggerModel:
    """Embeddings, a bi-LSTM encoder, the tag-reading decoder and the output layers."""

    params: dict
    vocab: tuple
    tags: tuple
    alpha: float = 10.0

    @classmethod
    def create(cls, vocab, tags, emb=6, hidden=6, dec=8, tagvec=None, alpha=10.0, rng=None):
        rng = np.random.default_rng(0) if rng is None else rng
        tagvec = len(tags) if tagvec is None else tagvec
        if alpha <= 0:
            raise ValueError(f"alpha must be positive, got {alpha}")
        P = {"emb": rng.normal(size=(len(vocab), emb)) * 0.5,
             "fwd": lstm_gates.init_params(hidden, emb, rng), "bwd": lstm_gates.init_params(hidden, emb, rng)}
        nrm = lambda *s: rng.normal(size=s) * 0.5 / np.sqrt(s[-1] if len(s) > 1 else 1)  # noqa: E731
        for g in DG:
            P[f"Ww{g}"], P[f"Wh{g}"], P[f"b{g}"] = nrm(dec, 2 * hidden), nrm(dec, dec), np.zeros(dec)
        for g in ("i", "f", "c"):
            P[f"Wt{g}"] = nrm(dec, tagvec)
        P["wco"] = nrm(dec)
        P["Wts"], P["bT"] = nrm(tagvec, dec), np.zeros(tagvec)
        P["Wy"], P["by"] = nrm(len(tags), tagvec), np.zeros(len(tags))
        return cls(P, tuple(vocab), tuple(tags), alpha)

    # -- input checking -------------------------------------------------------------------------
    def _encode(self, words, tags):
        if len(words) != len(tags):
            raise ValueError(f"sentence has {len(words)} words but {len(tags)} tags")
        if not words:
            raise ValueError("empty sentence")
        for what, items in (("words", words), ("tags", tags)):
            odd = [x for x in items if not isinstance(x, str)]
            if odd:
                raise ValueError(f"{what} must be strings (one sentence: a list of words and a list of tags), "
                                 f"got {type(odd[0]).__name__} {odd[0]!r}")
        bad = [w for w in words if w not in self.vocab]
        if bad:
            raise ValueError(f"unknown words: {', '.join(bad)}")
        badt = [t for t in tags if t not in self.tags]
        if badt:
            raise ValueError(f"unknown tags: {', '.join(badt)}")
        return [self.vocab.index(w) for w in words], [self.tags.index(t) for t in tags]

    # -- forward ------------------------------------------------------------------------------------
    def forward(self, words, tags):
        """Loss J of one sentence and a cache for :meth:`backward`."""
        return self.forward_batch([(words, tags)])

    def forward_batch(self, sentences):
        """The summed loss of several sentences, run side by side (one column each), and a cache.

        A shorter sentence is padded at its end: the padding comes after all its real steps in
        both encoder directions and in the decoder (the backward LSTM reads each sentence
        reversed, then its padding), so it cannot change them, and its loss weight is 0.
        """
        P = self.params
        enc = [self._encode(words, tags) for words, tags in sentences]
        lengths = np.array([len(wid) for wid, _ in enc])
        n, B = int(lengths.max()), len(enc)
        wid = np.zeros((n, B), dtype=int)
        gold = np.zeros((n, B), dtype=int)
        weight = np.zeros((n, B))                                  # ω_t; 0 on padding
        for b, (w_, g_) in enumerate(enc):
            wid[:len(w_), b], gold[:len(g_), b] = w_, g_
            weight[:len(g_), b] = [1.0 if self.tags[g] == "O" else self.alpha for g in g_]
        t_idx = np.arange(n)[:, None]
        rev = np.where(t_idx < lengths, lengths - 1 - t_idx, t_idx)  # step t of the reversed read
        cols, real = np.arange(B), t_idx < lengths
        xs = P["emb"][wid].transpose(0, 2, 1) * real[:, None, :]  # (n, E, B); 0 on padding
        hf, cf = lstm_gates.forward(P["fwd"], xs)
        hb_rev, cb = lstm_gates.forward(P["bwd"], _reorder(xs, rev))
        H = np.concatenate([hf, _reorder(hb_rev, rev)], axis=1)   # h_t = [h→_t ; h←_t]
        dec = P["Wwi"].shape[0]
        s, c, T = np.zeros((dec, B)), np.zeros((dec, B)), np.zeros((P["Wts"].shape[0], B))
        steps, J = [], 0.0
        for t in range(n):
            h = H[t]
            pre = {gg: P[f"Ww{gg}"] @ h + P[f"Wh{gg}"] @ s + P[f"b{gg}"][:, None] for gg in DG}
            for gg in ("i", "f", "c"):
                pre[gg] = pre[gg] + P[f"Wt{gg}"] @ T               # the previous tag vector
            ig, fg, zg = _sig(pre["i"]), _sig(pre["f"]), np.tanh(pre["c"])
            c_new = fg * c + ig * zg
            pre["o"] = pre["o"] + P["wco"][:, None] * c_new         # peephole on c_t only
            og = _sig(pre["o"])
            tc = np.tanh(c_new)
            s_new = og * tc
            T_new = P["Wts"] @ s_new + P["bT"][:, None]
            yv = P["Wy"] @ T_new + P["by"][:, None]
            pv = _softmax(yv)
            g, w = gold[t], weight[t]
            J -= float(np.sum(w * log_softmax(yv)[g, cols]))  # not log p: p rounds to 0 at a large gap
            # the slopes from the pre-activations: σ(1 − σ) and 1 − tanh² lose every digit where a gate saturates
            slope = {"i": sigmoid_slope(pre["i"]), "f": sigmoid_slope(pre["f"]), "z": tanh_slope(pre["c"]),
                     "o": sigmoid_slope(pre["o"]), "tc": tanh_slope(c_new)}
            steps.append(dict(h=h, s=s, c=c, T=T, i=ig, f=fg, z=zg, o=og, c_new=c_new, tc=tc, pre=pre, slope=slope,
                              s_new=s_new, T_new=T_new, y=yv, p=pv, w=w, g=g))
            s, c, T = s_new, c_new, T_new
        return J, dict(wid=wid, real=real, rev=rev, cf=cf, cb=cb, steps=steps)

    def loss(self, words, tags):
        return self.forward(words, tags)[0]

    # -- backward -----------------------------------------------------------------------------------
    def backward(self, cache):
        """Gradients of J for every parameter (same nesting as ``params``)."""
        P = self.params
        G = {key: (np.zeros_like(v) if not isinstance(v, dict) else None) for key, v in P.items()}
        steps, rev = cache["steps"], cache["rev"]
        n, B = rev.shape
        cols = np.arange(B)
        dec = P["Wwi"].shape[0]
        ds_next, dc_next = np.zeros((dec, B)), np.zeros((dec, B))
        dT_next = np.zeros_like(steps[0]["T"])
        dH = np.zeros((n,) + steps[0]["h"].shape)
        for t in reversed(range(n)):
            st = steps[t]
            e_ = np.zeros_like(st["p"])
            e_[st["g"], cols] = 1.0
            dyv = st["w"] * ce_grad(st["y"], e_)                   # ∂ℒ/∂y_t = ω(p − e), to full relative precision
            G["Wy"] += dyv @ st["T_new"].T
            G["by"] += dyv.sum(axis=1)
            dT = P["Wy"].T @ dyv + dT_next                         # T_t also feeds step t + 1
            G["Wts"] += dT @ st["s_new"].T
            G["bT"] += dT.sum(axis=1)
            ds = P["Wts"].T @ dT + ds_next                         # T_t's error routed to s_t
            o, tc, ig, zg = st["o"], st["tc"], st["i"], st["z"]
            slope = st["slope"]
            d_o = ds * tc * slope["o"]
            dc = dc_next + ds * o * slope["tc"] + d_o * P["wco"][:, None]
            d_pre = {"i": dc * zg * slope["i"], "f": dc * st["c"] * slope["f"],
                     "c": dc * ig * slope["z"], "o": d_o}
            G["wco"] += (d_o * st["c_new"]).sum(axis=1)
            dc_next = dc * st["f"]
            ds_next = sum(P[f"Wh{g}"].T @ d_pre[g] for g in DG)
            dH[t] = sum(P[f"Ww{g}"].T @ d_pre[g] for g in DG)      # to the encoder output h_t
            dT_next = sum(P[f"Wt{g}"].T @ d_pre[g] for g in ("i", "f", "c"))
            for g in DG:
                G[f"Ww{g}"] += d_pre[g] @ st["h"].T
                G[f"Wh{g}"] += d_pre[g] @ st["s"].T
                G[f"b{g}"] += d_pre[g].sum(axis=1)
            for g in ("i", "f", "c"):
                G[f"Wt{g}"] += d_pre[g] @ st["T"].T
        hid = P["fwd"]["Wxi"].shape[0]
        G["fwd"], dxf, _, _ = lstm_gates.backward(P["fwd"], cache["cf"], dH[:, :hid])
        G["bwd"], dxb_rev, _, _ = lstm_gates.backward(P["bwd"], cache["cb"], _reorder(dH[:, hid:], rev))
        dxs = (dxf + _reorder(dxb_rev, rev)).transpose(0, 2, 1)   # (n, B, E)
        real = cache["real"]
        np.add.at(G["emb"], cache["wid"][real], dxs[real])        # each word's embedding collects
        return G

    def grad(self, words, tags):
        J_, cache = self.forward(words, tags)
        return J_, self.backward(cache)

    def grad_batch(self, sentences):
        """The summed loss of ``sentences`` and its gradient, all sentences at once."""
        J_, cache = self.forward_batch(sentences)
        return J_, self.backward(cache)


def _items(params):
    for key, v in params.items():
        if isinstance(v, dict):
            for kk, vv in v.items():
                yield (key, kk), vv
        else:
            yield (key,), v


def _get(tree, path):
    for key in path:
        tree = tree[key]
    return tree


def autograd_loss(P, wid, gold, tags, alpha):
    """The whole model written again, plainly, in ``autograd.numpy`` (oracle only)."""
    import autograd.numpy as anp

    sg = lambda a: 1 / (1 + anp.exp(-a))  # noqa: E731

    def lstm(q, xs):
        hdim = q["Wxi"].shape[0]
        h, c, out = anp.zeros(hdim), anp.zeros(hdim), []
        for x in xs:
            ig = sg(q["Wxi"] @ x + q["Whi"] @ h + q["wci"] * c + q["bi"])
            fg = sg(q["Wxf"] @ x + q["Whf"] @ h + q["wcf"] * c + q["bf"])
            c = fg * c + ig * anp.tanh(q["Wxc"] @ x + q["Whc"] @ h + q["bc"])
            h = sg(q["Wxo"] @ x + q["Who"] @ h + q["wco"] * c + q["bo"]) * anp.tanh(c)
            out.append(h)
        return out

    xs = [P["emb"][w] for w in wid]
    hf, hb = lstm(P["fwd"], xs), lstm(P["bwd"], xs[::-1])[::-1]
    s = anp.zeros(P["Wwi"].shape[0])
    c = anp.zeros(P["Wwi"].shape[0])
    T = anp.zeros(P["Wts"].shape[0])
    J_ = 0.0
    for t, g in enumerate(gold):
        h = anp.concatenate([hf[t], hb[t]])
        ig = sg(P["Wwi"] @ h + P["Whi"] @ s + P["Wti"] @ T + P["bi"])
        fg = sg(P["Wwf"] @ h + P["Whf"] @ s + P["Wtf"] @ T + P["bf"])
        c = fg * c + ig * anp.tanh(P["Wwc"] @ h + P["Whc"] @ s + P["Wtc"] @ T + P["bc"])
        s = sg(P["Wwo"] @ h + P["Who"] @ s + P["wco"] * c + P["bo"]) * anp.tanh(c)
        T = P["Wts"] @ s + P["bT"]
        yv = P["Wy"] @ T + P["by"]
        logp = yv - anp.log(anp.sum(anp.exp(yv)))
        J_ = J_ - (1.0 if tags[g] == "O" else alpha) * logp[g]
    return J_


def gradient_check_table(seed: int = 0) -> CheckTable:
    """The whole model's NumPy gradient against autograd (every entry) and central differences."""
    import autograd

    rng = np.random.default_rng(seed)
    model = TaggerModel.create(VOCAB, TAGS, emb=4, hidden=3, dec=4, rng=rng)
    words, tags = CORPUS[0]
    J_, G = model.grad(words, tags)
    wid, gold = model._encode(words, tags)
    ag = autograd.grad(lambda P: autograd_loss(P, wid, gold, model.tags, model.alpha))(model.params)
    err_ag, count = 0.0, 0
    for path, g in _items(G):
        a = _get(ag, path)
        err_ag = max(err_ag, float(np.max(np.abs(g - a) / (1e-8 + np.abs(a)))))
        count += np.size(g)
    err_fd, eps = 0.0, 1e-5
    for _ in range(3):
        v = {path: rng.normal(size=np.shape(val)) for path, val in _items(model.params)}

        def shifted(sign):
            new = TaggerModel({kk: (dict(vv) if isinstance(vv, dict) else vv) for kk, vv in model.params.items()},
                              model.vocab, model.tags, model.alpha)
            for path, val in _items(model.params):
                tgt = new.params if len(path) == 1 else new.params[path[0]]
                tgt[path[-1]] = val + sign * eps * v[path]
            return new.loss(words, tags)

        fd = (shifted(1) - shifted(-1)) / (2 * eps)
        an = sum(float(np.sum(_get(G, path) * v[path])) for path, _ in _items(model.params))
        err_fd = max(err_fd, abs(fd - an) / max(abs(fd), 1e-8))
    return whole_gradient_table(
        "Whole tagger gradient (toy sentence, 7 tags) against independent oracles",
        "Autograd differentiates the model written again in autograd.numpy (autograd_loss); "
        "central differences use h = 1e-5 along 3 random directions.",
        entries=count, err_autograd=err_ag, err_directional=err_fd, directions=3, rtol=1e-7)


@functools.cache
def numeric_checks() -> list[CheckTable]:
    return [crosscheck(output_results(), points=4, seed=0,
                       title="∂J_t/∂y_i (N = 3, e one-hot) against independent oracles"),
            gradient_check_table(),
            crosscheck(rc_results(), points=3, seed=0,
                       title=f"∂m/∂F, ∂m/∂b_F, ∂m/∂x of the max-pooled convolution (n = {RC_WORDS}, "
                             f"K = {RC_WIDTH}, D = {RC_FEATURES}) against independent oracles"),
            rc_gradient_table(),
            tie_table()]


def train(steps: int = 200, lr: float = 0.05, seed: int = 0, alpha: float = 10.0):
    """Full-batch Adam on :data:`CORPUS`; returns the model and the mean loss per step."""
    model = TaggerModel.create(VOCAB, TAGS, alpha=alpha, rng=np.random.default_rng(seed))
    m = {path: np.zeros_like(v) for path, v in _items(model.params)}
    v2 = {path: np.zeros_like(v) for path, v in _items(model.params)}
    history = []
    for it in range(1, steps + 1):
        total, G = model.grad_batch(CORPUS)                      # all sentences side by side
        history.append(total / len(CORPUS))
        for path, val in _items(model.params):
            g = _get(G, path) / len(CORPUS)
            m[path] = 0.9 * m[path] + 0.1 * g
            v2[path] = 0.999 * v2[path] + 0.001 * g * g
            val -= lr * (m[path] / (1 - 0.9 ** it)) / (np.sqrt(v2[path] / (1 - 0.999 ** it)) + 1e-8)
    return model, np.array(history)


def predict(model: TaggerModel, words):
    """The most probable tag at each step (greedy; the decoder reads its own tag vectors)."""
    _, cache = model.forward(words, ["O"] * len(words))
    return [model.tags[int(np.argmax(st["p"][:, 0]))] for st in cache["steps"]]


# ---- the relation-classification branch in NumPy -------------------------------------------------------
#: The relation types of the toy corpus (the classifier's softmax runs over them).
RELATIONS = ("none", "contains(e1, e2)", "contains(e2, e1)")


def merge(model: TaggerModel, words) -> np.ndarray:
    r"""The merge layer: :math:`x_\ell = [w_\ell; h_\ell]` for every word, the word's embedding beside
    the shared bi-LSTM encoder's output (the seed: "merge :math:`h_t` into the word embeddings").
    Shape ``(n, E + 2H)``."""
    _, cache = model.forward(words, ["O"] * len(words))   # the encoder does not read the tags
    emb = model.params["emb"][[model.vocab.index(w) for w in words]]
    enc = np.stack([st["h"][:, 0] for st in cache["steps"]])
    return np.concatenate([emb, enc], axis=1)


@dataclass
class RelationClassifier:
    r"""A 1-D convolution over the merged sequence, max-pooling over positions, a softmax over
    :data:`RELATIONS`: :math:`g_{f,t} = \sum_\kappa \sum_d F_{f\kappa d} x_{t+\kappa-1,d} + b_{F,f}`,
    :math:`v = \tanh g`, :math:`m_f = \max_t v_{f,t}`, :math:`p = \operatorname{softmax}(V m + b_V)`,
    :math:`L = -\log p_{\text{gold}}`. At a tie the gradient goes to the first maximiser."""

    params: dict
    relations: tuple = RELATIONS

    @classmethod
    def create(cls, features: int, filters: int = 4, width: int = 2, relations=RELATIONS, rng=None):
        rng = np.random.default_rng(0) if rng is None else rng
        if width < 1 or filters < 1:
            raise ValueError(f"width and filters must be at least 1, got {width} and {filters}")
        scale = 1 / np.sqrt(width * features)
        return cls({"F": rng.normal(scale=scale, size=(filters, width, features)), "bF": np.zeros(filters),
                    "V": rng.normal(scale=1 / np.sqrt(filters), size=(len(relations), filters)),
                    "bV": np.zeros(len(relations))}, tuple(relations))

    def forward(self, x, gold=None):
        """Relation probabilities for the merged sequence ``x`` (n × D), the loss if ``gold`` is
        given (a relation's name or index), and a cache for :meth:`backward`."""
        F, bF, V, bV = (self.params[key] for key in ("F", "bF", "V", "bV"))
        x = np.asarray(x, dtype=float)
        filters, width, features = F.shape
        if x.ndim != 2 or x.shape[1] != features:
            raise ValueError(f"the merged input has shape {x.shape}; the filters need (words, {features})")
        if x.shape[0] < width:
            raise ValueError(f"a sentence of {x.shape[0]} words is shorter than the filter width {width}")
        windows = np.stack([x[t:t + width] for t in range(x.shape[0] - width + 1)])  # (T, K, D)
        g = np.einsum("fkd,tkd->ft", F, windows) + bF[:, None]                 # g_{f,t}
        v = np.tanh(g)
        star = np.argmax(v, axis=1)                                            # the first maximiser
        m = v[np.arange(filters), star]                                        # m_f = max_t v_{f,t}
        u = V @ m + bV
        p = np.exp(u - u.max())
        p /= p.sum()
        # the pooled pre-activations' slope 1 − tanh², from g (not 1 − m², 0 where a filter saturates)
        slope = tanh_slope(g[np.arange(filters), star])
        cache = dict(x=x, windows=windows, g=g, v=v, star=star, m=m, u=u, p=p, slope=slope)
        if gold is None:
            return p, None, cache
        k = self.relations.index(gold) if isinstance(gold, str) else int(gold)
        cache["gold"] = k
        return p, float(-log_softmax(u)[k]), cache  # not −log p_k: p_k rounds to 0 at a large gap

    def backward(self, cache) -> dict:
        """Gradients of L for F, bF, V, bV and the merged input x (same shapes)."""
        F, V = self.params["F"], self.params["V"]
        filters, width, _ = F.shape
        gold = np.zeros_like(cache["p"])
        gold[cache["gold"]] = 1.0
        du = ce_grad(cache["u"], gold)                         # ∂L/∂u = p − e (softmax-CE), full relative precision
        dm = V.T @ du                                          # ∂L/∂m_f
        star, m = cache["star"], cache["m"]
        dg = dm * cache["slope"]                               # at the pooled position only (rc-pool)
        dF = dg[:, None, None] * cache["windows"][star]        # (rc-filter): its window's inputs
        dx = np.zeros_like(cache["x"])
        for f in range(filters):                               # (rc-input): the pooled window's words
            dx[star[f]:star[f] + width] += dg[f] * F[f]
        return {"F": dF, "bF": dg, "V": np.outer(du, m), "bV": du, "x": dx}

    def grad(self, x, gold):
        _, loss, cache = self.forward(x, gold)
        return loss, self.backward(cache)


def rc_autograd_loss(params, x, gold):
    """The relation classifier's loss written again, plainly, in ``autograd.numpy`` (oracle only):
    the convolution as a loop over positions, the pooling as ``max``."""
    import autograd.numpy as anp

    F, bF, V, bV = params["F"], params["bF"], params["V"], params["bV"]
    width = F.shape[1]
    cols = [anp.tanh(anp.sum(F * x[t:t + width][None, :, :], axis=(1, 2)) + bF)
            for t in range(x.shape[0] - width + 1)]
    m = anp.max(anp.stack(cols, axis=1), axis=1)
    u = anp.dot(V, m) + bV
    return -(u[gold] - anp.log(anp.sum(anp.exp(u))))


def rc_example(seed: int = 0):
    """The toy corpus's first sentence through the merge layer (a seeded tagger's embeddings and
    encoder) and a seeded classifier with 4 filters of width 2; gold: America contains New York."""
    tagger = TaggerModel.create(VOCAB, TAGS, rng=np.random.default_rng(seed))
    words = CORPUS[0][0]
    x = merge(tagger, words)
    rc = RelationClassifier.create(x.shape[1], filters=4, width=2, rng=np.random.default_rng(seed + 1))
    return tagger, words, x, rc, "contains(e2, e1)"


def rc_gradient_table(seed: int = 0, directions: int = 3, h: float = 1e-6) -> CheckTable:
    """The classifier's NumPy gradient (every parameter and the merged input) against autograd of
    :func:`rc_autograd_loss` (every entry) and central differences along random directions, at the
    toy sentence, away from ties (the smallest gap between a filter's pooled feature and its
    runner-up is reported; it must dwarf the step)."""
    import autograd

    _, _, x, rc, gold = rc_example(seed)
    k = rc.relations.index(gold)
    loss, G = rc.grad(x, gold)
    ag = autograd.grad(lambda P: rc_autograd_loss(P, P["x"], k))({**rc.params, "x": x})
    err_ag = max(float(np.max(np.abs(G[key] - ag[key]) / (1e-8 + np.abs(ag[key])))) for key in G)
    entries = sum(np.size(G[key]) for key in G)
    rng = np.random.default_rng(seed)
    err_fd = 0.0
    for _ in range(directions):
        d = {key: rng.normal(size=np.shape(G[key])) for key in G}

        def at(sign):
            shifted = RelationClassifier({key: rc.params[key] + sign * h * d[key] for key in rc.params}, rc.relations)
            return shifted.forward(x + sign * h * d["x"], gold)[1]
        fd = (at(1) - at(-1)) / (2 * h)
        an = sum(float(np.sum(G[key] * d[key])) for key in G)
        err_fd = max(err_fd, abs(fd - an) / max(abs(fd), 1e-8))
    v = np.sort(rc.forward(x)[2]["v"], axis=1)
    gap = float(np.min(v[:, -1] - v[:, -2]))
    return whole_gradient_table(
        f"Relation classifier gradient (toy sentence, {rc.params['F'].shape[0]} filters of width "
        f"{rc.params['F'].shape[1]}, {len(rc.relations)} relation types) against independent oracles",
        f"Autograd differentiates the classifier written again in autograd.numpy (rc_autograd_loss); "
        f"central differences use h = {h:g} along {directions} random directions. The smallest gap "
        f"between a filter's pooled feature and its runner-up is {gap:.2g}, far from a tie compared with h.",
        entries=entries, err_autograd=err_ag, err_directional=err_fd, directions=directions, rtol=1e-7)


def tie_point(seed: int = 0):
    """A classifier and a merged input at which every filter's three positions tie exactly: all four
    words' merged vectors equal, so every window is the same."""
    rc = RelationClassifier.create(3, filters=2, width=2, rng=np.random.default_rng(seed))
    row = np.random.default_rng(seed + 1).normal(size=3)
    return rc, np.tile(row, (4, 1))


def subgradient_slack(g, v, deltas) -> float:
    r"""The smallest :math:`\max(v + \Delta) - \max(v) - g^\top \Delta` over the directions ``deltas``
    (rows): :math:`g` is a subgradient of the (convex) max at :math:`v` exactly when this is
    :math:`\ge 0` for every :math:`\Delta`."""
    deltas = np.asarray(deltas, dtype=float)
    return float(np.min(np.max(v + deltas, axis=1) - np.max(v) - deltas @ g))


def tie_table(seed: int = 0, samples: int = 2000, h: float = 1e-7) -> CheckTable:
    """What each convention gives at an exact tie, and whether it is a subgradient.

    Of the pooling layer ``max(v)`` at ``v = (c, c, c)``: the first maximiser (NumPy's argmax,
    this module's choice), the average over the tied positions (autograd's) and SymPy's
    θ(0) = 1/2 at every tied position, each tested with the subgradient inequality over
    ``samples`` seeded random directions and over (1, 1, 1). Of the whole layer ``m(x)`` (the
    filter's pooled feature against the merged input, at :func:`tie_point`): the one-sided
    derivative along random directions is at least the chosen gradient's, the directional form of
    the same inequality for a maximum of smooth functions."""
    rng = np.random.default_rng(seed)
    deltas = np.vstack([rng.normal(size=(samples, 3)), np.ones((1, 3))])
    v = np.full(3, 0.4)
    table = CheckTable("At a tie: which gradient the max-pooling passes back, and whether it is a subgradient",
                       ["where", "gradient", "smallest slack", "claim"],
                       note=f"Slack: max(v + Δ) − max(v) − gᵀΔ over {samples:,} seeded random Δ and Δ = (1, 1, 1) "
                            f"(a subgradient: slack ≥ 0 for every Δ; a slack below 1e-12 in size is rounding, shown as 0); for the layer, the one-sided difference "
                            f"(m(x + hΔ) − m(x))/h − gᵀΔ with h = {h:g} over {samples // 10} directions "
                            f"(≥ −1e-5 to pass).")
    for name, g, claim in (("first maximiser (NumPy argmax; this module)", np.array([1.0, 0, 0]), True),
                           ("average over the tie (autograd)", np.full(3, 1 / 3), True),
                           ("θ(0) = 1/2 at each tied position (SymPy), two-way tie", np.array([0.5, 0.5, 0]), True),
                           ("θ(0) = 1/2 at each tied position (SymPy), three-way tie", np.full(3, 0.5), False)):
        two_way = "two-way" in name
        at = np.array([0.4, 0.4, 0.1]) if two_way else v
        slack = subgradient_slack(g, at, deltas)
        slack = 0.0 if abs(slack) < 1e-12 else slack  # a rounding error of max(v + Δ) − gᵀΔ is not a slack
        ok = slack >= 0 if claim else slack < 0
        table.rows.append({"where": "max(v) at v = " + ("(c, c, c′), c′ < c" if two_way else "(c, c, c)"),
                           "gradient": name, "smallest slack": slack,
                           "claim": "a subgradient" if claim else "not a subgradient", "passed": bool(ok)})
    rc, x = tie_point(seed)
    width = rc.params["F"].shape[1]

    def pooled(xx, f=0):
        return float(np.max(np.tanh(np.array([np.sum(rc.params["F"][f] * xx[t:t + width]) + rc.params["bF"][f]
                                              for t in range(xx.shape[0] - width + 1)]))))
    _, _, cache = rc.forward(x)
    assert np.all(cache["v"] == cache["v"][:, :1]), "the tie point does not tie"
    m0 = pooled(x)
    g_first = np.zeros_like(x)
    g_first[cache["star"][0]:cache["star"][0] + width] = (1 - m0 ** 2) * rc.params["F"][0]
    import autograd
    import autograd.numpy as anp

    def pooled_ag(xx):
        cols = [anp.tanh(anp.sum(rc.params["F"][0] * xx[t:t + width]) + rc.params["bF"][0])
                for t in range(x.shape[0] - width + 1)]
        return anp.max(anp.stack(cols))
    g_avg = autograd.grad(pooled_ag)(x)
    for name, g in (("first maximiser (NumPy argmax; this module)", g_first), ("average over the tie (autograd)", g_avg)):
        worst = min((pooled(x + h * d) - m0) / h - float(np.sum(g * d))
                    for d in rng.normal(size=(samples // 10,) + x.shape))
        table.rows.append({"where": "m(x): all windows equal", "gradient": name, "smallest slack": worst,
                           "claim": "a subgradient", "passed": bool(worst >= -1e-5)})
    return table
