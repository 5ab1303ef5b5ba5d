"""Publishes submission ids for the API process (which never imports celery itself)."""

from __future__ import annotations

from celery import Celery

from grader.config import Settings
from workers.app import make_celery

# Fail fast when the broker is down: the row is already stored, the re-drive publishes later.
_RETRY = {"max_retries": 2, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.5}


class CeleryPublisher:
    def __init__(self, settings: Settings, app: Celery | None = None) -> None:
        self.app = app or make_celery(settings)

    def publish(self, submission_id: str) -> None:
        self.app.send_task(
            "grading.grade_submission", args=[submission_id], retry=True, retry_policy=_RETRY
        )

    def publish_chunk(self, submission_ids: list[str]) -> None:
        self.app.send_task(
            "grading.grade_chunk", args=[submission_ids], retry=True, retry_policy=_RETRY
        )

    def publish_regrade_chunk(self, run_id: str, submission_ids: list[str]) -> None:
        self.app.send_task(
            "grading.regrade_chunk",
            args=[run_id, submission_ids],
            retry=True,
            retry_policy=_RETRY,
        )

    def ping(self) -> bool:
        try:
            with self.app.connection_for_write() as conn:
                conn.ensure_connection(max_retries=1, timeout=2)
        except Exception:  # noqa: BLE001 - readiness is a yes/no question
            return False
        return True
