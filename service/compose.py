"""The composition root: the API's Flask app and the workers' Celery app, each built by its
factory from one `Settings` object, which the process's entry point reads once when it
starts (`service.cli`, `service.wsgi`, `service.celery_app`). Everything below receives
what it needs as arguments."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from grader.config import Settings
from workers.app import webhook_queue as webhook_queue_of
from workers.main import create_worker as build_worker
from workers.publisher import CeleryPublisher

if TYPE_CHECKING:
    from celery import Celery
    from flask import Flask

    from grader.services.runtime import Runtime


def create_api(
    settings: Settings,
    *,
    runtime: Runtime | None = None,
    publisher: Any = None,
    migrate: bool = True,
) -> Flask:
    """The API, publishing submission ids to the queue the workers of these settings
    consume (the Celery publisher unless `publisher` is given)."""
    # Here, not at the top: a worker process, which imports this module too, loads no Flask.
    from grader.api import create_app

    return create_app(
        settings,
        runtime=runtime,
        publisher=publisher if publisher is not None else create_publisher(settings),
        migrate=migrate,
    )


def create_worker(settings: Settings) -> Celery:
    """The Celery app of a worker process, with its tasks and signal handlers."""
    return build_worker(settings)


def create_publisher(settings: Settings) -> CeleryPublisher:
    """Puts work on the queue from outside a worker (the API, the re-drive)."""
    return CeleryPublisher(settings)


def webhook_queue(settings: Settings) -> str:
    """The queue of webhook deliveries (grading's queue name, suffixed)."""
    return webhook_queue_of(settings)
