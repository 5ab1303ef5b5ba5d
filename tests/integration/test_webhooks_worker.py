"""The real path for webhooks: API -> Redis -> Celery worker (grading, beat-driven dispatch,
delivery) -> a receiver on 127.0.0.1 verifying with `standardwebhooks`; and Idempotency-Key
under concurrency on PostgreSQL."""

from __future__ import annotations

import json
import threading
import time

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from grader.api.webhooks import EXTENSION
from grader.services.auth import create_token
from grader.services.runtime import Runtime
from grader.services.webhook_options import WebhookOptions
from grader.store.models import Submission
from grader.webhooks.ssrf import AllowList
from tests.conftest import Tokens
from tests.integration.conftest import StartWorker
from tests.integration.webhook_receiver import running_receiver

pytestmark = pytest.mark.integration
JSON = {"Content-Type": "application/json"}
BODY = {"student_id": "u1", "answers": {"q1": "ReLU", "q2": "network A (biases)"}}


def create_demo(client: FlaskClient, tokens: Tokens, rubric: str) -> None:
    r = client.post(
        "/api/v1/exams",
        data=rubric,
        headers=tokens.headers("instructor", **{"Content-Type": "application/yaml"}),
    )
    assert r.status_code == 201, r.get_json()


@pytest.mark.slow
def test_worker_delivers_after_a_failure(
    it_app: Flask,
    it_client: FlaskClient,
    it_tokens: Tokens,
    it_runtime: Runtime,
    start_worker: StartWorker,
    demo_rubric: str,
) -> None:
    it_app.extensions[EXTENSION] = WebhookOptions(allow=AllowList.parse("127.0.0.1"))
    create_demo(it_client, it_tokens, demo_rubric)
    with running_receiver() as rx:
        r = it_client.post(
            "/api/v1/webhooks",
            headers=it_tokens.headers("instructor", **JSON),
            data=json.dumps({"url": rx.url, "events": ["submission.graded"]}),
        )
        assert r.status_code == 201, r.get_json()
        endpoint = r.get_json()
        rx.secrets, rx.statuses = [endpoint["secret"]], [500]
        start_worker(GRADER_WEBHOOK_ALLOW_HOSTS="127.0.0.1")
        r = it_client.post(
            "/api/v1/exams/demo/submissions",
            data=json.dumps(BODY),
            headers=it_tokens.headers("instructor", **JSON),
        )
        sid = r.get_json()["id"]
        deadline = time.monotonic() + 60  # first try, ~5 s backoff, then the next dispatch
        while not rx.processed and time.monotonic() < deadline:
            time.sleep(0.2)
        assert rx.processed, f"nothing accepted; deliveries: {rx.deliveries}"
        assert rx.processed[0]["event"]["data"]["submission_id"] == sid
        assert all(d["verified_by"] == 0 for d in rx.deliveries)
        assert len({d["headers"]["webhook-id"] for d in rx.deliveries}) == 1
        log = it_client.get(
            f"/api/v1/webhooks/{endpoint['id']}/attempts", headers=it_tokens.headers("instructor")
        ).get_json()["items"]
        assert [a["status_code"] for a in reversed(log)][:2] == [500, 204]


def test_concurrent_idempotent_posts_on_postgres(
    it_app: Flask, it_client: FlaskClient, it_tokens: Tokens, it_runtime: Runtime, demo_rubric: str
) -> None:
    create_demo(it_client, it_tokens, demo_rubric)
    _, token = create_token(it_runtime.db, "lms", exams=["demo"])
    headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": "attempt-7", **JSON}
    barrier = threading.Barrier(5)
    ids: list[str] = []

    def send() -> None:
        client = it_app.test_client()
        barrier.wait()
        r = client.post("/api/v1/exams/demo/submissions", data=json.dumps(BODY), headers=headers)
        assert r.status_code == 202, r.get_json()
        ids.append(r.get_json()["id"])

    threads = [threading.Thread(target=send) for _ in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert len(ids) == 5 and len(set(ids)) == 1
    with it_runtime.db.session() as s:
        assert s.scalar(select(func.count()).select_from(Submission)) == 1
