"""Validate one student expression, as STACK does before it grades: read it back or say why not.

Runs the reader every math criterion uses (implicit products, x̄, units, LaTeX): our own
parser, whose limits (length, depth, node count, magnitude) hold before any sympy object
exists. The reading is then echoed through sympy, in the API process (not the sandbox): the
bounded tree becomes sympy objects unevaluated (`evaluate=False`: nothing is simplified)
only to be printed, and what sympy cannot print our own unparser prints.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from grader.mathlang import MathError, MathSyntaxError, TooLarge, Undefined
from grader.mathlang.reading import AnswerReader
from grader.services.errors import FieldError, Invalid, parse_body
from grader.services.errors import TooLarge as TooLargeRequest

MAX_EXPRESSION_CHARS = 2_000
MAX_ECHO_CHARS = 2_000


class ExpressionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    expression: str = Field(description="What the student typed: ASCII, Unicode or LaTeX math.")
    variables: list[str] = Field(
        default_factory=list, max_length=50, description="Declared names, e.g. w_2, x_n."
    )
    functions: list[str] = Field(
        default_factory=list,
        max_length=50,
        description="Unknown functions, e.g. [f] for f(x); any other name before a bracket "
        "multiplies, as in 2q(1-q).",
    )
    decimal_comma: bool = False


class ExpressionOut(BaseModel):
    valid: bool
    kind: str
    canonical: str


_KINDS = {"eq": "equation", "chain": "relation", "assign": "assignment", "list": "list"}


def validate_expression(body: Any) -> dict[str, Any]:
    data = parse_body(ExpressionIn, body, "the request")
    if len(data.expression) > MAX_EXPRESSION_CHARS:
        raise TooLargeRequest(
            f"an expression may have at most {MAX_EXPRESSION_CHARS} characters",
            [FieldError("expression", "too long")],
        )
    try:
        # the same reader as every math criterion: what the preview shows is what is graded
        reader = AnswerReader(
            data.variables, {}, decimal_comma=data.decimal_comma, functions=data.functions
        )
        node = reader.parse_raw(data.expression)
    except MathError as exc:
        reason = {
            MathSyntaxError: "unsupported syntax",
            TooLarge: "too large",
            Undefined: "undefined",
        }.get(type(exc), "unreadable")
        raise Invalid(f"{reason}: {exc}", [FieldError("expression", str(exc))]) from None
    return {
        "valid": True,
        "kind": _KINDS.get(str(node[0]), "expression"),
        "canonical": _render(node),
    }


def _render(node: Any) -> str:
    """Our reading of the answer, in plain syntax, so the student sees how it was understood."""
    import sympy

    from grader.mathlang.tosympy import to_sympy

    def one(part: Any) -> str:
        return str(sympy.sstr(to_sympy(part, evaluate=False)))

    try:
        op = node[0]
        if op == "assign":
            text = f"{one(node[1])} <- {one(node[2])}"
        elif op == "eq":
            text = f"{one(node[1])} = {one(node[2])}"
        elif op == "chain":
            parts = [one(p) for p in node[2]]
            text = parts[0] + "".join(f" {o} {p}" for o, p in zip(node[1], parts[1:], strict=False))
        elif op == "list":
            text = ", ".join(one(p) for p in node[2])
        else:
            text = one(node)
    except (MathError, ValueError, TypeError, IndexError, RecursionError):
        # what sympy cannot show (a derivative label ∂E/∂w2) our own unparser still can
        from grader.mathlang.unparse import to_text

        return to_text(node)[:MAX_ECHO_CHARS]
    return text[:MAX_ECHO_CHARS]
