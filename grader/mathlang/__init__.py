"""Safe math language: our own grammar -> AST -> (numeric evaluation | sympy objects).

Student text is never given to eval, sympify or parse_expr. The parser enforces limits on
length, nesting depth, node count and literal size, and `check_size` bounds the magnitude
of constant sub-expressions through ^ and ! before any arithmetic is done.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from grader.mathlang.errors import EvalError, MathError, MathSyntaxError, TooLarge, Undefined
from grader.mathlang.limits import check_defined, check_size
from grader.mathlang.parser import canonical_name, parse
from grader.mathlang.tree import Node

__all__ = [
    "EvalError",
    "MathError",
    "MathSyntaxError",
    "Node",
    "TooLarge",
    "Undefined",
    "canonical_name",
    "parse",
    "read",
]


def read(
    text: str,
    *,
    variables: Collection[str] = (),
    decimal_comma: bool = False,
    functions: Collection[str] = (),
    functions_from_names: bool = True,
    tight_division: bool = False,
) -> Node:
    """Parse and validate: size limits, no constant division by zero, no ∞−∞. Names in
    `functions` are unknown functions: y(x_i, w) is a call, not y times a tuple. With
    `functions_from_names` false (how students write), any other name before a bracket
    multiplies: 2q(1-q) is 2*q*(1-q). With `tight_division`, 1/2x is 1/(2x) (the other
    reading of a product written after '/')."""
    node: Any = parse(
        text,
        variables=variables,
        decimal_comma=decimal_comma,
        functions=functions,
        functions_from_names=functions_from_names,
        tight_division=tight_division,
    )
    check_size(node)
    check_defined(node)
    return node
