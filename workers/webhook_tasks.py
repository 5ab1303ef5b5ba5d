"""Webhook tasks: `webhooks.dispatch` (periodic) publishes due outbox messages and
`webhooks.deliver` makes one attempt at one message. The schedule lives in the database."""

from __future__ import annotations

import random

from celery import Celery

from grader.services import work
from grader.services.work import DeliverWebhook
from workers.context import RETRY, WorkerContext

DISPATCH_INTERVAL = 5.0  # seconds; the first attempt of a new event waits at most this long

_rng = random.SystemRandom()  # jitter: unpredictable, and no shared seed across workers


def register_webhook_tasks(app: Celery, context: WorkerContext) -> None:
    """Register the tasks and their beat entry. The outbox rows themselves are written by
    the services, in the transaction that stores the grade (`grader.services.grading`)."""

    @app.task(name="webhooks.deliver", shared=False, **RETRY)
    def deliver(message_id: str) -> str:
        return work.deliver_webhook(context.runtime(), DeliverWebhook(message_id), _rng)

    @app.task(name="webhooks.dispatch", shared=False, acks_late=False)
    def dispatch() -> int:
        return work.dispatch_webhooks(
            context.runtime(), lambda mid: app.send_task("webhooks.deliver", args=[mid])
        )

    @app.task(name="webhooks.purge", shared=False, acks_late=False)
    def purge() -> int:
        return work.purge_webhooks(context.runtime())

    app.conf.beat_schedule = {
        **(app.conf.beat_schedule or {}),
        "webhooks-dispatch": {"task": "webhooks.dispatch", "schedule": DISPATCH_INTERVAL},
        "webhooks-purge": {"task": "webhooks.purge", "schedule": 3600.0},
    }
