"""What the pages list: the exams an instructor manages, with their counts."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from grader.services.auth import Actor
from grader.services.errors import Forbidden
from grader.services.submissions import get_submission
from grader.store import Database
from grader.store.models import Exam, ExamVersion, Submission
from grader.store.times import iso


def managed_exams(db: Database, actor: Actor, limit: int = 200) -> list[dict[str, Any]]:
    """Exams the actor may manage (admins: all; instructors: their own), newest first."""
    if not actor.can_author:
        raise Forbidden("exams are managed by instructors and admins")
    query = (
        select(Exam, ExamVersion.title)
        .join(
            ExamVersion,
            (ExamVersion.exam_id == Exam.id) & (ExamVersion.version == Exam.current_version),
        )
        .order_by(Exam.created_at.desc())
        .limit(limit)
    )
    if not actor.is_admin:
        query = query.where(Exam.owner_key_id == actor.key_id)
    with db.session() as session:
        rows = session.execute(query).all()
        ids = [exam.id for exam, _ in rows]
        counts = dict(
            session.execute(
                select(Submission.exam_id, func.count())
                .where(Submission.exam_id.in_(ids))
                .group_by(Submission.exam_id)
            ).all()
        )
        review = dict(
            session.execute(
                select(Submission.exam_id, func.count())
                .where(Submission.exam_id.in_(ids), Submission.needs_review.is_(True))
                .group_by(Submission.exam_id)
            ).all()
        )
        return [
            {
                "id": exam.id,
                "title": title,
                "version": exam.current_version,
                "created_at": iso(exam.created_at),
                "submissions": int(counts.get(exam.id, 0)),
                "needs_review": int(review.get(exam.id, 0)),
            }
            for exam, title in rows
        ]


def submission_with_answers(
    db: Database, actor: Actor, submission_id: str
) -> tuple[dict[str, Any], dict[str, str]]:
    """A submission as its reader may see it (`get_submission`'s rules), and its answers."""
    view = get_submission(db, actor, submission_id)
    with db.session() as session:
        row = session.get(Submission, submission_id)
        answers = {str(k): str(v) for k, v in (row.answers if row else {}).items()}
    return view, answers
