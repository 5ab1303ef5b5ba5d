"""WSGI entry point for gunicorn: `gunicorn grader.api.wsgi:app`."""

from grader.api import create_app

app = create_app()
