"""Validate a single expression (a preview for students, like STACK's validation step)."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify

from grader.api.context import actor, json_body
from grader.api.spec import api_spec
from grader.services.mathcheck import ExpressionIn, ExpressionOut, validate_expression

bp = Blueprint("math", __name__, url_prefix="/api/v1/math")


@bp.post("/validate")
@api_spec.operation(
    "POST",
    "/api/v1/math/validate",
    "Read one expression back, or say why it cannot be read (422: unsupported syntax, too "
    "large, undefined)",
    body=ExpressionIn,
    response=ExpressionOut,
    errors=(400, 413, 415, 422),
)
def validate() -> Response:
    actor()
    return jsonify(validate_expression(json_body()))
