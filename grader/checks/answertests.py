"""STACK-style answer tests on our own math language: answer_test(test, student, teacher, options).

Each test returns a Verdict: pass, fail, or invalid (the input cannot be used: unreadable,
undefined such as 1/0, or an unusable option). Semantics follow STACK's documented answer
tests (Authoring/Answer_Tests); equivalence is decided numerically on our own AST.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache
from typing import Any, Literal

from grader.mathlang import MathError, read
from grader.mathlang.calculus import free_symbols
from grader.mathlang.equiv import Undecided, compare_values, constant_ratio
from grader.mathlang.errors import EvalError
from grader.mathlang.tree import Node

Result = Literal["pass", "fail", "invalid"]


@dataclass(frozen=True, slots=True)
class Verdict:
    result: Result
    feedback: str = ""
    note: str = ""

    @property
    def passed(self) -> bool:
        return self.result == "pass"


PASS = Verdict("pass")


def fail(feedback: str = "", note: str = "") -> Verdict:
    return Verdict("fail", feedback, note)


def invalid(feedback: str, note: str = "") -> Verdict:
    return Verdict("invalid", feedback, note)


class Invalid(Exception):
    """Raised inside a test to return an `invalid` verdict with this message."""


@lru_cache(maxsize=256)  # at most ~1,000 nodes each (2,000 characters): bounded memory
def _read(text: str) -> Node | MathError:
    """read(), remembered: a criterion runs its test on one answer against the expected
    value, each alternative and each mistake, and parsing was most of that time. Trees
    are tuples, so sharing them is safe."""
    try:
        node: Node = read(text)
    except MathError as exc:
        return exc
    return node


def parse_side(text: str, who: str) -> Node:
    if not text or not text.strip():
        raise Invalid(f"the {who} answer is empty")
    got = _read(text) if len(text) <= 2000 else _read.__wrapped__(text)
    if isinstance(got, MathError):
        raise Invalid(f"the {who} answer cannot be read: {got}") from None
    return got


def parse_options(text: str | None) -> list[Node] | None:
    """None if empty; a list of option nodes (a bare option becomes a one-item list)."""
    if text is None or not text.strip():
        return None
    try:
        node = read(text)
    except MathError as exc:
        raise Invalid(f"the test option cannot be read: {exc}") from None
    if node[0] == "list" and node[1] in ("[", ""):
        return list(node[2])
    return [node]


def is_constant(n: Node) -> bool:
    return not free_symbols(n) and n[0] not in _STRUCTURES


_STRUCTURES = frozenset({"eq", "rel", "list", "chain", "logic", "assign", "text", "interval", "pm"})


def kind_of(n: Node) -> str:
    op = n[0]
    if op == "eq":
        return "equation"
    if op in ("rel", "chain"):
        return "inequality"
    if op == "assign":
        return "assignment"
    if op in ("list", "interval"):
        return "list"
    if op == "text":
        return "text"
    if op == "logic":
        return "logic:" + str(n[1])
    return "expression"


def _difference(eq: Node) -> Node:
    lhs, rhs = eq[1], eq[2]
    if (
        lhs[0] == "call" and lhs[1] == "abs" and rhs[0] == "call" and rhs[1] == "abs"
    ):  # |A| = |B|  <=>  A^2 = B^2
        two = ("num", Fraction(2), "2")
        lhs, rhs = ("pow", lhs[2][0], two), ("pow", rhs[2][0], two)
    return ("add", (lhs, ("neg", rhs)))


def equiv_nodes(s: Node, t: Node, *, prefer_real: bool = False, positive: Any = ()) -> bool:
    """Algebraic equivalence: expressions by value, equations up to a non-zero factor."""
    ks, kt = kind_of(s), kind_of(t)
    if ks != kt:
        return False
    if ks == "equation":
        return compare_values(
            _difference(s),
            _difference(t),
            relation=constant_ratio,
            prefer_real=prefer_real,
            positive=positive,
        )
    if ks == "inequality":
        return _equiv_inequality(s, t, prefer_real=prefer_real, positive=positive)
    if ks == "assignment":
        return equiv_nodes(s[1], t[1]) and equiv_nodes(
            s[2], t[2], prefer_real=prefer_real, positive=positive
        )
    if ks == "list":
        if s[0] == "interval" or t[0] == "interval":
            if s[0] != t[0] or s[1] != t[1] or s[4] != t[4]:
                return False
            return equiv_nodes(s[2], t[2]) and equiv_nodes(s[3], t[3])
        if s[1] != t[1]:
            return False
        if s[1] == "{":  # sets: unordered, duplicates collapse
            return all(any(equiv_nodes(a, b) for b in t[2]) for a in s[2]) and all(
                any(equiv_nodes(a, b) for a in s[2]) for b in t[2]
            )
        if len(s[2]) != len(t[2]):
            return False
        return all(
            equiv_nodes(a, b, prefer_real=prefer_real, positive=positive)
            for a, b in zip(s[2], t[2], strict=True)
        )
    if ks.startswith("logic:"):  # the same conditions in any order
        return all(any(equiv_nodes(a, b) for b in t[2]) for a in s[2]) and all(
            any(equiv_nodes(a, b) for a in s[2]) for b in t[2]
        )
    if ks == "text":
        return bool(s[1].replace(" ", "").lower() == t[1].replace(" ", "").lower())
    return compare_values(s, t, prefer_real=prefer_real, positive=positive)


_FLIP = {">": "<", ">=": "<=", "<": "<", "<=": "<=", "!=": "!="}


def _rel_normal(n: Node) -> tuple[str, Node]:
    op, a, b = n[1], n[2], n[3]
    if op in (">", ">="):
        return _FLIP[op], ("add", (b, ("neg", a)))
    return op, ("add", (a, ("neg", b)))


def _equiv_inequality(s: Node, t: Node, **kw: Any) -> bool:
    if s[0] != "rel" or t[0] != "rel":
        return False
    (op_s, ds), (op_t, dt) = _rel_normal(s), _rel_normal(t)
    if op_s != op_t:
        return False

    def positive_ratio(pairs: list[tuple[Any, Any]], tol: Any, scale: Any) -> bool:
        if not constant_ratio(pairs, tol, scale):
            return False
        for a, b in pairs:
            if b != 0 and a != 0:
                r = a / b
                return bool((r.real if hasattr(r, "real") else r) > 0)
        return True

    return compare_values(ds, dt, relation=positive_ratio, **kw)


# -- the tests ------------------------------------------------------------------------
def _has_float(n: Node) -> bool:
    if n[0] == "num":
        return "." in n[2] or "e" in n[2].lower()
    return any(
        (
            _has_float(k)
            if k and isinstance(k[0], str)
            else any(isinstance(x, tuple) and _has_float(x) for x in k)
        )
        for k in n[1:]
        if isinstance(k, tuple)
    )


def _float_constants_equal(s: Node, t: Node) -> bool | None:
    """Constants typed with floats are doubles (as in a CAS): 4.52*10^2 is not 452."""
    if not (is_constant(s) and is_constant(t)) or not (_has_float(s) or _has_float(t)):
        return None
    from grader.mathlang.numeric import Evaluator, Point

    try:
        a = Evaluator("float", Point(1)).ev(s)
        b = Evaluator("float", Point(1)).ev(t)
    except (EvalError, ZeroDivisionError, OverflowError):
        return None
    return bool(abs(a - b) <= 1e-16 * max(abs(a), abs(b)))


def _alg_equiv(s: Node, t: Node, opts: list[Node] | None) -> Verdict:
    as_floats = _float_constants_equal(s, t)
    if as_floats is not None:
        return PASS if as_floats else fail()
    if equiv_nodes(s, t):
        return PASS
    ks, kt = kind_of(s), kind_of(t)
    if ks != kt:
        return fail(f"Your answer is an {ks}, but an {kt} was expected.", "ATAlgEquiv_SA_not_" + kt)
    return fail()


def _same_type(s: Node, t: Node, opts: list[Node] | None) -> Verdict:
    return PASS if kind_of(s) == kind_of(t) else fail(f"Your answer should be an {kind_of(t)}.")


def _sets(s: Node, t: Node, opts: list[Node] | None) -> Verdict:
    if s[0] != "list" or t[0] != "list":
        return fail("Your answer should be a set, e.g. {1, 2}.")
    as_sets = (("list", "{", s[2]), ("list", "{", t[2]))
    return PASS if equiv_nodes(*as_sets) else fail()


def _string(sloppy: bool) -> Callable[[str, str, str], Verdict]:
    def run(student: str, teacher: str, options: str) -> Verdict:
        a, b = student.strip(), teacher.strip()
        if sloppy:
            a, b = "".join(a.lower().split()), "".join(b.lower().split())
        return PASS if a == b else fail()

    return run


TestFn = Callable[[Node, Node, "list[Node] | None"], Verdict]
TESTS: dict[str, TestFn] = {
    "AlgEquiv": _alg_equiv,
    "AlgEquivNouns": _alg_equiv,
    "SameType": _same_type,
    "Sets": _sets,
}
# tests whose student/teacher text must not go through the generic parser (they read
# literals, strings or units themselves)
RAW_TESTS: dict[str, Callable[[str, str, str], Verdict]] = {
    "String": _string(sloppy=False),
    "StringSloppy": _string(sloppy=True),
}


def known_tests() -> list[str]:
    load_tests()
    return sorted(set(TESTS) | set(RAW_TESTS))


def answer_test(test: str, student: str, teacher: str, options: str | None = "") -> Verdict:
    """Run one STACK answer test. Never raises on bad input: returns `invalid` instead."""
    load_tests()
    try:
        raw = RAW_TESTS.get(test)
        if raw is not None:
            return raw(student, teacher, options or "")
        fn = TESTS.get(test)
        if fn is None:
            return invalid(f"unknown answer test {test!r}")
        opts = parse_options(options)
        s = parse_side(student, "student's")
        t = parse_side(teacher, "teacher's")
        return fn(s, t, opts)
    except Invalid as exc:
        return invalid(str(exc))
    except Undecided:
        return invalid("the expression could not be evaluated (undefined everywhere)")
    except (EvalError, MathError) as exc:
        return invalid(f"the answer cannot be used: {exc}")
    except RecursionError:
        return invalid("the expression is nested too deeply")
    except (ArithmeticError, ValueError) as exc:  # overflow in a corner of float arithmetic
        return invalid(f"the expression cannot be evaluated: {type(exc).__name__}")


_loaded = False


def load_tests() -> None:
    global _loaded
    if _loaded:
        return
    # the test modules import this one (Verdict, helpers), so they are loaded on first use
    from grader.checks import (
        answertests_calc,
        answertests_extract,
        answertests_form,
        answertests_num,
    )

    TESTS.update(answertests_calc.TESTS)
    RAW_TESTS.update(answertests_calc.RAW_TESTS)
    TESTS.update(answertests_form.TESTS)
    RAW_TESTS.update(answertests_num.RAW_TESTS)
    RAW_TESTS.update(answertests_extract.RAW_TESTS)
    _loaded = True
