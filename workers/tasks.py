"""Thin named tasks: each turns its wire arguments (ids, as queued by any version of the
publisher) into a typed payload and makes one call into `grader.services.work`."""

from __future__ import annotations

from typing import Any

from celery import Celery

from grader.services import work
from grader.services.work import GradeSheets, RegradeSheets
from workers.context import RETRY, WorkerContext
from workers.publisher import CeleryPublisher
from workers.webhook_tasks import register_webhook_tasks


def register_tasks(app: Celery, context: WorkerContext) -> None:
    """The grading tasks, under their names and with their arguments on the wire unchanged."""
    publisher = CeleryPublisher(context.settings, app)
    register_webhook_tasks(app, context)

    @app.task(name="grading.grade_submission", shared=False, **RETRY)
    def grade_submission(submission_id: str) -> dict[str, str]:
        return work.grade(context.runtime(), GradeSheets((submission_id,)))

    @app.task(name="grading.grade_chunk", shared=False, **RETRY)
    def grade_chunk(submission_ids: list[str]) -> dict[str, str]:
        return work.grade(context.runtime(), GradeSheets(tuple(submission_ids), chunk=True))

    @app.task(name="grading.regrade_chunk", shared=False, **RETRY)
    def regrade_chunk(run_id: str, submission_ids: list[str]) -> dict[str, Any]:
        return work.regrade(context.runtime(), RegradeSheets(run_id, tuple(submission_ids)))

    @app.task(name="grading.redrive", shared=False, acks_late=False)
    def redrive() -> dict[str, Any]:
        return work.redrive(context.runtime(), publisher)
