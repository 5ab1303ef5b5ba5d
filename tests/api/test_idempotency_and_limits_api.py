"""LMS intake: Idempotency-Key makes retried POSTs safe; per-key rate limits answer 429."""

from __future__ import annotations

import json
import threading

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from werkzeug.test import TestResponse

from grader.config import Settings
from grader.services.auth import create_token
from grader.services.runtime import Runtime
from grader.store.models import Submission
from tests.conftest import Tokens

JSON = {"Content-Type": "application/json"}
BODY = {"student_id": "s42", "answers": {"q1": "ReLU", "q2": "network A"}}


@pytest.fixture
def lms(runtime: Runtime, demo_exam: str) -> dict[str, str]:
    _, token = create_token(runtime.db, "lms", exams=["demo"])
    return {"Authorization": f"Bearer {token}", **JSON}


def post(
    client: FlaskClient, headers: dict[str, str], body: object = BODY, **extra: str
) -> TestResponse:
    return client.post(
        "/api/v1/exams/demo/submissions", data=json.dumps(body), headers={**headers, **extra}
    )


def count(runtime: Runtime) -> int:
    with runtime.db.session() as s:
        return int(s.scalar(select(func.count()).select_from(Submission)) or 0)


def test_retry_with_the_same_key_returns_the_original(
    client: FlaskClient, runtime: Runtime, lms: dict[str, str]
) -> None:
    first = post(client, lms, **{"Idempotency-Key": "lms-attempt-1"})
    assert first.status_code == 202
    again = post(client, lms, **{"Idempotency-Key": "lms-attempt-1"})
    assert again.status_code == 202 and again.get_json() == first.get_json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.headers["Location"] == first.headers["Location"]
    assert count(runtime) == 1
    other = post(client, lms, **{"Idempotency-Key": "lms-attempt-2"})
    assert other.get_json()["id"] != first.get_json()["id"] and count(runtime) == 2


def test_five_concurrent_posts_with_one_key_make_one_submission(
    app: Flask, runtime: Runtime, lms: dict[str, str]
) -> None:
    barrier = threading.Barrier(5)
    answers: list[tuple[int, str]] = []
    replayed: list[bool] = []
    lock = threading.Lock()

    def send() -> None:
        client = app.test_client()
        barrier.wait()
        r = post(client, lms, **{"Idempotency-Key": "same-key"})
        with lock:
            answers.append((r.status_code, r.get_json()["id"]))
            replayed.append(r.headers.get("Idempotent-Replayed") == "true")

    threads = [threading.Thread(target=send) for _ in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert len(answers) == 5
    assert {status for status, _ in answers} == {202}
    assert len({sid for _, sid in answers}) == 1
    assert sorted(replayed) == [False, True, True, True, True]
    assert count(runtime) == 1


def test_same_key_with_another_body_is_refused(
    client: FlaskClient, runtime: Runtime, lms: dict[str, str]
) -> None:
    assert post(client, lms, **{"Idempotency-Key": "k1"}).status_code == 202
    changed = {**BODY, "student_id": "s43"}
    r = post(client, lms, changed, **{"Idempotency-Key": "k1"})
    assert r.status_code == 422 and "different request" in r.get_json()["detail"]
    assert count(runtime) == 1


def test_keys_are_per_api_key(
    client: FlaskClient, runtime: Runtime, lms: dict[str, str], tokens: Tokens
) -> None:
    a = post(client, lms, **{"Idempotency-Key": "shared"}).get_json()["id"]
    b = post(client, tokens.headers("instructor", **JSON), **{"Idempotency-Key": "shared"})
    assert b.status_code == 202 and b.get_json()["id"] != a


def test_failed_request_releases_the_key(
    client: FlaskClient, runtime: Runtime, lms: dict[str, str]
) -> None:
    bad = {**BODY, "answers": {"nope": "x"}}
    assert post(client, lms, bad, **{"Idempotency-Key": "fix-me"}).status_code == 422
    assert post(client, lms, **{"Idempotency-Key": "fix-me"}).status_code == 202
    assert count(runtime) == 1


@pytest.mark.parametrize("key", ["", "a" * 201, "tab\there", "ünï"])
def test_malformed_keys_are_refused(client: FlaskClient, lms: dict[str, str], key: str) -> None:
    r = client.post(
        "/api/v1/exams/demo/submissions",
        data=json.dumps(BODY),
        headers={**lms, "Idempotency-Key": key.encode("utf-8").decode("latin-1")},
    )
    assert r.status_code == 422


@pytest.fixture
def limited(settings: Settings, runtime: Runtime) -> FlaskClient:
    from dataclasses import replace

    from service.compose import create_api

    return create_api(replace(settings, rate_limit="3/minute"), runtime=runtime).test_client()


def test_rate_limit_per_key_with_retry_after(limited: FlaskClient, tokens: Tokens) -> None:
    h = tokens.headers("instructor")
    codes = [limited.get("/api/v1/submissions", headers=h).status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    r = limited.get("/api/v1/submissions", headers=h)
    assert r.status_code == 429 and int(r.headers["Retry-After"]) > 0
    assert r.content_type == "application/problem+json"
    # another key has its own budget; a spoofed X-Forwarded-For buys nothing
    assert limited.get("/api/v1/submissions", headers=tokens.headers("admin")).status_code == 200
    spoofed = limited.get("/api/v1/submissions", headers={**h, "X-Forwarded-For": "1.2.3.4"})
    assert spoofed.status_code == 429
    assert limited.get("/healthz").status_code == 200  # probes are not limited


def test_in_progress_key_conflicts_then_stale_key_is_taken_over(
    runtime: Runtime, tokens: Tokens
) -> None:
    from datetime import timedelta

    from grader.services import idempotency
    from grader.services.errors import Conflict
    from grader.store.models import IdempotencyKey, utcnow

    key_id = tokens.ids["lms"]
    first = idempotency.reserve(runtime.db, key_id, "k", "d1")
    assert isinstance(first, idempotency.Reservation)
    with pytest.raises(Conflict):  # the first request has not answered yet
        idempotency.reserve(runtime.db, key_id, "k", "d1", wait=0.05)
    with runtime.db.session() as s:  # ... and never will: its process died before committing
        row = s.get(IdempotencyKey, first.row_id)
        assert row is not None
        row.created_at = utcnow() - timedelta(minutes=5)
    again = idempotency.reserve(runtime.db, key_id, "k", "d1", wait=0.05)
    assert isinstance(again, idempotency.Reservation)
