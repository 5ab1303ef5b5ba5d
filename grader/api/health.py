"""Liveness and readiness (database, broker, queue lag)."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, jsonify

from grader.api.context import runtime
from grader.api.openapi import docs_page
from grader.api.schemas import Ready
from grader.api.spec import api_spec
from grader.services.grading import queue_lag
from grader.services.submissions import work_stall

bp = Blueprint("health", __name__)


@bp.get("/healthz")
@api_spec.operation("GET", "/healthz", "Alive", auth=False)
def healthz() -> Response:
    return jsonify({"alive": True})


@bp.get("/readyz")
@api_spec.operation(
    "GET",
    "/readyz",
    "Ready: database and broker reachable, and work does not wait on stalled workers "
    "(503 lists the reasons)",
    response=Ready,
    auth=False,
    errors=(503,),
)
def readyz() -> tuple[Response, int]:
    rt = runtime()
    database = rt.db.ping()
    broker_ok = current_app.extensions["grader.publisher"].ping()
    queue = queue_lag(rt.db) if database else {}
    reasons = [] if database else ["the database is unreachable"]
    if not broker_ok:
        reasons.append("the broker is unreachable")
    if database:
        stall = work_stall(rt.db)
        if stall.stalled(rt.settings.stall_after):
            reasons.append(
                f"{stall.waiting} sheet(s) have waited {stall.oldest_waiting_s:.0f} s and no "
                f"worker has taken any for {stall.last_progress_s or 0:.0f} s"
            )
    body = {
        "ready": not reasons,
        "database": database,
        "broker": broker_ok,
        "queue": queue,
        "reasons": reasons,
    }
    return jsonify(body), 503 if reasons else 200


@bp.get("/api/v1/openapi.json")
def openapi_json() -> Response:
    return jsonify(api_spec.document())


@bp.get("/api/docs")
def docs() -> Response:
    return Response(docs_page(api_spec.document()), mimetype="text/html")
