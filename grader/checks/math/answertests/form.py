"""Form answer tests: EqualComAss, CasEqual, FacForm, Expanded, PartFrac, SingleFrac,
LowestTerms, CompSquare. Forms are read from our AST as typed (no simplification first)."""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any

import sympy

from grader.checks.math.answertests.equivalence import equiv_nodes, kind_of
from grader.checks.math.answertests.verdict import (
    PASS,
    AnswerTest,
    Invalid,
    Verdict,
    fail,
    on_trees,
)
from grader.mathlang.calculus import free_symbols
from grader.mathlang.tosympy import TooHardForSympy, to_sympy
from grader.mathlang.tree import Node, children

MINUS_ONE: Node = ("num", Fraction(-1), "-1")


# -- EqualComAss / CasEqual ------------------------------------------------------------
def comass(n: Node) -> Any:
    """Normal form up to commutativity and associativity only (STACK's EqualComAss):
    a-b = a+(-1)*b, a/b = a*b^-1 as a distinct 'division' marker, int/int is a rational
    literal, + and * are flattened and sorted, exp(x) = e^x, equations are unordered."""
    op = n[0]
    if op == "num":
        return ("num", n[1])
    if op in ("sym", "const"):
        return n
    if op == "pos":
        return comass(n[1])
    if op == "neg":
        inner = comass(n[1])
        return _flat("mul", [("num", Fraction(-1)), inner])
    if op == "add":
        return _flat("add", [comass(t) for t in n[1]])
    if op == "mul":
        fs = list(n[1])
        out: list[Any] = []
        i = 0
        while i < len(fs):
            f = fs[i]
            nxt = fs[i + 1] if i + 1 < len(fs) else None
            if f[0] == "num" and nxt is not None and nxt[0] == "inv" and nxt[1][0] == "num":
                out.append(("rat", f[1], nxt[1][1]))
                i += 2
                continue
            out.append(("div", comass(f[1])) if f[0] == "inv" else comass(f))
            i += 1
        return _flat("mul", out)
    if op == "call" and n[1] == "exp":
        return ("pow", ("const", "e"), comass(n[2][0]))
    if op == "eq":
        return ("eq", tuple(sorted((comass(n[1]), comass(n[2])), key=repr)))
    out2: list[Any] = [op]
    for k in n[1:]:
        if isinstance(k, tuple) and k and isinstance(k[0], str):
            out2.append(comass(k))
        elif isinstance(k, tuple):
            out2.append(tuple(comass(x) for x in k))
        else:
            out2.append(k)
    return tuple(out2)


def _flat(op: str, items: list[Any]) -> Any:
    flat: list[Any] = []
    for it in items:
        if isinstance(it, tuple) and it[0] == op:
            flat.extend(it[1])
        else:
            flat.append(it)
    return (op, tuple(sorted(flat, key=repr)))


def _equal_com_ass(s: Node, t: Node, opts: list[Node] | None) -> Verdict:
    return PASS if comass(s) == comass(t) else fail()


def _cas_equal(s: Node, t: Node, opts: list[Node] | None) -> Verdict:
    return PASS if s == t else fail()


# -- helpers ----------------------------------------------------------------------------
def _var(opts: list[Node] | None) -> Node:
    if not opts or len(opts) != 1:
        raise Invalid("this test needs the variable as its option")
    o = opts[0]
    if o[0] not in ("sym", "call"):
        raise Invalid("the test option must be a variable")
    return o


def _sym(n: Node) -> Any:
    try:
        return to_sympy(n)
    except TooHardForSympy as exc:
        raise Invalid(str(exc)) from None


def _strip_sign(n: Node) -> Node:
    while n[0] in ("neg", "pos"):
        n = n[1]
    return n


def _factors(n: Node) -> list[Node]:
    n = _strip_sign(n)
    if n[0] == "mul":
        out: list[Node] = []
        for f in n[1]:
            out.extend(_factors(f))
        return out
    return [n]


def _has_division(n: Node) -> bool:
    if n[0] == "inv":
        return True
    if n[0] == "pow" and n[2][0] == "neg":
        return True
    if n[0] == "num" and n[1].denominator != 1:
        return True
    if n[0] == "pow":  # a fractional exponent is not a fraction of the expression
        return _has_division(n[1])
    return any(_has_division(k) for k in children(n))


def _equiv_or_fail(s: Node, t: Node) -> Verdict | None:
    if kind_of(s) != "expression":
        return fail("Your answer should be an expression.")
    if not equiv_nodes(s, t):
        return fail("Your answer is not equivalent to the expected one.")
    return None


# -- FacForm ------------------------------------------------------------------------------
def _fac_form(s: Node, t: Node, opts: list[Node] | None) -> Verdict:
    v = _var(opts)
    bad = _equiv_or_fail(s, t)
    if bad:
        return bad
    var = _sym(v)
    for f in _factors(s):
        base = f
        if f[0] == "pow" and f[2][0] == "num" and f[2][1].denominator == 1:
            base = f[1]
        if not free_symbols(base):
            continue
        expr = _sym(base)
        if not expr.has(var) and not free_symbols(base) - {str(var)}:
            continue
        try:
            poly = sympy.Poly(expr)
        except (sympy.PolynomialError, sympy.GeneratorsNeeded):
            continue
        if poly.total_degree() <= 1:
            coeffs = [c for c in poly.coeffs() if c.is_Integer]
            if len(coeffs) == len(poly.coeffs()) and math.gcd(*[int(c) for c in coeffs]) > 1:
                return fail("Your answer is not fully factored: take out the common factor.")
            continue
        _, facs = sympy.factor_list(expr)
        if len(facs) > 1 or (facs and facs[0][1] > 1):
            return fail("Your answer is not fully factored.")
        content, _ = poly.primitive()
        if content.is_Integer and abs(int(content)) > 1:
            return fail("Your answer is not fully factored: take out the common factor.")
    return PASS


# -- Expanded ------------------------------------------------------------------------------
def _is_sum(n: Node) -> bool:
    n = _strip_sign(n)
    return n[0] == "add"


def _expanded_form(n: Node) -> bool:
    op = n[0]
    if op == "mul" and len(n[1]) > 1 and any(_is_sum(f) and free_symbols(f) for f in n[1]):
        return False
    if op == "pow" and _is_sum(n[1]) and free_symbols(n[1]):
        e = n[2]
        if e[0] == "num" and e[1].denominator == 1 and e[1] > 1:
            return False
    return all(_expanded_form(k) for k in children(n))


def _expanded(s: Node, t: Node, opts: list[Node] | None) -> Verdict:
    return PASS if _expanded_form(s) else fail("Your answer is not expanded.")


# -- SingleFrac / LowestTerms -------------------------------------------------------------
def _split_fraction(n: Node) -> tuple[list[Node], list[Node]] | None:
    """numerator factors, denominator nodes of a product; None if not a product."""
    n = _strip_sign(n)
    if n[0] != "mul":
        return [n], []
    num: list[Node] = []
    den: list[Node] = []
    for f in n[1]:
        (den if f[0] == "inv" else num).append(f[1] if f[0] == "inv" else f)
    return num, den


def _single_frac(s: Node, t: Node, opts: list[Node] | None) -> Verdict:
    bad = _equiv_or_fail(s, t)
    if bad:
        return bad
    parts = _split_fraction(s)
    assert parts is not None
    num, den = parts
    if len(den) > 1 or any(_has_division(x) for x in num + den):
        return fail("Your answer should be written as a single fraction.")
    return PASS


def _lowest_terms(s: Node, t: Node, opts: list[Node] | None) -> Verdict:
    stack = [s]
    while stack:
        n = stack.pop()
        if n[0] == "mul" and any(f[0] == "inv" for f in n[1]):
            num = [f for f in n[1] if f[0] != "inv"]
            den = [_strip_sign(f[1]) if f[0] == "inv" else f for f in n[1] if f[0] == "inv"]
            if any(f[1][0] == "neg" for f in n[1] if f[0] == "inv"):
                return fail("The denominator should not be negative.")
            if any(_has_division(d) or _has_imag(d) for d in den):
                return fail("Your answer is not in lowest terms.")
            ni = _int_content(num)
            di = _int_content(den)
            if ni and di and math.gcd(ni, di) > 1:
                return fail("Your fractions can be cancelled further.")
            if free_symbols(n):
                try:
                    numer = sympy.Mul(*[_sym(x) for x in num])
                    denom = sympy.Mul(*[_sym(x) for x in den])
                    g = sympy.gcd(numer, denom)
                    if free_symbols(n) and g.free_symbols:
                        return fail("Your fraction can be cancelled further.")
                except (sympy.PolynomialError, Invalid):
                    pass
        stack.extend(children(n))
    return PASS


def _has_imag(n: Node) -> bool:
    return repr(n).find("('const', 'i')") >= 0


def _int_content(factors: list[Node]) -> int:
    prod = 1
    for f in factors:
        if f[0] == "num" and f[1].denominator == 1:
            prod *= int(f[1])
    return prod


# -- PartFrac -------------------------------------------------------------------------------
def _terms(n: Node) -> list[Node]:
    n2 = n[1] if n[0] in ("neg", "pos") else n
    if n2[0] == "add":
        out: list[Node] = []
        for t in n2[1]:
            out.extend(_terms(t))
        return out
    return [n2]


def _part_frac(s: Node, t: Node, opts: list[Node] | None) -> Verdict:
    v = _var(opts)
    bad = _equiv_or_fail(s, t)
    if bad:
        return bad
    x = _sym(v)
    for term in _terms(s):
        e = sympy.together(_sym(term))
        numer, denom = sympy.fraction(e)
        if not denom.has(x):
            continue
        try:
            _, facs = sympy.factor_list(denom, x)
            pn = sympy.Poly(numer, x)
        except sympy.PolynomialError:
            return fail("Your answer is not in partial fractions.")
        facs = [(f, k) for f, k in facs if f.has(x)]
        if len(facs) != 1:
            return fail("Your answer is not in partial fractions.")
        base, _k = facs[0]
        if pn.degree() >= sympy.Poly(base, x).degree():
            return fail("Your answer is not in partial fractions.")
    return PASS


# -- CompSquare ------------------------------------------------------------------------------
def _comp_square(s: Node, t: Node, opts: list[Node] | None) -> Verdict:
    v = _var(opts)
    bad = _equiv_or_fail(s, t)
    if bad:
        return bad
    var = v[1] if v[0] == "sym" else None
    if var is None:
        raise Invalid("the test option must be a variable")

    def ok(n: Node) -> bool:
        if var not in free_symbols(n):
            return True
        op = n[0]
        if op == "add":
            return sum(1 for t in n[1] if var in free_symbols(t)) == 1 and all(ok(t) for t in n[1])
        if op in ("neg", "pos"):
            return ok(n[1])
        if op == "mul":
            inner = [f for f in n[1] if var in free_symbols(f)]
            return len(inner) == 1 and ok(inner[0])
        if op == "pow" and n[2][0] == "num" and n[2][1] == 2:
            try:
                return bool(sympy.Poly(_sym(n[1]), sympy.Symbol(var)).degree() == 1)
            except sympy.PolynomialError:
                return False
        return False

    return PASS if ok(s) else fail("Your answer is not in completed-square form.")


TESTS: dict[str, AnswerTest] = {
    "EqualComAss": on_trees(_equal_com_ass),
    "CasEqual": on_trees(_cas_equal),
    "FacForm": on_trees(_fac_form),
    "Expanded": on_trees(_expanded),
    "SingleFrac": on_trees(_single_frac),
    "LowestTerms": on_trees(_lowest_terms),
    "PartFrac": on_trees(_part_frac),
    "CompSquare": on_trees(_comp_square),
}
