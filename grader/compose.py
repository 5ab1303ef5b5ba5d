"""The composition root: the API's Flask app and the workers' Celery app, each built by its
factory from one `Settings` object, which the process's entry point reads once when it
starts (`grader.cli`, `grader.api.wsgi`, `celery -A workers.main`).

The only module of `grader` that imports `workers` (the import contract `no-workers` names
it): the API publishes to the queue through the Celery side wired in here, and the CLI's
worker, serve and redrive commands start it from here. Everything below receives what it
needs as arguments.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from grader.config import Settings

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
    from grader.api import create_app

    return create_app(
        settings,
        runtime=runtime,
        publisher=publisher if publisher is not None else create_publisher(settings),
        migrate=migrate,
    )


def create_worker(settings: Settings) -> Celery:
    """The Celery app of a worker process, with its tasks and signal handlers."""
    from workers.main import create_worker as build

    return build(settings)


def create_publisher(settings: Settings) -> Any:
    """Puts work on the queue from outside a worker (the API, the re-drive)."""
    from workers.publisher import CeleryPublisher

    return CeleryPublisher(settings)


def webhook_queue(settings: Settings) -> str:
    """The queue of webhook deliveries (grading's queue name, suffixed)."""
    from workers.app import webhook_queue as name

    return name(settings)
