"""Submission endpoints: thin handlers over grader.services.submissions."""

from __future__ import annotations

import re
from typing import Any

from flask import Blueprint, Response, jsonify, request

from grader.api.context import actor, json_body, publisher, runtime
from grader.api.params import OFFSET, IntParam, TextParam
from grader.api.schemas import SubmissionAccepted, SubmissionList, SubmissionOut
from grader.api.spec import api_spec
from grader.services import idempotency
from grader.services import submissions as service

bp = Blueprint("submissions", __name__, url_prefix="/api/v1")

LIMIT = IntParam("limit", 100, minimum=1, maximum=500, description="items per page")
EXAM_ID = TextParam("exam_id", description="only this exam's submissions")

_WAIT = re.compile(r"(?:^|[,;\s])wait\s*=\s*(\d+)", re.IGNORECASE)


def prefer_wait(header: str | None, cap: int) -> int:
    """RFC 7240 `Prefer: wait=N`, capped; 0 when absent."""
    match = _WAIT.search(header or "")
    return min(int(match.group(1)), cap) if match else 0


def _queued(submission_id: str) -> dict[str, Any]:
    return {"id": submission_id, "status": "queued"}


def idempotent(key_id: str, body: Any) -> idempotency.Reservation | idempotency.Replay | None:
    """Honour an `Idempotency-Key` header: reserve it, or find the original response."""
    key = request.headers.get(idempotency.HEADER)
    if key is None:
        return None
    digest = idempotency.fingerprint(f"POST {request.path}", body)
    return idempotency.reserve(runtime().db, key_id, key, digest)


@bp.post("/exams/<exam_id>/submissions")
@api_spec.operation(
    "POST",
    "/api/v1/exams/{exam_id}/submissions",
    "Submit an answer sheet; 202 queued, or 200 graded with `Prefer: wait=N` (N <= 30). "
    "An `Idempotency-Key` header makes retries return the original response",
    body=service.SubmissionIn,
    response=SubmissionAccepted,
    status=202,
    roles=("student (own id)", "lms (granted exams)", "instructor (own exams)", "admin"),
    errors=(400, 404, 409, 413, 415, 422, 429),
)
def submit(exam_id: str) -> tuple[Response, int, dict[str, str]]:
    who = actor()
    rt = runtime()
    body = json_body()
    reserved = idempotent(who.key_id, body)
    if isinstance(reserved, idempotency.Replay):  # a retry: the original answer, nothing new
        location = f"/api/v1/submissions/{reserved.body.get('id')}"
        return (
            jsonify(reserved.body),
            reserved.status,
            {"Location": location, "Idempotent-Replayed": "true"},
        )
    try:
        accepted = service.submit(
            rt.db,
            rt.settings,
            publisher(),
            who,
            exam_id,
            body,
            on_created=idempotency.completer(reserved, 202, _queued) if reserved else None,
        )
    except Exception:
        if reserved is not None:
            idempotency.release(rt.db, reserved)
        raise
    headers = {"Location": f"/api/v1/submissions/{accepted.id}"}
    wait = prefer_wait(request.headers.get("Prefer"), rt.settings.max_wait_seconds)
    if wait:
        headers["Preference-Applied"] = f"wait={wait}"
        status = service.wait_for(rt.db, accepted.id, wait)
        if status in service.FINAL:
            return jsonify(service.get_submission(rt.db, who, accepted.id)), 200, headers
    return jsonify({"id": accepted.id, "status": "queued"}), 202, headers


@bp.get("/submissions/<submission_id>")
@api_spec.operation(
    "GET",
    "/api/v1/submissions/{submission_id}",
    "A submission's status, score and per-criterion feedback",
    response=SubmissionOut,
    errors=(404,),
)
def get_submission(submission_id: str) -> Response:
    return jsonify(service.get_submission(runtime().db, actor(), submission_id))


@bp.get("/submissions")
@api_spec.operation(
    "GET",
    "/api/v1/submissions",
    "List submissions visible to the caller (newest first)",
    response=SubmissionList,
    query=(LIMIT, OFFSET, EXAM_ID),
)
def list_submissions() -> Response:
    items = service.list_submissions(
        runtime().db, actor(), EXAM_ID.read(), LIMIT.value(), OFFSET.value()
    )
    return jsonify({"items": items})
