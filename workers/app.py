"""The Celery app: configuration only. Settings are read once, when the worker starts."""

from __future__ import annotations

from typing import Any

from celery import Celery

from grader.config import Settings
from workers.embedded import embedded_url


def webhook_queue(settings: Settings) -> str:
    return f"{settings.queue}.webhooks"


def make_celery(settings: Settings) -> Celery:
    settings.validate()
    app = Celery("grader", broker=embedded_url(settings.broker_url), set_as_current=False)
    # The SQLAlchemy transport passes its options to create_engine: only Redis gets these.
    transport: dict[str, Any] = {}
    if settings.uses_redis:
        transport.update(
            visibility_timeout=settings.visibility_timeout,
            socket_connect_timeout=3,
            socket_timeout=10,
            retry_on_timeout=True,
        )
    app.conf.update(
        task_serializer="json",
        accept_content=["json"],  # a pickle on the queue is refused, never executed
        result_serializer="json",
        task_ignore_result=True,  # the database is the result store
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_soft_time_limit=settings.task_soft_time_limit,
        task_time_limit=settings.task_time_limit,
        broker_transport_options=transport,
        broker_connection_retry_on_startup=True,
        broker_connection_max_retries=None,
        worker_cancel_long_running_tasks_on_connection_loss=True,
        task_default_queue=settings.queue,
        # Webhook deliveries wait on other people's servers: their own queue, so a slow
        # receiver never holds up grading where separate workers consume it.
        task_routes={"webhooks.*": {"queue": webhook_queue(settings)}},
        worker_hijack_root_logger=False,
        worker_concurrency=settings.worker_concurrency,
        beat_schedule={
            "redrive": {"task": "grading.redrive", "schedule": settings.redrive_interval},
        },
    )
    app.conf.grader_settings = settings
    return app
