"""Batch, results, gradebook, statistics, review and override endpoints (instructors, admins).

Thin handlers over grader.services.batches / batch_reports / overrides.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify, request

from grader.api.context import actor, json_body, publisher, runtime
from grader.api.limits import body_limit
from grader.api.params import ChoiceParam, FlagParam, IntParam, TextParam
from grader.api.spec import api_spec
from grader.services import batch_reports as reports
from grader.services import batches as service
from grader.services import overrides, regrades
from grader.services.errors import Invalid, UnsupportedMediaType

bp = Blueprint("batches", __name__, url_prefix="/api/v1")

AUTHORS = ("admin", "instructor")
OWNER = ("admin", "instructor (owner)")
UPLOAD_TYPES = {
    "text/csv": "upload.csv",
    "application/csv": "upload.csv",
    "application/x-ndjson": "upload.jsonl",
    "application/jsonl": "upload.jsonl",
    "application/json-lines": "upload.jsonl",
    "application/zip": "upload.zip",
    "application/x-zip-compressed": "upload.zip",
    "application/octet-stream": None,
}
# The report is self-contained: no script, images only from data: URLs.
REPORT_CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"


def _upload_body_limit() -> int:
    return service.UPLOAD_MAX_BYTES + 256 * 1024  # the file and the form around it


FILENAME = TextParam("filename", 255, "the upload's file name (its type decides how it is read)")
RESULTS_FORMAT = ChoiceParam("format", ("json", "csv"), "json", "json or a CSV table")
CRITERIA = FlagParam("criteria", "CSV: one column per criterion too")
FORM = ChoiceParam("form", ("canvas", "moodle"), "canvas", "the LMS whose gradebook CSV to write")
FEEDBACK = FlagParam("feedback", "include the feedback text (default: moodle yes, canvas no)", None)
STATS_FORMAT = ChoiceParam("format", ("json", "html"), "json", "json or the HTML report")
QUESTION = TextParam("question", description="statistics of this question only")
BATCH_ID = TextParam("batch_id", description="only this batch")
QUESTION_ID = TextParam("question_id", description="only this question")
REVIEW_LIMIT = IntParam("limit", 200, minimum=1, maximum=1000, description="items")
GROUP = FlagParam("group", "group similar answers")


def _upload() -> tuple[bytes, str | None]:
    """The uploaded file: multipart field `file`, or the raw body with a file content type."""
    limit = service.UPLOAD_MAX_BYTES
    # Per request (Flask >= 3.1): uploads may be larger than single submissions.
    request.max_content_length = _upload_body_limit()
    if request.mimetype == "multipart/form-data":
        upload = request.files.get("file")
        if upload is None:
            raise Invalid("send the file in a form field named `file`")
        return upload.read(limit + 1), upload.filename or None
    if request.mimetype not in UPLOAD_TYPES:
        raise UnsupportedMediaType(
            "send CSV (text/csv), JSON Lines (application/x-ndjson), a ZIP (application/zip) "
            "or a multipart form with a `file` field"
        )
    name = FILENAME.read() or UPLOAD_TYPES[request.mimetype]
    return request.get_data(cache=False), name


def _csv(text: str, filename: str) -> Response:
    return Response(
        text,
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def _html(text: str) -> Response:
    return Response(text, mimetype="text/html", headers={"Content-Security-Policy": REPORT_CSP})


@bp.post("/exams/<exam_id>/batches")
@api_spec.operation(
    "POST",
    "/api/v1/exams/{exam_id}/batches",
    "Upload a batch (CSV: student_id + one column per question; JSON Lines; "
    "or a ZIP of those). All rows are validated first; 422 lists every problem",
    status=202,
    roles=OWNER,
    errors=(404, 413, 415, 422),
    query=(FILENAME,),
)
@body_limit(_upload_body_limit)
def create_batch(exam_id: str) -> tuple[Response, int, dict[str, str]]:
    who = actor(*AUTHORS)
    rt = runtime()
    data, filename = _upload()
    out = service.create_batch(rt.db, rt.settings, publisher(), who, exam_id, data, filename)
    return jsonify(out), 202, {"Location": f"/api/v1/batches/{out['id']}"}


@bp.get("/exams/<exam_id>/batches")
@api_spec.operation(
    "GET", "/api/v1/exams/{exam_id}/batches", "An exam's batches", roles=OWNER, errors=(404,)
)
def list_batches(exam_id: str) -> Response:
    return jsonify({"items": service.list_batches(runtime().db, actor(*AUTHORS), exam_id)})


@bp.get("/batches/<batch_id>")
@api_spec.operation(
    "GET",
    "/api/v1/batches/{batch_id}",
    "Progress: counts by state, needs_review, ETA",
    roles=OWNER,
    errors=(404,),
)
def get_batch(batch_id: str) -> Response:
    return jsonify(service.get_batch(runtime().db, actor(*AUTHORS), batch_id))


@bp.get("/batches/<batch_id>/results")
@api_spec.operation(
    "GET",
    "/api/v1/batches/{batch_id}/results",
    "Results as JSON, or CSV with ?format=csv (&criteria=1 adds criteria)",
    roles=OWNER,
    errors=(404,),
    query=(RESULTS_FORMAT, CRITERIA),
)
def batch_results(batch_id: str) -> Response:
    who = actor(*AUTHORS)
    db = runtime().db
    if RESULTS_FORMAT.read() == "csv":
        text = reports.results_csv(db, who, batch_id, criteria=bool(CRITERIA.read()))
        return _csv(text, f"batch-{batch_id}-results.csv")
    return jsonify(reports.results(db, who, batch_id))


def _gradebook(scope: reports.Scope, ident: str) -> Response:
    form = FORM.read() or "canvas"
    text = reports.gradebook_csv(runtime().db, actor(*AUTHORS), scope, ident, form, FEEDBACK.read())
    return _csv(text, f"{scope}-{ident}-{form}.csv")


@bp.get("/batches/<batch_id>/gradebook")
@api_spec.operation(
    "GET",
    "/api/v1/batches/{batch_id}/gradebook",
    "Gradebook CSV: ?form=canvas|moodle (&feedback=1)",
    roles=OWNER,
    errors=(404, 422),
    query=(FORM, FEEDBACK),
)
def batch_gradebook(batch_id: str) -> Response:
    return _gradebook("batch", batch_id)


@bp.get("/exams/<exam_id>/gradebook")
@api_spec.operation(
    "GET",
    "/api/v1/exams/{exam_id}/gradebook",
    "Gradebook CSV of the latest submission per student",
    roles=OWNER,
    errors=(404, 422),
    query=(FORM, FEEDBACK),
)
def exam_gradebook(exam_id: str) -> Response:
    return _gradebook("exam", exam_id)


def _stats(scope: reports.Scope, ident: str) -> Response:
    who = actor(*AUTHORS)
    db = runtime().db
    if STATS_FORMAT.read() == "html":
        return _html(reports.stats_html(db, who, scope, ident))
    return jsonify(reports.stats(db, who, scope, ident, QUESTION.read()))


@bp.get("/batches/<batch_id>/stats")
@api_spec.operation(
    "GET",
    "/api/v1/batches/{batch_id}/stats",
    "Statistics (?question=ID for one); ?format=html for the report",
    roles=OWNER,
    errors=(404,),
    query=(STATS_FORMAT, QUESTION),
)
def batch_stats(batch_id: str) -> Response:
    return _stats("batch", batch_id)


@bp.get("/exams/<exam_id>/stats")
@api_spec.operation(
    "GET",
    "/api/v1/exams/{exam_id}/stats",
    "Statistics of the latest submission per student; ?format=html",
    roles=OWNER,
    errors=(404,),
    query=(STATS_FORMAT, QUESTION),
)
def exam_stats(exam_id: str) -> Response:
    return _stats("exam", exam_id)


@bp.get("/exams/<exam_id>/review")
@api_spec.operation(
    "GET",
    "/api/v1/exams/{exam_id}/review",
    "Answers needing review, most uncertain first (?batch_id, ?question_id, "
    "?limit; ?group=1 groups similar answers)",
    roles=OWNER,
    errors=(404,),
    query=(BATCH_ID, QUESTION_ID, REVIEW_LIMIT, GROUP),
)
def review_queue(exam_id: str) -> Response:
    rt = runtime()
    out = overrides.review_queue(
        rt.db,
        actor(*AUTHORS),
        exam_id,
        batch_id=BATCH_ID.read(),
        question_id=QUESTION_ID.read(),
        limit=REVIEW_LIMIT.value(),
        group=bool(GROUP.read()),
        encoder=rt.encoder,
    )
    return jsonify(out)


@bp.post("/submissions/<submission_id>/overrides")
@api_spec.operation(
    "POST",
    "/api/v1/submissions/{submission_id}/overrides",
    "Override a question's or criterion's score, with a reason (audited)",
    body=overrides.OverrideIn,
    status=201,
    roles=OWNER,
    errors=(400, 404, 409, 415, 422),
)
def add_override(submission_id: str) -> tuple[Response, int]:
    rt = runtime()
    out = overrides.add_override(rt.db, rt.settings, actor(*AUTHORS), submission_id, json_body())
    return jsonify(out), 201


@bp.get("/submissions/<submission_id>/overrides")
@api_spec.operation(
    "GET",
    "/api/v1/submissions/{submission_id}/overrides",
    "The audit trail of a submission's overrides",
    roles=OWNER,
    errors=(404,),
)
def list_overrides(submission_id: str) -> Response:
    return jsonify(overrides.list_overrides(runtime().db, actor(*AUTHORS), submission_id))


@bp.post("/exams/<exam_id>/overrides")
@api_spec.operation(
    "POST",
    "/api/v1/exams/{exam_id}/overrides",
    "One decision for a group of submissions (all or none)",
    body=overrides.GroupOverrideIn,
    status=201,
    roles=OWNER,
    errors=(400, 404, 409, 415, 422),
)
def add_group_override(exam_id: str) -> tuple[Response, int]:
    rt = runtime()
    out = overrides.add_group_override(rt.db, rt.settings, actor(*AUTHORS), exam_id, json_body())
    return jsonify(out), 201


@bp.post("/batches/<batch_id>/regrade")
@api_spec.operation(
    "POST",
    "/api/v1/batches/{batch_id}/regrade",
    'Dry run of a regrade under a rubric version ({"version": N}, default: the '
    "current one), graded by workers; poll the regrade for its diff",
    status=202,
    roles=OWNER,
    errors=(400, 404, 409, 415, 422, 503),
)
def request_regrade(batch_id: str) -> tuple[Response, int, dict[str, str]]:
    rt = runtime()
    body: Any = json_body() if request.content_length else None
    out = regrades.request_regrade(rt.db, publisher(), actor(*AUTHORS), batch_id, body)
    return jsonify(out), 202, {"Location": f"/api/v1/regrades/{out['id']}"}


@bp.get("/regrades/<run_id>")
@api_spec.operation(
    "GET",
    "/api/v1/regrades/{run_id}",
    "A regrade's progress and, when ready, its diff: who changes and by how "
    "much (overrides laid over the new results)",
    roles=OWNER,
    errors=(404,),
)
def get_regrade(run_id: str) -> Response:
    return jsonify(regrades.get_regrade(runtime().db, actor(*AUTHORS), run_id))


@bp.post("/regrades/<run_id>/apply")
@api_spec.operation(
    "POST",
    "/api/v1/regrades/{run_id}/apply",
    "Apply a ready regrade: the new results (overrides kept) in one transaction",
    roles=OWNER,
    errors=(404, 409),
)
def apply_regrade(run_id: str) -> Response:
    return jsonify(regrades.apply_regrade(runtime().db, actor(*AUTHORS), run_id))
