"""Batch tables: the batch, the manual overrides (an audit trail), the automatic results
kept beside overridden ones.

`submissions.result` always holds the *effective* result (what students and exports see).
When a submission has overrides, its automatic result lives in `auto_results`, so a regrade
recomputes the automatic part and lays the same overrides over it again.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Float, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from grader.store.models import Base, new_id, utcnow
from grader.store.times import iso


class Batch(Base):
    __tablename__ = "batches"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    exam_id: Mapped[str] = mapped_column(ForeignKey("exams.id"), index=True)
    exam_version: Mapped[int] = mapped_column(Integer)
    created_by: Mapped[str | None] = mapped_column(ForeignKey("api_keys.id"))
    filename: Mapped[str] = mapped_column(String(255), default="")
    format: Mapped[str] = mapped_column(String(8))
    total: Mapped[int] = mapped_column(Integer)
    # Final states counted by the worker's hook; the row lock on this counter serialises
    # concurrent finishers, so exactly one of them sees `done == total` and completes it.
    done: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(16), default="grading")  # -> completed
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    completed_at: Mapped[datetime | None] = mapped_column(default=None)


class GradeOverride(Base):
    """One manual decision; never updated or deleted (a newer one supersedes it)."""

    __tablename__ = "grade_overrides"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    submission_id: Mapped[str] = mapped_column(ForeignKey("submissions.id"), index=True)
    question_id: Mapped[str] = mapped_column(String(64))
    criterion_id: Mapped[str | None] = mapped_column(String(64), default=None)
    score: Mapped[float] = mapped_column(Float)
    previous_score: Mapped[float | None] = mapped_column(Float, default=None)
    reason: Mapped[str] = mapped_column(Text)
    author_key_id: Mapped[str | None] = mapped_column(ForeignKey("api_keys.id"))
    author: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "submission_id": self.submission_id,
            "question_id": self.question_id,
            "criterion_id": self.criterion_id,
            "score": self.score,
            "previous_score": self.previous_score,
            "reason": self.reason,
            "author": self.author,
            "created_at": iso(self.created_at),
        }


class AutoResult(Base):
    """The automatic result of a submission that has overrides (exam version it came from)."""

    __tablename__ = "auto_results"

    submission_id: Mapped[str] = mapped_column(ForeignKey("submissions.id"), primary_key=True)
    exam_version: Mapped[int] = mapped_column(Integer)
    result: Mapped[dict[str, Any]] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class RegradeRun(Base):
    """A regrade under a rubric version, of a batch or (no batch) of the exam's single
    submissions: graded in chunks by workers (dry run), then, once `ready`, applied by the
    instructor after reading its diff."""

    __tablename__ = "regrade_runs"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    batch_id: Mapped[str | None] = mapped_column(ForeignKey("batches.id"), index=True)
    exam_id: Mapped[str] = mapped_column(String(64), index=True)
    exam_version: Mapped[int] = mapped_column(Integer)
    requested_by: Mapped[str | None] = mapped_column(ForeignKey("api_keys.id"))
    # grading -> ready -> applied; failed
    status: Mapped[str] = mapped_column(String(16), default="grading")
    total: Mapped[int] = mapped_column(Integer)
    # Results stored so far; the row lock on this counter serialises the chunk tasks, so
    # exactly one of them sees `done == total` and computes the diff.
    done: Mapped[int] = mapped_column(Integer, default=0)
    diff: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    error: Mapped[str | None] = mapped_column(String(200), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    ready_at: Mapped[datetime | None] = mapped_column(default=None)
    applied_at: Mapped[datetime | None] = mapped_column(default=None)


class RegradeResult(Base):
    """The new automatic result of one submission in a regrade run."""

    __tablename__ = "regrade_results"

    run_id: Mapped[str] = mapped_column(ForeignKey("regrade_runs.id"), primary_key=True)
    submission_id: Mapped[str] = mapped_column(ForeignKey("submissions.id"), primary_key=True)
    result: Mapped[dict[str, Any]] = mapped_column(JSON)
