"""WSGI entry point for gunicorn: `gunicorn grader.api.wsgi:app`.

`app` is built, through the composition root, from GRADER_ env vars when gunicorn looks it
up (in each of its workers), not when this module is imported."""

from __future__ import annotations

from typing import Any


def __getattr__(name: str) -> Any:
    if name == "app":
        from grader.compose import create_api
        from grader.config import Settings

        app = create_api(Settings.from_env())
        globals()["app"] = app
        return app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
