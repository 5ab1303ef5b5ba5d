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


class FakeBeat:
    def __init__(self) -> None:
        self.alive = True
        self.exitcode: int | None = None

    def is_alive(self) -> bool:
        return self.alive


@pytest.fixture
def kills(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[tuple[int, int]]]:
    sent: list[tuple[int, int]] = []
    monkeypatch.setattr(worker_main, "BEAT_CHECK_EVERY", 0.01)
    monkeypatch.setattr(worker_main.os, "kill", lambda pid, sig: sent.append((pid, sig)))
    monkeypatch.setattr(worker_main, "_stopping", threading.Event())
    yield sent
    worker_main._stopping.set()  # ends any watcher still running


def _watch(beat: FakeBeat) -> None:
    worker_main._watch_the_beat(sender=SimpleNamespace(controller=SimpleNamespace(beat=beat)))


def _wait_for(sent: list[tuple[int, int]]) -> None:
    deadline = time.monotonic() + 2
    while not sent and time.monotonic() < deadline:
        time.sleep(0.01)


def test_a_dead_beat_stops_the_worker(kills: list[tuple[int, int]]) -> None:
    beat = FakeBeat()
    _watch(beat)
    time.sleep(0.05)
    assert kills == []  # alive: nothing happens
    beat.alive, beat.exitcode = False, -9
    _wait_for(kills)
    assert kills == [(worker_main.os.getpid(), signal.SIGTERM)]


def test_a_beat_stopped_by_the_shutdown_is_left_alone(kills: list[tuple[int, int]]) -> None:
    beat = FakeBeat()
    _watch(beat)
    worker_main._stopping.set()
    beat.alive = False
    time.sleep(0.1)
    assert kills == []


def test_a_worker_without_beat_is_not_watched(kills: list[tuple[int, int]]) -> None:
    worker_main._watch_the_beat(sender=SimpleNamespace(controller=SimpleNamespace(beat=None)))
    assert not any(t.name == "grader-beat-watch" for t in threading.enumerate())
