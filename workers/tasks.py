"""Thin named tasks: each is one call into grader.services."""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Iterator
from typing import Any

from celery import Celery
from sqlalchemy.exc import OperationalError

from grader.config import Settings
from grader.services import chunks, grading, regrades, submissions
from grader.services.runtime import Runtime
from workers.publisher import CeleryPublisher
from workers.webhook_tasks import register_webhook_tasks

log = logging.getLogger(__name__)

_runtime: Runtime | None = None
_lock = threading.Lock()


@contextlib.contextmanager
def leases_kept(rt: Runtime, submission_ids: list[str]) -> Iterator[None]:
    """Renew the claims on these rows every third of the lease while the task runs. If this
    process is killed the renewals stop, and the re-drive frees the rows within one lease
    (not the task's whole time limit)."""
    stop = threading.Event()
    period = rt.settings.claim_lease_seconds / 3

    def renew() -> None:
        while not stop.wait(period):
            try:
                submissions.renew_leases(rt.db, rt.settings, submission_ids)
            except Exception:  # noqa: BLE001 - a missed renewal only risks a duplicate claim
                log.warning("could not renew the claims of %d sheets", len(submission_ids))

    thread = threading.Thread(target=renew, name="grader-lease", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=5)


def runtime_loaded() -> bool:
    return _runtime is not None


def runtime(settings: Settings) -> Runtime:
    """One runtime per worker process (model and sandbox are loaded once, on first use)."""
    global _runtime
    with _lock:
        if _runtime is None:
            _runtime = Runtime.create(settings)
        return _runtime


def register_tasks(app: Celery) -> None:
    settings: Settings = app.conf.grader_settings
    retry: dict[str, Any] = {
        "autoretry_for": (OperationalError,),  # database unavailable: back off and retry
        "retry_backoff": True,
        "retry_backoff_max": 60,
        "retry_jitter": True,
        "max_retries": 8,
    }
    publisher = CeleryPublisher(settings, app)
    # The grading services build their own store hooks (webhook outbox rows, batch progress
    # and completion) from the settings: a task only names the work and passes no hooks.
    register_webhook_tasks(app, runtime)

    @app.task(name="grading.grade_submission", **retry)
    def grade_submission(submission_id: str) -> dict[str, str]:
        rt = runtime(settings)
        with leases_kept(rt, [submission_id]):
            return grading.grade_submissions(rt.db, settings, rt.exams, rt.runner, [submission_id])

    @app.task(name="grading.grade_chunk", **retry)
    def grade_chunk(submission_ids: list[str]) -> dict[str, str]:
        rt = runtime(settings)
        # Claimed and stored chunk-wise: two commits per chunk, not two per sheet.
        with leases_kept(rt, submission_ids):
            return chunks.grade_chunk(rt.db, settings, rt.exams, rt.runner, submission_ids)

    @app.task(name="grading.regrade_chunk", **retry)
    def regrade_chunk(run_id: str, submission_ids: list[str]) -> dict[str, Any]:
        rt = runtime(settings)
        return regrades.regrade_chunk(rt.db, rt.exams, rt.runner, run_id, submission_ids)

    @app.task(name="grading.redrive", acks_late=False)
    def redrive() -> dict[str, Any]:
        rt = runtime(settings)
        return grading.redrive(rt.db, settings, publisher)
