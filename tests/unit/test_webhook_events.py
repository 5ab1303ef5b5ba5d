"""Event payloads are small, typed, deterministic, and link to the full resources."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

from grader.webhooks import events

AT = datetime(2026, 11, 25, 21, 30, 5, tzinfo=UTC)
BASE = "https://grader.example/"


def test_submission_graded_shape() -> None:
    payload = events.submission_graded(
        submission_id="s1",
        exam_id="e1",
        student_id="st",
        score=7.5,
        max_score=10,
        needs_review=True,
        graded_at=AT,
        base_url=BASE,
    )
    assert payload["type"] == "submission.graded"
    assert payload["timestamp"] == "2026-11-25T21:30:05Z"
    assert payload["data"]["links"]["submission"] == "https://grader.example/api/v1/submissions/s1"
    assert payload["data"]["needs_review"] is True


def test_every_event_type_has_a_builder_and_stays_small() -> None:
    built = [
        events.submission_graded(
            submission_id="s",
            exam_id="e",
            student_id=None,
            score=1,
            max_score=2,
            needs_review=False,
            graded_at=AT,
            base_url=BASE,
        ),
        events.submission_failed(
            submission_id="s",
            exam_id="e",
            student_id=None,
            error="x" * 5000,
            failed_at=AT,
            base_url=BASE,
        ),
        events.batch_completed(
            batch_id="b", exam_id="e", total=3, graded=2, failed=1, completed_at=AT, base_url=BASE
        ),
        events.grade_overridden(
            submission_id="s",
            exam_id="e",
            student_id="st",
            previous_score=1,
            score=2,
            max_score=2,
            overridden_by="u1",
            overridden_at=AT,
            base_url=BASE,
        ),
    ]
    assert {p["type"] for p in built} == events.EVENT_TYPES
    for payload in built:
        body = events.encode_event(payload)
        assert len(body) < 1024
        assert json.loads(body) == payload
        assert set(payload) == {"type", "timestamp", "data"}


def test_encoding_is_deterministic_and_utf8() -> None:
    a = events.encode_event({"b": 1, "a": "Jürgen"})
    assert a == '{"a":"Jürgen","b":1}'.encode()


def test_naive_and_offset_timestamps_become_utc() -> None:
    naive = events.make_event(events.EventType.BATCH_COMPLETED, {}, at=AT.replace(tzinfo=None))
    shifted = events.make_event(
        events.EventType.BATCH_COMPLETED, {}, at=AT.astimezone(timezone(timedelta(hours=2)))
    )
    assert naive["timestamp"] == shifted["timestamp"] == "2026-11-25T21:30:05Z"
