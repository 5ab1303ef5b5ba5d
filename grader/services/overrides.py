"""Human review: the queue and manual overrides (an audit trail). The automatic result is kept
beside an overridden one (`auto_results`), so a regrade (`grader.services.regrades`) can lay
the same overrides over the new automatic result."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from grader.batches.regrade import apply_overrides
from grader.batches.review import group_queue, normalise_answer, order_queue, review_items
from grader.config import Settings
from grader.grading import CriterionResult, QuestionResult, SubmissionResult
from grader.services.auth import Actor
from grader.services.batches import managed_batch, managed_exam
from grader.services.errors import Conflict, FieldError, Forbidden, Invalid, NotFound, parse_body
from grader.services.exams import may_manage
from grader.services.webhook_outbox import grade_overridden_hook
from grader.store import Database
from grader.store.batches import AutoResult, GradeOverride
from grader.store.models import ApiKey, Exam, ExamVersion, Submission, utcnow

MAX_GROUP = 1000
# Called in the override's transaction: (session, row, previous score, author).
OverrideHook = Callable[[Session, Submission, float, str], None]


class OverrideIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    question_id: str = Field(min_length=1, max_length=64)
    criterion_id: str | None = Field(default=None, min_length=1, max_length=64)
    score: float = Field(ge=0)
    reason: str = Field(min_length=1, max_length=2000)


class GroupOverrideIn(OverrideIn):
    submission_ids: list[str] = Field(min_length=1, max_length=MAX_GROUP)


def _parse(model: type[BaseModel], body: Any) -> Any:
    return parse_body(model, body, "the override")


def combine_rules(session: Session, exam_id: str, version: int) -> dict[str, str]:
    ver = session.get(ExamVersion, (exam_id, version))
    questions = ver.definition["questions"] if ver else []
    return {q["id"]: q.get("combine", "sum") for q in questions}


def override_dicts(session: Session, submission_id: str) -> list[dict[str, Any]]:
    rows = session.scalars(
        select(GradeOverride)
        .where(GradeOverride.submission_id == submission_id)
        .order_by(GradeOverride.id)
    )
    return [o.as_dict() for o in rows]


def _author(session: Session, actor: Actor) -> str:
    key = session.get(ApiKey, actor.key_id)
    name = key.name if key is not None and key.name else ""
    return f"{name} ({actor.role} {actor.key_id})" if name else f"{actor.role} {actor.key_id}"


def _check_target(result: SubmissionResult, data: OverrideIn) -> None:
    question = next((q for q in result.questions if q.id == data.question_id), None)
    if question is None:
        raise Invalid(
            f"no question {data.question_id!r} in this submission",
            [FieldError("question_id", "unknown question id")],
        )
    target: QuestionResult | CriterionResult = question
    if data.criterion_id is not None:
        criterion = next((c for c in question.criteria if c.id == data.criterion_id), None)
        if criterion is None:
            raise Invalid(
                f"no criterion {data.criterion_id!r} in question {data.question_id!r}",
                [FieldError("criterion_id", "unknown criterion id")],
            )
        target = criterion
    if data.score > float(target.max_score) + 1e-9:
        raise Invalid(
            f"the score may be at most {target.max_score:g}",
            [FieldError("score", "more than the points available")],
        )


def _override_one(
    session: Session,
    actor: Actor,
    row: Submission,
    data: OverrideIn,
    author: str,
    hook: OverrideHook,
) -> dict[str, Any]:
    if row.status != "graded" or row.result is None:
        raise Conflict(f"submission {row.id} is {row.status}; only graded ones can be overridden")
    _check_target(SubmissionResult.from_dict(row.result), data)
    auto = session.get(AutoResult, row.id)
    if auto is None:  # first override: the stored result is the automatic one; keep it
        auto = AutoResult(submission_id=row.id, exam_version=row.exam_version, result=row.result)
        session.add(auto)
    previous = float(row.score or 0.0)
    entry = GradeOverride(
        submission_id=row.id,
        question_id=data.question_id,
        criterion_id=data.criterion_id,
        score=data.score,
        previous_score=previous,
        reason=data.reason,
        author_key_id=actor.key_id,
        author=author,
    )
    session.add(entry)
    session.flush()
    effective, _ = apply_overrides(
        SubmissionResult.from_dict(auto.result),
        override_dicts(session, row.id),
        combine_rules(session, row.exam_id, row.exam_version),
    )
    row.result = effective.to_dict()
    row.score = effective.score
    row.needs_review = effective.needs_review
    row.updated_at = utcnow()
    hook(session, row, previous, author)
    return {
        "override": entry.as_dict(),
        "score": row.score,
        "auto_score": auto.result["score"],
        "needs_review": row.needs_review,
    }


def _managed_submission(session: Session, actor: Actor, submission_id: str) -> Submission:
    if not actor.can_author:
        raise Forbidden("overrides are for instructors and admins")
    row = session.get(Submission, submission_id, with_for_update=True)
    exam = session.get(Exam, row.exam_id) if row else None
    if row is None or exam is None or not may_manage(actor, exam):
        raise NotFound(f"no submission {submission_id!r}")
    return row


def add_override(
    db: Database, settings: Settings, actor: Actor, submission_id: str, body: Any
) -> dict[str, Any]:
    """Override one answer; the `grade.overridden` webhook is queued in the same transaction."""
    data = _parse(OverrideIn, body)
    hook = grade_overridden_hook(settings)
    with db.session() as session:
        row = _managed_submission(session, actor, submission_id)
        return _override_one(session, actor, row, data, _author(session, actor), hook)


def add_group_override(
    db: Database, settings: Settings, actor: Actor, exam_id: str, body: Any
) -> dict[str, Any]:
    """One decision for a group of similar answers: all of it, or (on any error) none. Each
    answer's `grade.overridden` webhook is queued in the same transaction."""
    data = _parse(GroupOverrideIn, body)
    hook = grade_overridden_hook(settings)
    single = OverrideIn(**data.model_dump(exclude={"submission_ids"}))
    with db.session() as session:
        managed_exam(session, actor, exam_id)
        author = _author(session, actor)
        applied = []
        for sid in dict.fromkeys(data.submission_ids):
            row = _managed_submission(session, actor, sid)
            if row.exam_id != exam_id:
                raise NotFound(f"no submission {sid!r} in exam {exam_id!r}")
            applied.append(
                {"submission_id": sid, **_override_one(session, actor, row, single, author, hook)}
            )
    return {"applied": len(applied), "items": applied}


def list_overrides(db: Database, actor: Actor, submission_id: str) -> dict[str, Any]:
    with db.session() as session:
        row = _managed_submission(session, actor, submission_id)
        auto = session.get(AutoResult, row.id)
        return {
            "submission_id": row.id,
            "score": row.score,
            "auto_score": auto.result["score"] if auto else row.score,
            "items": override_dicts(session, row.id),
        }


class _ExactEncoder:
    """Without a text model, group only answers that are the same text. The index covers
    every answer of the queue up front, so vectors keep one width across the encoder's
    batches (the clustering encodes in batches of 256)."""

    def __init__(self, texts: list[str]) -> None:
        keys = dict.fromkeys(normalise_answer(t) for t in texts)
        self._index = {t: i for i, t in enumerate(keys)}

    def encode(self, texts: list[str]) -> Any:
        out = np.zeros((len(texts), max(1, len(self._index))), np.float32)
        for row, text in enumerate(texts):
            col = self._index.get(normalise_answer(text))
            if col is not None:
                out[row, col] = 1.0
        return out


def review_queue(
    db: Database,
    actor: Actor,
    exam_id: str,
    *,
    batch_id: str | None = None,
    question_id: str | None = None,
    limit: int = 200,
    group: bool = False,
    encoder: Any = None,
    threshold: float = 0.85,
    with_results: bool = False,
) -> dict[str, Any]:
    """Answers waiting for review, most uncertain first; with `group`, similar answers of each
    question grouped so one decision (a group override) can settle them all. With
    `with_results`, each item also carries its question's result (`question`: every
    criterion's verdict, points, confidence, evidence), for pages that show them."""
    results: dict[tuple[str, str], QuestionResult] = {}
    with db.session() as session:
        if batch_id is not None:
            batch, _ = managed_batch(session, actor, batch_id)
            exam_id = batch.exam_id
        elif not actor.can_author:
            raise Forbidden("the review queue is for instructors and admins")
        managed_exam(session, actor, exam_id)
        query = select(Submission).where(
            Submission.exam_id == exam_id,
            Submission.status == "graded",
            Submission.needs_review.is_(True),
        )
        if batch_id is not None:
            query = query.where(Submission.batch_id == batch_id)
        items = []
        for row in session.scalars(query):
            if row.result is None:
                continue
            result = SubmissionResult.from_dict(row.result)
            for it in review_items(row.id, row.student_id, result, row.answers):
                if question_id is None or it.question_id == question_id:
                    items.append(it)
            if with_results:
                results.update({(row.id, q.id): q for q in result.questions})
    queue = order_queue(items)
    total = len(queue)
    queue = queue[: max(1, limit)]
    out: dict[str, Any] = {
        "exam_id": exam_id,
        "total": total,
        "items": [i.to_dict() for i in queue],
    }
    if group:
        out["groups"] = group_queue(
            queue, encoder or _ExactEncoder([i.answer for i in queue]), threshold=threshold
        )
    if with_results:

        def question_of(item: dict[str, Any]) -> dict[str, Any] | None:
            found = results.get((item["submission_id"], item["question_id"]))
            return None if found is None else found.to_dict()

        for item in out["items"]:
            item["question"] = question_of(item)
        for groups in out.get("groups", {}).values():
            for g in groups:
                for item in g["items"]:
                    item["question"] = question_of(item)
    return out
