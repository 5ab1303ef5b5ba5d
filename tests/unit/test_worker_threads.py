"""Torch threads per pool process: one unless configured."""

from __future__ import annotations

from workers.main import threads_per_process


def test_configured_threads_win() -> None:
    assert threads_per_process(3) == 3


def test_one_thread_by_default() -> None:
    # Texts are encoded one at a time: a second thread buys nothing and breaks the pre-fork load.
    assert threads_per_process(0) == 1
