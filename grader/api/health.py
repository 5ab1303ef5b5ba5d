"""Liveness and readiness (database, broker, queue lag)."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, jsonify

from grader.api.context import runtime
from grader.api.openapi import docs_page
from grader.api.schemas import Ready
from grader.api.spec import api_spec
from grader.services.grading import queue_lag

bp = Blueprint("health", __name__)


@bp.get("/healthz")
@api_spec.operation("GET", "/healthz", "Alive", auth=False)
def healthz() -> Response:
    return jsonify({"alive": True})


@bp.get("/readyz")
@api_spec.operation(
    "GET",
    "/readyz",
    "Ready: database and broker reachable, queue lag",
    response=Ready,
    auth=False,
    errors=(503,),
)
def readyz() -> tuple[Response, int]:
    rt = runtime()
    database = rt.db.ping()
    broker_ok = current_app.extensions["grader.publisher"].ping()
    queue = queue_lag(rt.db) if database else {}
    ready = database and broker_ok
    body = {"ready": ready, "database": database, "broker": broker_ok, "queue": queue}
    return jsonify(body), 200 if ready else 503


@bp.get("/api/v1/openapi.json")
def openapi_json() -> Response:
    return jsonify(api_spec.document())


@bp.get("/api/docs")
def docs() -> Response:
    return Response(docs_page(api_spec.document()), mimetype="text/html")
