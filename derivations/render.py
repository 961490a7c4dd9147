r"""How derived expressions are printed: LaTeX for the pages, plain text for the terminal.

The checker (:mod:`derivations.core`) decides whether a step holds; this module only decides how
an expression looks. It prints in the notation of a textbook rather than SymPy's defaults:

- **indices**: several indices are separated by commas as soon as one of them is longer than one
  character (:math:`c_{t-1,k}`, :math:`W^{(1)}_{ij}`), and an indexed symbol whose name already
  carries scripts merges them: the base :math:`W_{cf}` indexed by :math:`k` is :math:`W_{cf,k}`,
  the base :math:`W^{(1)}` indexed by :math:`i, j` is :math:`W^{(1)}_{ij}` (superscript, then
  subscript, both on the letter), never :math:`{W^{(1)}}_{ij}`;
- **powers** of indexed symbols and of symbols with a superscript are parenthesised:
  :math:`\bigl(h^{(3)}_{1}\bigr)^{2}`, never :math:`h^{(3)2}_{1}`;
- **derivatives** of generic activations print as :math:`f'(z)` (no ``Subs`` or ``Derivative``
  artefacts), other derivatives with :math:`\partial`;
- **delimiters** that hold no tall material are plain parentheses, so the renderer can break a
  long expression at ``+`` and ``−`` inside them; tall and long ones are ``\biggl(``… ``\biggr)``
  (also breakable); only short tall ones (a fraction in parentheses) stretch with ``\left``.

A derivation is laid out as rows (:func:`rows`): the ``aligned`` convention
``lhs &= rhs && \text{(reason)}``, which the site's math renderer turns into a grid whose
reasons move under their step on a narrow screen and whose long right-hand sides break at
``+``/``−``.

Symbols made with :func:`derivations.core.sym` register their LaTeX names here.
"""

from __future__ import annotations

import contextlib
import contextvars
import re

import sympy as sp
from sympy.core.function import AppliedUndef
from sympy.printing.latex import LatexPrinter
from sympy.printing.str import StrPrinter

__all__ = ["latex", "text", "latex_names_of", "rows", "entries", "equations", "reason_latex", "split_scripts", "breakable_delimiters"]

#: LaTeX names of symbols made with :func:`derivations.core.sym` (``W1`` prints as ``W^{(1)}``);
#: where two topics give an equal symbol different names, the last one imported is here …
LATEX_NAMES: dict[sp.Symbol, str] = {}
#: … and each module's own choice is kept here, so its derivations render with its names.
MODULE_NAMES: dict[str, dict[sp.Symbol, str]] = {}
_SCOPE: contextvars.ContextVar = contextvars.ContextVar("latex_names", default=None)


def register_name(symbol: sp.Symbol, latex_name: str, module: str) -> None:
    """Record that ``module`` prints ``symbol`` as ``latex_name``."""
    LATEX_NAMES[symbol] = latex_name
    MODULE_NAMES.setdefault(module, {})[symbol] = latex_name


#: What each module's symbols mean: module → {symbol, or a generic function: (meaning, shape)}.
NOTATION: dict[str, dict] = {}


def register_meaning(obj, meaning: str, shape: str | None, module: str) -> None:
    """Record what ``obj`` (a symbol, an indexed base, a generic function) means in ``module``."""
    key = obj.label if isinstance(obj, sp.IndexedBase) else obj
    NOTATION.setdefault(module, {})[key] = (meaning, shape)


def notation_of(module: str) -> dict:
    """The notation list of ``module``: {symbol or function: (meaning, shape)}, in the order the
    module made them."""
    return dict(NOTATION.get(module, {}))


def used_symbols(expr) -> set:
    """The symbols, indexed bases (by label) and generic functions a reader sees in ``expr``
    (bound variables of sums, products and integrals excluded). A matrix shown by its name
    (:class:`derivations.core.NamedMatrix`) shows the symbols its name shows, not its entries."""
    if getattr(expr, "shown_symbols", None) is not None:
        return used_symbols(sp.Tuple(*expr.shown_symbols))
    if any(getattr(e, "shown_symbols", None) is not None for e in sp.preorder_traversal(expr)):
        return set().union(*[used_symbols(a) for a in expr.args])
    out = set()
    for e in sp.preorder_traversal(expr):
        if isinstance(e, AppliedUndef):
            out.add(e.func)
        elif isinstance(e, sp.Derivative):  # ∂a/∂b shows b even where a does not hold it
            for v in e.variables:
                if isinstance(v, sp.Indexed):
                    out.add(v.base.label)
                elif isinstance(v, sp.Symbol) and not isinstance(v, sp.Dummy):  # f'(u): no _x shown
                    out.add(v)
    out |= {s for s in expr.free_symbols if isinstance(s, sp.Symbol) and not isinstance(s, sp.Dummy)}
    for ix in expr.atoms(sp.Indexed):
        out.add(ix.base.label)
        out.discard(ix.base)
    return {s.label if isinstance(s, sp.IndexedBase) else s for s in out}


@contextlib.contextmanager
def latex_names_of(module: str):
    """Within the block, :func:`latex` prefers the LaTeX names that ``module`` gave its symbols."""
    token = _SCOPE.set(MODULE_NAMES.get(module, {}))
    try:
        yield
    finally:
        _SCOPE.reset(token)


# --------------------------------------------------------------------------------------------
# Scripts of a printed name
# --------------------------------------------------------------------------------------------


def _group_end(tex: str, i: int) -> int:
    """Index just past the script argument starting at ``tex[i]`` (a ``{…}`` group, a command,
    or one character)."""
    if tex[i] == "{":
        depth = 0
        for j in range(i, len(tex)):
            depth += {"{": 1, "}": -1}.get(tex[j], 0)
            if depth == 0:
                return j + 1
        raise ValueError(f"unbalanced braces in {tex!r}")
    if tex[i] == "\\":
        m = re.match(r"\\[A-Za-z]+|\\.", tex[i:])
        return i + m.end()
    return i + 1


def _unbrace(tex: str) -> str:
    return tex[1:-1] if tex.startswith("{") and tex.endswith("}") and _group_end(tex, 0) == len(tex) else tex


def split_scripts(tex: str) -> tuple[str, str | None, str | None] | None:
    """Split a printed name into its nucleus, superscript and subscript (without braces).

    Returns None when the name is not "a nucleus with at most one ``^`` and one ``_``" (then it
    is printed as a whole).

    >>> split_scripts("W^{(1)}")
    ('W', '(1)', None)
    >>> split_scripts("c_{t-1}")
    ('c', None, 't-1')
    >>> split_scripts(r"\\hat{y}")
    ('\\\\hat{y}', None, None)
    """
    tex = _unbrace(tex.strip())
    i, n = 0, len(tex)
    while i < n and tex[i] not in "^_":
        if tex[i] == "{" or tex[i] == "\\":
            i = _group_end(tex, i)
            # a command's braced argument belongs to the nucleus (\hat{y}, \mathcal{J})
            while i < n and tex[i] == "{":
                i = _group_end(tex, i)
        else:
            i += 1
    nucleus, scripts = tex[:i], {}
    if not nucleus:
        return None
    while i < n:
        mark = tex[i]
        if mark not in "^_" or mark in scripts or i + 1 >= n:
            return None
        end = _group_end(tex, i + 1)
        scripts[mark] = _unbrace(tex[i + 1:end])
        i = end
    return nucleus, scripts.get("^"), scripts.get("_")


def _scripted(nucleus: str, sup: str | None, sub: str | None) -> str:
    return nucleus + (f"^{{{sup}}}" if sup is not None else "") + (f"_{{{sub}}}" if sub is not None else "")


#: Indexed bases whose indices are always separated by commas (a unit and a time step,
#: :math:`h_{n,t}`), whatever their length.
SEPARATED: set = set()


def _join_indices(parts: list[str], separate: bool = False) -> str:
    """``ij`` when every index is one character, ``t-1,k`` otherwise (or when ``separate``)."""
    bare = [_unbrace(p) for p in parts]
    return "".join(bare) if not separate and all(len(_visible(b)) <= 1 for b in bare) else ",".join(bare)


# --------------------------------------------------------------------------------------------
# Delimiters the renderer can break inside
# --------------------------------------------------------------------------------------------

_DELIM = re.compile(r"\\(left|right)\s*(\(|\)|\[|\]|\\\{|\\\}|\\\||\||\.|\\langle|\\rangle|\\lvert|\\rvert|\\lVert|\\rVert)")
_TALL = re.compile(r"\\(frac|dfrac|sum|prod|int|iint|oint|lim|binom|sqrt|begin)(?![A-Za-z])")
#: Flat parenthesised material up to this long (visible characters) is kept whole.
SHORT = 10
#: Tall parenthesised material longer than this (visible characters) gets breakable ``\biggl(``.
LONG_TALL = 24


def breakable_delimiters(tex: str) -> str:
    r"""Replace ``\left( … \right)`` by parentheses a line may break inside.

    Short flat content keeps ``\left``/``\right`` (a line does not break inside ``(1 - f_k)``);
    longer flat content gets plain ``(``/``)``; tall content (fractions, sums) longer than
    :data:`LONG_TALL` characters gets ``\biggl(``/``\biggr)``; short tall content and matrices keep
    ``\left``/``\right``.

    >>> breakable_delimiters(r"\left(a + b + c + d + e + f\right) \left(\frac{1}{2}\right)")
    '(a + b + c + d + e + f) \\left(\\frac{1}{2}\\right)'
    """
    stack, pairs = [], []
    for m in _DELIM.finditer(tex):
        if m.group(1) == "left":
            stack.append(m)
        elif stack:
            pairs.append((stack.pop(), m))
    edits = []
    for op, cl in pairs:
        if op.group(2) != "(" or cl.group(2) != ")":
            continue  # brackets stay: a plain "[" after "\\\\" would read as a line-spacing argument
        inner = tex[op.end():cl.start()]
        if not _TALL.search(inner):
            if len(_visible(inner)) <= SHORT:
                continue  # (1 - f_k) stays whole: a line never breaks inside a short group
            space = re.match(r"\s*", tex[cl.start() - 1::-1]).end()  # SymPy's "(u \right)"
            edits += [(op.start(), op.end(), "("), (cl.start() - space, cl.end(), ")")]
        elif "\\begin" not in inner and len(_visible(inner)) > LONG_TALL:
            edits += [(op.start(), op.end(), r"\biggl" + op.group(2)), (cl.start(), cl.end(), r"\biggr" + cl.group(2))]
    for start, end, new in sorted(edits, reverse=True):
        tex = tex[:start] + new + tex[end:]
    return tex


# --------------------------------------------------------------------------------------------
# The printers
# --------------------------------------------------------------------------------------------


def _prime_form(expr):
    """Return (function, order, argument) if ``expr`` is f^(n) of one argument, else None."""
    if isinstance(expr, sp.Derivative) and isinstance(expr.expr, AppliedUndef):
        f = expr.expr
        if len(f.args) == 1 and isinstance(f.args[0], (sp.Symbol, sp.Indexed)):
            if all(v == f.args[0] for v in expr.variables):
                return f.func, len(expr.variables), f.args[0]
    if isinstance(expr, sp.Subs) and len(expr.variables) == 1:
        inner = expr.expr
        if isinstance(inner, sp.Derivative) and isinstance(inner.expr, AppliedUndef):
            f = inner.expr
            if f.args == (expr.variables[0],) and all(v == f.args[0] for v in inner.variables):
                return f.func, len(inner.variables), expr.point[0]
    return None


def _simple(e) -> bool:
    """A symbol, an indexed symbol, or a function of symbols: ∂e/∂x, not ∂/∂x (e)."""
    if isinstance(e, (sp.Symbol, sp.Indexed)):
        return True
    return isinstance(e, sp.Function) and all(isinstance(a, (sp.Symbol, sp.Indexed)) for a in e.args)


class _Latex(LatexPrinter):
    def __init__(self, settings=None):
        settings = dict(settings or {})
        settings.setdefault("symbol_names", {**LATEX_NAMES, **(_SCOPE.get() or {})})
        super().__init__(settings)
        self._factor_order: list = []  # the printing orders saved by products shown as written

    def _print_prime(self, form):
        f, order, arg = form
        primes = "'" * order if order <= 3 else f"^{{({order})}}"
        # the argument is a symbol: plain parentheses (\left( would set f' (z) apart)
        return f"{self._print(sp.Symbol(f.__name__))}{primes}({self._print(arg)})"

    def _print_Derivative(self, expr):
        form = _prime_form(expr)
        if form:
            return self._print_prime(form)
        num = self._print(expr.expr)
        if not _simple(expr.expr):
            num = r"\left(" + num + r"\right)"
            head, tail = r"\frac{\partial}{", "} " + num
        else:
            head, tail = r"\frac{\partial " + num + "}{", "}"
        dens = []
        for v, count in expr.variable_count:
            p = self._print(v)
            dens.append(r"\partial " + p + (f"^{{{count}}}" if count > 1 else ""))
        return head + " ".join(dens) + tail

    def _print_Subs(self, expr):
        form = _prime_form(expr)
        return self._print_prime(form) if form else super()._print_Subs(expr)

    def _print_Indexed(self, expr):
        base = self._print(expr.base)
        idx = _join_indices([self._print(i) for i in expr.indices], expr.base.label in SEPARATED)
        parts = split_scripts(base)
        if parts is None:
            return f"{{{base}}}_{{{idx}}}"
        nucleus, sup, sub = parts
        return _scripted(nucleus, sup, idx if sub is None else f"{sub},{idx}")

    def _print_Pow(self, expr):
        base, exp = expr.args
        scripted = isinstance(base, sp.Indexed) or (
            isinstance(base, sp.Symbol) and "^" in self._print(base))
        if scripted and not (exp.is_Rational and (exp.is_negative or exp.q != 1)):
            return r"\left(%s\right)^{%s}" % (self._print(base), self._print(exp))
        return super()._print_Pow(expr)

    def _print_ExpBase(self, expr, exp=None):
        r"""e^{(α + g_1)/τ}, not a stacked fraction in the exponent: fractions there fold to a
        slash, which keeps a superscript at its readable size."""
        old = self._settings["fold_short_frac"]
        self._settings["fold_short_frac"] = True
        try:
            power = self._print(expr.args[0])
        finally:
            self._settings["fold_short_frac"] = old
        tex = r"e^{%s}" % power
        return self._do_exponent(tex, exp)

    def _print_Mul(self, expr):
        """An unevaluated product (:func:`derivations.core.shown_product`) keeps its factors in
        the order written: SymPy's printer would sort them (∂h⁽²⁾/∂h⁽¹⁾ before ∂h⁽³⁾/∂h⁽²⁾)."""
        if list(expr.args) == list(sp.Mul(*expr.args).args):
            return super()._print_Mul(expr)
        old = self._settings["order"]
        self._settings["order"] = "none"
        self._factor_order.append(old)
        try:
            return super()._print_Mul(expr)
        finally:
            self._factor_order.pop()
            self._settings["order"] = old

    def _print(self, expr, **kwargs):
        # inside a product shown as written only its own factors keep their order: what they
        # hold prints in the usual order (n - 1, not -1 + n)
        if self._factor_order and not isinstance(expr, sp.Mul):
            inner = self._settings["order"]
            self._settings["order"] = self._factor_order[-1]
            saved, self._factor_order = self._factor_order, []
            try:
                return super()._print(expr, **kwargs)
            finally:
                self._factor_order = saved
                self._settings["order"] = inner
        return super()._print(expr, **kwargs)

    def _print_MatMul(self, expr):
        """A product of explicit matrices may break between its factors (nothing else in it can)."""
        if all(isinstance(a, sp.MatrixBase) or getattr(a, "shown_symbols", 0) != 0 for a in expr.args):
            return r" \allowbreak ".join(self._print(a) for a in expr.args)  # explicit or named matrices
        return super()._print_MatMul(expr)

    def _as_ordered_terms(self, expr, order=None):
        """A sum starts with a positive term where it has one: ŷ − y, a_k − z, not −y + ŷ. A sum of
        named matrices keeps the order it was written in (the order its reason names the terms)."""
        if isinstance(expr, sp.MatAdd) and any(getattr(e, "shown_symbols", None) is not None
                                               for e in sp.preorder_traversal(expr)):
            return list(expr.args)
        terms = list(super()._as_ordered_terms(expr, order=order))
        if terms and terms[0].could_extract_minus_sign():
            k = next((n for n, t in enumerate(terms) if not t.could_extract_minus_sign()), None)
            if k is not None:
                terms.insert(0, terms.pop(k))
        return terms

    def _print_KroneckerDelta(self, expr, exp=None):
        i, j = (self._print(a) for a in expr.args)
        tex = r"\delta_{%s%s}" % (i, j) if len(i) == len(j) == 1 else r"\delta_{%s,%s}" % (i, j)
        return tex if exp is None else f"{tex}^{{{exp}}}"


class _Text(StrPrinter):
    def _print_Equality(self, expr):  # "a = b", not StrPrinter's "Eq(a, b)"
        return f"{self._print(expr.lhs)} = {self._print(expr.rhs)}"

    def _print_prime(self, form):
        f, order, arg = form
        return f"{f.__name__}{chr(39) * order}({self._print(arg)})"

    def _print_Derivative(self, expr):
        form = _prime_form(expr)
        if form:
            return self._print_prime(form)
        wrt = " ".join(f"∂{self._print(v)}" + (f"^{c}" if c > 1 else "") for v, c in expr.variable_count)
        num = self._print(expr.expr)
        if not _simple(expr.expr):
            return f"∂/{wrt} ({num})"
        return f"∂{num}/{wrt}"

    def _print_Subs(self, expr):
        form = _prime_form(expr)
        return self._print_prime(form) if form else super()._print_Subs(expr)

    def _print_Lambda(self, expr):
        args = ", ".join(self._print(v) for v in expr.variables)
        return f"({args}) ↦ {self._print(expr.expr)}"


def latex(expr, **settings) -> str:
    """LaTeX of ``expr`` in the site's notation (module docstring), with the symbols' names."""
    return breakable_delimiters(_Latex(settings).doprint(expr))


def text(expr) -> str:
    """Plain-text form of ``expr`` (``f'(z)`` for generic activations, ``i ↦ …`` for a Lambda).

    >>> f, z = sp.Function("f"), sp.Symbol("z")
    >>> text(3 * f(z).diff(z))
    "3*f'(z)"
    """
    return _Text().doprint(expr)


# --------------------------------------------------------------------------------------------
# Reasons and rows
# --------------------------------------------------------------------------------------------


def _visible(tex: str) -> str:
    """Roughly the characters a reader sees in ``tex`` (commands, braces and scripts dropped)."""
    tex = re.sub(r"\\(left|right|biggl|biggr|frac|partial|text|sum|limits|mathrm|hat|qquad|quad|small)\b", "", tex)
    return re.sub(r"[{}\\^_ ]|\\[A-Za-z]+", "", tex)


def _text_escape(s: str) -> str:
    return s.replace("\\", r"\textbackslash ").replace("{", r"\{").replace("}", r"\}")


def reason_latex(why: str) -> str:
    r"""A reason with ``$…$`` math segments as LaTeX: text in ``\text{}``, math as is.

    >>> reason_latex("chain rule; $a = f(z)$")
    '\\text{chain rule; }a = f(z)'
    """
    parts = why.split("$")
    if len(parts) % 2 == 0:
        raise ValueError(f"unbalanced $ in reason {why!r}")
    out = []
    for k, part in enumerate(parts):
        if part:
            out.append(part if k % 2 else r"\text{" + _text_escape(part) + "}")
    return "".join(out)


def rows(lines: list[tuple[str, str, str]]) -> str:
    r"""The ``aligned`` block of a derivation: one ``(lhs, rhs, note)`` per line, each in LaTeX.

    ``rhs`` starts with its relation (``= …``); a note (the reason) is parenthesised and goes in
    the fourth column, ``lhs &= rhs && \text{(note)}``.

    >>> rows([("x", "= 1", ""), ("", "= 2", r"\text{why}")])
    '\\begin{aligned}\nx &= 1 \\\\\n &= 2 && \\text{(}\\text{why}\\text{)}\n\\end{aligned}'
    """
    out = []
    for lhs, rhs, note in lines:
        rel = rhs.lstrip()
        line = f"{lhs} &{rel}"
        if note:
            line += r" && \text{(}" + note + r"\text{)}"
        out.append(line)
    return "\\begin{aligned}\n" + " \\\\\n".join(out) + "\n\\end{aligned}"


def entries(lhs, matrix) -> str:
    r"""A matrix shown entry by entry, as rows ``lhs(r, c) &= entry``: a wide result stays
    readable on any screen. ``lhs`` gives the left side of entry ``(r, c)``, 1-based.

    >>> print(entries(lambda r, c: f"A_{{{r}{c}}}", sp.Matrix([[1, 2]])))
    \begin{aligned}
    A_{11} &= 1 \\
    A_{12} &= 2
    \end{aligned}
    """
    return rows([(lhs(r + 1, c + 1), "= " + latex(matrix[r, c]), "")
                 for r in range(matrix.rows) for c in range(matrix.cols)])


def equations(exprs) -> str:
    r"""Several results, one per line (never one tuple in giant parentheses): an equation
    ``a = b`` is the row ``a &= b``; anything else a row of its own."""
    out = []
    for e in exprs:
        if isinstance(e, sp.Equality):
            out.append((latex(e.lhs), "= " + latex(e.rhs), ""))
        else:
            out.append(("", latex(e), ""))
    return rows(out)
