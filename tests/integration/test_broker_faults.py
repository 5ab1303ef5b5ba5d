"""Broker faults with a private Redis we may kill: restart without persistence, Redis down
while the API takes submissions, consumers coming back (BAD_INPUTS 18-20)."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select
from werkzeug.test import TestResponse

from grader.services.runtime import Runtime
from grader.store.models import Submission
from tests.integration.conftest import StartWorker, Worker

pytestmark = pytest.mark.integration
JSON = {"Content-Type": "application/json"}


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PrivateRedis:
    def __init__(self, tmp: Path) -> None:
        self.port = _port()
        self.tmp = tmp
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.proc = subprocess.Popen(  # noqa: S603
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.tmp),
                "--maxmemory-policy",
                "noeviction",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("private redis did not start")

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.kill()
        self.proc.wait()


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[PrivateRedis]:
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed")
    redis = PrivateRedis(tmp_path)
    redis.start()
    yield redis
    if redis.proc and redis.proc.poll() is None:
        redis.kill()


def counts(runtime: Runtime) -> dict[str, int]:
    with runtime.db.session() as s:
        return dict(
            s.execute(select(Submission.status, func.count()).group_by(Submission.status)).all()
        )


def wait_graded(runtime: Runtime, n: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if counts(runtime).get("graded", 0) >= n:
            return
        time.sleep(0.3)
    raise AssertionError(f"graded {counts(runtime)} of {n}")


@dataclass(frozen=True)
class Faulty:
    """The service on a private Redis: its runtime and API client, a worker starter, the Redis."""

    runtime: Runtime
    client: FlaskClient
    headers: dict[str, str]
    start: Callable[[], Worker]
    redis: PrivateRedis

    def submit(self, student: str, **headers: str) -> TestResponse:
        body = {"student_id": student, "answers": {"q1": "relu", "q2": "network a"}}
        return self.client.post(
            "/api/v1/exams/demo/submissions",
            data=json.dumps(body),
            headers={**self.headers, **JSON, **headers},
        )


@pytest.fixture
def faulty(
    service_env: dict[str, str],
    private_redis: PrivateRedis,
    start_worker: StartWorker,
    demo_rubric: str,
) -> Iterator[Faulty]:
    from grader.config import Settings
    from grader.services.runtime import Runtime
    from service.compose import create_api
    from tests.conftest import Tokens

    env = {**service_env, "GRADER_BROKER_URL": private_redis.url}
    settings = Settings.from_env(env)
    runtime = Runtime.create(settings)
    runtime.db.upgrade()
    client = create_api(settings, runtime=runtime).test_client()
    tokens = Tokens(runtime)
    r = client.post(
        "/api/v1/exams",
        data=demo_rubric,
        headers=tokens.headers("admin", **{"Content-Type": "application/yaml"}),
    )
    assert r.status_code == 201

    yield Faulty(
        runtime,
        client,
        tokens.headers("admin"),
        lambda: start_worker(GRADER_BROKER_URL=private_redis.url),
        private_redis,
    )
    runtime.db.dispose()


def test_redis_restart_without_persistence_loses_nothing(faulty: Faulty) -> None:
    runtime, submit, start, redis = faulty.runtime, faulty.submit, faulty.start, faulty.redis
    for i in range(100):
        assert submit(f"s{i}").status_code == 202
    redis.kill()  # every queued message is gone with it
    redis.start()
    start()
    wait_graded(runtime, 100, timeout=120)


def test_redis_down_at_submit_then_back(faulty: Faulty) -> None:
    runtime, submit, start, redis = faulty.runtime, faulty.submit, faulty.start, faulty.redis
    start()
    assert submit("before", Prefer="wait=20").status_code == 200
    redis.kill()
    started = time.monotonic()
    r = submit("during")
    assert r.status_code == 202, r.get_json()  # stored; publishing failed and will be re-driven
    assert time.monotonic() - started < 10
    assert counts(runtime).get("queued", 0) == 1
    ready = faulty.client.get("/readyz")  # the API reports the broker as down meanwhile
    assert ready.status_code == 503 and ready.get_json()["broker"] is False
    redis.start()
    wait_graded(runtime, 2, timeout=90)
    r = submit("after", Prefer="wait=30")
    assert r.status_code == 200 and r.get_json()["status"] == "graded"
