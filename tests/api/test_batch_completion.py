"""Batch completion is decided on the write path only: the transaction that stores a batch's
last sheet completes it (and queues `batch.completed`); reading a batch never changes it. The
re-drive's sweep completes batches whose sheets were finished without the batch counter."""

from __future__ import annotations

from flask.testing import FlaskClient
from sqlalchemy import func, select, update

from grader.services.batches import complete_finished_batches, completed_hook, make_batch_hook
from grader.services.chunks import grade_chunk
from grader.services.grading import grade_submissions
from grader.services.runtime import Runtime
from grader.store.batches import Batch
from grader.store.models import Submission, utcnow
from grader.store.webhooks import WebhookEndpoint, WebhookMessage
from tests.api.test_batches_api import sheets_csv, upload
from tests.conftest import Tokens


def _batch(client: FlaskClient, tokens: Tokens, runtime: Runtime) -> tuple[str, list[str]]:
    r = upload(client, tokens, sheets_csv())
    assert r.status_code == 202, r.get_json()
    batch_id = r.get_json()["id"]
    with runtime.db.session() as s:
        ids = sorted(s.scalars(select(Submission.id).where(Submission.batch_id == batch_id)))
        # An admin's endpoint hears every event: a batch.completed would be queued for it.
        s.add(
            WebhookEndpoint(
                owner_key_id=tokens.ids["admin"],
                url="https://lms.example/hook",
                events=["batch.completed"],
                secret="whsec_test",
            )
        )
    return batch_id, ids


def _state(runtime: Runtime, batch_id: str) -> tuple[str, object, int, int]:
    with runtime.db.session() as s:
        batch = s.get(Batch, batch_id)
        assert batch is not None
        messages = s.scalar(
            select(func.count()).where(WebhookMessage.event_type == "batch.completed")
        )
        return batch.status, batch.completed_at, batch.done, int(messages or 0)


def test_a_get_never_changes_a_batch(
    client: FlaskClient, tokens: Tokens, runtime: Runtime, demo_exam: str
) -> None:
    batch_id, ids = _batch(client, tokens, runtime)
    # Every sheet finished without the batch counter (as by a worker older than it).
    with runtime.db.session() as s:
        s.execute(
            update(Submission)
            .where(Submission.id.in_(ids))
            .values(status="graded", score=1.0, max_score=5.0, graded_at=utcnow())
        )
    before = _state(runtime, batch_id)
    assert before == ("grading", None, 0, 0)
    h = tokens.headers("instructor")
    for _ in range(2):
        body = client.get(f"/api/v1/batches/{batch_id}", headers=h).get_json()
        assert body["counts"]["graded"] == 4 and body["status"] == "grading"
        assert client.get("/api/v1/exams/demo/batches", headers=h).status_code == 200
        assert client.get(f"/api/v1/batches/{batch_id}/results", headers=h).status_code == 200
        assert _state(runtime, batch_id) == before
    # The re-drive's sweep completes it, once, with its webhook.
    assert complete_finished_batches(runtime.db, completed_hook(runtime.settings)) == 1
    assert complete_finished_batches(runtime.db, completed_hook(runtime.settings)) == 0
    status, completed_at, _, messages = _state(runtime, batch_id)
    assert (status, messages) == ("completed", 1) and completed_at is not None


def test_storing_the_last_sheet_completes_the_batch_with_the_service_hooks(
    client: FlaskClient, tokens: Tokens, runtime: Runtime, demo_exam: str
) -> None:
    batch_id, ids = _batch(client, tokens, runtime)
    # One sheet was delivered too often: it fails, and a failed sheet counts as finished.
    with runtime.db.session() as s:
        s.execute(
            update(Submission)
            .where(Submission.id == ids[0])
            .values(deliveries=runtime.settings.max_deliveries)
        )
    assert grade_submissions(runtime, ids[:2]) == {ids[0]: "failed", ids[1]: "graded"}
    assert _state(runtime, batch_id)[::2] == ("grading", 2)
    assert grade_chunk(runtime, ids) == {
        ids[0]: "skipped",
        ids[1]: "skipped",
        ids[2]: "graded",
        ids[3]: "graded",
    }
    status, completed_at, done, messages = _state(runtime, batch_id)
    assert (status, done, messages) == ("completed", 4, 1) and completed_at is not None
    assert complete_finished_batches(runtime.db, completed_hook(runtime.settings)) == 0


def test_a_sheet_counts_once_however_many_batch_counters_run(
    client: FlaskClient, tokens: Tokens, runtime: Runtime, demo_exam: str
) -> None:
    batch_id, ids = _batch(client, tokens, runtime)
    # A caller that still passes its own batch counter (bench/ui_render.py does).
    assert set(grade_submissions(runtime, ids[:2], [make_batch_hook()]).values()) == {"graded"}
    assert set(grade_chunk(runtime, ids[2:], [make_batch_hook()]).values()) == {"graded"}
    status, _, done, _ = _state(runtime, batch_id)
    assert (status, done) == ("completed", 4)
