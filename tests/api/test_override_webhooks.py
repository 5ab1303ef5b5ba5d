"""Every override, from the API or from the pages, one answer or a group, queues a
`grade.overridden` webhook in its own transaction; the service builds that hook from the
runtime's settings (here: the public URL the payload's links start with)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from grader.api.webhooks import EXTENSION
from grader.config import Settings
from grader.services.runtime import Runtime
from grader.services.webhook_options import WebhookOptions
from grader.store.models import Submission
from grader.store.webhooks import WebhookMessage
from grader.webhooks.ssrf import AllowList
from tests.api.test_batches_api import grade_batch, sheets_csv, upload
from tests.api.test_web_pages import csrf_of, login
from tests.api.test_webhooks_api import create, public_resolver
from tests.conftest import Tokens

PUBLIC_URL = "https://grader.example"


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(
        data_dir=str(tmp_path / "data"), text_checks=False, public_url=PUBLIC_URL
    ).resolved()


@pytest.fixture
def sheets(
    app: Flask, client: FlaskClient, tokens: Tokens, runtime: Runtime, demo_exam: str
) -> dict[str, str]:
    """The graded sheets by student, and an endpoint of the instructor's that takes
    `grade.overridden` (the webhook options only let its address be registered)."""
    app.extensions[EXTENSION] = WebhookOptions(allow=AllowList(), resolver=public_resolver)
    assert create(client, tokens, events=["grade.overridden"]).status_code == 201
    batch_id = upload(client, tokens, sheets_csv()).get_json()["id"]
    assert set(grade_batch(runtime, batch_id).values()) == {"graded"}
    with runtime.db.session() as s:
        rows = s.execute(select(Submission.student_id, Submission.id)).all()
    return {student: sid for student, sid in rows}


def overridden(runtime: Runtime) -> list[dict[str, Any]]:
    """The data of the queued `grade.overridden` messages, in the order they were written."""
    with runtime.db.session() as s:
        payloads = s.scalars(
            select(WebhookMessage.payload)
            .where(WebhookMessage.event_type == "grade.overridden")
            .order_by(WebhookMessage.created_at, WebhookMessage.id)
        ).all()
    return [dict(p["data"]) for p in payloads]


BODY = {"question_id": "q2", "criterion_id": "picks-a", "score": 2, "reason": "defensible"}


def test_api_overrides_queue_the_webhook(
    client: FlaskClient, tokens: Tokens, runtime: Runtime, sheets: dict[str, str]
) -> None:
    assert overridden(runtime) == []
    h = tokens.headers("instructor")
    r = client.post(f"/api/v1/submissions/{sheets['s2']}/overrides", json=BODY, headers=h)
    assert r.status_code == 201, r.get_json()
    (one,) = overridden(runtime)
    assert (one["submission_id"], one["previous_score"], one["score"]) == (sheets["s2"], 2, 4)
    assert one["links"]["submission"] == f"{PUBLIC_URL}/api/v1/submissions/{sheets['s2']}"
    group = {**BODY, "submission_ids": [sheets["s3"], sheets["s4"]]}
    r = client.post("/api/v1/exams/demo/overrides", json=group, headers=h)
    assert r.status_code == 201, r.get_json()
    assert sorted(d["submission_id"] for d in overridden(runtime)[1:]) == sorted(
        [sheets["s3"], sheets["s4"]]
    )


def test_a_refused_override_queues_nothing(
    client: FlaskClient, tokens: Tokens, runtime: Runtime, sheets: dict[str, str]
) -> None:
    h = tokens.headers("instructor")
    group = {**BODY, "submission_ids": [sheets["s3"], "no-such-sheet"]}
    assert client.post("/api/v1/exams/demo/overrides", json=group, headers=h).status_code == 404
    assert overridden(runtime) == []  # all or none: the first answer's message rolled back


def test_page_overrides_queue_the_same_webhook(
    app: Flask, tokens: Tokens, runtime: Runtime, sheets: dict[str, str]
) -> None:
    client = login(app, tokens.tokens["instructor"])
    form = {**BODY, "score": "2", "csrf_token": csrf_of(client)}
    r = client.post(f"/ui/submissions/{sheets['s2']}/overrides", data=form)
    assert r.status_code == 302
    group = {**form, "submission_ids": [sheets["s3"], sheets["s4"]]}
    assert client.post("/ui/exams/demo/overrides", data=group).status_code == 302
    data = overridden(runtime)
    assert [d["submission_id"] for d in data[:1]] == [sheets["s2"]]
    assert sorted(d["submission_id"] for d in data[1:]) == sorted([sheets["s3"], sheets["s4"]])
    assert all(d["links"]["submission"].startswith(PUBLIC_URL + "/") for d in data)
