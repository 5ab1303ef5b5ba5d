"""Names of the math language: functions, constants, forbidden words, canonical symbol
names (w2 = w_2 = w_{2}), literals, and splitting undeclared names like `xy`."""

from __future__ import annotations

import re
from collections.abc import Collection
from fractions import Fraction

from grader.mathlang.charmaps import GREEK
from grader.mathlang.errors import MathSyntaxError

FUNCS = {
    "sin": "sin",
    "cos": "cos",
    "tan": "tan",
    "cot": "cot",
    "sec": "sec",
    "csc": "csc",
    "cosec": "csc",
    "asin": "asin",
    "acos": "acos",
    "atan": "atan",
    "arcsin": "asin",
    "arccos": "acos",
    "arctan": "atan",
    "acot": "acot",
    "asec": "asec",
    "acsc": "acsc",
    "sinh": "sinh",
    "cosh": "cosh",
    "tanh": "tanh",
    "coth": "coth",
    "sech": "sech",
    "csch": "csch",
    "cosech": "csch",
    "asinh": "asinh",
    "acosh": "acosh",
    "atanh": "atanh",
    "acoth": "acoth",
    "arsinh": "asinh",
    "arcosh": "acosh",
    "artanh": "atanh",
    "ln": "log",
    "log": "log",
    "exp": "exp",
    "sqrt": "sqrt",
    "abs": "abs",
    "root": "root",
    "lg": "lg",
    "logbase": "lg",
    "log10": "log10",
    "factorial": "factorial",
    "binomial": "binomial",
    "binom": "binomial",
    "sign": "sign",
    "sgn": "sign",
    "floor": "floor",
    "ceil": "ceiling",
    "ceiling": "ceiling",
    "max": "max",
    "min": "min",
    "gamma_fn": "gamma",
}
CONSTS = {"pi": "pi", "e": "e", "i": "i", "inf": "inf", "infinity": "inf", "oo": "inf"}
# Python words that have no business in an answer: reject them instead of reading
# `[i for i in range(9)]` as a product of symbols.
FORBIDDEN = frozenset(
    {
        "for",
        "while",
        "import",
        "def",
        "class",
        "return",
        "yield",
        "exec",
        "eval",
        "open",
        "print",
        "None",
        "True",
        "False",
        "global",
        "nonlocal",
        "async",
        "await",
        "del",
        "pass",
        "raise",
        "try",
        "except",
        "finally",
        "with",
        "assert",
        "elif",
        "lambda_",
        "nan",
        "zoo",
        "NaN",
        "undefined",
    }
)
_DIGITS_NAME = re.compile(r"^([A-Za-z]+?)(\d+)$")
# a letter (or Greek name) with an accent suffix is one symbol: xbar, phat, mubar
_DECORATED = re.compile(r"^([A-Za-z]|[a-z]{2,7})(bar|hat|tilde|vec|dot)(?:_?(\w+))?$")


def canonical_name(name: str) -> str:
    """w2, w_2, w_{2} -> w_2 ; x_n stays x_n; eta stays eta."""
    name = name.replace("{", "").replace("}", "").strip()
    base, sep, sub = name.partition("_")
    if sep and sub in ("bar", "hat", "tilde", "vec", "dot"):
        name = base + sub  # x_bar is xbar
    if "_" in name:
        base, _, sub = name.partition("_")
        return base + "_" + sub.replace("_", "")
    m = _DIGITS_NAME.match(name)
    if m and m.group(1) not in FUNCS:
        return m.group(1) + "_" + m.group(2)
    return name


def is_decorated(name: str) -> bool:
    m = _DECORATED.match(name)
    return m is not None and (len(m.group(1)) == 1 or m.group(1) in _GREEK_LOWER)


_GREEK_LOWER = frozenset(g for g in GREEK.values() if g.islower())


def literal(text: str) -> Fraction:
    try:
        return Fraction(text if not text.endswith(".") else text[:-1])
    except (ValueError, ZeroDivisionError):
        raise MathSyntaxError(f"'{text}' is not a number") from None


MAX_SPLIT = 24


def split_name(raw: str, variables: Collection[str]) -> list[str] | None:
    """Split an undeclared name like 'xy' or 'w1x' into declared names (fewest pieces)."""
    if is_decorated(raw) or len(raw) > MAX_SPLIT:
        return None  # xbar is x-bar, not x*b*a*r; nobody writes 30 letters as a product
    known = {v.replace("_", "") for v in variables} | set(CONSTS)
    n = len(raw)
    best: list[list[str] | None] = [None] * (n + 1)
    best[0] = []
    for i in range(n):
        cur = best[i]
        if cur is None:
            continue
        for j in range(i + 1, n + 1):
            piece = raw[i:j]
            if piece in known or (j == i + 1 and piece.isalpha()):
                cand = cur + [piece]
                old = best[j]
                if old is None or len(cand) < len(old):
                    best[j] = cand
    result = best[n]
    if result is None or len(result) < 2:
        return None
    # a split into many single unknown letters is a guess; only accept it if it uses a
    # declared name, or every letter is itself a declared variable.
    declared = {v.replace("_", "") for v in variables}
    if not any(p in declared for p in result):
        return None  # "mean" is not m*e*a*n just because e is a constant
    return result
