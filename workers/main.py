"""The worker: `create_worker(settings)` builds the Celery app with its tasks; the worker
process's signal handlers below (pre-fork model load, warm-up, bounded shutdown, beat watch)
act on the `WorkerContext` that app carries in its configuration. `grader worker` builds it
through the composition root (`service.compose`) with the settings it read at start, and so
does `celery -A service.celery_app ...`. Importing this module reads no settings and builds
nothing."""

from __future__ import annotations

import logging
import os
import signal
import threading
from dataclasses import replace
from typing import Any

from celery import Celery, current_app
from celery.signals import worker_init, worker_process_init, worker_ready, worker_shutting_down

from grader.config import Settings
from workers.app import make_celery
from workers.context import WorkerContext
from workers.tasks import register_tasks

# The key of the app's configuration that holds its WorkerContext. Celery's signals are
# process-wide and name no app (or only a hostname): each handler finds the app (the
# signal's sender, else the process's current app, which a worker sets to its own before
# any of these fire) and takes the context from it.
CONTEXT_KEY = "grader_worker"


def create_worker(settings: Settings) -> Celery:
    """The Celery app of a worker process, its tasks registered; the process's signal
    handlers (pre-fork model load, warm-up, bounded shutdown) act on its runtime."""
    app = make_celery(settings)
    worker = WorkerContext(settings)
    register_tasks(app, worker)
    app.conf[CONTEXT_KEY] = worker
    return app


def context_of(app: Any) -> WorkerContext | None:
    """The WorkerContext `create_worker` put on this app (None for any other app)."""
    conf = getattr(app, "conf", None)
    worker = conf.get(CONTEXT_KEY) if conf is not None else None
    return worker if isinstance(worker, WorkerContext) else None


BEAT_CHECK_EVERY = 1.0  # seconds between two looks at the embedded beat


def threads_per_process(embed_threads: int) -> int:
    """Torch threads of each pool process: as configured, else one.

    Each text is encoded alone (one short sequence, grader.embed.encoder), where a second
    thread buys nothing on a quiet machine (4.2 vs 4.3 ms a sentence, 2 cores) and costs
    twice the CPU; on a busy one each parallel step waits for the other thread to be
    scheduled (one sentence took 211 ms at 2 threads under load). One thread also lets the
    model load before the fork, so the pool's processes share one copy."""
    return embed_threads or 1


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
    its own copy after the fork instead. Unless GRADER_EMBED_THREADS says otherwise, each
    process has one thread, so the pool shares one copy."""
    worker = context_of(getattr(sender, "app", None))
    if worker is None:
        return
    settings = worker.settings
    if not settings.preload_model or not settings.text_checks:
        return
    threads = threads_per_process(settings.embed_threads)
    # The first call builds this process's runtime (inherited by the pool's children).
    rt = worker.runtime(replace(settings, embed_threads=threads))
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
    # sent with the hostname only; the pool process has just made its app the current one
    worker = context_of(current_app)
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
    worker = context_of(current_app)  # sent with the hostname only
    if worker is None:
        return
    worker.stopping.set()
    if how == "Cold":
        return
    pid = os.getpid()
    grace = worker.settings.shutdown_grace

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
    worker = context_of(getattr(sender, "app", None))
    beat = getattr(getattr(sender, "controller", None), "beat", None)
    if worker is None or beat is None or not hasattr(beat, "is_alive"):
        return
    stopping = worker.stopping
    log = logging.getLogger(__name__)

    def watch() -> None:
        while not stopping.wait(BEAT_CHECK_EVERY):
            if beat.is_alive():
                continue
            if not stopping.is_set():
                log.error(
                    "the embedded beat died (exit code %s); stopping this worker so that it "
                    "is started again with its beat",
                    getattr(beat, "exitcode", None),
                )
                os.kill(os.getpid(), signal.SIGTERM)
            return

    threading.Thread(target=watch, name="grader-beat-watch", daemon=True).start()
