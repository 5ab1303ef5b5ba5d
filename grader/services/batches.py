"""Use cases on batches: upload (validate everything, create everything in one transaction,
then enqueue chunks), progress, results, gradebooks and statistics.

Parsing, exports and statistics are pure code in `grader.batches`; this module adds the
database, the access rules and the queue.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from grader.batches.intake import IntakeError, IntakeLimits, IntakeRejected, parse_upload
from grader.config import Settings
from grader.services.auth import Actor
from grader.services.errors import FieldError, Forbidden, Invalid, NotFound
from grader.services.exams import may_manage
from grader.services.ids import STUDENT_ID_RULE, is_student_id
from grader.services.submissions import (
    Publisher,
    answer_problem,
    clean_answer,
    publish_safely,
)
from grader.services.webhook_options import WebhookOptions
from grader.services.webhook_outbox import record_batch_completed
from grader.store import Database
from grader.store.batches import Batch
from grader.store.models import Exam, ExamVersion, Submission, new_id, utcnow
from grader.store.times import aware, iso

log = logging.getLogger(__name__)

CHUNK_SIZE = 32  # sheets per task: enough for one encoder pass, small enough to spread
UPLOAD_MAX_BYTES = 20 * 2**20

# Called in the transaction that completes a batch: (session, batch, (total, graded, failed)).
CompletedHook = Callable[[Session, Batch, tuple[int, int, int]], None]


@dataclass
class RowError(FieldError):
    """A problem in one row of an upload, with its file, row and column."""

    file: str | None = None
    row: int | None = None
    column: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "row": self.row,
            "column": self.column,
            "field": self.field,
            "message": self.message,
        }


def _row_error(err: IntakeError) -> RowError:
    return RowError(err.column or "(file)", err.message, None, err.source, err.row, err.column)


def intake_limits(settings: Settings, max_bytes: int | None = None) -> IntakeLimits:
    # A cell may hold the longest answer a single submission may have, in UTF-8 bytes.
    return IntakeLimits(
        max_bytes=max_bytes or UPLOAD_MAX_BYTES, max_cell_bytes=settings.max_answer_chars * 4
    )


def _require_author(actor: Actor) -> None:
    if not actor.can_author:
        raise Forbidden("batches are for instructors and admins")


def managed_exam(session: Session, actor: Actor, exam_id: str) -> Exam:
    exam = session.get(Exam, exam_id)
    if exam is None or not may_manage(actor, exam):
        raise NotFound(f"no exam {exam_id!r}")
    return exam


def managed_batch(session: Session, actor: Actor, batch_id: str) -> tuple[Batch, Exam]:
    _require_author(actor)
    batch = session.get(Batch, batch_id)
    exam = session.get(Exam, batch.exam_id) if batch else None
    if batch is None or exam is None or not may_manage(actor, exam):
        raise NotFound(f"no batch {batch_id!r}")
    return batch, exam


def _check_rows(settings: Settings, rows: Sequence[Any]) -> list[RowError]:
    """The rules of a single submission, applied to every row of a batch."""
    errors: list[RowError] = []
    for sheet in rows:
        if not is_student_id(sheet.student_id):
            errors.append(
                RowError(
                    "student_id",
                    f"student_id {STUDENT_ID_RULE}",
                    None,
                    sheet.source,
                    sheet.row,
                    "student_id",
                )
            )
        for qid, text in sheet.answers.items():
            problem = answer_problem(settings, text)
            if problem is None:
                continue
            errors.append(
                RowError(qid, f"the answer {problem[0]}", None, sheet.source, sheet.row, qid)
            )
    return errors


def _reject(errors: list[RowError]) -> None:
    if errors:
        errors.sort(key=lambda e: (e.file or "", e.row or 0))
        raise Invalid(f"the upload has {len(errors)} problem(s); nothing was created", list(errors))


def create_batch(
    db: Database,
    settings: Settings,
    publisher: Publisher,
    actor: Actor,
    exam_id: str,
    data: bytes,
    filename: str | None,
    *,
    chunk_size: int = CHUNK_SIZE,
    limits: IntakeLimits | None = None,
) -> dict[str, Any]:
    """Validate the whole upload, then create the batch and every submission in one
    transaction, then publish the ids in chunks. Any problem: 422 and nothing created."""
    _require_author(actor)
    with db.session() as session:
        exam = managed_exam(session, actor, exam_id)
        version = exam.current_version
        definition = session.get(ExamVersion, (exam_id, version))
        assert definition is not None
        question_ids = [q["id"] for q in definition.definition["questions"]]
    try:
        intake = parse_upload(
            data,
            filename=filename,
            question_ids=set(question_ids),
            limits=limits or intake_limits(settings),
        )
    except IntakeRejected as exc:
        errors = [_row_error(e) for e in exc.errors] + _check_rows(settings, exc.rows)
        _reject(errors)
        raise  # not reached: an IntakeRejected always lists a problem
    _reject(_check_rows(settings, intake.rows))
    ids = [new_id() for _ in intake.rows]
    with db.session() as session:
        batch = Batch(
            exam_id=exam_id,
            exam_version=version,
            created_by=actor.key_id,
            filename=(filename or "")[:255],
            format=intake.format,
            total=len(intake.rows),
            status="grading",
        )
        session.add(batch)
        session.flush()
        batch_id = batch.id
        session.add_all(
            Submission(
                id=sid,
                exam_id=exam_id,
                exam_version=version,
                student_id=sheet.student_id,
                submitted_by=actor.key_id,
                batch_id=batch_id,
                answers={q: clean_answer(t) for q, t in sheet.answers.items()},
                status="queued",
            )
            for sid, sheet in zip(ids, intake.rows, strict=True)
        )
    chunks = [ids[i : i + chunk_size] for i in range(0, len(ids), max(1, chunk_size))]
    published = sum(_publish_chunk(publisher, chunk) for chunk in chunks)
    return {
        "id": batch_id,
        "exam_id": exam_id,
        "exam_version": version,
        "total": len(ids),
        "status": "grading",
        "chunks": len(chunks),
        "chunks_published": published,
    }


def _publish_chunk(publisher: Publisher, ids: list[str]) -> bool:
    publish_chunk = getattr(publisher, "publish_chunk", None)
    if publish_chunk is None:  # a publisher without chunks: one task per sheet
        return all([publish_safely(publisher, sid) for sid in ids])
    try:
        publish_chunk(ids)
    except Exception:  # noqa: BLE001 - rows are stored; the re-drive publishes them later
        log.warning(
            "publishing a chunk of %d failed; the re-drive will retry", len(ids), exc_info=True
        )
        return False
    return True


def _counts(session: Session, batch_id: str) -> dict[str, int]:
    rows = session.execute(
        select(Submission.status, func.count())
        .where(Submission.batch_id == batch_id)
        .group_by(Submission.status)
    ).all()
    counts = {"queued": 0, "grading": 0, "graded": 0, "failed": 0}
    counts.update({str(status): int(n) for status, n in rows})
    return counts


def complete_if_done(
    session: Session,
    batch: Batch,
    counts: dict[str, int],
    on_completed: CompletedHook | None = None,
) -> bool:
    """Mark the batch completed once (a compare-and-swap on its status)."""
    if counts["graded"] + counts["failed"] < batch.total:
        return False
    done = session.execute(
        update(Batch)
        .where(Batch.id == batch.id, Batch.status == "grading")
        .values(status="completed", completed_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if getattr(done, "rowcount", 0) != 1:
        return False
    if on_completed is not None:
        on_completed(session, batch, (batch.total, counts["graded"], counts["failed"]))
    return True


def count_finished(
    session: Session, batch_id: str, n: int, on_completed: CompletedHook | None = None
) -> None:
    """Count `n` more finished sheets of a batch; complete it if they were the last.

    The increment takes the batch row's lock: concurrent finishers queue up here, and only
    the one that brings `done` to `total` goes on to complete the batch."""
    session.execute(
        update(Batch)
        .where(Batch.id == batch_id)
        .values(done=Batch.done + n)
        .execution_options(synchronize_session=False)
    )
    batch = session.get(Batch, batch_id, populate_existing=True)
    if batch is not None and batch.done >= batch.total:
        complete_if_done(session, batch, _counts(session, batch.id), on_completed)


def first_count(session: Session, submission_id: str) -> bool:
    """True the first time a transaction counts this sheet towards its batch: a sheet is
    counted once however many batch counters a caller runs."""
    counted: set[str] = session.info.setdefault("grader.batch_counted", set())
    if submission_id in counted:
        return False
    counted.add(submission_id)
    return True


def make_batch_hook(
    on_completed: CompletedHook | None = None,
) -> Callable[[Session, Submission], None]:
    """A `grader.services.grading.FinalHook` that counts a batch's finished sheets and
    completes the batch when the last one finishes (`on_completed` then queues the
    `batch.completed` webhook in the same transaction)."""

    def hook(session: Session, row: Submission) -> None:
        if row.batch_id and first_count(session, row.id):
            count_finished(session, row.batch_id, 1, on_completed)

    return hook


def complete_finished_batches(db: Database, on_completed: CompletedHook | None = None) -> int:
    """Complete every `grading` batch none of whose sheets is still queued or grading.

    The write path completes a batch in the transaction that stores its last sheet; this
    sweep (run by the re-drive) only catches batches whose sheets were finished without the
    batch counter (by a worker older than it). Returns how many it completed."""
    unfinished = (
        select(Submission.id)
        .where(
            Submission.batch_id == Batch.id,
            Submission.status.in_(("queued", "grading")),
        )
        .exists()
    )
    completed = 0
    with db.session() as session:
        ids = list(session.scalars(select(Batch.id).where(Batch.status == "grading", ~unfinished)))
        for batch_id in ids:
            batch = session.get(Batch, batch_id)
            if batch is not None:
                completed += complete_if_done(
                    session, batch, _counts(session, batch_id), on_completed
                )
    if completed:
        log.info("completed %d batches whose sheets had all finished", completed)
    return completed


def _seconds_since(when: datetime) -> float:
    return max(0.0, (utcnow() - aware(when)).total_seconds())


def batch_view(session: Session, batch: Batch) -> dict[str, Any]:
    """A batch's progress, read only: completing a batch is the write path's business
    (`count_finished`), so reading never changes a batch or queues a webhook."""
    counts = _counts(session, batch.id)
    done = counts["graded"] + counts["failed"]
    review = (
        session.scalar(
            select(func.count()).where(
                Submission.batch_id == batch.id, Submission.needs_review.is_(True)
            )
        )
        or 0
    )
    elapsed = _seconds_since(batch.created_at)
    eta: float | None = None
    if done >= batch.total:
        eta = 0.0
    elif done > 0:
        eta = round(elapsed / done * (batch.total - done), 1)
    return {
        "id": batch.id,
        "exam_id": batch.exam_id,
        "exam_version": batch.exam_version,
        "filename": batch.filename,
        "format": batch.format,
        "status": batch.status,
        "total": batch.total,
        "counts": counts,
        "done": done,
        "progress": round(done / batch.total, 4) if batch.total else 1.0,
        "needs_review": int(review),
        "elapsed_seconds": round(elapsed, 1),
        "eta_seconds": eta,
        "created_at": iso(batch.created_at),
        "completed_at": iso(batch.completed_at),
    }


def get_batch(db: Database, actor: Actor, batch_id: str) -> dict[str, Any]:
    with db.session() as session:
        batch, _ = managed_batch(session, actor, batch_id)
        return batch_view(session, batch)


def list_batches(db: Database, actor: Actor, exam_id: str) -> list[dict[str, Any]]:
    _require_author(actor)
    with db.session() as session:
        managed_exam(session, actor, exam_id)
        batches = session.scalars(
            select(Batch).where(Batch.exam_id == exam_id).order_by(Batch.created_at.desc())
        )
        return [batch_view(session, b) for b in batches]


def record(row: Submission) -> dict[str, Any]:
    """One submission as results and exports see it (the effective result)."""
    return {
        "submission_id": row.id,
        "student_id": row.student_id,
        "status": row.status,
        "exam_version": row.exam_version,
        "score": row.score,
        "max_score": row.max_score,
        "needs_review": row.needs_review,
        "result": row.result,
    }


def batch_records(
    db: Database, actor: Actor, batch_id: str
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    with db.session() as session:
        batch, _ = managed_batch(session, actor, batch_id)
        rows = session.scalars(
            select(Submission)
            .where(Submission.batch_id == batch_id)
            .order_by(Submission.student_id)
        )
        return batch_view(session, batch), [record(r) for r in rows]


def exam_records(
    db: Database, actor: Actor, exam_id: str
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The latest submission of each student to an exam (a graded one if there is one)."""
    _require_author(actor)
    with db.session() as session:
        exam = managed_exam(session, actor, exam_id)
        latest: dict[str, Submission] = {}
        rows = session.scalars(
            select(Submission).where(Submission.exam_id == exam_id).order_by(Submission.created_at)
        )
        for row in rows:
            kept = latest.get(row.student_id)
            if kept is None or row.status == "graded" or kept.status != "graded":
                latest[row.student_id] = row
        info = {"id": exam.id, "version": exam.current_version}
        return info, [record(r) for r in sorted(latest.values(), key=lambda r: r.student_id)]


def question_ids(db: Database, exam_id: str, version: int) -> list[str]:
    with db.session() as session:
        ver = session.get(ExamVersion, (exam_id, version))
        if ver is None:
            raise NotFound(f"exam {exam_id!r} has no version {version}")
        return [q["id"] for q in ver.definition["questions"]]


def completed_hook(settings: Settings) -> CompletedHook:
    """Queues the `batch.completed` webhook."""
    options = WebhookOptions.from_settings(settings)

    def hook(session: Session, batch: Batch, counts: tuple[int, int, int]) -> None:
        record_batch_completed(
            session, options, batch_id=batch.id, exam_id=batch.exam_id, counts=counts
        )

    return hook
