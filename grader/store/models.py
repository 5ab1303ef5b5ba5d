"""SQLAlchemy models. The submission row is the truth; the queue only carries its id."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


def utcnow() -> datetime:
    return datetime.now(UTC)


def new_id() -> str:
    # Random, not sequential: ids are not guessable (BAD_INPUTS 35).
    return uuid.uuid4().hex


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSON, datetime: DateTime(timezone=True)}


class ApiKey(Base):
    __tablename__ = "api_keys"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    secret_hash: Mapped[str] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(16))
    student_id: Mapped[str | None] = mapped_column(String(128))
    name: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)
    expires_at: Mapped[datetime | None] = mapped_column(default=None)


class ExamAudience(Base):
    """A student an exam is open to (the instructor's roster): that student's keys may read
    its prompts and submit to it."""

    __tablename__ = "exam_audience"

    exam_id: Mapped[str] = mapped_column(ForeignKey("exams.id"), primary_key=True)
    student_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    added_at: Mapped[datetime] = mapped_column(default=utcnow)


class ExamGrant(Base):
    """An `lms` key may submit for, and read, the submissions of exams it is granted; a
    `student` key may read and submit to the exams it is granted."""

    __tablename__ = "exam_grants"

    api_key_id: Mapped[str] = mapped_column(ForeignKey("api_keys.id"), primary_key=True)
    exam_id: Mapped[str] = mapped_column(ForeignKey("exams.id"), primary_key=True)


class Exam(Base):
    __tablename__ = "exams"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    owner_key_id: Mapped[str | None] = mapped_column(ForeignKey("api_keys.id"))
    current_version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ExamVersion(Base):
    __tablename__ = "exam_versions"

    exam_id: Mapped[str] = mapped_column(ForeignKey("exams.id"), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    title: Mapped[str] = mapped_column(String(500))
    source: Mapped[str] = mapped_column(Text)  # the rubric as uploaded (YAML or JSON text)
    definition: Mapped[dict[str, Any]] = mapped_column(JSON)  # the validated exam, as JSON
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Submission(Base):
    __tablename__ = "submissions"
    __table_args__ = (
        ForeignKeyConstraint(
            ["exam_id", "exam_version"], ["exam_versions.exam_id", "exam_versions.version"]
        ),
        Index("ix_submissions_status_updated", "status", "updated_at"),
        Index("ix_submissions_exam_student", "exam_id", "student_id"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    exam_id: Mapped[str] = mapped_column(String(64))
    exam_version: Mapped[int] = mapped_column(Integer)
    student_id: Mapped[str] = mapped_column(String(128))
    submitted_by: Mapped[str | None] = mapped_column(ForeignKey("api_keys.id"))
    batch_id: Mapped[str | None] = mapped_column(String(32), index=True)
    answers: Mapped[dict[str, Any]] = mapped_column(JSON)
    # queued -> grading -> graded | failed
    status: Mapped[str] = mapped_column(String(16), default="queued")
    deliveries: Mapped[int] = mapped_column(Integer, default=0)
    claim_token: Mapped[str | None] = mapped_column(String(32))
    lease_until: Mapped[datetime | None] = mapped_column(default=None)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    score: Mapped[float | None] = mapped_column(Float)
    max_score: Mapped[float | None] = mapped_column(Float)
    needs_review: Mapped[bool] = mapped_column(Boolean, default=False)
    error: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    graded_at: Mapped[datetime | None] = mapped_column(default=None)


class IdempotencyKey(Base):
    """A retried POST with the same key returns the original response."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (UniqueConstraint("api_key_id", "key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    api_key_id: Mapped[str] = mapped_column(ForeignKey("api_keys.id"))
    key: Mapped[str] = mapped_column(String(200))
    request_hash: Mapped[str] = mapped_column(String(64))
    response_status: Mapped[int | None] = mapped_column(Integer)
    response_body: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
