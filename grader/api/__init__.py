"""The Flask app factory: the only package that imports flask."""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask
from flask.json.provider import DefaultJSONProvider

from grader.api import (
    audience,
    batches,
    corrections,
    exams,
    health,
    math,
    submissions,
    webhooks,
)
from grader.api.errors import register_error_handlers, serve_error_pages
from grader.api.limits import exempt_blueprints, init_limiter, limit_streamed_bodies
from grader.config import Settings
from grader.services.runtime import Runtime


class SafeJSONProvider(DefaultJSONProvider):
    """JSON nested past Python's recursion limit is a bad request (400), not a crash."""

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        try:
            return super().loads(s, **kwargs)
        except RecursionError:
            raise ValueError("the JSON is nested too deeply") from None


def create_app(
    settings: Settings,
    *,
    publisher: Any,
    runtime: Runtime | None = None,
    migrate: bool = True,
) -> Flask:
    """Build the API from the settings its entry point read (tests pass their own).

    `publisher` puts submission ids on the queue: the composition root
    (`service.compose.create_api`) passes the Celery one; the API never imports celery."""
    logging.basicConfig(level=settings.log_level)
    rt = runtime or Runtime.create(settings)
    if migrate:
        rt.db.upgrade()
    app = Flask("grader")
    app.json = SafeJSONProvider(app)
    app.config.update(MAX_CONTENT_LENGTH=settings.max_content_length, JSON_SORT_KEYS=False)
    app.json.sort_keys = False
    app.extensions["grader"] = rt
    app.extensions["grader.publisher"] = publisher
    register_error_handlers(app)
    limit_streamed_bodies(app)
    exempt_blueprints(init_limiter(app, settings), health.bp)
    for module in (health, exams, audience, submissions, math, webhooks, batches, corrections):
        app.register_blueprint(module.bp)
    from grader.web import init_web  # the pages under /ui share this app and its runtime
    from grader.web.blueprint import error_page

    init_web(app)
    serve_error_pages(app, "/ui", error_page)
    return app
