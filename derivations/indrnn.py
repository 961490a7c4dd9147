r"""The independently recurrent network (IndRNN): per-neuron gradients and the safe range of u.

Notation (Li, Li, Cook, Zhu and Gao, CVPR 2018; column vectors, :math:`N` neurons):

- :math:`h_t = \sigma(W x_t + u \odot h_{t-1} + b)`, :math:`u \in \mathbb{R}^N`: each neuron
  :math:`n` sees only its own past, :math:`h_{n,t} = \sigma(z_{n,t})`,
  :math:`z_{n,t} = w_n x_t + u_n h_{n,t-1} + b_n`;
- :math:`\sigma'_{n,t} = \sigma'(z_{n,t})`; :math:`J` an objective reached through
  :math:`h_{n,T}`; :math:`\gamma` the largest gradient that does not explode, :math:`\epsilon`
  the smallest that still carries information.

Derived and checked here (paper eq. 4 and the range after it):

.. math::

    \frac{\partial J}{\partial h_{n,t}} = \frac{\partial J}{\partial h_{n,T}}
        \prod_{k=t}^{T-1} \sigma'_{n,k+1}\,u_n
      = \frac{\partial J}{\partial h_{n,T}}\,u_n^{T-t} \prod_{k=t}^{T-1} \sigma'_{n,k+1}

    \epsilon \le \Bigl|u_n^{T-t} \prod_{k} \sigma'_{n,k+1}\Bigr| \le \gamma
    \iff |u_n| \in \Bigl[\bigl(\epsilon / \textstyle\prod_k \sigma'_{n,k+1}\bigr)^{1/(T-t)},
                           \bigl(\gamma / \textstyle\prod_k \sigma'_{n,k+1}\bigr)^{1/(T-t)}\Bigr]

and, for ReLU (:math:`\sigma' = 1` on active units), the paper's relaxation
:math:`|u_n| \in [0, \gamma^{1/(T-t)}]`.

Examples
--------
>>> lo, hi = recurrent_weight_range(eps=0.1, gamma=10.0, T=100)
>>> round(lo, 4), round(hi, 4)
(0.9772, 1.0233)
>>> relu_range(gamma=2.0, T=1000)[1] > 1
True
>>> recurrent_weight_range(eps=1.0, gamma=1.0, T=10)
Traceback (most recent call last):
...
ValueError: need 0 < eps < gamma, got eps=1.0, gamma=1.0
>>> import numpy as np
>>> hs, zs = forward(np.ones((3, 1)), w=np.ones((2, 1)), u=np.array([0.5, 2.0]), b=np.zeros(2))
>>> hs[-1].tolist()
[1.75, 7.0]
"""

from __future__ import annotations

import functools

import numpy as np
import sympy as sp

from .core import Derivation, Induction, Result, notation, peel, sym
from .render import SEPARATED
from .core import shown_product as _mul
from .oracles import CheckTable, crosscheck
from .sigmoid_neuron import tanh_slope

TITLE = "IndRNN: per-neuron gradients and the range of u that neither vanishes nor explodes"

#: The steps shown in the displayed derivation (T = 4, gradient at t = 1).
SHOWN_T = 4
#: Every (T, t) at which the chain is derived and checked.
CHECKED = ((2, 1), (3, 1), (3, 2), (4, 1), (4, 2), (5, 2))

sigma = sp.Function("sigma")       # a generic activation σ; prints σ'(z)
notation(sigma, r"activation, generic; $\sigma'_{n,t} = \sigma'(z_{n,t})$ is its slope")
u = sym("u_n", "u_n", meaning="recurrent weight of neuron $n$ (entry $n$ of $u$)", shape="scalar", real=True)
w = sym("w_n", "w_n", meaning="input weights of neuron $n$ (row $n$ of $W$)", real=True)
bn = sym("b_n", "b_n", meaning="bias of neuron $n$", shape="scalar", real=True)
J = sym("J", latex_name="J", meaning=r"objective, reached through $h_{n,T}$", shape="scalar", real=True)


@functools.cache
def neuron_symbols(steps: int):
    """h_{n,t}, z_{n,t}, x_t (the input term w_n x_t) for t = 0 … steps, as plain symbols."""
    hs = [sym(f"h_n{s}", f"h_{{n,{s}}}", meaning=f"state of neuron $n$ at step {s}", shape="scalar", real=True)
          for s in range(steps + 1)]
    zs = [sym(f"z_n{s}", f"z_{{n,{s}}}", meaning=f"pre-activation of neuron $n$ at step {s}", shape="scalar",
              real=True) for s in range(steps + 1)]
    xs = [sym(f"x{s}", f"x_{{{s}}}", real=True) for s in range(steps + 1)]
    return hs, zs, xs


def _definitions(steps: int, start: int) -> dict:
    """h_{n,s} := σ(z_{n,s}), z_{n,s} := w_n x_s + u_n h_{n,s−1} + b_n for s > start; J := h_{n,T}²/2.

    The checker needs a concrete J (SymPy leaves ∂J(σ(z))/∂σ(z) unevaluated for a generic J); the
    steps keep ∂J/∂h_{n,T} as a factor, so they hold for any J reached through h_{n,T}."""
    hs, zs, xs = neuron_symbols(steps)
    defs = {J: hs[steps] ** 2 / 2}
    for s in range(start + 1, steps + 1):
        defs[hs[s]] = sigma(zs[s])
        defs[zs[s]] = w * xs[s] + u * hs[s - 1] + bn
    return defs



def _slope(z):
    x = sp.Dummy("x")
    return sp.Subs(sp.Derivative(sigma(x), x), x, z)


@functools.cache
def chain_derivation(steps: int = SHOWN_T, start: int = 1) -> Derivation:
    """∂J/∂h_{n,t} along one neuron's path, for concrete T = ``steps`` and t = ``start``."""
    if not 0 <= start < steps:
        raise ValueError(f"need 0 <= t < T, got t={start}, T={steps}")
    hs, zs, _ = neuron_symbols(steps)
    ks = range(start, steps)
    d = Derivation(f"indrnn_chain_T{steps}_t{start}", f"The gradient along one neuron (T = {steps}, t = {start})",
                   sp.Derivative(J, hs[start]), definitions=_definitions(steps, start),
                   label=f"indrnn-chain-T{steps}-t{start}")
    dJ = sp.Derivative(J, hs[steps])
    d.step(_mul(dJ, *[sp.Derivative(hs[s + 1], hs[s]) for s in reversed(ks)]),
           r"chain rule: $h_{n,t}$ reaches $h_{n,T}$ only through its own neuron ($u \odot h$ is diagonal)")
    d.step(_mul(dJ, *[_mul(_slope(zs[s + 1]), u) for s in reversed(ks)]),
           r"$h_{n,k+1} = \sigma(w_n x_{k+1} + u_n h_{n,k} + b_n)$, so $\partial h_{n,k+1}/\partial h_{n,k} = \sigma'_{n,k+1} u_n$")
    d.step(_mul(dJ, u ** (steps - start), *[_slope(zs[s + 1]) for s in ks]),
           r"$u_n$ is the same at every step")
    return d


def derivations() -> list[Derivation | Induction]:
    """The chain at every (T, t) in :data:`CHECKED` (the one shown first), eq. 4 for every t by
    induction, then the range's end point."""
    shown = chain_derivation(SHOWN_T, 1)
    return [shown] + [chain_derivation(T_, t_) for T_, t_ in CHECKED if (T_, t_) != (SHOWN_T, 1)] \
        + [eq4_induction(), range_derivation()]


# ---- the general form, with a product over k --------------------------------------------------

T_sym = sym("T", latex_name="T", meaning="last step, where the objective reads the state", integer=True,
            positive=True)
t_sym = sym("t", meaning=r"step the gradient is taken at, $t \le T$", integer=True, positive=True)
k_sym = sym("k", meaning=r"step in the product, $t \le k \le T - 1$", integer=True, positive=True)
hI = sp.IndexedBase(sym("h_idx", "h", meaning=r"states, $h_{n,t} = \sigma(z_{n,t})$: neuron $n$ at step $t$",
                        shape=r"${N \times (T + 1)}$", real=True))
zI = sp.IndexedBase(sym("z_idx", "z", meaning=r"pre-activations, $z_{n,t} = w_n x_t + u_n h_{n,t-1} + b_n$",
                        shape=r"${N \times (T + 1)}$", real=True))
SEPARATED.update({hI.label, zI.label})  # h_{n,t}: a neuron and a step, always with a comma
nI = sym("n", meaning=r"index of a neuron, $1 \le n \le N$", integer=True, positive=True)
#: Paper eq. 4 with the product written out: ∂J/∂h_{n,T} u_n^{T−t} Π_{k=t}^{T−1} σ'(z_{n,k+1}).
GENERAL = sp.Derivative(J, hI[nI, T_sym]) * u ** (T_sym - t_sym) * sp.Product(_slope(zI[nI, k_sym + 1]), (k_sym, t_sym, T_sym - 1))


# ---- eq. 4 for every t ≤ T, by induction downward from T ---------------------------------------

xI = sp.IndexedBase(sym("x_idx", "x", meaning=r"inputs, $x_t$ at step $t$ (neuron $n$ sees $w_n x_t$)", real=True))
_Psi = sp.Function("Psi")    # J as a function of h_{n,T}
_G = sp.Function("G")        # h_{n,T} as a function of h_{n,t+1}: the steps after t + 1, one neuron


def _eq4(s):
    """Both sides of eq. 4 at step s: ∂J/∂h_{n,s} and ∂J/∂h_{n,T} u_n^{T−s} Π_{k=s}^{T−1} σ'_{n,k+1}."""
    return sp.Derivative(J, hI[nI, s]), GENERAL.xreplace({t_sym: s})


@functools.cache
def eq4_induction() -> Induction:
    r"""Paper eq. 4 for every :math:`t \le T`, by induction on :math:`t` downward from :math:`T`: the
    step from :math:`t + 1` to :math:`t` is one factor :math:`\sigma'_{n,t+1} u_n`, so the check
    costs the same for every :math:`T`. The objective is any :math:`J` reached through
    :math:`h_{n,T}` (an unknown function :math:`\Psi` of it), and the steps after :math:`t + 1` are
    an unknown function of :math:`h_{n,t+1}`."""
    t, T_ = t_sym, T_sym
    ind = Induction("indrnn_eq4_all_t", "Paper eq. 4 at every step", t, T_, _eq4, downward=True,
                    label="indrnn-eq4-induction", about="a scalar recursion, one neuron")
    reached = {J: _Psi(hI[nI, T_])}
    base = ind.base_case(definitions=reached)
    base.step(_eq4(T_)[1], r"$u_n^0 = 1$, and the empty product is 1")
    one_step = {hI[nI, t + 1]: sigma(zI[nI, t + 1]), zI[nI, t + 1]: w * xI[t + 1] + u * hI[nI, t] + bn}
    later = {hI[nI, T_]: _G(hI[nI, t + 1])}
    st = ind.inductive_step(definitions={**reached, **later, **one_step,
                                         **peel(_eq4(t)[1].atoms(sp.Product).pop(), "first")})
    dJ_next = sp.Derivative(J, hI[nI, t + 1])
    st.step(_mul(dJ_next, sp.Derivative(hI[nI, t + 1], hI[nI, t])),
            r"chain rule: $h_{n,t}$ reaches $J$ only through $h_{n,t+1}$, its own neuron's next state")
    st.step(_mul(dJ_next, _slope(zI[nI, t + 1]), u), r"$h_{n,t+1} = \sigma(w_n x_{t+1} + u_n h_{n,t} + b_n)$")
    rest = sp.Product(_slope(zI[nI, k_sym + 1]), (k_sym, t + 1, T_ - 1))  # the claim at t + 1, factor by factor
    st.step(_mul(sp.Derivative(J, hI[nI, T_]), u ** (T_ - t - 1), rest, _slope(zI[nI, t + 1]), u), "induction hypothesis",
            given=[ind.hypothesis])
    st.step(_eq4(t)[1], r"the product's first factor is $\sigma'_{n,t+1}$; $u_n^{T-t-1} u_n = u_n^{T-t}$")
    return ind


def general_form_matches(steps: int, start: int) -> bool:
    """The general form at (T, t) is, factor for factor, the last step of :func:`chain_derivation`."""
    hs, zs, _ = neuron_symbols(steps)
    conc = GENERAL.xreplace({T_sym: steps, t_sym: start}).doit()
    conc = conc.xreplace({**{hI[nI, s]: hs[s] for s in range(steps + 1)},
                          **{zI[nI, s]: zs[s] for s in range(steps + 1)}})
    return sp.simplify(conc - chain_derivation(steps, start).result) == 0


# ---- the range of |u_n| ------------------------------------------------------------------------

eps_s = sym("epsilon", r"\epsilon", meaning="smallest gradient factor still useful", shape="scalar", positive=True)
gam_s = sym("gamma", r"\gamma", meaning="largest gradient factor that does not explode", shape="scalar",
            positive=True)
P_s = sym("P", r"\textstyle\prod_k \sigma'_{n,k+1}", meaning=r"product of the slopes along the path, "
          r"$P = \prod_{k=t}^{T-1} \sigma'_{n,k+1} > 0$", shape="scalar", positive=True)
lag_s = sym("ell", r"(T - t)", meaning="number of steps from $t$ to $T$", integer=True, positive=True)
absu = sym("abs_u", r"|u_n|", positive=True)


@functools.cache
def range_bounds():
    """(lower, upper) for ``|u_n|``: SymPy solves ``|u_n|^(T−t) P = ε`` and ``= γ`` for ``|u_n| > 0``."""
    lo = sp.solve(sp.Eq(absu ** lag_s * P_s, eps_s), absu)
    hi = sp.solve(sp.Eq(absu ** lag_s * P_s, gam_s), absu)
    if len(lo) != 1 or len(hi) != 1:
        raise ValueError(f"expected one positive root, got {lo} and {hi}")
    return lo[0], hi[0]


@functools.cache
def range_derivation() -> Derivation:
    """At the lower bound the gradient factor is exactly ε (and γ at the upper, by the same steps)."""
    lo, _ = range_bounds()
    d = Derivation("indrnn_range_lower", "The gradient factor at the lower end of the range",
                   sp.Mul(sp.Pow(lo, lag_s, evaluate=False), P_s, evaluate=False), instances=[{lag_s: L_} for L_ in (1, 2, 5, 10)], label="indrnn-range-lower")
    d.step(_mul(eps_s / P_s, P_s), r"$(a^{1/(T-t)})^{T-t} = a$ for $a > 0$")
    d.step(eps_s, r"cancel $\prod_k \sigma'_{n,k+1} > 0$")
    return d


def _check_range_args(eps, gamma, T, t):
    if not (0 < eps < gamma):
        raise ValueError(f"need 0 < eps < gamma, got eps={eps}, gamma={gamma}")
    if int(T) != T or int(t) != t or T < 1 or not 0 <= t < T:
        raise ValueError(f"need integers T >= 1 and 0 <= t < T, got T={T}, t={t}")


def recurrent_weight_range(eps: float, gamma: float, T: int, t: int = 0,
                           slope_product: float = 1.0) -> tuple[float, float]:
    r"""The ``|u_n|`` interval keeping :math:`\epsilon \le |u_n|^{T-t}\prod\sigma' \le \gamma`
    (``slope_product`` = :math:`\prod_{k=t}^{T-1}\sigma'_{n,k+1} > 0`; 1 for active ReLU units)."""
    _check_range_args(eps, gamma, T, t)
    if not slope_product > 0:
        raise ValueError(f"slope_product must be positive, got {slope_product}")
    lo, hi = range_bounds()
    vals = {eps_s: eps, gam_s: gamma, P_s: slope_product, lag_s: T - t}
    return float(lo.xreplace(vals)), float(hi.xreplace(vals))


def relu_range(gamma: float, T: int, t: int = 0) -> tuple[float, float]:
    r"""The paper's ReLU relaxation :math:`|u_n| \in [0, \gamma^{1/(T-t)}]`."""
    _check_range_args(min(gamma / 2, 1e-300) if gamma > 0 else 0.0, gamma, T, t)
    return 0.0, float(gamma ** (1.0 / (T - t)))


# ---- numerics ----------------------------------------------------------------------------------

ACTIVATIONS = {"relu": (lambda z: np.maximum(z, 0.0), lambda z: (z > 0).astype(float)),
               "tanh": (np.tanh, tanh_slope)}  # 1 − tanh², to the ulp where tanh rounds to ±1


def _act(activation):
    if activation not in ACTIVATIONS:
        raise ValueError(f"unknown activation {activation!r}; choose one of: {', '.join(ACTIVATIONS)}")
    return ACTIVATIONS[activation]


def forward(xs, w, u, b, h0=None, activation: str = "relu"):
    """h_t = σ(W x_t + u ⊙ h_{t−1} + b) for t = 1 … T: returns h (T+1, N) and z (T+1, N; z_0 = 0)."""
    xs, w, u, b = (np.asarray(v, dtype=float) for v in (xs, w, u, b))
    if xs.ndim != 2 or xs.shape[0] < 1:
        raise ValueError(f"inputs xs must have shape (T, d) with T >= 1, got {xs.shape}")
    N = u.shape[0] if u.ndim == 1 else -1
    if u.ndim != 1 or w.shape != (N, xs.shape[1]) or b.shape != (N,):
        raise ValueError(f"need u (N,), W (N, {xs.shape[1]}), b (N,); got {u.shape}, {w.shape}, {b.shape}")
    f, _ = _act(activation)
    h = np.zeros(N) if h0 is None else np.asarray(h0, dtype=float)
    hs, zs = [h], [np.zeros(N)]
    for x in xs:
        zs.append(w @ x + u * hs[-1] + b)
        hs.append(f(zs[-1]))
    return np.array(hs), np.array(zs)


def gradient_factors(zs, u, activation: str = "relu") -> np.ndarray:
    r""":math:`\partial h_{n,T}/\partial h_{n,t} = u_n^{T-t}\prod_{k=t}^{T-1}\sigma'_{n,k+1}` for
    t = 0 … T (rows) and every neuron (columns), from the pre-activations ``zs`` of a run."""
    _, fprime = _act(activation)
    zs = np.asarray(zs, dtype=float)
    u = np.asarray(u, dtype=float)
    steps = zs.shape[0] - 1
    out = np.ones_like(zs)
    for s in range(steps - 1, -1, -1):   # factor for step s: σ'(z_{s+1}) u
        out[s] = out[s + 1] * fprime(zs[s + 1]) * u
    return out


def _autograd_tail(activation):
    import autograd.numpy as anp
    f = {"relu": lambda z: anp.maximum(z, 0.0), "tanh": anp.tanh}[activation]

    def tail(h_start, xs, w, u, b, c):
        h = h_start
        for x in xs:
            h = f(anp.dot(w, x) + u * h + b)
        return anp.sum(c * h)           # J = Σ_n c_n h_{n,T}: ∂J/∂h_{n,T} = c_n
    return tail


def long_sequence_table(steps: int = 100, neurons: int = 4, start: int = 10, seed: int = 0) -> CheckTable:
    """Eq. 4 at T = 100 (tanh, so σ' varies) against autograd and central differences."""
    import autograd

    rng = np.random.default_rng(seed)
    xs = rng.normal(size=(steps, 2))
    w = 0.1 * rng.normal(size=(neurons, 2))
    b = 0.01 * rng.normal(size=neurons)
    u = rng.uniform(0.97, 1.03, size=neurons)  # keeps u^(T−t) Π σ' well above float64 rounding
    c = rng.normal(size=neurons)
    hs, zs = forward(xs, w, u, b, activation="tanh")
    formula = c * gradient_factors(zs, u, "tanh")[start]
    tail = _autograd_tail("tanh")
    args = (xs[start:], w, u, b, c)
    ag = autograd.grad(tail)(hs[start], *args)
    eps = 1e-6
    fd = np.array([(tail(hs[start] + eps * e, *args) - tail(hs[start] - eps * e, *args)) / (2 * eps)
                   for e in np.eye(neurons)])
    table = CheckTable(f"∂J/∂h_(n,t) = ∂J/∂h_(n,T) u_n^(T−t) Π σ' at T = {steps}, t = {start}, N = {neurons} (tanh)",
                       ["oracle", "neurons", "max |formula − oracle| / max |oracle|", "tolerance"],
                       note="J = Σ_n c_n h_(n,T); the formula uses only u, c and the run's pre-activations.")
    for name, ref, tol in (("reverse-mode autodiff (autograd)", ag, 1e-10),
                           ("central differences (float64, h = 1e-6)", fd, 1e-6)):
        rel = float(np.max(np.abs(formula - ref)) / np.max(np.abs(ref)))
        table.rows.append({"oracle": name, "neurons": neurons, "max |formula − oracle| / max |oracle|": rel,
                           "tolerance": f"{tol:g} × max |oracle|", "passed": rel <= tol})
    return table


def range_demo(eps: float = 0.1, gamma: float = 10.0, T: int = 100, seed: int = 0) -> CheckTable:
    """ReLU IndRNN with active units: u below, inside and above the range, gradient measured."""
    lo, hi = recurrent_weight_range(eps, gamma, T)
    us = {"0.9 × lower (outside)": 0.9 * lo, "lower bound": lo, "√(lower·upper)": np.sqrt(lo * hi),
          "upper bound": hi, "1.1 × upper (outside)": 1.1 * hi}
    rng = np.random.default_rng(seed)
    xs = rng.uniform(0.5, 1.0, size=(T, 1))          # positive inputs: every unit stays active
    table = CheckTable(f"|∂h_(n,T)/∂h_(n,0)| for u inside and outside [{lo:.4f}, {hi:.4f}] "
                       f"(ε = {eps:g}, γ = {gamma:g}, T = {T}, ReLU)",
                       ["u_n", "value", "measured |∂h_T/∂h_0|", "expected"],
                       note="Measured by autograd through the ReLU network; inside the range it must lie in "
                            "[ε, γ] (to 1e-12 relative), outside it must leave that interval.")
    import autograd
    tail = _autograd_tail("relu")
    for label, uv in us.items():
        uu = np.array([uv])
        hs, zs = forward(xs, np.ones((1, 1)), uu, np.array([0.1]), activation="relu")
        g = float(autograd.grad(tail)(hs[0], xs, np.ones((1, 1)), uu, np.array([0.1]), np.array([1.0]))[0])
        inside = lo * (1 - 1e-12) <= uv <= hi * (1 + 1e-12)
        if inside:
            ok = eps * (1 - 1e-12) <= abs(g) <= gamma * (1 + 1e-12)
            expect = "in [ε, γ]"
        else:
            ok = abs(g) < eps or abs(g) > gamma
            expect = "vanishes (< ε)" if uv < lo else "explodes (> γ)"
        table.rows.append({"u_n": label, "value": f"{uv:.5f}", "measured |∂h_T/∂h_0|": abs(g),
                           "expected": expect, "passed": bool(ok)})
    return table


# ---- results: the chain at T = 3 with σ = tanh and J = h_{n,T}² / 2 -----------------------------

RESULT_T = 3


@functools.cache
def results() -> list[Result]:
    """∂J/∂h_{n,t} for t = 1, 2 at T = 3, from the checked derivations' last steps with σ = tanh
    and J = h_{n,3}²/2 (so ∂J/∂h_{n,3} = h_{n,3}), as explicit expressions in u_n, w_n, b_n, x_s."""
    hs, zs, xs = neuron_symbols(RESULT_T)
    out = []
    for start in (1, 2):
        defs = {zs[s]: w * xs[s] + u * hs[s - 1] + bn for s in range(start + 1, RESULT_T + 1)}
        defs.update({hs[s]: sp.tanh(zs[s]) for s in range(start + 1, RESULT_T + 1)})

        def expand(e):
            for _ in range(2 * RESULT_T + 2):
                e = e.xreplace(defs)
            return e
        last = chain_derivation(RESULT_T, start).result
        expr = last.replace(lambda e: isinstance(e, sp.Subs), lambda e: 1 - sp.tanh(e.point[0]) ** 2)
        expr = expand(expr.xreplace({sp.Derivative(J, hs[RESULT_T]): hs[RESULT_T]}))
        out.append(Result(expand(hs[RESULT_T]) ** 2 / 2, hs[start], expr, name="J"))
    return out


@functools.cache
def numeric_checks() -> list[CheckTable]:
    """Results against oracles, eq. 4 at T = 100, the general form, the range demonstration."""
    general = CheckTable("The general form (product over k) against each checked chain",
                         ["T", "t", "Π-form equals the derivation"])
    for T_, t_ in CHECKED:
        ok = general_form_matches(T_, t_)
        general.rows.append({"T": T_, "t": t_, "Π-form equals the derivation": "yes" if ok else "no", "passed": ok})
    return [crosscheck(results(), points=3, seed=0, title="∂J/∂h_(n,t) (T = 3, tanh, J = h²/2) against independent oracles"),
            long_sequence_table(), general, range_demo()]
