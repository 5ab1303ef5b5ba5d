"""The outbox: webhook messages written inside the transaction that changes the grade.

Who receives what: an instructor's endpoint gets the events of the exams that instructor
owns; an admin's endpoint gets every event. Disabled endpoints get nothing new. The messages
are sent by `webhook_delivery`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from grader.config import Settings
from grader.services.webhook_options import WebhookOptions
from grader.store.models import ApiKey, Exam, Submission, utcnow
from grader.store.times import aware
from grader.store.webhooks import WebhookEndpoint, WebhookMessage
from grader.webhooks import events
from grader.webhooks.events import EventType
from grader.webhooks.signing import new_message_id


def _subscribers(
    session: Session, event_type: EventType, owner_key_id: str | None
) -> list[WebhookEndpoint]:
    admins = select(ApiKey.id).where(ApiKey.role == "admin", ApiKey.revoked_at.is_(None))
    who = or_(
        WebhookEndpoint.owner_key_id.in_(admins),
        WebhookEndpoint.owner_key_id == (owner_key_id or ""),
    )
    rows = session.scalars(select(WebhookEndpoint).where(WebhookEndpoint.enabled.is_(True), who))
    return [ep for ep in rows if event_type.value in ep.events]


def enqueue_event(
    session: Session, payload: dict[str, Any], event_key: str, *, owner_key_id: str | None
) -> list[str]:
    """Write one outbox row per subscribed endpoint, inside the caller's transaction.

    `event_key` names the event (e.g. "submission.graded:<id>:<graded_at>"); an event already
    queued for an endpoint is not queued again. Returns the new message ids."""
    event_type = EventType(payload["type"])
    created: list[str] = []
    for ep in _subscribers(session, event_type, owner_key_id):
        exists = session.scalar(
            select(WebhookMessage.id).where(
                WebhookMessage.endpoint_id == ep.id, WebhookMessage.event_key == event_key
            )
        )
        if exists is not None:
            continue  # a savepoint-free duplicate check: an IntegrityError would undo the grade
        msg = WebhookMessage(
            id=new_message_id(),
            endpoint_id=ep.id,
            event_type=event_type.value,
            event_key=event_key[:200],
            payload=payload,
            next_attempt_at=utcnow(),
        )
        session.add(msg)
        created.append(msg.id)
    return created


def _exam_owner(session: Session, exam_id: str) -> str | None:
    exam = session.get(Exam, exam_id)
    return exam.owner_key_id if exam is not None else None


def submission_outbox_hook(options: WebhookOptions) -> Any:
    """A `grader.services.grading.FinalHook`: queues submission.graded / submission.failed
    in the transaction that stores the final state."""

    def hook(session: Session, row: Submission) -> None:
        owner = _exam_owner(session, row.exam_id)
        if row.status == "graded":
            at = aware(row.graded_at) or utcnow()
            payload = events.submission_graded(
                submission_id=row.id,
                exam_id=row.exam_id,
                student_id=row.student_id,
                score=row.score or 0.0,
                max_score=row.max_score or 0.0,
                needs_review=row.needs_review,
                graded_at=at,
                base_url=options.base_url,
            )
        elif row.status == "failed":
            at = aware(row.updated_at) or utcnow()
            payload = events.submission_failed(
                submission_id=row.id,
                exam_id=row.exam_id,
                student_id=row.student_id,
                error=row.error or "failed",
                failed_at=at,
                base_url=options.base_url,
            )
        else:
            return
        key = f"{payload['type']}:{row.id}:{at.isoformat()}"
        enqueue_event(session, payload, key, owner_key_id=owner)

    return hook


def record_batch_completed(
    session: Session,
    options: WebhookOptions,
    *,
    batch_id: str,
    exam_id: str,
    counts: Sequence[int],
    completed_at: datetime | None = None,
) -> list[str]:
    """Call in the transaction that marks a batch complete; `counts` = (total, graded, failed).
    The event key is the batch id, so the event fires once however often this is called."""
    total, graded, failed = counts
    payload = events.batch_completed(
        batch_id=batch_id,
        exam_id=exam_id,
        total=total,
        graded=graded,
        failed=failed,
        completed_at=completed_at or utcnow(),
        base_url=options.base_url,
    )
    return enqueue_event(
        session, payload, f"batch.completed:{batch_id}", owner_key_id=_exam_owner(session, exam_id)
    )


def record_grade_overridden(
    session: Session,
    options: WebhookOptions,
    row: Submission,
    *,
    previous_score: float,
    overridden_by: str,
    overridden_at: datetime | None = None,
) -> list[str]:
    """Call in the transaction that stores a manual override of `row`'s grade."""
    at = overridden_at or utcnow()
    payload = events.grade_overridden(
        submission_id=row.id,
        exam_id=row.exam_id,
        student_id=row.student_id,
        previous_score=previous_score,
        score=row.score or 0.0,
        max_score=row.max_score or 0.0,
        overridden_by=overridden_by,
        overridden_at=at,
        base_url=options.base_url,
    )
    return enqueue_event(
        session,
        payload,
        f"grade.overridden:{row.id}:{at.isoformat()}",
        owner_key_id=_exam_owner(session, row.exam_id),
    )


def grade_overridden_hook(settings: Settings) -> Callable[[Session, Submission, float, str], None]:
    """The override hook (services.overrides.OverrideHook) that queues `grade.overridden`
    in the override's transaction; `services.overrides` builds it for every override."""
    options = WebhookOptions.from_settings(settings)

    def hook(session: Session, row: Submission, previous: float, author: str) -> None:
        record_grade_overridden(
            session, options, row, previous_score=previous, overridden_by=author
        )

    return hook
