"""The pages' blueprint, its security headers, errors as pages and shared helpers."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, Response, redirect, render_template, request, url_for
from werkzeug.exceptions import HTTPException

from grader.services.auth import Actor
from grader.services.errors import Forbidden, ServiceError, Unauthorized
from grader.services.runtime import Runtime
from grader.web import render
from grader.web.session import check_csrf, csrf_token, current_actor

bp = Blueprint(
    "web",
    __name__,
    url_prefix="/ui",
    template_folder="templates",
    static_folder="static",
    static_url_path="/static",
)

# No inline script or style anywhere; forms post only here; no framing.
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)


def runtime() -> Runtime:
    from flask import current_app

    rt: Runtime = current_app.extensions["grader"]
    return rt


def who(*roles: str) -> Actor:
    actor = current_actor(runtime().db)
    if roles and actor.role not in roles:
        raise Forbidden("this page is for " + " and ".join(roles) + "s")
    return actor


AUTHORS = ("admin", "instructor")


def back_to(default: str) -> str:
    """Where a form came from (`next`), if it is one of our pages; else `default`."""
    target = request.form.get("next") or request.args.get("next") or ""
    parts = urlsplit(target)
    if target.startswith("/ui/") and not parts.scheme and not parts.netloc and "\\" not in target:
        return target
    return default


@bp.before_request
def _csrf() -> None:
    if request.method == "POST":
        check_csrf()


@bp.after_request
def _headers(response: Response) -> Response:
    return security_headers(response)


def security_headers(response: Response) -> Response:
    response.headers["Content-Security-Policy"] = CSP
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Referrer-Policy"] = "same-origin"
    if not request.path.startswith("/ui/static/"):
        response.headers["Cache-Control"] = "no-store"
    return response


@bp.app_template_global()
def csrf() -> str:
    return csrf_token()


@bp.app_template_filter("pct")
def _pct(value: Any) -> str:
    return "–" if value is None else f"{100 * float(value):.0f}%"


@bp.app_template_filter("num")
def _num(value: Any, digits: int = 2) -> str:
    if value is None:
        return "–"
    return f"{float(value):.{digits}f}".rstrip("0").rstrip(".")


bp.add_app_template_filter(render.readable_formula, "formula")
bp.add_app_template_global(render.highlight, "highlight")


def _page_error(status: int, title: str, detail: str, errors: Any = None) -> Any:
    return (
        render_template("error.html", status=status, title=title, detail=detail, errors=errors),
        status,
    )


@bp.errorhandler(ServiceError)
def _service_error(exc: ServiceError) -> Any:
    if isinstance(exc, Unauthorized):
        return redirect(url_for("web.login", next=request.full_path.rstrip("?")))
    return _page_error(exc.status, exc.title, exc.detail, exc.errors)


@bp.errorhandler(HTTPException)
def error_page(exc: HTTPException) -> Response:
    """An HTTP error as a page, with the exception's own headers (Allow on a 405,
    Retry-After on a 429) and the pages' security headers (also for errors raised before
    any page is chosen, which this blueprint's after_request does not see)."""
    body, status = _page_error(exc.code or 500, exc.name, exc.description or "")
    response = Response(body, status=status, mimetype="text/html")
    for name, value in exc.get_headers():
        if name.lower() != "content-type":
            response.headers[name] = value
    if exc.response is not None and exc.response.headers.get("Retry-After"):
        response.headers["Retry-After"] = exc.response.headers["Retry-After"]
    return security_headers(response)
