"""Webhook tasks: `webhooks.dispatch` (periodic) publishes due outbox messages and
`webhooks.deliver` makes one attempt at one message. The schedule lives in the database."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from celery import Celery
from sqlalchemy.exc import OperationalError

from grader.config import Settings
from grader.services import webhook_delivery
from grader.services.runtime import Runtime
from grader.services.webhooks import WebhookOptions

DISPATCH_INTERVAL = 5.0  # seconds; the first attempt of a new event waits at most this long
RETENTION = timedelta(days=30)  # settled messages and their delivery log are kept this long

_rng = random.SystemRandom()  # jitter: unpredictable, and no shared seed across workers


def register_webhook_tasks(app: Celery, runtime: Callable[[Settings], Runtime]) -> None:
    """Register the tasks and their beat entry. The outbox rows themselves are written by
    the services, in the transaction that stores the grade (`grader.services.grading`)."""
    settings: Settings = app.conf.grader_settings
    options = WebhookOptions.from_settings(settings)
    retry: dict[str, Any] = {
        "autoretry_for": (OperationalError,),
        "retry_backoff": True,
        "retry_backoff_max": 60,
        "retry_jitter": True,
        "max_retries": 8,
    }

    @app.task(name="webhooks.deliver", **retry)
    def deliver(message_id: str) -> str:
        rt = runtime(settings)
        return webhook_delivery.deliver_message(rt.db, message_id, options, rng=_rng).status

    @app.task(name="webhooks.dispatch", acks_late=False)
    def dispatch() -> int:
        rt = runtime(settings)
        return webhook_delivery.dispatch(
            rt.db, options, lambda mid: app.send_task("webhooks.deliver", args=[mid])
        )

    @app.task(name="webhooks.purge", acks_late=False)
    def purge() -> int:
        return webhook_delivery.purge(runtime(settings).db, RETENTION)

    app.conf.beat_schedule = {
        **(app.conf.beat_schedule or {}),
        "webhooks-dispatch": {"task": "webhooks.dispatch", "schedule": DISPATCH_INTERVAL},
        "webhooks-purge": {"task": "webhooks.purge", "schedule": 3600.0},
    }
