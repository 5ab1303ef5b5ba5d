"""Server-rendered pages under /ui: instructors review, override and teach the grader;
students read their feedback. Thin views over grader.services, Jinja templates with
autoescape, assets served by the app, a strict Content-Security-Policy (no inline script,
no inline style), CSRF tokens on every form. Every core flow works without JavaScript.

`grader.web.render` and `grader.web.plots` are pure (no Flask) and tested as units."""

from __future__ import annotations

from typing import Any


def init_web(app: Any) -> None:
    """Register the pages on the API's app (one app, one settings object)."""
    from grader.web import actions, pages  # noqa: F401 - their routes join the blueprint
    from grader.web.blueprint import bp
    from grader.web.session import init_sessions

    init_sessions(app, app.extensions["grader"].settings.data_dir)
    app.register_blueprint(bp)
