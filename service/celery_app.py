"""Celery's entry point: `celery -A service.celery_app worker|beat|inspect ...`.

Importing this module is starting a Celery command: Celery imports it and reads its
`celery` attribute, built then, from GRADER_ env vars, through the composition root (the
same app `grader worker` builds). Nothing else imports it."""

from __future__ import annotations

from grader.config import Settings
from service.compose import create_worker

celery = create_worker(Settings.from_env())
