"""The worker: `create_worker(settings)` builds the Celery app with its tasks and the worker
process's signal handlers. `grader worker` calls it (through the composition root,
`grader.compose`) with the settings it read at start; `celery -A workers.main ...` gets the
same app from the module attribute `celery`, built from the environment when Celery first
asks for it. Importing this module reads no settings."""

from __future__ import annotations

import logging
import os
import signal
import threading
from dataclasses import replace
from typing import Any

from celery import Celery
from celery.signals import worker_init, worker_process_init, worker_ready, worker_shutting_down

from grader.config import Settings
from workers.app import make_celery
from workers.context import WorkerContext
from workers.tasks import register_tasks

# The worker this process runs (one per process: Celery's signals are process-wide).
_worker: WorkerContext | None = None


def create_worker(settings: Settings) -> Celery:
    """The Celery app of a worker process, its tasks registered; the process's signal
    handlers (pre-fork model load, warm-up, bounded shutdown) act on its runtime."""
    global _worker
    app = make_celery(settings)
    _worker = WorkerContext(settings)
    register_tasks(app, _worker)
    return app


def __getattr__(name: str) -> Any:
    """`celery -A workers.main` looks up `celery` here: built once, from GRADER_ env vars,
    when the Celery command asks (not when this module is imported)."""
    if name == "celery":
        app = create_worker(Settings.from_env())
        globals()["celery"] = app
        return app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


_stopping = threading.Event()  # set when this worker starts shutting down
BEAT_CHECK_EVERY = 1.0  # seconds between two looks at the embedded beat


def threads_per_process(embed_threads: int, concurrency: int, cores: int) -> int:
    """Torch threads of each pool process: as configured, else the cores shared out between
    the pool's processes (2 processes on 2 cores: 1 each, so the model can load pre-fork)."""
    return embed_threads or max(1, cores // max(1, concurrency))


@worker_init.connect
def _load_before_fork(sender: Any = None, **_: Any) -> None:
    """In the worker's main process, before the pool forks: build the runtime and load the
    model's weights (no inference, so no torch thread pool exists yet to break in a fork).
    Every pool process then shares those pages copy-on-write instead of loading its own
    copy: an added process costs its working memory, not another model.

    Only with one torch thread (GRADER_EMBED_THREADS=1): with more, loading (the dynamic
    quantisation) starts libgomp's thread team in this process, and libgomp does not survive
    a fork: every pool child then hangs forever at its first parallel region (an OpenMP
    barrier in layer_norm) until the task's hard time limit kills it. Then each child loads
    its own copy after the fork instead. Unless GRADER_EMBED_THREADS says otherwise, the
    cores are shared out between the pool's processes, so a pool of one process per core
    shares one copy."""
    if _worker is None:
        return
    settings = _worker.settings
    if not settings.preload_model or not settings.text_checks:
        return
    concurrency = int(getattr(sender, "concurrency", 0) or settings.worker_concurrency or 1)
    threads = threads_per_process(settings.embed_threads, concurrency, os.cpu_count() or 1)
    # The first call builds this process's runtime (inherited by the pool's children).
    rt = _worker.runtime(replace(settings, embed_threads=threads))
    if rt.encoder is None:
        return
    if rt.encoder.threads > 1:
        logging.getLogger(__name__).warning(
            "not loading the model before the fork: %d torch threads per process "
            "(GRADER_EMBED_THREADS=1 shares one copy between the pool's processes)",
            rt.encoder.threads,
        )
        return
    rt.encoder.model  # noqa: B018 - the property loads the weights


@worker_process_init.connect
def _warm_up(**_: Any) -> None:
    worker = _worker
    if worker is None:
        return
    # Connections are never shared across a fork: this process opens its own.
    if worker.loaded:
        worker.runtime().db.engine.dispose(close=False)

    # In a thread: Celery gives a new pool child only a few seconds to report alive, and
    # loading the model takes longer. The first task waits on the runtime lock meanwhile.
    def warm() -> None:
        try:
            worker.runtime().warm()
        except Exception:  # noqa: BLE001 - warming is an optimisation; tasks retry the work
            logging.getLogger(__name__).exception("warm-up failed")

    threading.Thread(target=warm, name="grader-warm-up", daemon=True).start()


@worker_shutting_down.connect
def _bound_the_shutdown(sig: str = "", how: str = "", exitcode: int = 0, **_: Any) -> None:
    """A warm shutdown waits for running tasks, up to their time limit (90 s). After three
    quarters of GRADER_SHUTDOWN_GRACE, turn it cold (SIGQUIT): the pool is terminated, the
    unacknowledged messages go back to the broker and the sheets' claims lapse within one
    lease, so the process is gone before a container runtime's kill at 10 s."""
    _stopping.set()
    if how == "Cold" or _worker is None:
        return
    pid = os.getpid()
    grace = _worker.settings.shutdown_grace

    def go_cold() -> None:
        logging.getLogger(__name__).warning(
            "tasks still running after %.1f s; cold shutdown", grace * 0.75
        )
        os.kill(pid, signal.SIGQUIT)

    # cold at three quarters of the grace: the rest is for returning the messages
    timer = threading.Timer(grace * 0.75, go_cold)
    timer.daemon = True
    timer.start()


@worker_ready.connect
def _watch_the_beat(sender: Any = None, **_: Any) -> None:
    """A worker started with its beat (`grader worker` without --no-beat; `grader serve`'s
    webhook worker) runs the schedule (webhook dispatch, re-drive) in a child process that
    nothing else watches: killed, every webhook waits in the outbox for good while the worker
    looks healthy. When the beat dies, this worker stops (warm, as on SIGTERM), so that its
    supervisor (`grader serve`, compose, systemd) starts it again, beat and all."""
    beat = getattr(getattr(sender, "controller", None), "beat", None)
    if beat is None or not hasattr(beat, "is_alive"):
        return
    log = logging.getLogger(__name__)

    def watch() -> None:
        while not _stopping.wait(BEAT_CHECK_EVERY):
            if beat.is_alive():
                continue
            if not _stopping.is_set():
                log.error(
                    "the embedded beat died (exit code %s); stopping this worker so that it "
                    "is started again with its beat",
                    getattr(beat, "exitcode", None),
                )
                os.kill(os.getpid(), signal.SIGTERM)
            return

    threading.Thread(target=watch, name="grader-beat-watch", daemon=True).start()
