"""Server-rendered pages under /ui: instructors review, override and teach the grader;
students read their feedback. Thin views over grader.services, Jinja templates with
autoescape, assets served by the app, a strict Content-Security-Policy (no inline script,
no inline style), CSRF tokens on every form. Every core flow works without JavaScript."""

from __future__ import annotations

from flask import Flask

from grader.web.blueprint import bp
from grader.web.session import init_sessions


def init_web(app: Flask) -> None:
    """Register the pages on the API's app (one app, one settings object)."""
    from grader.web import actions, pages  # noqa: F401 - their routes join the blueprint

    runtime = app.extensions["grader"]
    init_sessions(app, runtime.settings.data_dir)
    app.register_blueprint(bp)
