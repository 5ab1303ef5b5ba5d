"""Walking our math trees: a node is a tuple `(op, *fields)`; a field is a child node, a tuple
of child nodes (and plain values), or a plain value. `Node` is defined here once; every
module of mathlang and checks imports it from here."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Node = tuple[Any, ...]


def _is_node(value: Any) -> bool:
    return isinstance(value, tuple) and bool(value) and isinstance(value[0], str)


def children(n: Node) -> list[Node]:
    """The child nodes of `n`, in order."""
    kids: list[Node] = []
    for k in n[1:]:
        if _is_node(k):
            kids.append(k)
        elif isinstance(k, tuple):
            kids.extend(x for x in k if isinstance(x, tuple))
    return kids


def map_children(n: Node, fn: Callable[[Node], Any]) -> Node:
    """`n` with `fn` applied to each child node; plain values are kept."""
    out: list[Any] = [n[0]]
    for k in n[1:]:
        if _is_node(k):
            out.append(fn(k))
        elif isinstance(k, tuple):
            out.append(tuple(fn(x) if isinstance(x, tuple) else x for x in k))
        else:
            out.append(k)
    return tuple(out)
