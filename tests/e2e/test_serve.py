"""The service started as a user starts it (the README's run command), driven over HTTP."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.e2e


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def call(
    method: str,
    url: str,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, Any]:
    req = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=60) as resp:  # noqa: S310 - loopback only
            return resp.status, json.loads(resp.read() or b"null")
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read() or b"null")


@pytest.fixture
def service(tmp_path: Path) -> Iterator[tuple[str, dict[str, str]]]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("GRADER_")}
    env.update(GRADER_DATA_DIR=str(tmp_path / "data"), GRADER_TEXT_CHECKS="0")
    log = (tmp_path / "serve.log").open("wb")
    proc = subprocess.Popen(  # noqa: S603 - the README's run command
        ["make", "--no-print-directory", "serve", f"PORT={port}", f"PYTHON={sys.executable}"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if call("GET", base + "/readyz")[0] == 200:
                break
        except (urllib.error.URLError, ConnectionError):
            pass
        if proc.poll() is not None:
            raise RuntimeError((tmp_path / "serve.log").read_text())
        time.sleep(0.5)
    else:
        raise TimeoutError((tmp_path / "serve.log").read_text()[-3000:])
    yield base, env
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=40)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)


def test_tour(service: tuple[str, dict[str, str]], demo_rubric: str) -> None:
    base, env = service
    token = (
        subprocess.run(  # noqa: S603
            [str(ROOT / ".venv" / "bin" / "grader"), "tokens", "create", "--role", "instructor"],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        .stdout.strip()
        .splitlines()[-1]
    )
    auth = {"Authorization": f"Bearer {token}"}
    status, body = call(
        "POST",
        base + "/api/v1/exams",
        demo_rubric.encode(),
        {**auth, "Content-Type": "application/yaml"},
    )
    assert status == 201, body
    answers = {
        "student_id": "alice",
        "answers": {"q1": "ReLU", "q2": "Network A, it has more biases"},
    }
    status, body = call(
        "POST",
        base + "/api/v1/exams/demo/submissions",
        json.dumps(answers).encode(),
        {**auth, "Content-Type": "application/json", "Prefer": "wait=20"},
    )
    assert status == 200, body
    assert body["status"] == "graded" and body["score"] == body["max_score"] == 5
    status, again = call("GET", base + f"/api/v1/submissions/{body['id']}", headers=auth)
    assert status == 200 and again["questions"][0]["criteria"][0]["feedback"] == "Right: ReLU."
