"""/readyz is 503 with a reason when work waits and no worker has taken any for a while;
the claims a worker renews count as work taken."""

from __future__ import annotations

from datetime import timedelta

from flask.testing import FlaskClient
from sqlalchemy import update

from grader.services.runtime import Runtime
from grader.services.submissions import renew_leases, requeue_claimed, work_stall
from grader.store.models import Submission, utcnow
from tests.conftest import Tokens


def _submit(client: FlaskClient, tokens: Tokens, n: int) -> list[str]:
    ids = []
    for i in range(n):
        body = {"student_id": f"s{i}", "answers": {"q1": "relu"}}
        r = client.post(
            "/api/v1/exams/demo/submissions", json=body, headers=tokens.headers("admin")
        )
        ids.append(r.get_json()["id"])
    return ids


def _age(runtime: Runtime, seconds: float, **where: object) -> None:
    then = utcnow() - timedelta(seconds=seconds)
    with runtime.db.session() as s:
        s.execute(update(Submission).values(created_at=then, updated_at=then, **where))


def test_waiting_work_without_a_worker_makes_readyz_503_with_the_reason(
    client: FlaskClient, tokens: Tokens, runtime: Runtime, demo_exam: str
) -> None:
    _submit(client, tokens, 3)  # the test app's broker has no worker: nothing is taken
    assert client.get("/readyz").status_code == 200  # just queued: not yet a stall
    _age(runtime, runtime.settings.stall_after + 5)
    r = client.get("/readyz")
    body = r.get_json()
    assert r.status_code == 503 and not body["ready"]
    assert "3 sheet(s) have waited" in body["reasons"][0]


def test_a_worker_renewing_its_claims_is_progress(
    client: FlaskClient, tokens: Tokens, runtime: Runtime, demo_exam: str
) -> None:
    ids = _submit(client, tokens, 2)
    _age(runtime, runtime.settings.stall_after + 5)
    with runtime.db.session() as s:  # one sheet claimed long ago, its lease still running
        s.execute(
            update(Submission)
            .where(Submission.id == ids[0])
            .values(status="grading", lease_until=utcnow() + timedelta(seconds=10), deliveries=1)
        )
    assert work_stall(runtime.db).stalled(runtime.settings.stall_after)
    assert renew_leases(runtime.db, runtime.settings, ids) == 1  # only the claimed one
    stall = work_stall(runtime.db)
    assert stall.waiting == 1 and not stall.stalled(runtime.settings.stall_after)
    assert client.get("/readyz").status_code == 200


def test_requeue_returns_claimed_sheets_without_counting_the_delivery(
    client: FlaskClient, tokens: Tokens, runtime: Runtime, demo_exam: str
) -> None:
    ids = _submit(client, tokens, 2)
    with runtime.db.session() as s:
        s.execute(
            update(Submission)
            .where(Submission.id == ids[0])
            .values(status="grading", deliveries=1, claim_token="t")
        )
    assert requeue_claimed(runtime.db) == 1
    with runtime.db.session() as s:
        row = s.get(Submission, ids[0])
        assert row is not None and (row.status, row.deliveries, row.claim_token) == (
            "queued",
            0,
            None,
        )
