"""Per-request access to the process's runtime and the calling actor."""

from __future__ import annotations

from typing import Any

from flask import current_app, g, request

from grader.services.auth import Actor, authenticate
from grader.services.errors import Forbidden, ServiceError, UnsupportedMediaType
from grader.services.runtime import Runtime
from grader.services.submissions import Publisher


def runtime() -> Runtime:
    rt: Runtime = current_app.extensions["grader"]
    return rt


def publisher() -> Publisher:
    pub: Publisher = current_app.extensions["grader.publisher"]
    return pub


def actor(*roles: str) -> Actor:
    """The caller, from the bearer key; with roles given, anyone else gets 403."""
    who: Actor | None = g.get("actor")
    if who is None:
        who = authenticate(runtime().db, request.headers.get("Authorization"))
        g.actor = who
    if roles and who.role not in roles:
        raise Forbidden(f"this needs one of the roles: {', '.join(roles)}")
    return who


def json_body() -> Any:
    if not request.is_json:
        raise UnsupportedMediaType("send Content-Type: application/json")
    data = request.get_json(silent=True)
    if data is None:
        raise ServiceError("the body is not valid JSON (malformed, empty or nested too deeply)")
    return data
