"""The `Extract` test: find the final answer in a free-text (often LaTeX) answer and compare
it with the gold answer: numbers to the precision written, sets unordered, tuples and
intervals ordered, `x = 3` matching `3`, `a ± b` as the set {a+b, a-b}."""

from __future__ import annotations

import re
from fractions import Fraction

from grader.checks.math.answertests.equivalence import equiv_nodes, is_constant
from grader.checks.math.answertests.verdict import PASS, AnswerTest, Verdict, fail, invalid
from grader.mathlang import MathError, read
from grader.mathlang.equiv import Undecided
from grader.mathlang.errors import EvalError
from grader.mathlang.extract import final_answer
from grader.mathlang.numeric import Evaluator, Point
from grader.mathlang.tree import Node, map_children

_PERCENT = re.compile(r"\d\s*(?:\\?%|percent\b)")
_DECIMAL_COMMA = re.compile(r"^\s*-?\d{2,},\d+\s*$")


def _parse(snippet: str) -> Node | None:
    # a decimal comma only when the whole answer is one such number: "1000,99";
    # "1,2" is a list of two answers
    comma = bool(_DECIMAL_COMMA.match(snippet)) and not re.match(r"^\s*-?\d+,\d{3}\s*$", snippet)
    # a ratio a:b is the number a/b (7:32); a longer chain 9:3:3:1 is not one number
    snippet = re.sub(r"^\s*(-?\d+(?:\.\d+)?)\s*:\s*(\d+(?:\.\d+)?)\s*$", r"(\1)/(\2)", snippet)
    variants = [snippet, snippet.replace("{", "(").replace("}", ")")]
    if "=" in snippet:
        variants.append(snippet.rsplit("=", 1)[1])
    for variant in variants:
        try:
            return _expand(read(variant, decimal_comma=comma))
        except (MathError, RecursionError):
            continue
    return None


def _has_pm(n: Node) -> bool:
    return "'pm'" in repr(n)


def _replace_pm(n: Node, sign: str) -> Node:
    if n[0] == "pm":
        a, b = _replace_pm(n[1], sign), _replace_pm(n[2], sign)
        return ("add", (a, b if sign == "+" else ("neg", b)))
    return map_children(n, lambda k: _replace_pm(k, sign))


def _expand(n: Node) -> Node:
    """a ± b -> the set {a+b, a-b}; x = a ± b -> two equations; a chain -> its last part."""
    op = n[0]
    if op not in ("list", "pm") and _has_pm(n):
        return ("list", "{", (_replace_pm(n, "+"), _replace_pm(n, "-")))
    if op == "pm":
        return ("list", "{", (("add", (n[1], n[2])), ("add", (n[1], ("neg", n[2])))))
    if op == "eq" and n[2][0] == "pm":
        rhs = _expand(n[2])
        return ("list", "{", tuple(("eq", n[1], r) for r in rhs[2]))
    if op == "chain":
        ops, items = n[1], n[2]
        if len(items) == 3 and ops[0] in ("<", "<=") and ops[1] in ("<", "<="):
            left = "[" if ops[0] == "<=" else "("
            right = "]" if ops[1] == "<=" else ")"
            return ("interval", left, items[0], items[2], right)
        if all(o == "=" for o in ops) or "approx" in ops:
            cut = ops.index("approx") + 1 if "approx" in ops else len(items)
            return ("eq", items[0], items[cut - 1])
    if op == "logic" and n[1] == "or":
        return ("list", "{", tuple(_expand(x) for x in n[2]))
    if op == "rel" and n[1] == "in":
        return n[3]
    if op == "list":
        flat: list[Node] = []
        for it in n[2]:
            e = _expand(it)
            if e[0] == "list" and e[1] == "{" and _has_pm(it):
                flat.extend(e[2])
            else:
                flat.append(e)
        return ("list", n[1], tuple(flat))
    return n


def _decimals(n: Node) -> int | None:
    if n[0] == "num" and "." in n[2] and "e" not in n[2].lower():
        return len(n[2].split(".")[1])
    if n[0] in ("neg", "pos"):
        return _decimals(n[1])
    return None


def _num_equal(a: Node, b: Node) -> bool:
    try:
        va = Evaluator("float", Point(1)).ev(a)
        vb = Evaluator("float", Point(1)).ev(b)
    except (EvalError, ZeroDivisionError, OverflowError):
        return False
    dec = [d for d in (_decimals(a), _decimals(b)) if d is not None]
    tol = 1e-9 * max(abs(va), abs(vb), 1e-300)
    if dec:
        tol = max(tol, 0.5 * 10 ** -min(dec) * (1 + 1e-9))
    return bool(abs(va - vb) <= tol)


def _rhs_if_named(n: Node) -> Node:
    """`k = 1`, `f(x) = 1`, `(p,q) = (3,2)`: the value on the right."""
    if n[0] == "eq" and n[1][0] in ("sym", "call", "idx", "list", "deriv"):
        return n[2]
    return n


def same(a: Node, b: Node) -> bool:
    ka = a[0]
    if a[0] == "eq" and b[0] == "eq" and a[1] == b[1]:
        return same(a[2], b[2])
    if ka == "list" and b[0] == "list":
        if len(a[2]) != len(b[2]) and not (a[1] in ("{", "") or b[1] in ("{", "")):
            return False
        if a[1] in ("{", "") or b[1] in ("{", ""):
            # sets: every element has a partner on the other side (duplicates collapse)
            return all(any(same(x, y) for y in b[2]) for x in a[2]) and all(
                any(same(y, x) for x in a[2]) for y in b[2]
            )
        return all(same(x, y) for x, y in zip(a[2], b[2], strict=True))
    if ka == "interval" or b[0] == "interval":
        a2, b2 = _as_interval(a), _as_interval(b)
        if a2 is None or b2 is None:
            return False
        return a2[1] == b2[1] and a2[4] == b2[4] and same(a2[2], b2[2]) and same(a2[3], b2[3])
    if (a[0] == "eq") != (b[0] == "eq"):
        a, b = _rhs_if_named(a), _rhs_if_named(b)
        if a[0] == "list" or b[0] == "list":
            return same(a, b)
    if a[0] == "text" or b[0] == "text":
        return _text(a) == _text(b)
    if is_constant(a) and is_constant(b):
        return _num_equal(a, b)
    try:
        return equiv_nodes(a, b)
    except (Undecided, EvalError, MathError):
        return False


def _text(n: Node) -> str:
    if n[0] in ("text", "sym"):  # "(B)", "B", "\\text{ B }" name the same choice
        return re.sub(r"[^0-9a-z]", "", str(n[1]).lower())
    return repr(n)


def _as_interval(n: Node) -> Node | None:
    if n[0] == "interval":
        return n
    if n[0] == "list" and len(n[2]) == 2 and n[1] in ("(", "["):
        close = ")" if n[1] == "(" else "]"
        return ("interval", n[1], n[2][0], n[2][1], close)
    return None


def _norm_text(s: str) -> str:
    return re.sub(r"\s+|\\[,;! ]|\$", "", s).lower()


def extract_test(student: str, teacher: str, options: str) -> Verdict:
    gold_text = final_answer(teacher)
    got_text = final_answer(student)
    if gold_text is None:
        return invalid("no answer could be found in the gold text")
    if got_text is None:
        return fail("No final answer was found.")
    if _norm_text(gold_text) == _norm_text(got_text):
        return PASS
    gold, got = _parse(gold_text), _parse(got_text)
    if gold is not None and got is not None:
        if same(got, gold):
            return PASS
        # 18.75 % and 0.1875 are one answer: a percent sign on one side only scales it
        for pct, other, side in ((got, gold, student), (gold, got, teacher)):
            if _PERCENT.search(side) and is_constant(pct) and is_constant(other):
                hundred = ("num", Fraction(100), "100")
                if same(("mul", (pct, ("inv", hundred))), other):
                    return PASS
        return fail()
    return PASS if _norm_text(gold_text) == _norm_text(got_text) else fail()


TESTS: dict[str, AnswerTest] = {"Extract": extract_test}
