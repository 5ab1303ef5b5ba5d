"""Exam endpoints: thin handlers over grader.services.exams."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, request

from grader.api.context import actor, runtime
from grader.api.params import VERSION
from grader.api.schemas import ExamOut, ExamRef, ExamRubric
from grader.api.spec import api_spec
from grader.services import exams as service
from grader.services.errors import Invalid, UnsupportedMediaType

bp = Blueprint("exams", __name__, url_prefix="/api/v1/exams")

YAML_TYPES = {"application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml"}
RUBRIC_TYPES = ("application/json", "application/yaml")


def _rubric_body() -> tuple[str, bool]:
    mimetype = request.mimetype
    if mimetype != "application/json" and mimetype not in YAML_TYPES:
        raise UnsupportedMediaType("send the rubric as application/yaml or application/json")
    try:
        text = request.get_data().decode("utf-8")
    except UnicodeDecodeError:
        raise Invalid("the rubric is not valid UTF-8") from None
    return text, mimetype == "application/json"


@bp.post("")
@api_spec.operation(
    "POST",
    "/api/v1/exams",
    "Create an exam from a rubric (YAML or JSON), with its self-test's warnings",
    body=ExamRubric,
    body_types=RUBRIC_TYPES,
    response=ExamRef,
    status=201,
    roles=("admin", "instructor"),
    errors=(409, 413, 415, 422),
)
def create_exam() -> tuple[Response, int, dict[str, str]]:
    who = actor("admin", "instructor")
    text, is_json = _rubric_body()
    rt = runtime()
    out = service.create_exam(rt.db, rt.registry, who, text, is_json, rt.runner)
    return jsonify(out), 201, {"Location": f"/api/v1/exams/{out['id']}"}


@bp.put("/<exam_id>")
@api_spec.operation(
    "PUT",
    "/api/v1/exams/{exam_id}",
    "Upload a new version of an exam's rubric",
    body=ExamRubric,
    body_types=RUBRIC_TYPES,
    response=ExamRef,
    roles=("admin", "instructor (owner)"),
    errors=(404, 413, 415, 422),
)
def update_exam(exam_id: str) -> Response:
    who = actor("admin", "instructor")
    text, is_json = _rubric_body()
    rt = runtime()
    return jsonify(service.update_exam(rt.db, rt.registry, who, exam_id, text, is_json, rt.runner))


@bp.get("/<exam_id>")
@api_spec.operation(
    "GET",
    "/api/v1/exams/{exam_id}",
    "Read an exam (students and LMS keys see questions only)",
    response=ExamOut,
    errors=(404,),
    query=(VERSION,),
)
def get_exam(exam_id: str) -> Response:
    version = VERSION.read()
    return jsonify(service.get_exam(runtime().db, actor(), exam_id, version))
