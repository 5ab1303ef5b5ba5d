"""Torch threads per pool process: the cores shared out unless configured."""

from __future__ import annotations

from workers.main import threads_per_process


def test_configured_threads_win() -> None:
    assert threads_per_process(3, concurrency=2, cores=2) == 3


def test_cores_are_shared_out_between_pool_processes() -> None:
    assert threads_per_process(0, concurrency=1, cores=2) == 2  # one child: every core
    assert threads_per_process(0, concurrency=2, cores=2) == 1  # one thread: preload is safe
    assert threads_per_process(0, concurrency=4, cores=2) == 1
    assert threads_per_process(0, concurrency=0, cores=8) == 8
