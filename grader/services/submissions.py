"""Use cases on submissions: submit (row first, then publish), read, list, wait."""

from __future__ import annotations

import logging
import re
import time
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import and_, case, func, or_, select, update
from sqlalchemy.orm import Session

from grader.config import Settings
from grader.services.auth import Actor, granted_exams, may_take_exam
from grader.services.errors import FieldError, Forbidden, Invalid, NotFound, TooLarge, parse_body
from grader.services.ids import MAX_STUDENT_ID_CHARS, STUDENT_ID_PATTERN
from grader.store import Database
from grader.store.models import Exam, ExamVersion, Submission, utcnow
from grader.store.times import iso

log = logging.getLogger(__name__)

FINAL = ("graded", "failed")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_DIGITS = re.compile(r"\d{2,}")


class Publisher(Protocol):
    """Puts a submission id on the queue. May raise if the broker is down."""

    def publish(self, submission_id: str) -> None: ...


class SubmissionIn(BaseModel):
    """Body of POST /exams/{id}/submissions. Unknown fields (score, role, ...) are refused."""

    model_config = ConfigDict(extra="forbid")

    student_id: str | None = Field(
        default=None,
        min_length=1,
        max_length=MAX_STUDENT_ID_CHARS,
        pattern=STUDENT_ID_PATTERN,
    )
    answers: dict[str, str] = Field(description="Answer text per question id.")


@dataclass(frozen=True)
class Accepted:
    id: str
    status: str
    published: bool


def clean_answer(text: str) -> str:
    """Make an answer storable everywhere: drop control characters (NUL breaks PostgreSQL
    text), replace lone surrogates. Meaningful Unicode is kept for the checkers to map."""
    text = text.encode("utf-8", "replace").decode("utf-8")
    return _CONTROL.sub("", text)


def answer_problem(settings: Settings, text: str) -> tuple[str, bool] | None:
    """Why an answer is refused, and whether for its size (413) or its content (422); None if
    it is fine. The limits hold after NFKC, which the checkers apply and which can make one
    character eighteen (U+FDFA), so a short answer cannot grow into a long one there."""
    limit = settings.max_answer_chars
    if len(text) > limit:
        return f"is longer than {limit} characters", True
    normal = unicodedata.normalize("NFKC", text)
    if len(normal) > limit:
        return f"is longer than {limit} characters once normalised (NFKC)", True
    longest = max((len(m) for m in _DIGITS.findall(normal)), default=0)
    if longest > settings.max_digits:
        return f"has a number with {longest} digits (at most {settings.max_digits})", False
    return None


def validate_submission(
    settings: Settings, body: Any, actor: Actor, question_ids: list[str]
) -> SubmissionIn:
    data = parse_body(SubmissionIn, body, "the submission")
    if actor.role == "student":
        if data.student_id not in (None, actor.student_id):
            raise Forbidden("a student key submits only for its own student id")
        data.student_id = actor.student_id
    elif data.student_id is None:
        raise Invalid("student_id is required", [FieldError("student_id", "Field required")])
    unknown = sorted(set(data.answers) - set(question_ids))
    if unknown:
        raise Invalid(
            "answers name questions the exam does not have",
            [
                FieldError(f"answers.{q}", f"unknown question id; known: {', '.join(question_ids)}")
                for q in unknown
            ],
        )
    for qid, text in data.answers.items():
        problem = answer_problem(settings, text)
        if problem is None:
            continue
        message, too_large = problem
        error = FieldError(f"answers.{qid}", message)
        if too_large:
            raise TooLarge(f"the answer to {qid} {message}", [error])
        raise Invalid(f"the answer to {qid} {message}", [error])
    data.answers = {qid: clean_answer(text) for qid, text in data.answers.items()}
    return data


def _exam_for_submit(db: Database, actor: Actor, exam_id: str) -> tuple[int, list[str]]:
    with db.session() as session:
        exam = session.get(Exam, exam_id)
        if exam is None:
            raise NotFound(f"no exam {exam_id!r}")
        if actor.role == "lms" and exam_id not in granted_exams(db, actor.key_id):
            raise NotFound(f"no exam {exam_id!r}")
        if not may_take_exam(db, actor, exam_id):  # a student outside the exam's audience
            raise NotFound(f"no exam {exam_id!r}")
        if actor.role == "instructor" and exam.owner_key_id != actor.key_id:
            raise NotFound(f"no exam {exam_id!r}")
        version = session.get(ExamVersion, (exam_id, exam.current_version))
        assert version is not None
        return exam.current_version, [q["id"] for q in version.definition["questions"]]


def submit(
    db: Database,
    settings: Settings,
    publisher: Publisher,
    actor: Actor,
    exam_id: str,
    body: Any,
    on_created: Callable[[Session, str], None] | None = None,
) -> Accepted:
    """Commit the row as `queued`, then publish its id. A failed publish loses nothing:
    the re-drive republishes stale `queued` rows. `on_created` runs inside the transaction
    that creates the row (the Idempotency-Key's response is stored there)."""
    version, question_ids = _exam_for_submit(db, actor, exam_id)
    data = validate_submission(settings, body, actor, question_ids)
    assert data.student_id is not None
    with db.session() as session:
        row = Submission(
            exam_id=exam_id,
            exam_version=version,
            student_id=data.student_id,
            submitted_by=actor.key_id,
            answers=data.answers,
            status="queued",
        )
        session.add(row)
        session.flush()
        submission_id = row.id
        if on_created is not None:
            on_created(session, submission_id)
    return Accepted(submission_id, "queued", publish_safely(publisher, submission_id))


def publish_safely(publisher: Publisher, submission_id: str) -> bool:
    try:
        publisher.publish(submission_id)
    except Exception:  # noqa: BLE001 - the row is stored; the re-drive publishes it later
        log.warning("publishing %s failed; the re-drive will retry", submission_id, exc_info=True)
        return False
    return True


def _visible(db: Database, actor: Actor, row: Submission) -> bool:
    if actor.is_admin:
        return True
    if actor.role == "student":
        return row.student_id == actor.student_id
    if actor.role == "lms":
        return row.exam_id in granted_exams(db, actor.key_id)
    exam_owner = row.exam_id  # instructors see submissions to the exams they own
    with db.session() as session:
        exam = session.get(Exam, exam_owner)
        return exam is not None and exam.owner_key_id == actor.key_id


def submission_view(row: Submission, actor: Actor | None = None) -> dict[str, Any]:
    """The submission as `actor` may see it: a student does not see why an answer was sent to
    review (the reasons are written for the instructor and name what the grader looks for)."""
    out: dict[str, Any] = {
        "id": row.id,
        "exam_id": row.exam_id,
        "exam_version": row.exam_version,
        "student_id": row.student_id,
        "status": row.status,
        "created_at": iso(row.created_at),
        "graded_at": iso(row.graded_at),
        "score": row.score,
        "max_score": row.max_score,
        "needs_review": row.needs_review,
    }
    if row.batch_id:
        out["batch_id"] = row.batch_id
    if row.status == "failed":
        out["error"] = row.error
    if row.result is not None:
        questions = row.result["questions"]
        if actor is not None and actor.role == "student":
            questions = [{**q, "review_reasons": []} for q in questions]
        out["questions"] = questions
    return out


def get_submission(db: Database, actor: Actor, submission_id: str) -> dict[str, Any]:
    with db.session() as session:
        row = session.get(Submission, submission_id)
    if row is None or not _visible(db, actor, row):
        raise NotFound(f"no submission {submission_id!r}")
    return submission_view(row, actor)


def list_submissions(
    db: Database, actor: Actor, exam_id: str | None, limit: int = 100, offset: int = 0
) -> list[dict[str, Any]]:
    query = select(Submission).order_by(Submission.created_at.desc()).limit(limit).offset(offset)
    if exam_id:
        query = query.where(Submission.exam_id == exam_id)
    if actor.role == "student":
        query = query.where(Submission.student_id == actor.student_id)
    elif actor.role == "lms":
        query = query.where(Submission.exam_id.in_(granted_exams(db, actor.key_id)))
    elif actor.role == "instructor":
        owned = select(Exam.id).where(Exam.owner_key_id == actor.key_id)
        query = query.where(Submission.exam_id.in_(owned))
    with db.session() as session:
        return [submission_view(r, actor) for r in session.scalars(query)]


def wait_for(db: Database, submission_id: str, seconds: float) -> str:
    """Poll the row until it is graded or failed, or the time is up; returns its status."""
    deadline = time.monotonic() + seconds
    delay = 0.01
    while True:
        with db.session() as session:
            status = session.scalar(select(Submission.status).where(Submission.id == submission_id))
        if status in FINAL or time.monotonic() >= deadline or status is None:
            return status or "missing"
        time.sleep(min(delay, max(0.0, deadline - time.monotonic())))
        delay = min(delay * 1.5, 0.1)


def renew_leases(db: Database, settings: Settings, submission_ids: list[str]) -> int:
    """Extend the claim of rows still being graded: the grading process calls this every
    third of the lease, so a process that dies lets its sheets go within one lease."""
    if not submission_ids:
        return 0
    now = utcnow()
    with db.session() as session:
        result = session.execute(
            update(Submission)
            .where(Submission.id.in_(submission_ids), Submission.status == "grading")
            # updated_at too: "a worker is at work" for the stall check below
            .values(
                lease_until=now + timedelta(seconds=settings.claim_lease_seconds), updated_at=now
            )
            .execution_options(synchronize_session=False)
        )
        return int(getattr(result, "rowcount", 0) or 0)


def requeue_claimed(db: Database) -> int:
    """Put every row being graded back to `queued`, its delivery not counted: for a stop
    of the only worker (`grader serve`), after it is gone, so nothing is left half-claimed."""
    now = utcnow()
    with db.session() as session:
        result = session.execute(
            update(Submission)
            .where(Submission.status == "grading")
            .values(
                status="queued",
                claim_token=None,
                lease_until=None,
                updated_at=now,
                deliveries=case((Submission.deliveries > 0, Submission.deliveries - 1), else_=0),
            )
            .execution_options(synchronize_session=False)
        )
        return int(getattr(result, "rowcount", 0) or 0)


@dataclass(frozen=True)
class Stall:
    """How long work has waited and how long since any worker took or finished any."""

    waiting: int  # rows queued, or claimed by a worker whose lease ran out
    oldest_waiting_s: float
    last_progress_s: float | None  # None: no sheet was ever taken

    def stalled(self, after_s: float) -> bool:
        if self.waiting == 0 or self.oldest_waiting_s < after_s:
            return False
        return self.last_progress_s is None or self.last_progress_s >= after_s


def work_stall(db: Database) -> Stall:
    now = utcnow()
    waiting = or_(
        Submission.status == "queued",
        and_(Submission.status == "grading", Submission.lease_until < now),
    )
    with db.session() as session:
        count, oldest = session.execute(
            select(func.count(), func.min(Submission.created_at)).where(waiting)
        ).one()
        latest = session.scalar(
            select(func.max(Submission.updated_at)).where(Submission.status != "queued")
        )

    def age(moment: datetime | None) -> float | None:
        if moment is None:
            return None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return max(0.0, (now - moment).total_seconds())

    return Stall(int(count or 0), age(oldest) or 0.0, age(latest))
