"""Algebraic answer tests: AlgEquiv (and AlgEquivNouns), SameType, Sets, and the string
tests String and StringSloppy."""

from __future__ import annotations

from grader.checks.math.answertests.equivalence import equiv_nodes, is_constant, kind_of
from grader.checks.math.answertests.verdict import PASS, AnswerTest, Verdict, fail, on_trees
from grader.mathlang.errors import EvalError
from grader.mathlang.numeric import Evaluator, Point
from grader.mathlang.tree import Node


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


def _string(sloppy: bool) -> AnswerTest:
    """Compares the texts as written (not read as math)."""

    def run(student: str, teacher: str, options: str) -> Verdict:
        a, b = student.strip(), teacher.strip()
        if sloppy:
            a, b = "".join(a.lower().split()), "".join(b.lower().split())
        return PASS if a == b else fail()

    return run


TESTS: dict[str, AnswerTest] = {
    "AlgEquiv": on_trees(_alg_equiv),
    "AlgEquivNouns": on_trees(_alg_equiv),
    "SameType": on_trees(_same_type),
    "Sets": on_trees(_sets),
    "String": _string(sloppy=False),
    "StringSloppy": _string(sloppy=True),
}
