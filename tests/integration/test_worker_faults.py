"""Worker faults on Redis + PostgreSQL: a killed pool process is replaced and its sheets are
graded within 30 s, once; `grader worker` stops within 10 s of SIGTERM mid-batch and the
sheets it held are graded by the next worker."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest
from flask.testing import FlaskClient

from grader.services.runtime import Runtime
from tests.conftest import Tokens
from tests.integration.conftest import StartWorker, Worker
from tests.integration.test_worker_redis_postgres import (
    create_demo,
    statuses,
    submit,
    wait_all_graded,
)

pytestmark = [pytest.mark.integration, pytest.mark.timeout(180)]


def _pool(worker: Worker) -> list[int]:
    out = subprocess.run(
        ["ps", "-eo", "pid=,ppid=,args="], capture_output=True, text=True, check=True
    )
    rows = [line.split(None, 2) for line in out.stdout.splitlines() if line.strip()]
    return [
        int(p)
        for p, pp, args in rows
        if int(pp) == worker.proc.pid
        and "multiprocessing" not in args
        and "Beat" not in args
        and "beat" not in args
    ]


def _long_sheets(client: FlaskClient, tokens: Tokens, n: int, tag: str) -> list[str]:
    return [submit(client, tokens, f"{tag}{i}").get_json()["id"] for i in range(n)]


def test_killed_pool_process_is_replaced_and_its_sheets_graded_once(
    it_client: FlaskClient,
    it_tokens: Tokens,
    it_runtime: Runtime,
    start_worker: StartWorker,
    demo_rubric: str,
    service_env: dict[str, str],
) -> None:
    create_demo(it_client, it_tokens, demo_rubric)
    # The re-drive runs outside the worker it rescues (as `grader serve` and compose run it):
    # with an embedded beat, a forked beat process is a child of the worker like its pool and
    # cannot be told from it by its command line, so killing "the pool" could kill beat too.
    redrive = subprocess.Popen(  # noqa: S603 - our own CLI
        [sys.executable, "-m", "service", "redrive"],
        env={**os.environ, **service_env, "GRADER_CLAIM_LEASE_SECONDS": "6"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        worker = start_worker("pool", "--no-beat", GRADER_CLAIM_LEASE_SECONDS="6")
        _long_sheets(it_client, it_tokens, 40, "k")
        deadline = time.monotonic() + 20
        while not _pool(worker) and time.monotonic() < deadline:
            time.sleep(0.1)
        for pid in _pool(worker):
            os.kill(pid, signal.SIGKILL)
        wait_all_graded(it_runtime, 40, timeout=30)
        assert worker.proc.poll() is None  # the worker itself lives on
        assert set(statuses(it_runtime)) == {"graded"}
    finally:
        os.killpg(redrive.pid, signal.SIGKILL)
        redrive.wait(timeout=10)


def test_sigterm_stops_the_worker_within_10_s_and_nothing_is_lost(
    it_client: FlaskClient,
    it_tokens: Tokens,
    it_runtime: Runtime,
    start_worker: StartWorker,
    demo_rubric: str,
) -> None:
    create_demo(it_client, it_tokens, demo_rubric)
    worker = start_worker("term", GRADER_CLAIM_LEASE_SECONDS="6")
    _long_sheets(it_client, it_tokens, 60, "t")
    time.sleep(0.5)
    start = time.monotonic()
    worker.proc.send_signal(signal.SIGTERM)
    worker.proc.wait(timeout=30)
    assert time.monotonic() - start < 10
    start_worker("after", GRADER_CLAIM_LEASE_SECONDS="6")
    wait_all_graded(it_runtime, 60, timeout=60)
