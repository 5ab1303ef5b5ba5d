"""Worker entry: `celery -A workers.main worker` or `grader worker`."""

from __future__ import annotations

import logging
import threading
from typing import Any

from celery.signals import worker_process_init

from grader.config import Settings
from workers.app import make_celery
from workers.tasks import register_tasks, runtime

settings = Settings.from_env()
celery = make_celery(settings)
register_tasks(celery)


@worker_process_init.connect
def _warm_up(**_: Any) -> None:
    # In a thread: Celery gives a new pool child only a few seconds to report alive, and
    # loading the model takes longer. The first task waits on the runtime lock meanwhile.
    def warm() -> None:
        try:
            runtime(settings).warm()
        except Exception:  # noqa: BLE001 - warming is an optimisation; tasks retry the work
            logging.getLogger(__name__).exception("warm-up failed")

    threading.Thread(target=warm, name="grader-warm-up", daemon=True).start()
