"""Worker entry: `celery -A workers.main worker` or `grader worker`."""

from __future__ import annotations

from grader.config import Settings
from workers.app import make_celery
from workers.tasks import register_tasks

settings = Settings.from_env()
celery = make_celery(settings)
register_tasks(celery)
