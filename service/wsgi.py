"""WSGI entry point for gunicorn: `gunicorn service.wsgi:app`.

Importing this module is starting the API: gunicorn imports it in each of its workers, and
`app` is built then, from GRADER_ env vars, through the composition root. Nothing else
imports it."""

from __future__ import annotations

from grader.config import Settings
from service.compose import create_api

app = create_api(Settings.from_env())
