"""The real path: API -> Redis -> Celery worker -> PostgreSQL, including crashes."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select
from werkzeug.test import TestResponse

from grader.config import Settings
from grader.services.runtime import Runtime
from grader.store.models import Submission
from tests.conftest import Tokens
from tests.integration.conftest import StartWorker

pytestmark = pytest.mark.integration
JSON = {"Content-Type": "application/json"}


def create_demo(client: FlaskClient, tokens: Tokens, rubric: str) -> None:
    r = client.post(
        "/api/v1/exams",
        data=rubric,
        headers=tokens.headers("instructor", **{"Content-Type": "application/yaml"}),
    )
    assert r.status_code == 201, r.get_json()


def submit(client: FlaskClient, tokens: Tokens, student: str, **headers: str) -> TestResponse:
    body = {"student_id": student, "answers": {"q1": "ReLU", "q2": "network A has more (biases)"}}
    return client.post(
        "/api/v1/exams/demo/submissions",
        data=json.dumps(body),
        headers=tokens.headers("instructor", **JSON, **headers),
    )


def statuses(runtime: Runtime) -> dict[str, int]:
    with runtime.db.session() as s:
        return dict(
            s.execute(select(Submission.status, func.count()).group_by(Submission.status)).all()
        )


def wait_all_graded(runtime: Runtime, n: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if statuses(runtime).get("graded", 0) == n:
            return
        time.sleep(0.25)
    raise AssertionError(f"not all graded: {statuses(runtime)}")


def test_prefer_wait_returns_the_grade(
    it_client: FlaskClient,
    it_tokens: Tokens,
    it_runtime: Runtime,
    start_worker: StartWorker,
    demo_rubric: str,
) -> None:
    create_demo(it_client, it_tokens, demo_rubric)
    start_worker()
    r = submit(it_client, it_tokens, "s1", Prefer="wait=20")
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    assert body["status"] == "graded" and body["score"] == 5
    ready = it_client.get("/readyz").get_json()
    assert ready["ready"] and ready["broker"] and ready["database"]


def test_sigkill_mid_flight_loses_nothing_and_grades_once(
    it_client: FlaskClient,
    it_tokens: Tokens,
    it_runtime: Runtime,
    start_worker: StartWorker,
    demo_rubric: str,
) -> None:
    create_demo(it_client, it_tokens, demo_rubric)
    ids = [submit(it_client, it_tokens, f"s{i}").get_json()["id"] for i in range(50)]
    worker = start_worker("first")
    deadline = time.monotonic() + 30
    while statuses(it_runtime).get("graded", 0) < 3 and time.monotonic() < deadline:
        time.sleep(0.01)
    worker.kill()
    before = statuses(it_runtime)
    assert before.get("graded", 0) < 50, "the worker finished before it could be killed"
    start_worker("second")
    wait_all_graded(it_runtime, 50, timeout=90)
    with it_runtime.db.session() as s:
        rows = list(s.scalars(select(Submission).where(Submission.id.in_(ids))))
    assert len(rows) == 50
    assert all(r.status == "graded" and r.score == 5 and r.graded_at for r in rows)
    assert all(1 <= r.deliveries <= 3 for r in rows)


def test_publish_lost_is_redriven(
    it_client: FlaskClient,
    it_tokens: Tokens,
    it_runtime: Runtime,
    start_worker: StartWorker,
    demo_rubric: str,
) -> None:
    """Rows committed while nothing was published (broker down, Redis restarted without
    persistence) are found by the periodic re-drive and graded."""
    from grader.services.auth import Actor
    from grader.services.submissions import submit as submit_service

    create_demo(it_client, it_tokens, demo_rubric)

    class BrokerDown:
        def publish(self, submission_id: str) -> None:
            raise ConnectionError("broker unreachable")

    actor = Actor(key_id=it_tokens.ids["admin"], role="admin")
    for i in range(20):
        accepted = submit_service(
            it_runtime.db,
            it_runtime.settings,
            BrokerDown(),
            actor,
            "demo",
            {"student_id": f"r{i}", "answers": {"q1": "relu"}},
        )
        assert accepted.status == "queued" and not accepted.published
    start_worker()
    wait_all_graded(it_runtime, 20, timeout=60)


def test_a_duplicate_delivery_is_a_noop(
    it_client: FlaskClient,
    it_tokens: Tokens,
    it_runtime: Runtime,
    start_worker: StartWorker,
    demo_rubric: str,
) -> None:
    from workers.publisher import CeleryPublisher

    create_demo(it_client, it_tokens, demo_rubric)
    sid = submit(it_client, it_tokens, "dup").get_json()["id"]
    publisher = CeleryPublisher(it_runtime.settings)
    for _ in range(3):
        publisher.publish(sid)
    start_worker()
    wait_all_graded(it_runtime, 1, timeout=30)
    time.sleep(1)
    with it_runtime.db.session() as s:
        row = s.get(Submission, sid)
        assert row is not None and row.status == "graded" and row.deliveries == 1


def test_pickle_messages_are_refused(
    it_runtime: Runtime,
    redis_url: str,
    start_worker: StartWorker,
    tmp_path: Path,
    it_settings: Settings,
) -> None:
    from kombu import Connection

    sentinel = tmp_path / "pwned"
    worker = start_worker()

    class Evil:
        def __reduce__(self) -> tuple[Callable[[str], int], tuple[str]]:
            import os

            return (os.system, (f"touch {sentinel}",))

    with Connection(redis_url) as conn:
        producer = conn.Producer(serializer="pickle")
        producer.publish(
            Evil(),
            routing_key=it_settings.queue,
            exchange="",
            headers={"task": "grading.grade_submission", "id": "evil-1"},
        )
    time.sleep(3)
    assert not sentinel.exists()
    assert worker.proc.poll() is None
    assert (
        b"ContentDisallowed" in worker.log.read_bytes()
        or b"disallowed" in worker.log.read_bytes().lower()
    )
