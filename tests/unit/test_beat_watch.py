"""A worker whose embedded beat dies stops, so that its supervisor starts it again (found by
the fault campaign: a killed beat left every webhook in the outbox for good)."""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Iterator
from types import SimpleNamespace

import pytest

import workers.main as worker_main
from grader.config import Settings
from workers.context import WorkerContext


class FakeBeat:
    def __init__(self) -> None:
        self.alive = True
        self.exitcode: int | None = None

    def is_alive(self) -> bool:
        return self.alive


@pytest.fixture
def worker() -> Iterator[WorkerContext]:
    """The context a worker's app carries (workers.main.create_worker puts it there)."""
    context = WorkerContext(Settings(text_checks=False))
    yield context
    context.stopping.set()  # ends any watcher still running


@pytest.fixture
def kills(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, int]]:
    sent: list[tuple[int, int]] = []
    monkeypatch.setattr(worker_main, "BEAT_CHECK_EVERY", 0.01)
    monkeypatch.setattr(worker_main.os, "kill", lambda pid, sig: sent.append((pid, sig)))
    return sent


def _consumer(worker: WorkerContext | None, beat: FakeBeat | None) -> SimpleNamespace:
    """What worker_ready sends: the consumer, with its app and its worker's beat."""
    app = SimpleNamespace(conf={worker_main.CONTEXT_KEY: worker} if worker else {})
    return SimpleNamespace(app=app, controller=SimpleNamespace(beat=beat))


def _watch(worker: WorkerContext, beat: FakeBeat) -> None:
    worker_main._watch_the_beat(sender=_consumer(worker, beat))


def _wait_for(sent: list[tuple[int, int]]) -> None:
    deadline = time.monotonic() + 2
    while not sent and time.monotonic() < deadline:
        time.sleep(0.01)


def test_a_dead_beat_stops_the_worker(worker: WorkerContext, kills: list[tuple[int, int]]) -> None:
    beat = FakeBeat()
    _watch(worker, beat)
    time.sleep(0.05)
    assert kills == []  # alive: nothing happens
    beat.alive, beat.exitcode = False, -9
    _wait_for(kills)
    assert kills == [(worker_main.os.getpid(), signal.SIGTERM)]


def test_a_beat_stopped_by_the_shutdown_is_left_alone(
    worker: WorkerContext, kills: list[tuple[int, int]]
) -> None:
    beat = FakeBeat()
    _watch(worker, beat)
    worker.stopping.set()
    beat.alive = False
    time.sleep(0.1)
    assert kills == []


def test_a_worker_without_beat_is_not_watched(
    worker: WorkerContext, kills: list[tuple[int, int]]
) -> None:
    worker_main._watch_the_beat(sender=_consumer(worker, None))
    assert not any(t.name == "grader-beat-watch" for t in threading.enumerate())


def test_another_apps_worker_is_not_watched(kills: list[tuple[int, int]]) -> None:
    """A Celery app that create_worker did not build carries no WorkerContext: left alone."""
    worker_main._watch_the_beat(sender=_consumer(None, FakeBeat()))
    assert not any(t.name == "grader-beat-watch" for t in threading.enumerate())


def test_the_shutdown_sets_the_context_of_the_current_app(
    worker: WorkerContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    """worker_shutting_down names only the hostname: the handler finds the context on the
    process's current app (the worker made its app current before any signal), and a cold
    shutdown only marks it stopping."""
    app = SimpleNamespace(conf={worker_main.CONTEXT_KEY: worker})
    monkeypatch.setattr(worker_main, "current_app", app)
    worker_main._bound_the_shutdown(sig="SIGQUIT", how="Cold")
    assert worker.stopping.is_set()
