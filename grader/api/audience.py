"""An exam's audience: the roster of students it is open to (owner only)."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify

from grader.api.context import actor, json_body, runtime
from grader.api.spec import api_spec
from grader.services import audience as service

bp = Blueprint("audience", __name__, url_prefix="/api/v1/exams")
OWNER = ("admin", "instructor (owner)")


@bp.put("/<exam_id>/roster")
@api_spec.operation(
    "PUT",
    "/api/v1/exams/{exam_id}/roster",
    "Replace the students the exam is open to; their student keys may read and submit",
    body=service.RosterIn,
    roles=OWNER,
    errors=(400, 404, 415, 422),
)
def put_roster(exam_id: str) -> Response:
    return jsonify(
        service.set_roster(runtime().db, actor("admin", "instructor"), exam_id, json_body())
    )


@bp.get("/<exam_id>/roster")
@api_spec.operation(
    "GET", "/api/v1/exams/{exam_id}/roster", "The exam's roster", roles=OWNER, errors=(404,)
)
def get_roster(exam_id: str) -> Response:
    return jsonify(service.get_roster(runtime().db, actor("admin", "instructor"), exam_id))
