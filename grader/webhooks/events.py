"""Webhook event payloads: ``{type, timestamp, data}``, small, with links to the full resources.

A payload carries ids, the headline numbers and links; the receiver fetches the details
(per-criterion feedback, answers) through the API with its own key. Keeping student text out
of the payload keeps it small and means a leaked log line leaks little.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any


class EventType(StrEnum):
    SUBMISSION_GRADED = "submission.graded"
    SUBMISSION_FAILED = "submission.failed"
    BATCH_COMPLETED = "batch.completed"
    GRADE_OVERRIDDEN = "grade.overridden"


EVENT_TYPES: frozenset[str] = frozenset(e.value for e in EventType)


def _iso(when: datetime) -> str:
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)  # naive datetimes from the store are UTC
    return when.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _link(base_url: str, path: str) -> str:
    return base_url.rstrip("/") + path


def make_event(event_type: EventType, data: dict[str, Any], *, at: datetime) -> dict[str, Any]:
    return {"type": event_type.value, "timestamp": _iso(at), "data": data}


def encode_event(payload: dict[str, Any]) -> bytes:
    """The exact bytes that are signed and sent (compact and deterministic)."""
    return json.dumps(payload, separators=(",", ":"), sort_keys=True, ensure_ascii=False).encode()


def submission_graded(
    *,
    submission_id: str,
    exam_id: str,
    student_id: str | None,
    score: float,
    max_score: float,
    needs_review: bool,
    graded_at: datetime,
    base_url: str,
) -> dict[str, Any]:
    return make_event(
        EventType.SUBMISSION_GRADED,
        {
            "submission_id": submission_id,
            "exam_id": exam_id,
            "student_id": student_id,
            "score": score,
            "max_score": max_score,
            "needs_review": needs_review,
            "links": {"submission": _link(base_url, f"/api/v1/submissions/{submission_id}")},
        },
        at=graded_at,
    )


def submission_failed(
    *,
    submission_id: str,
    exam_id: str,
    student_id: str | None,
    error: str,
    failed_at: datetime,
    base_url: str,
) -> dict[str, Any]:
    return make_event(
        EventType.SUBMISSION_FAILED,
        {
            "submission_id": submission_id,
            "exam_id": exam_id,
            "student_id": student_id,
            "error": error[:200],  # a code or short message; never a traceback
            "links": {"submission": _link(base_url, f"/api/v1/submissions/{submission_id}")},
        },
        at=failed_at,
    )


def batch_completed(
    *,
    batch_id: str,
    exam_id: str,
    total: int,
    graded: int,
    failed: int,
    completed_at: datetime,
    base_url: str,
) -> dict[str, Any]:
    return make_event(
        EventType.BATCH_COMPLETED,
        {
            "batch_id": batch_id,
            "exam_id": exam_id,
            "counts": {"total": total, "graded": graded, "failed": failed},
            "links": {
                "batch": _link(base_url, f"/api/v1/batches/{batch_id}"),
                "submissions": _link(base_url, f"/api/v1/batches/{batch_id}/submissions"),
            },
        },
        at=completed_at,
    )


def grade_overridden(
    *,
    submission_id: str,
    exam_id: str,
    student_id: str | None,
    previous_score: float,
    score: float,
    max_score: float,
    overridden_by: str,
    overridden_at: datetime,
    base_url: str,
) -> dict[str, Any]:
    return make_event(
        EventType.GRADE_OVERRIDDEN,
        {
            "submission_id": submission_id,
            "exam_id": exam_id,
            "student_id": student_id,
            "previous_score": previous_score,
            "score": score,
            "max_score": max_score,
            "overridden_by": overridden_by,
            "links": {"submission": _link(base_url, f"/api/v1/submissions/{submission_id}")},
        },
        at=overridden_at,
    )
