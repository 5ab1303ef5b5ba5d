"""Real services: PostgreSQL (a fresh database per test), Redis, Celery workers."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from flask import Flask
    from flask.testing import FlaskClient

    from grader.config import Settings
    from grader.services.runtime import Runtime
    from tests.conftest import Tokens

PG_ADMIN = os.environ.get("GRADER_TEST_PG_ADMIN", "postgresql://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("GRADER_TEST_REDIS", "redis://127.0.0.1:6379/0")
ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.integration


def _pg_available() -> bool:
    try:
        import psycopg

        with psycopg.connect(PG_ADMIN, connect_timeout=3):
            return True
    except Exception:  # noqa: BLE001
        return False


def _redis_available() -> bool:
    try:
        import redis

        return bool(redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping())
    except Exception:  # noqa: BLE001
        return False


@pytest.fixture
def pg_url() -> Iterator[str]:
    if not _pg_available():
        if os.environ.get("CI"):
            pytest.fail("PostgreSQL is not running at " + PG_ADMIN)
        pytest.skip("PostgreSQL is not running")
    import psycopg

    name = f"grader_it_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base = PG_ADMIN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://")
    yield f"{base}/{name}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="module")
def redis_url() -> str:
    if not _redis_available():
        if os.environ.get("CI"):
            pytest.fail("Redis is not running at " + REDIS_URL)
        pytest.skip("Redis is not running")
    return REDIS_URL


@pytest.fixture
def service_env(tmp_path: Path, pg_url: str, redis_url: str) -> dict[str, str]:
    """Environment for the service under test: its own queue so parallel runs don't mix."""
    return {
        "GRADER_DATA_DIR": str(tmp_path / "data"),
        "GRADER_DATABASE_URL": pg_url,
        "GRADER_BROKER_URL": redis_url,
        "GRADER_QUEUE": f"grading-{uuid.uuid4().hex[:8]}",
        "GRADER_TEXT_CHECKS": "0",
        "GRADER_TASK_SOFT_TIME_LIMIT": "8",
        "GRADER_TASK_TIME_LIMIT": "10",
        "GRADER_VISIBILITY_TIMEOUT": "20",
        "GRADER_REDRIVE_INTERVAL": "1",
        "GRADER_REDRIVE_AFTER": "3",
        "HF_HUB_OFFLINE": "1",
    }


class Worker:
    """A real `grader worker` process (prefork pool), in its own process group."""

    def __init__(
        self, env: dict[str, str], log: Path, name: str, args: tuple[str, ...] = ()
    ) -> None:
        self.log = log
        full_env = {**os.environ, **env}
        self.proc = subprocess.Popen(  # noqa: S603
            [
                sys.executable,
                "-m",
                "service",
                "worker",
                "--concurrency",
                "1",
                "--hostname",
                f"{name}-{uuid.uuid4().hex[:6]}@%h",
                "--loglevel",
                "INFO",
                *args,
            ],
            cwd=ROOT,
            env=full_env,
            stdout=log.open("ab"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("worker exited:\n" + self.log.read_text()[-3000:])
            if b" ready." in self.log.read_bytes():
                return
            time.sleep(0.2)
        raise TimeoutError("worker not ready:\n" + self.log.read_text()[-3000:])

    def kill(self) -> None:
        """SIGKILL the whole group: the main process and its pool children."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()


# start_worker(name="w", *worker_args, **env_overrides) -> a Worker that is ready
StartWorker = Callable[..., Worker]


@pytest.fixture
def start_worker(service_env: dict[str, str], tmp_path: Path) -> Iterator[StartWorker]:
    workers: list[Worker] = []

    def start(name: str = "w", *args: str, **extra: str) -> Worker:
        worker = Worker({**service_env, **extra}, tmp_path / f"{name}.log", name, args)
        workers.append(worker)
        worker.wait_ready()
        return worker

    yield start
    for worker in workers:
        worker.stop()


@pytest.fixture
def it_settings(service_env: dict[str, str]) -> Settings:
    from grader.config import Settings

    return Settings.from_env(service_env)


@pytest.fixture
def it_runtime(it_settings: Settings) -> Iterator[Runtime]:
    from grader.services.runtime import Runtime

    rt = Runtime.create(it_settings)
    rt.db.upgrade()
    yield rt
    rt.db.dispose()


@pytest.fixture
def it_app(it_settings: Settings, it_runtime: Runtime) -> Flask:
    from service.compose import create_api

    return create_api(it_settings, runtime=it_runtime)


@pytest.fixture
def it_client(it_app: Flask) -> FlaskClient:
    return it_app.test_client()


@pytest.fixture
def it_tokens(it_runtime: Runtime) -> Tokens:
    from tests.conftest import Tokens

    return Tokens(it_runtime)
