"""Rate limits per API key (flask-limiter): 429 with Retry-After.

Counted per authenticated key, so gunicorn workers share a budget only through shared
storage: Redis in deployment (GRADER_RATE_LIMIT_STORAGE_URL, or the Redis broker), memory://
for a single process. Unauthenticated requests are counted per client address as the socket
sees it; X-Forwarded-For is not trusted, so spoofing it does not buy a fresh budget.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any, TypeVar

from flask import Blueprint, Flask, request
from flask_limiter import Limiter
from werkzeug.exceptions import RequestEntityTooLarge

from grader.api.context import actor
from grader.config import Settings
from grader.services.errors import ServiceError

EXTENSION = "grader.limiter"


def rate_key() -> str:
    if not request.headers.get("Authorization"):
        return "anon:" + (request.remote_addr or "unknown")
    try:
        who = actor()  # authenticates once; the handler reuses the cached actor
    except ServiceError:
        return "anon:" + (request.remote_addr or "unknown")
    return "key:" + who.key_id


def storage_url(settings: Settings) -> str:
    if settings.rate_limit_storage_url:
        return settings.rate_limit_storage_url
    return settings.broker_url if settings.uses_redis else "memory://"


def init_limiter(app: Flask, settings: Settings) -> Limiter:
    limiter = Limiter(
        rate_key,
        app=app,
        application_limits=[settings.rate_limit] if settings.rate_limit else [],
        storage_uri=storage_url(settings),
        headers_enabled=True,  # X-RateLimit-* and, on 429, Retry-After
        swallow_errors=True,  # storage down: serve rather than fail every request
        in_memory_fallback_enabled=True,
        key_prefix="grader",
    )
    app.extensions[EXTENSION] = limiter
    return limiter


def exempt_blueprints(limiter: Limiter, *blueprints: Blueprint) -> None:
    """Health checks and docs are not rate limited (probes would eat the budget)."""
    for bp in blueprints:
        limiter.exempt(bp)


BODY_LIMIT_ATTR = "grader_body_limit"
F = TypeVar("F", bound=Callable[..., Any])


def body_limit(limit: Callable[[], int]) -> Callable[[F], F]:
    """A view that accepts bodies larger than GRADER_MAX_CONTENT_LENGTH (batch uploads);
    `limit` is asked per request."""

    def mark(fn: F) -> F:
        setattr(fn, BODY_LIMIT_ATTR, limit)
        return fn

    return mark


def limit_streamed_bodies(app: Flask) -> None:
    """A chunked body has no Content-Length, so Werkzeug can only cut it at the limit and
    hand the view a truncated body (a 400 for 'bad JSON' at best). Read it here, up to one
    byte past the view's limit: over it is a 413 like any other body; within it, the view
    reads it as if it had come with a Content-Length."""

    @app.before_request
    def _read_streamed_body() -> None:
        environ = request.environ
        if request.content_length is not None or not (
            environ.get("wsgi.input_terminated")
            or "chunked" in request.headers.get("Transfer-Encoding", "").lower()
        ):
            return
        view = app.view_functions.get(request.endpoint or "")
        view_limit = getattr(view, BODY_LIMIT_ATTR, None)
        limit = view_limit() if view_limit is not None else app.config["MAX_CONTENT_LENGTH"]
        data = environ["wsgi.input"].read(limit + 1)
        if len(data) > limit:
            raise RequestEntityTooLarge()
        environ["wsgi.input"] = io.BytesIO(data)
        environ["CONTENT_LENGTH"] = str(len(data))
        environ.pop("wsgi.input_terminated", None)
        environ.pop("HTTP_TRANSFER_ENCODING", None)  # else Werkzeug ignores CONTENT_LENGTH
        # the cached stream (if anything touched it) must see the new input
        request.__dict__.pop("stream", None)
