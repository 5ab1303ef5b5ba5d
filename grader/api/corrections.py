"""Corrections teach the grader, over the API: overrides -> graded examples (a new rubric
version) -> a dry-run regrade of the exam's batches and single submissions -> apply
(`POST /regrades/{id}/apply`). Thin handlers over grader.services.corrections and
grader.services.regrades."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, request
from pydantic import BaseModel, ConfigDict, Field

from grader.api.context import actor, json_body, publisher, runtime
from grader.api.spec import api_spec
from grader.services import corrections, regrades
from grader.services.errors import parse_body

bp = Blueprint("corrections", __name__, url_prefix="/api/v1")

AUTHORS = ("admin", "instructor")
OWNER = ("admin", "instructor (owner)")


class ExamplesIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    submission_ids: list[str] | None = Field(
        default=None, max_length=1000, description="Only these submissions' overrides."
    )
    dry_run: bool = Field(default=False, description="Show the examples, store nothing.")
    force: bool = Field(
        default=False,
        description="Store the examples even when the corrections' self-test (leave one "
        "out) finds they do not bring the corrected answers closer to their scores.",
    )


@bp.post("/exams/<exam_id>/questions/<question_id>/examples")
@api_spec.operation(
    "POST",
    "/api/v1/exams/{exam_id}/questions/{question_id}/examples",
    "Turn the question's overrides into graded examples of its criteria (those whose checker "
    "calibrates on examples): a new rubric version; says which overrides taught nothing",
    body=ExamplesIn,
    status=201,
    roles=OWNER,
    errors=(400, 404, 415, 422),
)
def examples_from_overrides(exam_id: str, question_id: str) -> tuple[Response, int]:
    body = parse_body(ExamplesIn, json_body() if request.content_length else {}, "the request")
    rt = runtime()
    out = corrections.examples_from_corrections(
        rt.db,
        rt.registry,
        actor(*AUTHORS),
        exam_id,
        question_id,
        body.submission_ids,
        dry_run=body.dry_run,
        runner=rt.runner,
        force=body.force,
    )
    return jsonify(out), 201 if out["version"] != out["from_version"] else 200


@bp.post("/exams/<exam_id>/regrade")
@api_spec.operation(
    "POST",
    "/api/v1/exams/{exam_id}/regrade",
    "Dry runs of every batch of the exam and one of its graded single submissions (a run "
    'with "batch_id": null) under a version ({"version": N}, default: the current one); '
    "each run's diff comes at GET /api/v1/regrades/{id}; overrides are kept at apply",
    roles=OWNER,
    status=202,
    errors=(400, 404, 415, 422, 503),
)
def regrade_exam(exam_id: str) -> tuple[Response, int]:
    body = json_body() if request.content_length else None
    rt = runtime()
    out = regrades.request_exam_regrade(rt.db, publisher(), actor(*AUTHORS), exam_id, body)
    return jsonify(out), 202


@bp.get("/exams/<exam_id>/regrades")
@api_spec.operation(
    "GET",
    "/api/v1/exams/{exam_id}/regrades",
    "The newest regrade runs of the exam (of its batches and of its single submissions)",
    roles=OWNER,
    errors=(404,),
)
def list_regrades(exam_id: str) -> Response:
    return jsonify(regrades.exam_regrades(runtime().db, actor(*AUTHORS), exam_id))
