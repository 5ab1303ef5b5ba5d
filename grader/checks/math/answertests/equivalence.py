"""Algebraic equivalence of two trees, the judgement most answer tests rest on: expressions
by value, equations up to a non-zero factor, inequalities up to a positive one, lists and
sets item by item. And what kind of answer a tree is (expression, equation, list, ...)."""

from __future__ import annotations

from fractions import Fraction
from typing import Any

from grader.mathlang.calculus import free_symbols
from grader.mathlang.equiv import compare_values, constant_ratio
from grader.mathlang.tree import Node


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


def difference(eq: Node) -> Node:
    """An equation as one expression, lhs - rhs (|A| = |B| as A^2 - B^2)."""
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
            difference(s),
            difference(t),
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
