"""What one worker process holds (`WorkerContext`), and the retry policy of its tasks."""

from __future__ import annotations

import threading
from typing import Any

from sqlalchemy.exc import OperationalError

from grader.config import Settings
from grader.services.runtime import Runtime

# Every task is registered with shared=False: a shared task joins every Celery app of the
# process, so a second app (a test's) would keep the first app's task and its settings.
RETRY: dict[str, Any] = {
    "autoretry_for": (OperationalError,),  # database unavailable: back off and retry
    "retry_backoff": True,
    "retry_backoff_max": 60,
    "retry_jitter": True,
    "max_retries": 8,
}


class WorkerContext:
    """What one worker process holds: the settings its app was built from, built on first
    use its runtime (database engine, checkers, model and sandbox, loaded once), and whether
    it has started shutting down."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.stopping = threading.Event()  # set when the worker starts shutting down
        self._runtime: Runtime | None = None
        self._lock = threading.Lock()

    @property
    def loaded(self) -> bool:
        return self._runtime is not None

    def runtime(self, settings: Settings | None = None) -> Runtime:
        """The process's runtime; `settings` (default: the app's) only for the first call,
        e.g. the pre-fork load that fixes the pool's torch threads."""
        with self._lock:
            if self._runtime is None:
                self._runtime = Runtime.create(settings or self.settings)
            return self._runtime
