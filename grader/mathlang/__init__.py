"""Safe math language: our own grammar -> AST -> (numeric evaluation | sympy objects).

Student text is never given to eval, sympify or parse_expr. The parser enforces limits on
length, nesting depth, node count and literal size, and `check_size` bounds the magnitude
of constant sub-expressions through ^ and ! before any arithmetic is done.
"""

from __future__ import annotations

from typing import Any, Unpack

from grader.mathlang.errors import EvalError, MathError, MathSyntaxError, TooLarge, Undefined
from grader.mathlang.limits import check_defined, check_size
from grader.mathlang.parser import Notation, canonical_name, parse
from grader.mathlang.tree import Node

__all__ = [
    "EvalError",
    "MathError",
    "MathSyntaxError",
    "Node",
    "Notation",
    "TooLarge",
    "Undefined",
    "canonical_name",
    "parse",
    "read",
]


def read(text: str, **notation: Unpack[Notation]) -> Node:
    """Parse (`notation`: how the answer is written, see `Notation`) and validate: size
    limits, no constant division by zero, no ∞−∞."""
    node: Any = parse(text, **notation)
    check_size(node)
    check_defined(node)
    return node
