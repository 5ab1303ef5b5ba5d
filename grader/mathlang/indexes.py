"""Index letters of a big operator's body: Σ |t_i − y(x_i)| written without Σ's subscript."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from grader.mathlang.tree import Node


def _index_of(name: str, variables: Collection[str]) -> str | None:
    """'t_i' declared as a per-sample variable -> 'i'."""
    base, sep, sub = name.partition("_")
    if sep and name in variables and len(sub) == 1 and sub.isalpha() and sub.islower():
        return sub
    return None


def free_indexes(n: Node, bound: frozenset[str], variables: Collection[str]) -> set[str]:
    out: set[str] = set()
    stack = [n]
    while stack:
        m = stack.pop()
        if m[0] == "idx":
            sub = m[2]
            if sub[0] == "sym" and len(sub[1]) == 1 and sub[1] not in bound:
                out.add(sub[1])
            continue
        if m[0] == "sym":
            letter = _index_of(m[1], variables)
            if letter and letter not in bound:
                out.add(letter)
            continue
        if m[0] in ("sum", "prod"):
            bound = bound | {m[1]}
        for k in m[1:]:
            if isinstance(k, tuple) and k and isinstance(k[0], str):
                stack.append(k)
            elif isinstance(k, tuple):
                stack.extend(x for x in k if isinstance(x, tuple) and x)
    return out


def bind_index(n: Node, var: str, variables: Collection[str]) -> Node:
    """t_i (a declared per-sample symbol) becomes the indexed t_i bound by the sum."""
    if n[0] == "sym":
        if _index_of(n[1], variables) == var:
            return ("idx", n[1].partition("_")[0], ("sym", var))
        return n
    if n[0] in ("sum", "prod") and n[1] == var:
        return n
    out: list[Any] = [n[0]]
    for k in n[1:]:
        if isinstance(k, tuple) and k and isinstance(k[0], str):
            out.append(bind_index(k, var, variables))
        elif isinstance(k, tuple):
            out.append(
                tuple(bind_index(x, var, variables) if isinstance(x, tuple) and x else x for x in k)
            )
        else:
            out.append(k)
    return tuple(out)
