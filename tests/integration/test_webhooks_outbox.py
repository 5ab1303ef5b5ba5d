"""Grade -> outbox row (same transaction) -> signed deliveries to a real receiver on
127.0.0.1 that fails three times, then accepts. Runs in-process on SQLite: no broker."""

from __future__ import annotations

import json
import random
import time
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from grader.api.webhooks import EXTENSION
from grader.services.grading import FinalHook, grade_submissions
from grader.services.runtime import Runtime
from grader.services.webhook_delivery import Sent, deliver_message, due_messages
from grader.services.webhook_options import WebhookOptions
from grader.services.webhook_outbox import submission_outbox_hook
from grader.store.models import Submission, utcnow
from grader.store.webhooks import WebhookEndpoint, WebhookMessage
from grader.webhooks.http_attempt import Timeouts
from grader.webhooks.retries import RetrySchedule
from grader.webhooks.ssrf import AllowList
from tests.conftest import Tokens
from tests.integration.webhook_receiver import running_receiver

JSON = {"Content-Type": "application/json"}
FAST = WebhookOptions(
    allow=AllowList.parse("127.0.0.1"),
    schedule=RetrySchedule(delays=(0.05, 0.05, 0.05, 0.05, 0.05), jitter=0.2),
    timeouts=Timeouts(connect=1, read=1, total=2),
    base_url="http://grader.test",
)


@pytest.fixture
def options(app: Flask) -> WebhookOptions:
    app.extensions[EXTENSION] = FAST
    return FAST


def register(
    client: FlaskClient,
    tokens: Tokens,
    url: str,
    events: Sequence[str] = ("submission.graded",),
    who: str = "instructor",
) -> dict[str, Any]:
    r = client.post(
        "/api/v1/webhooks",
        data=json.dumps({"url": url, "events": list(events)}),
        headers=tokens.headers(who, **JSON),
    )
    assert r.status_code == 201, r.get_json()
    return r.get_json()


def submit_and_grade(
    client: FlaskClient,
    tokens: Tokens,
    runtime: Runtime,
    options: WebhookOptions,
    hooks: Sequence[FinalHook] | None = None,
) -> tuple[str, dict[str, str]]:
    body = {"answers": {"q1": "ReLU", "q2": "network A, because of the biases"}}
    r = client.post(
        "/api/v1/exams/demo/submissions",
        data=json.dumps(body),
        headers=tokens.headers("student", **JSON),
    )
    sid = r.get_json()["id"]
    hooks = hooks if hooks is not None else [submission_outbox_hook(options)]
    outcome = grade_submissions(runtime, [sid], hooks)
    return sid, outcome


def deliver_until_settled(runtime: Runtime, options: WebhookOptions, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    rng = random.Random(5)
    while time.monotonic() < deadline:
        for message_id in due_messages(runtime.db, options):  # in this process, no queue
            deliver_message(runtime.db, message_id, options, rng=rng)
        with runtime.db.session() as s:
            if not list(
                s.scalars(select(WebhookMessage.id).where(WebhookMessage.status == "pending"))
            ):
                return
        time.sleep(0.02)
    raise AssertionError("messages still pending")


def test_fails_three_times_then_accepted_once(
    options: WebhookOptions, client: FlaskClient, tokens: Tokens, runtime: Runtime, demo_exam: str
) -> None:
    with running_receiver() as rx:
        ep = register(client, tokens, rx.url)
        rx.secrets = [ep["secret"]]
        rx.statuses = [500, 500, 500]
        sid, outcome = submit_and_grade(client, tokens, runtime, options)
        assert outcome == {sid: "graded"}
        h = tokens.headers("instructor")
        msgs = client.get(f"/api/v1/webhooks/{ep['id']}/messages", headers=h).get_json()["items"]
        assert [m["status"] for m in msgs] == ["pending"]  # committed with the grade
        deliver_until_settled(runtime, options)

        assert len(rx.deliveries) == 4
        assert all(d["verified_by"] == 0 for d in rx.deliveries)  # standardwebhooks verified all
        assert {d["headers"]["webhook-id"] for d in rx.deliveries} == {msgs[0]["id"]}
        assert len(rx.processed) == 1
        event = rx.processed[0]["event"]
        assert event["type"] == "submission.graded"
        assert event["data"]["submission_id"] == sid and event["data"]["score"] == 5
        assert (
            event["data"]["links"]["submission"] == f"http://grader.test/api/v1/submissions/{sid}"
        )

        log = client.get(f"/api/v1/webhooks/{ep['id']}/attempts", headers=h).get_json()["items"]
        assert [a["status_code"] for a in reversed(log)] == [500, 500, 500, 204]
        assert [a["attempt"] for a in reversed(log)] == [1, 2, 3, 4]
        msg = client.get(f"/api/v1/webhooks/{ep['id']}/messages", headers=h).get_json()["items"][0]
        assert msg["status"] == "delivered" and msg["attempts"] == 4

        # Redelivery by hand: sent again with the same id, the receiver processes it once.
        r = client.post(f"/api/v1/webhooks/{ep['id']}/messages/{msg['id']}/redeliver", headers=h)
        assert r.status_code == 202 and r.get_json()["status"] == "pending"
        deliver_until_settled(runtime, options)
        assert len(rx.deliveries) == 5 and len(rx.processed) == 1
        log = client.get(f"/api/v1/webhooks/{ep['id']}/attempts", headers=h).get_json()["items"]
        assert log[0]["trigger"] == "manual" and log[0]["ok"] is True


def test_no_outbox_row_without_the_grade(
    options: WebhookOptions, client: FlaskClient, tokens: Tokens, runtime: Runtime, demo_exam: str
) -> None:
    register(client, tokens, "http://127.0.0.1:9/")

    def boom(session: Session, row: Submission) -> None:
        raise RuntimeError("the transaction fails after the outbox write")

    with pytest.raises(RuntimeError):
        submit_and_grade(
            client, tokens, runtime, options, hooks=[submission_outbox_hook(options), boom]
        )
    with runtime.db.session() as s:
        assert list(s.scalars(select(WebhookMessage))) == []
        assert {r.status for r in s.scalars(select(Submission))} == {"grading"}


def test_subscriptions_follow_exam_ownership_and_event_types(
    options: WebhookOptions, client: FlaskClient, tokens: Tokens, runtime: Runtime, demo_exam: str
) -> None:
    mine = register(client, tokens, "http://127.0.0.1:9/a")
    other = register(client, tokens, "http://127.0.0.1:9/b", who="instructor2")
    admin = register(client, tokens, "http://127.0.0.1:9/c", who="admin")
    failed_only = register(client, tokens, "http://127.0.0.1:9/d", events=["submission.failed"])
    submit_and_grade(client, tokens, runtime, options)
    with runtime.db.session() as s:
        got = {m.endpoint_id for m in s.scalars(select(WebhookMessage))}
    assert got == {mine["id"], admin["id"]}
    assert other["id"] not in got and failed_only["id"] not in got


def test_410_disables_the_endpoint(
    options: WebhookOptions, client: FlaskClient, tokens: Tokens, runtime: Runtime, demo_exam: str
) -> None:
    with running_receiver() as rx:
        ep = register(client, tokens, rx.url)
        rx.secrets, rx.statuses = [ep["secret"]], [410]
        submit_and_grade(client, tokens, runtime, options)
        deliver_until_settled(runtime, options)
        assert len(rx.deliveries) == 1
    body = client.get(
        f"/api/v1/webhooks/{ep['id']}", headers=tokens.headers("instructor")
    ).get_json()
    assert body["enabled"] is False and "410" in body["disabled_reason"]
    # Nothing new is queued for a disabled endpoint.
    submit_and_grade(client, tokens, runtime, options)
    with runtime.db.session() as s:
        assert len(list(s.scalars(select(WebhookMessage)))) == 1


def test_failing_more_than_three_days_disables(
    options: WebhookOptions, client: FlaskClient, tokens: Tokens, runtime: Runtime, demo_exam: str
) -> None:
    with running_receiver() as rx:
        ep = register(client, tokens, rx.url)
        rx.secrets, rx.statuses = [ep["secret"]], [503]
        submit_and_grade(client, tokens, runtime, options)
        with runtime.db.session() as s:
            endpoint = s.get(WebhookEndpoint, ep["id"])
            assert endpoint is not None
            endpoint.failing_since = utcnow() - timedelta(days=3, hours=1)
            mid = s.scalars(select(WebhookMessage.id)).one()
        sent = deliver_message(runtime.db, mid, options)
        assert sent.status == "failed" and sent.outcome is not None and sent.outcome.status == 503
    body = client.get(
        f"/api/v1/webhooks/{ep['id']}", headers=tokens.headers("instructor")
    ).get_json()
    assert body["enabled"] is False and "3 days" in body["disabled_reason"]


def test_rotation_sends_both_signatures(
    options: WebhookOptions, client: FlaskClient, tokens: Tokens, runtime: Runtime, demo_exam: str
) -> None:
    with running_receiver() as rx:
        ep = register(client, tokens, rx.url)
        h = tokens.headers("instructor")
        new = client.post(f"/api/v1/webhooks/{ep['id']}/rotate-secret", headers=h).get_json()
        rx.secrets = [ep["secret"]]  # a receiver not yet switched still verifies
        submit_and_grade(client, tokens, runtime, options)
        deliver_until_settled(runtime, options)
        rx.secrets = [new["secret"]]  # and one already switched, too
        submit_and_grade(client, tokens, runtime, options)
        deliver_until_settled(runtime, options)
    assert [d["verified_by"] for d in rx.deliveries] == [0, 0]
    assert all(len(d["headers"]["webhook-signature"].split(" ")) == 2 for d in rx.deliveries)
    assert len(rx.processed) == 2


def test_rebinding_at_send_is_refused_and_logged(
    app: Flask, client: FlaskClient, tokens: Tokens, runtime: Runtime, demo_exam: str
) -> None:
    answers = iter([["93.184.215.14"]] + [["127.0.0.1"]] * 20)
    opts = WebhookOptions(
        resolver=lambda h, p: next(answers), schedule=RetrySchedule(delays=(0.01,), jitter=0)
    )
    app.extensions[EXTENSION] = opts
    ep = register(client, tokens, "https://rebind.example/hook")
    submit_and_grade(client, tokens, runtime, opts)
    deliver_until_settled(runtime, opts)
    log = client.get(
        f"/api/v1/webhooks/{ep['id']}/attempts", headers=tokens.headers("instructor")
    ).get_json()["items"]
    assert len(log) == 2 and all(a["status_code"] is None for a in log)
    assert all("127.0.0.1" in a["error"] for a in log)


def test_500_timeout_302_429_410_in_turn(
    options: WebhookOptions, client: FlaskClient, tokens: Tokens, runtime: Runtime, demo_exam: str
) -> None:
    """BAD_INPUTS 30: each failure is retried on the schedule, the redirect is not followed,
    Retry-After is honoured, and 410 disables the endpoint."""
    with running_receiver() as rx:
        ep = register(client, tokens, rx.url)
        rx.secrets = [ep["secret"]]
        rx.statuses = [
            500,
            {"status": 200, "sleep": 1.5},  # answers after the 1 s read timeout
            {"status": 302, "headers": {"Location": "http://169.254.169.254/latest/meta-data/"}},
            {"status": 429, "headers": {"Retry-After": "1"}},
            410,
        ]
        submit_and_grade(client, tokens, runtime, options)
        with runtime.db.session() as s:
            mid = s.scalars(select(WebhookMessage.id)).one()
        results: list[Sent] = []
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and (not results or results[-1].status == "pending"):
            sent = deliver_message(runtime.db, mid, options, rng=random.Random(1))
            if sent.status != "skipped":
                results.append(sent)
            time.sleep(0.02)
    outcomes = [r.outcome for r in results if r.outcome is not None]
    assert len(outcomes) == len(results)
    assert [o.status for o in outcomes] == [500, None, 302, 429, 410]
    assert "timed out" in (outcomes[1].error or "").lower()
    assert len(rx.deliveries) == 5  # the 302 was not followed anywhere
    assert [r.status for r in results] == ["pending"] * 4 + ["failed"]
    log = client.get(f"/api/v1/webhooks/{ep['id']}/attempts", headers=tokens.headers("instructor"))
    starts = [datetime.fromisoformat(a["started_at"]) for a in reversed(log.get_json()["items"])]
    gaps = [(b - a).total_seconds() for a, b in zip(starts, starts[1:], strict=False)]
    assert gaps[0] < 0.9  # the schedule's 0.05 s
    assert gaps[3] >= 0.95  # Retry-After: 1 outweighs the schedule's 0.05 s
    body = client.get(
        f"/api/v1/webhooks/{ep['id']}", headers=tokens.headers("instructor")
    ).get_json()
    assert body["enabled"] is False and "410" in body["disabled_reason"]
