"""Rate limits per API key (flask-limiter): 429 with Retry-After.

Counted per authenticated key, so gunicorn workers share a budget only through shared
storage: Redis in deployment (GRADER_RATE_LIMIT_STORAGE_URL, or the Redis broker), memory://
for a single process. Unauthenticated requests are counted per client address as the socket
sees it; X-Forwarded-For is not trusted, so spoofing it does not buy a fresh budget.
"""

from __future__ import annotations

from flask import Flask, request
from flask_limiter import Limiter

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


def exempt_blueprints(limiter: Limiter, *blueprints: object) -> None:
    """Health checks and docs are not rate limited (probes would eat the budget)."""
    for bp in blueprints:
        limiter.exempt(bp)  # type: ignore[call-overload]
