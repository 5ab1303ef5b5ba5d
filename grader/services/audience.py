"""Exam audiences: the roster of students an exam is open to.

A student key reaches an exam (reads its prompts, submits) when the exam's roster names its
student, or when the key itself was granted the exam (`grader tokens create --role student
--student-id S --exam E`). Everyone else gets 404, as for an exam that does not exist.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import delete, select

from grader.services.auth import Actor
from grader.services.errors import FieldError, Invalid, NotFound, parse_body
from grader.services.exams import may_manage
from grader.services.ids import STUDENT_ID_RULE, is_student_id
from grader.store import Database
from grader.store.models import Exam, ExamAudience

MAX_ROSTER = 100_000  # students on one exam: far above any course, bounds one request


class RosterIn(BaseModel):
    """Body of PUT /exams/{id}/roster: the whole roster (it replaces the previous one)."""

    model_config = ConfigDict(extra="forbid")

    student_ids: list[str] = Field(max_length=MAX_ROSTER)


def _owned(db: Database, actor: Actor, exam_id: str) -> None:
    with db.session() as session:
        row = session.get(Exam, exam_id)
        if row is None or not may_manage(actor, row):
            raise NotFound(f"no exam {exam_id!r}")


def set_roster(db: Database, actor: Actor, exam_id: str, body: Any) -> dict[str, Any]:
    data = parse_body(RosterIn, body, "the roster")
    bad = [i for i, sid in enumerate(data.student_ids) if not is_student_id(sid)]
    if bad:
        raise Invalid(
            f"student ids {STUDENT_ID_RULE}",
            [FieldError(f"student_ids.{i}", "not a student id") for i in bad[:20]],
        )
    _owned(db, actor, exam_id)
    wanted = sorted(set(data.student_ids))
    with db.session() as session:
        session.execute(delete(ExamAudience).where(ExamAudience.exam_id == exam_id))
        session.add_all(ExamAudience(exam_id=exam_id, student_id=sid) for sid in wanted)
    return {"exam_id": exam_id, "students": len(wanted)}


def get_roster(db: Database, actor: Actor, exam_id: str) -> dict[str, Any]:
    _owned(db, actor, exam_id)
    with db.session() as session:
        ids = list(
            session.scalars(
                select(ExamAudience.student_id)
                .where(ExamAudience.exam_id == exam_id)
                .order_by(ExamAudience.student_id)
            )
        )
    return {"exam_id": exam_id, "student_ids": ids}
