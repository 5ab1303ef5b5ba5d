"""Symbolic differentiation on our own AST (chain rule), and free-symbol queries.

Derivatives are compared numerically afterwards, so no simplification is needed beyond
dropping the zero terms that keep trees small.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

from grader.mathlang.errors import MathError
from grader.mathlang.tree import Node, map_children

ZERO: Node = ("num", Fraction(0), "0")
ONE: Node = ("num", Fraction(1), "1")
TWO: Node = ("num", Fraction(2), "2")


class NotDifferentiable(MathError):
    """The expression uses something we cannot differentiate (an unknown function)."""


def free_symbols(n: Node, bound: frozenset[str] = frozenset()) -> set[str]:
    op = n[0]
    if op == "sym":
        return set() if n[1] in bound else {n[1]}
    if op == "idx":
        return (
            {n[1] + "_" + (n[2][1] if n[2][0] == "sym" else "?")} - set(bound)
            if not (n[2][0] == "sym" and n[2][1] in bound)
            else {n[1] + "[]"}
        )
    if op in ("num", "const", "text"):
        return set()
    out: set[str] = set()
    if op in ("sum", "prod"):
        out = free_symbols(n[4], bound | {n[1]})
        for b in (n[2], n[3]):
            if b is not None:
                out |= free_symbols(b, bound)
        return out
    for k in n[1:]:
        if isinstance(k, tuple):
            if k and isinstance(k[0], str):
                out |= free_symbols(k, bound)
            else:
                for x in k:
                    if isinstance(x, tuple):
                        out |= free_symbols(x, bound)
    return out


def contains(n: Node, var: str) -> bool:
    return var in free_symbols(n)


def _add(*terms: Node) -> Node:
    kept = [t for t in terms if t != ZERO]
    if not kept:
        return ZERO
    return kept[0] if len(kept) == 1 else ("add", tuple(kept))


def _mul(*factors: Node) -> Node:
    if any(f == ZERO for f in factors):
        return ZERO
    kept = [f for f in factors if f != ONE]
    if not kept:
        return ONE
    return kept[0] if len(kept) == 1 else ("mul", tuple(kept))


def _neg(a: Node) -> Node:
    return ZERO if a == ZERO else ("neg", a)


def _inv(a: Node) -> Node:
    return ("inv", a)


def _call(f: str, *args: Node) -> Node:
    return ("call", f, tuple(args))


def _pow(a: Node, b: Node) -> Node:
    return ("pow", a, b)


def diff(n: Node, var: str) -> Node:
    """d n / d var."""
    if not contains(n, var):
        return ZERO
    op = n[0]
    if op == "sym":
        return ONE
    if op == "add":
        return _add(*(diff(t, var) for t in n[1]))
    if op == "neg":
        return _neg(diff(n[1], var))
    if op == "pos":
        return diff(n[1], var)
    if op == "mul":
        fs = n[1]
        terms = []
        for i, f in enumerate(fs):
            d = diff(f, var)
            if d != ZERO:
                terms.append(_mul(*fs[:i], d, *fs[i + 1 :]))
        return _add(*terms)
    if op == "inv":
        u = n[1]
        return _neg(_mul(diff(u, var), _inv(_pow(u, TWO))))
    if op == "pow":
        u, v = n[1], n[2]
        if not contains(v, var):
            vm1 = ("add", (v, ("neg", ONE)))
            return _mul(v, _pow(u, vm1), diff(u, var))
        # d u^v = u^v (v' ln u + v u'/u)
        return _mul(n, _add(_mul(diff(v, var), _call("log", u)), _mul(v, diff(u, var), _inv(u))))
    if op == "call":
        return _dcall(n, var)
    if op == "fact":
        raise NotDifferentiable("cannot differentiate a factorial")
    if op in ("sum",):
        return ("sum", n[1], n[2], n[3], diff(n[4], var))
    if op == "eq":
        return ("eq", diff(n[1], var), diff(n[2], var))
    raise NotDifferentiable(f"cannot differentiate {op}")


_SIMPLE: dict[str, Any] = {
    "sin": lambda u: _call("cos", u),
    "cos": lambda u: _neg(_call("sin", u)),
    "tan": lambda u: _pow(_call("sec", u), TWO),
    "cot": lambda u: _neg(_pow(_call("csc", u), TWO)),
    "sec": lambda u: _mul(_call("sec", u), _call("tan", u)),
    "csc": lambda u: _neg(_mul(_call("csc", u), _call("cot", u))),
    "exp": lambda u: _call("exp", u),
    "log": lambda u: _inv(u),
    "sinh": lambda u: _call("cosh", u),
    "cosh": lambda u: _call("sinh", u),
    "tanh": lambda u: _pow(_call("sech", u), TWO),
    "coth": lambda u: _neg(_pow(_call("csch", u), TWO)),
    "sech": lambda u: _neg(_mul(_call("sech", u), _call("tanh", u))),
    "csch": lambda u: _neg(_mul(_call("csch", u), _call("coth", u))),
    "asin": lambda u: _inv(_call("sqrt", ("add", (ONE, ("neg", _pow(u, TWO)))))),
    "acos": lambda u: _neg(_inv(_call("sqrt", ("add", (ONE, ("neg", _pow(u, TWO))))))),
    "atan": lambda u: _inv(("add", (ONE, _pow(u, TWO)))),
    "acot": lambda u: _neg(_inv(("add", (ONE, _pow(u, TWO))))),
    "asinh": lambda u: _inv(_call("sqrt", ("add", (_pow(u, TWO), ONE)))),
    "acosh": lambda u: _inv(
        _mul(_call("sqrt", ("add", (u, ("neg", ONE)))), _call("sqrt", ("add", (u, ONE))))
    ),
    "atanh": lambda u: _inv(("add", (ONE, ("neg", _pow(u, TWO))))),
    "acoth": lambda u: _inv(("add", (ONE, ("neg", _pow(u, TWO))))),
    "sqrt": lambda u: _inv(_mul(TWO, _call("sqrt", u))),
    "abs": lambda u: _call("sign", u),
    "sign": lambda u: ZERO,
    "log10": lambda u: _inv(_mul(u, _call("log", ("num", Fraction(10), "10")))),
}


def _dcall(n: Node, var: str) -> Node:
    f, args = n[1], n[2]
    if f in _SIMPLE and len(args) == 1:
        u = args[0]
        return _mul(_SIMPLE[f](u), diff(u, var))
    if f == "root":
        k = args[1] if len(args) > 1 else TWO
        return diff(_pow(args[0], _mul(ONE, _inv(k))), var)
    if f == "lg" and len(args) == 2:
        return diff(_mul(_call("log", args[0]), _inv(_call("log", args[1]))), var)
    if f == "lg":
        return diff(_call("log10", args[0]), var)
    raise NotDifferentiable(f"cannot differentiate {f}")


def substitute(n: Node, mapping: dict[str, Node]) -> Node:
    """Replace free symbols by expressions (sum indices shadow the mapping)."""
    op = n[0]
    if op == "sym":
        return mapping.get(n[1], n)
    if op == "deriv":  # dy/dw is a label, not an expression in y
        return n
    if op in ("sum", "prod") and n[1] in mapping:
        mapping = {k: v for k, v in mapping.items() if k != n[1]}
    return map_children(n, lambda k: substitute(k, mapping))


def rename(n: Node, mapping: dict[str, str]) -> Node:
    return substitute(n, {k: ("sym", v) for k, v in mapping.items()})
