"""Response bodies, as pydantic models: the OpenAPI document is generated from them."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from grader.grading.core import CriterionVerdict


class ExamRubric(BaseModel):
    """A rubric in JSON (YAML bodies are accepted with Content-Type application/yaml)."""

    id: str
    title: str
    total_points: float | None = None
    questions: list[dict[str, Any]]


class RubricWarning(BaseModel):
    """A self-test finding: a model answer or graded example the rubric does not grade as
    stated. The rubric is stored anyway."""

    line: int | None
    message: str


class ExamRef(BaseModel):
    id: str
    version: int
    warnings: list[RubricWarning] = []


class ExamOut(BaseModel):
    id: str
    title: str
    version: int
    versions: list[int]
    max_score: float
    exam: dict[str, Any]


class SubmissionAccepted(BaseModel):
    id: str
    status: str


class QuestionOut(BaseModel):
    id: str
    score: float
    max_score: float
    status: str
    needs_review: bool
    criteria: list[CriterionVerdict]  # the grading core's public fields, declared there once
    confidence: float = 1.0  # P(score within a quarter of the points of an instructor's)
    review_reasons: list[str] = []  # why it was flagged, for the instructor


class SubmissionOut(BaseModel):
    id: str
    exam_id: str
    exam_version: int
    student_id: str
    status: str
    created_at: str
    graded_at: str | None
    score: float | None
    max_score: float | None
    needs_review: bool
    questions: list[QuestionOut] | None = None


class SubmissionList(BaseModel):
    items: list[SubmissionOut]


class Ready(BaseModel):
    ready: bool
    database: bool
    broker: bool
    queue: dict[str, Any]
    reasons: list[str] = []  # why not ready, e.g. work waits and no worker takes it
