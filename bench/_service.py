"""Start the real service (gunicorn API + one Celery worker) for a benchmark, and stop it."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


@dataclass
class Service:
    base: str
    token: str
    env: dict[str, str]
    worker_pid: int

    def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        headers: dict[str, str] | None = None,
        raw: bytes | None = None,
    ) -> tuple[int, Any]:
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        hdrs = {"Authorization": f"Bearer {self.token}", **(headers or {})}
        if body is not None:
            hdrs.setdefault("Content-Type", "application/json")
        req = urllib.request.Request(self.base + path, data=data, method=method, headers=hdrs)
        try:
            with urllib.request.urlopen(req, timeout=120) as resp:  # noqa: S310 - loopback
                return resp.status, json.loads(resp.read() or b"null")
        except urllib.error.HTTPError as err:
            return err.code, json.loads(err.read() or b"null")


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def running_service(
    broker: str, database: str | None = None, concurrency: int = 1, **extra_env: str
) -> Iterator[Service]:
    tmp = Path(tempfile.mkdtemp(prefix="grader-bench-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("GRADER_")}
    env.update(
        GRADER_DATA_DIR=str(tmp),
        GRADER_BROKER_URL=broker,
        GRADER_QUEUE=f"bench-{uuid.uuid4().hex[:8]}",
        HF_HUB_OFFLINE="1",
        GRADER_RATE_LIMIT="1000000/minute",  # one key sends everything here
        **extra_env,
    )
    if database:
        env["GRADER_DATABASE_URL"] = database
    grader = [sys.executable, "-m", "service"]
    subprocess.run([*grader, "db", "upgrade"], env=env, check=True, capture_output=True)  # noqa: S603
    token = (
        subprocess.run(  # noqa: S603
            [*grader, "tokens", "create", "--role", "instructor"],
            env=env,
            check=True,
            capture_output=True,
            text=True,
        )
        .stdout.strip()
        .splitlines()[-1]
    )
    port = _port()
    logs = (tmp / "worker.log").open("wb"), (tmp / "api.log").open("wb")
    worker = subprocess.Popen(
        [*grader, "worker", "--concurrency", str(concurrency)],
        env=env,  # noqa: S603
        stdout=logs[0],
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    api = subprocess.Popen(  # noqa: S603
        [
            sys.executable,
            "-m",
            "gunicorn",
            "-b",
            f"127.0.0.1:{port}",
            "-k",
            "gthread",
            "--threads",
            "8",
            "service.wsgi:app",
        ],
        env=env,
        stdout=logs[1],
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    service = Service(f"http://127.0.0.1:{port}", token, env, worker.pid)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                if (
                    service.call("GET", "/readyz")[0] == 200
                    and b" ready." in (tmp / "worker.log").read_bytes()
                ):
                    break
            except (urllib.error.URLError, ConnectionError):
                pass
            time.sleep(0.3)
        else:
            raise TimeoutError("service did not start; logs in " + str(tmp))
        yield service
    finally:
        for proc in (api, worker):
            try:
                os.killpg(proc.pid, signal.SIGTERM)
                proc.wait(timeout=30)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                os.killpg(proc.pid, signal.SIGKILL)


def _tree(pid: int) -> list[int]:
    pids = [pid]
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        pids += [int(c) for c in children]
    except OSError:
        pass
    return pids


def _kb(pid: int, path: str, field: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/{path}").read_text().splitlines():
            if line.startswith(field):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def memory_mb_of_tree(pid: int) -> tuple[float, float]:
    """A process and its children, in MB (from /proc): the largest process's resident set
    and the tree's proportional set size. Summed resident sets would count twice the model
    pages a pool process shares with the worker that loaded them before the fork; PSS
    charges each shared page once, split between the processes that map it."""
    pids = _tree(pid)
    largest = max(_kb(p, "status", "VmRSS:") for p in pids)
    pss = sum(_kb(p, "smaps_rollup", "Pss:") for p in pids)
    return largest / 1024, pss / 1024
