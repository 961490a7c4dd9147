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

TITLE = "Joint entity–relation tagging: the α-weighted output gradient and its route back"

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


def derivations() -> list[Derivation]:
    return [output_derivation(), route_derivation(), decoder_derivation()]


# ---- published results: ∂J_t/∂y_i at N = 3 -----------------------------------------------------
YS = [sym(f"y{n_}", f"y_{{{n_}}}", real=True) for n_ in (1, 2, 3)]
ES = [sym(f"e{n_}", f"e_{{{n_}}}", real=True, nonnegative=True) for n_ in (1, 2, 3)]


@functools.cache
def results() -> list[Result]:
    """∂J_t/∂y_i (N = 3 tags, e_3 = 1 − e_1 − e_2), from the output derivation's last step."""
    flat = {**{y[n_ + 1]: YS[n_] for n_ in range(3)}, **{e[n_ + 1]: ES[n_] for n_ in range(3)}}
    inst = {N: 3}
    of = evaluate(J, OUT_DEFS, inst).xreplace(flat)
    d = output_derivation()
    where = (sp.Eq(ES[2], 1 - ES[0] - ES[1]),)
    return [Result(of, YS[v - 1], evaluate(d.result, OUT_DEFS, {**inst, i: v}).xreplace(flat), where,
                   name="J_t") for v in (1, 2, 3)]


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
            og = _sig(pre["o"] + P["wco"][:, None] * c_new)        # peephole on c_t only
            tc = np.tanh(c_new)
            s_new = og * tc
            T_new = P["Wts"] @ s_new + P["bT"][:, None]
            yv = P["Wy"] @ T_new + P["by"][:, None]
            pv = _softmax(yv)
            g, w = gold[t], weight[t]
            J -= float(np.sum(w * np.log(pv[g, cols])))
            steps.append(dict(h=h, s=s, c=c, T=T, i=ig, f=fg, z=zg, o=og, c_new=c_new, tc=tc,
                              s_new=s_new, T_new=T_new, p=pv, w=w, g=g))
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
            dyv = st["w"] * (st["p"] - e_)                         # ∂ℒ/∂y_t (output layer)
            G["Wy"] += dyv @ st["T_new"].T
            G["by"] += dyv.sum(axis=1)
            dT = P["Wy"].T @ dyv + dT_next                         # T_t also feeds step t + 1
            G["Wts"] += dT @ st["s_new"].T
            G["bT"] += dT.sum(axis=1)
            ds = P["Wts"].T @ dT + ds_next                         # T_t's error routed to s_t
            o, tc, ig, fg, zg = st["o"], st["tc"], st["i"], st["f"], st["z"]
            d_o = ds * tc * o * (1 - o)
            dc = dc_next + ds * o * (1 - tc * tc) + d_o * P["wco"][:, None]
            d_pre = {"i": dc * zg * ig * (1 - ig), "f": dc * st["c"] * fg * (1 - fg),
                     "c": dc * ig * (1 - zg * zg), "o": d_o}
            G["wco"] += (d_o * st["c_new"]).sum(axis=1)
            dc_next = dc * fg
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
    return [crosscheck(results(), points=4, seed=0,
                       title="∂J_t/∂y_i (N = 3, e one-hot) against independent oracles"),
            gradient_check_table()]


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
