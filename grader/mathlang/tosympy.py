"""Our AST -> sympy objects, built node by node (no string ever reaches sympify).

Symbols are created with sympy.Symbol(name) from our own validated names, so reserved
sympy names (N, S, E, I, Q, O, beta, gamma, lambda) are plain symbols here.
"""

from __future__ import annotations

from typing import Any

import sympy

from grader.mathlang.errors import MathError
from grader.mathlang.tree import Node

_FUNCS: dict[str, Any] = {
    "sin": sympy.sin,
    "cos": sympy.cos,
    "tan": sympy.tan,
    "cot": sympy.cot,
    "sec": sympy.sec,
    "csc": sympy.csc,
    "asin": sympy.asin,
    "acos": sympy.acos,
    "atan": sympy.atan,
    "acot": sympy.acot,
    "sinh": sympy.sinh,
    "cosh": sympy.cosh,
    "tanh": sympy.tanh,
    "coth": sympy.coth,
    "sech": sympy.sech,
    "csch": sympy.csch,
    "asinh": sympy.asinh,
    "acosh": sympy.acosh,
    "atanh": sympy.atanh,
    "acoth": sympy.acoth,
    "exp": sympy.exp,
    "log": sympy.log,
    "sqrt": sympy.sqrt,
    "abs": sympy.Abs,
    "sign": sympy.sign,
    "floor": sympy.floor,
    "ceiling": sympy.ceiling,
    "factorial": sympy.factorial,
    "binomial": sympy.binomial,
}
MAX_SYMPY_EXP = 60  # beyond this, polynomial algorithms (factor, expand) are not attempted


class TooHardForSympy(MathError):
    """The expression is outside what we let sympy work on (e.g. a huge power)."""


def to_sympy(n: Node, *, evaluate: bool = True) -> Any:
    op = n[0]
    if op == "num":
        return sympy.Rational(n[1].numerator, n[1].denominator)
    if op == "sym":
        return sympy.Symbol(n[1])
    if op == "idx":
        sub = n[2]
        return sympy.Symbol(n[1] + "_" + (sub[1] if sub[0] == "sym" else "k"))
    if op == "const":
        return {"pi": sympy.pi, "e": sympy.E, "i": sympy.I}.get(n[1], sympy.Symbol("inf"))
    if op == "add":
        return sympy.Add(*(to_sympy(t, evaluate=evaluate) for t in n[1]), evaluate=evaluate)
    if op == "neg":
        return sympy.Mul(sympy.Integer(-1), to_sympy(n[1], evaluate=evaluate), evaluate=evaluate)
    if op == "pos":
        return to_sympy(n[1], evaluate=evaluate)
    if op == "mul":
        return sympy.Mul(*(to_sympy(f, evaluate=evaluate) for f in n[1]), evaluate=evaluate)
    if op == "inv":
        return sympy.Pow(to_sympy(n[1], evaluate=evaluate), -1, evaluate=evaluate)
    if op == "pow":
        e = n[2]
        if e[0] == "num" and e[1] > MAX_SYMPY_EXP:
            raise TooHardForSympy("the power is too large for symbolic work")
        return sympy.Pow(
            to_sympy(n[1], evaluate=evaluate), to_sympy(e, evaluate=evaluate), evaluate=evaluate
        )
    if op == "fact":
        return sympy.factorial(to_sympy(n[1], evaluate=evaluate))
    if op == "call":
        fname, args = n[1], [to_sympy(a, evaluate=evaluate) for a in n[2]]
        if fname == "root":
            return sympy.Pow(args[0], sympy.Integer(1) / (args[1] if len(args) > 1 else 2))
        if fname in ("lg",):
            return sympy.log(args[0], args[1]) if len(args) > 1 else sympy.log(args[0], 10)
        if fname == "log10":
            return sympy.log(args[0], 10)
        fn = _FUNCS.get(fname)
        if fn is not None:
            return fn(*args, evaluate=evaluate) if fname not in ("binomial",) else fn(*args)
        return sympy.Function(fname.removeprefix("f:"))(*args)
    if op == "eq":
        return sympy.Eq(to_sympy(n[1]), to_sympy(n[2]), evaluate=False)
    raise TooHardForSympy(f"cannot convert {op} to sympy")
