"""Size checks on the AST before any arithmetic: magnitude through ^ and !, division by zero.

`magnitude` returns an upper bound of log10|value| (symbols are assumed to be at most ~10
in size), so `9^9^9^9`, `((9^9)^9999)^9999` and `(10^10)!` are rejected before anything
is computed. A bound above MAX_LOG10 means "too large to work with".
"""

from __future__ import annotations

import cmath
import math

from grader.mathlang.errors import TooLarge, Undefined
from grader.mathlang.tree import Node

MAX_LOG10 = 100_000.0  # a 100,000-digit number is still cheap; a power tower is not
_HUGE = 1e300


def _lg(x: float | int) -> float:
    return math.log10(x) if x > 0 else 0.0


def magnitude(node: Node) -> float:
    """Upper bound of log10 of |value| (never below 0: small values are bounded by 1)."""
    op = node[0]
    if op == "num":
        v = node[1]
        # math.log10 takes big ints exactly; float() of a 400-digit int would overflow
        return max(0.0, _lg(abs(v.numerator)) - _lg(v.denominator)) if v else 0.0
    if op in ("sym", "idx", "text", "deriv", "const"):
        # symbols count as small: only constant towers can explode in exact arithmetic
        return 0.0
    if op in ("neg", "pos", "inv"):
        inner = magnitude(node[1])
        return inner if op != "inv" else max(inner, 1.0)
    if op == "add":
        return max(magnitude(t) for t in node[1]) + _lg(len(node[1]))
    if op == "mul":
        total = 0.0
        for f in node[1]:
            total += magnitude(f)
            if total > _HUGE:
                return _HUGE
        return total
    if op == "pow":
        base = magnitude(node[1])
        exp_mag = magnitude(node[2])
        if exp_mag > 300:
            return _HUGE if base > 0 else 0.0
        exponent = 10.0**exp_mag
        return min(_HUGE, max(base, 0.5) * exponent)
    if op == "fact":
        arg = magnitude(node[1])
        if arg > 300:
            return _HUGE
        n = 10.0**arg
        return min(_HUGE, n * max(1.0, _lg(n)))
    if op == "call":
        mags = [magnitude(a) for a in node[2]]
        if node[1] in ("exp",):
            return min(_HUGE, 10.0 ** min(mags[0], 300) * 0.44)
        if node[1] in ("factorial",):
            n = 10.0 ** min(mags[0], 300)
            return min(_HUGE, n * max(1.0, _lg(n)))
        if node[1] in ("binomial",):
            n = 10.0 ** min(max(mags), 300)
            return min(_HUGE, n * 0.31)
        if node[1] in ("sinh", "cosh"):
            return min(_HUGE, 10.0 ** min(mags[0], 300) * 0.44)
        return max(mags, default=0.0)
    if op in ("sum", "prod"):
        inner = magnitude(node[4])
        return inner * (8 if op == "prod" else 1) + 2
    if op in ("eq", "assign", "pm"):
        return max(magnitude(node[1]), magnitude(node[2]))
    if op == "rel":
        return max(magnitude(node[2]), magnitude(node[3]))
    if op in ("list", "chain", "logic"):
        return max((magnitude(x) for x in node[2]), default=0.0)
    if op == "interval":
        return max(magnitude(node[2]), magnitude(node[3]))
    return 1.0


def check_size(node: Node) -> None:
    if magnitude(node) > MAX_LOG10:
        raise TooLarge("a number in the answer is too large to work with")


_NOT_A_NUMBER = frozenset({"list", "chain", "logic", "eq", "assign", "rel", "pm", "interval"})


def check_defined(node: Node) -> None:
    """Reject constant divisions by zero (1/0, 0^-1) and ∞−∞ before any comparison."""
    _const_value(node)


def _const_value(n: Node) -> complex | None:
    """The value of a constant subtree (None if it has symbols); raises Undefined."""
    op = n[0]
    if op == "num":
        return complex(float(n[1]))
    if op == "const":
        return {"pi": complex(math.pi), "e": complex(math.e), "i": 1j}.get(n[1], complex(math.inf))
    if op in ("sym", "idx", "deriv", "text"):
        return None
    if op in ("sum", "prod"):
        _const_value(n[4])
        return None
    kids: list[Node] = []
    if op in ("add", "mul", "list", "chain", "logic"):
        kids = list(n[1] if op in ("add", "mul") else n[2])
    elif op in ("neg", "pos", "inv", "fact"):
        kids = [n[1]]
    elif op in ("pow", "eq", "assign", "pm"):
        kids = [n[1], n[2]]
    elif op == "rel":
        kids = [n[2], n[3]]
    elif op == "call":
        kids = list(n[2])
    elif op == "interval":
        kids = [n[2], n[3]]
    maybe = [_const_value(k) for k in kids]
    vals = [v for v in maybe if v is not None]
    if len(vals) < len(maybe) or op in _NOT_A_NUMBER:
        return None
    try:
        if op == "add":
            total = sum(vals, complex(0))
            if cmath.isnan(total) and any(cmath.isinf(v) for v in vals):
                raise Undefined("∞ − ∞ is undefined")
            return total
        if op == "neg":
            return -vals[0]
        if op == "pos":
            return vals[0]
        if op == "mul":
            acc = complex(1)
            for v in vals:
                acc *= v
            return None if cmath.isnan(acc) else acc
        if op == "inv":
            if vals[0] == 0:
                raise Undefined("division by zero")
            return 1 / vals[0]
        if op == "pow":
            b, e = vals
            if b == 0 and e.real < 0:
                raise Undefined("division by zero")
            if abs(e) > 1e4:
                return None
            return b**e
        if op == "call" and n[1] in ("log", "lg", "log10") and vals[0] == 0:
            raise Undefined("log(0) is undefined")
    except Undefined:
        raise
    except (OverflowError, ValueError, ZeroDivisionError, TypeError):
        return None
    return None
