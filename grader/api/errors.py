"""Every error leaves as RFC 9457 problem details; no stack trace, SQL or secret leaks."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from flask import Flask, Response, current_app, jsonify, request
from werkzeug.exceptions import HTTPException

from grader.services.errors import ServiceError

log = logging.getLogger(__name__)

PROBLEM_TYPE = "https://grader.dev/problems/"
_PAGES = "grader.error_pages"

ErrorPage = Callable[[HTTPException], Response]


def problem(status: int, title: str, detail: str, **extra: Any) -> Response:
    body: dict[str, Any] = {
        "type": PROBLEM_TYPE + title.lower().replace(" ", "-"),
        "title": title,
        "status": status,
        "detail": detail,
    }
    body.update({k: v for k, v in extra.items() if v is not None})
    response = jsonify(body)
    response.status_code = status
    response.content_type = "application/problem+json"
    return response


def serve_error_pages(app: Flask, prefix: str, render: ErrorPage) -> None:
    """Errors raised before any view is chosen (no such page: 404, a method the page does not
    take: 405) under `prefix` are answered by `render` (the pages' HTML), not as problem
    JSON: a blueprint's own error handlers only see errors raised inside its views."""
    app.extensions.setdefault(_PAGES, {})[prefix.rstrip("/")] = render


def _error_page() -> ErrorPage | None:
    pages: dict[str, ErrorPage] = current_app.extensions.get(_PAGES, {})
    for prefix, render in pages.items():
        if request.path == prefix or request.path.startswith(prefix + "/"):
            return render
    return None


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(ServiceError)
    def _service_error(exc: ServiceError) -> Response:
        errors = [e.to_dict() for e in exc.errors] or None
        return problem(exc.status, exc.title, exc.detail, errors=errors)

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> Response:
        page = _error_page()
        if page is not None:
            return page(exc)
        status = exc.code or 500
        detail = exc.description or ""
        if status == 413:
            detail = "the request body is larger than the limit"
        response = problem(status, exc.name, detail)
        # The exception's own headers (Allow on a 405, Retry-After on a 429 or 503) are part
        # of the answer; only its HTML Content-Type is replaced by the problem's.
        for name, value in exc.get_headers():
            if name.lower() != "content-type":
                response.headers[name] = value
        if exc.response is not None and exc.response.headers.get("Retry-After"):
            response.headers["Retry-After"] = exc.response.headers["Retry-After"]
        return response

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> Response:
        log.exception("unhandled error")
        return problem(500, "Internal Server Error", "an unexpected error occurred")
