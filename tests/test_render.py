"""The printers (derivations.render): the site's notation, independent of the checker."""

from __future__ import annotations

import pytest
import sympy as sp

from derivations.core import Derivation, indexed, sym
from derivations.render import breakable_delimiters, latex, reason_latex, rows, split_scripts, text

i, j, k, m = sp.symbols("i j k m", integer=True)
W1 = indexed("W1", r"W^{(1)}", real=True)
Wcf = indexed("Wcf", r"W_{cf}", real=True)
Wxi = indexed("Wxi", r"W_{xi}", real=True)
c_prev = indexed("c_prev", r"c_{t-1}", real=True)
h3 = indexed("h3", r"h^{(3)}", real=True)
x = indexed("x", "x", real=True)
u = sym("u", real=True)


@pytest.mark.parametrize("tex, parts", [
    ("W", ("W", None, None)),
    ("W^{(1)}", ("W", "(1)", None)),
    ("c_{t-1}", ("c", None, "t-1")),
    ("W^{(1)}_{ij}", ("W", "(1)", "ij")),
    ("x_1", ("x", None, "1")),
    (r"\hat{y}_{k}", (r"\hat{y}", None, "k")),
    (r"\mathcal{J}", (r"\mathcal{J}", None, None)),
    ("{W_{cf}}", ("W", None, "cf")),
    ("x_1_2", None),          # two subscripts: not a name with scripts
    ("x'", ("x'", None, None)),
])
def test_split_scripts(tex, parts):
    assert split_scripts(tex) == parts


@pytest.mark.parametrize("expr, tex", [
    (W1[i, j], "W^{(1)}_{ij}"),            # superscript, then subscript, both on the letter
    (Wcf[k], "W_{cf,k}"),                   # the base's own subscript and the index, with a comma
    (Wxi[k, m], "W_{xi,km}"),
    (c_prev[k], "c_{t-1,k}"),
    (x[i], "x_{i}"),
    (x[i + 1], "x_{i + 1}"),
    (x[k, i + 1], "x_{k,i + 1}"),           # one index longer than a character: commas
])
def test_indices_print_as_in_a_textbook(expr, tex):
    assert latex(expr) == tex


def test_powers_of_indexed_symbols_are_parenthesised():
    assert latex(h3[1] ** 2) == r"\left(h^{(3)}_{1}\right)^{2}"
    assert latex(x[i] ** 2) == r"\left(x_{i}\right)^{2}"
    assert "h^{(3)}_{1}^{2}" not in latex(h3[1] ** 2 + x[i])
    assert latex(1 / x[i] ** 2) == r"\frac{1}{\left(x_{i}\right)^{2}}"
    assert latex(sp.sqrt(x[i])) == r"\sqrt{x_{i}}"   # a root stays a root
    assert latex(u ** 2) == "u^{2}"


def test_derivatives_print_without_sympy_artefacts():
    f = sp.Function("f")
    z = sp.Symbol("z")
    assert latex(f(z).diff(z)) == r"f'(z)"
    chained = sp.diff(f(z ** 2), z)  # SymPy builds Subs(Derivative(f(_x), _x), _x, z**2)
    assert "Subs" not in latex(chained) and "f'" in latex(chained) and "f'" in text(chained)
    assert latex(sp.Derivative(sp.tanh(u), u)) == r"\frac{\partial \tanh{\left(u \right)}}{\partial u}"
    assert latex(sp.Derivative(u ** 2 + u, u)).startswith(r"\frac{\partial}{\partial u}")


def test_delimiters_a_line_can_break_inside():
    a = sp.symbols("a:8")
    long_flat = latex(u * sp.Add(*a))
    assert r"\left(" not in long_flat and "(" in long_flat
    assert latex(u * (1 - u)) == r"u \left(1 - u\right)"           # short: kept whole
    tall = breakable_delimiters(r"\left(" + " + ".join(r"\frac{a_%d}{b_%d}" % (n, n) for n in range(8)) + r"\right)")
    assert tall.startswith(r"\biggl(") and tall.endswith(r"\biggr)")
    short_tall = r"\left(\frac{a}{b}\right)"
    assert breakable_delimiters(short_tall) == short_tall
    matrix = r"\left(\begin{matrix}a + b + c + d + e & f\end{matrix}\right)"
    assert breakable_delimiters(matrix) == matrix
    nested = breakable_delimiters(r"\left(a + b + c + d + \left(e + f + g + h + i + j\right)\right)")
    assert nested == "(a + b + c + d + (e + f + g + h + i + j))"


def test_text_printer_reads_a_definition():
    f = sp.Function("f")
    assert text(sp.Lambda(i, f(x[i]) * 2)) == "(i) ↦ 2*f(x[i])"


def test_reasons_and_rows():
    assert reason_latex("chain rule; $a = f(z)$") == r"\text{chain rule; }a = f(z)"
    assert reason_latex("a {set}") == r"\text{a \{set\}}"
    with pytest.raises(ValueError, match="unbalanced"):
        reason_latex("one $dollar")
    tex = rows([("x", "= 1", ""), ("", "= 2", r"\text{why}")])
    assert tex.splitlines()[1:-1] == [r"x &= 1 \\", r" &= 2 && \text{(}\text{why}\text{)}"]


def test_a_derivation_prints_as_rows_with_its_reasons():
    d = Derivation("sq", "A square", sp.Derivative(u ** 2, u))
    d.step(2 * u, "power rule")
    lines = d.latex().splitlines()
    assert lines[0] == r"\begin{aligned}" and lines[-1] == r"\end{aligned}"
    assert lines[1] == r"\frac{\partial}{\partial u} \left(u^{2}\right) &= 2 u && \text{(}\text{power rule}\text{)}"


def test_a_vector_derivation_is_shown_entry_by_entry():
    v = sp.ImmutableMatrix([sp.Derivative(u ** 2, u), sp.Derivative(u ** 3, u)])
    d = Derivation("vec", "Two powers", v)
    d.step(sp.ImmutableMatrix([2 * u, 3 * u ** 2]), "power rule")
    tex = d.latex()
    assert r"\begin{matrix}" not in tex and r"\left[" not in tex
    body = tex.splitlines()[1:-1]
    assert len(body) == 2
    assert body[0].endswith(r"&= 2 u && \text{(}\text{power rule}\text{)} \\")
    assert body[1].endswith("&= 3 u^{2}")  # the second entry: same steps, reason shown once


def test_several_results_are_shown_one_per_line():
    from derivations.render import equations

    tex = equations(sp.Tuple(sp.Eq(u, 1), sp.Eq(x[i], 2), u + 1))
    assert tex.splitlines()[1:-1] == [r"u &= 1 \\", r"x_{i} &= 2 \\", r" &u + 1"]
    assert r"\left(" not in tex


def test_a_sum_starts_with_a_positive_term():
    y, p, z, a = sp.symbols("y p z a")
    assert latex(p - y) == "p - y"
    assert latex(-y + sp.Indexed("q", i)) == "q_{i} - y"
    assert latex(a - z) == "a - z"
    assert latex(-z - a) == "- a - z"        # nothing positive: as SymPy orders it
    assert latex(1 - u) == "1 - u"


def test_kronecker_deltas_read_as_in_a_textbook():
    """δ_ij for one-letter indices, δ_{i,j+1} with a comma once an index is longer, a power of a
    delta above its subscript."""
    assert latex(sp.KroneckerDelta(i, j)) == r"\delta_{ij}"
    assert latex(sp.KroneckerDelta(i, j + 1)) == r"\delta_{i,j + 1}"
    assert latex(sp.Pow(sp.KroneckerDelta(i, j), 2, evaluate=False)) == r"\delta_{ij}^{2}"
    assert latex(sp.Pow(sp.KroneckerDelta(i, j + 1), 3, evaluate=False)) == r"\delta_{i,j + 1}^{3}"


def test_an_exponential_keeps_its_exponent_on_one_line():
    """A fraction in an exponent folds to a slash (e^{x/τ}, not a stacked fraction), and only
    there: the same fraction outside stays stacked."""
    tau = sym("tau_r", r"\tau", positive=True)
    assert latex(sp.exp(u / tau)) == r"e^{u / \tau}"
    assert latex(sp.exp((u + 1) / tau)) == r"e^{\left(u + 1\right) / \tau}"
    assert latex(u / tau) == r"\frac{u}{\tau}"
    assert latex(sp.exp(u / tau) / tau) == r"\frac{e^{u / \tau}}{\tau}"


def test_a_product_of_explicit_matrices_may_break_between_factors():
    a, b = sp.Matrix([[1, u]]), sp.Matrix([[u], [2]])
    assert latex(sp.MatMul(a, b, evaluate=False)) == (
        r"\left[\begin{matrix}1 & u\end{matrix}\right] \allowbreak \left[\begin{matrix}u\\2\end{matrix}\right]")
    A, B = sp.MatrixSymbol("A", 2, 2), sp.MatrixSymbol("B", 2, 2)
    assert latex(A * B) == "A B"  # symbolic factors: SymPy's own product, no break


def test_the_text_printer_writes_partial_derivatives():
    v = sp.Symbol("v", real=True)  # (the text printer writes SymPy's names)
    assert text(sp.Derivative(sp.tanh(u), u)) == "∂tanh(u)/∂u"
    assert text(sp.Derivative(u * v, u, 2, v)) == "∂/∂u^2 ∂v (u*v)"
    assert text(sp.Derivative(u ** 2 + v, u)) == "∂/∂u (u**2 + v)"
    f = sp.Function("f")
    z = sp.Symbol("z")
    assert text(f(z).diff(z, 2)) == "f''(z)"
    assert text(sp.diff(f(z ** 2), z)) == "2*z*f'(z**2)"
    assert latex(sp.diff(f(z ** 2), z)) == r"2 z f'(z^{2})"
