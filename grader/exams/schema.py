"""The rubric file format: exam -> questions -> criteria, each criterion checked by a checker.

The `check:` block of a criterion is validated by the named checker's own spec model when the
exam is loaded (see `grader.exams.loader`), so a rubric error is reported before grading.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from grader.checks.base import reject_duplicate_ids

ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Feedback(_Model):
    """Texts shown to the student for a criterion."""

    met: str = ""
    missed: str = ""
    partial: str = ""


class GradedExample(_Model):
    """An answer the instructor graded, used by checkers that calibrate (text)."""

    answer: str
    score: float = Field(ge=0, le=1, description="Fraction of the criterion's points.")


class Criterion(_Model):
    id: str = Field(pattern=ID_PATTERN)
    points: float = Field(gt=0)
    description: str = ""
    check: dict[str, Any] = Field(description="`kind:` names the checker; the rest is its spec.")
    fallback: dict[str, Any] | None = Field(
        default=None,
        description="A second check for answers the first cannot credit fully (e.g. a math "
        "check first, keywords for a total written in words); the better verdict counts.",
    )
    feedback: Feedback = Feedback()
    examples: list[GradedExample] = Field(default_factory=list)

    @model_validator(mode="after")
    def _has_kind(self) -> Criterion:
        for name, block in (("check", self.check), ("fallback", self.fallback)):
            if block is None:
                continue
            kind = block.get("kind")
            if not isinstance(kind, str) or not kind:
                raise ValueError(f"{name}: needs a `kind:` naming the checker")
        return self

    @property
    def kind(self) -> str:
        return str(self.check["kind"])

    @property
    def spec_fields(self) -> dict[str, Any]:
        return {k: v for k, v in self.check.items() if k != "kind"}


class Question(_Model):
    id: str = Field(pattern=ID_PATTERN)
    prompt: str = ""
    points: float = Field(gt=0)
    model_answer: str = ""
    combine: Literal["sum", "max"] = Field(
        default="sum",
        description="sum: criteria points add up to the question's points; "
        "max: the best single criterion counts (alternatives).",
    )
    criteria: list[Criterion] = Field(min_length=1)

    @model_validator(mode="after")
    def _consistent(self) -> Question:
        reject_duplicate_ids([c.id for c in self.criteria], "criterion")
        total = sum(c.points for c in self.criteria)
        if self.combine == "sum" and abs(total - self.points) > 1e-9:
            raise ValueError(
                f"criteria points add up to {total:g}, but the question is worth {self.points:g}"
            )
        if self.combine == "max" and any(c.points > self.points + 1e-9 for c in self.criteria):
            raise ValueError("with combine: max no criterion may be worth more than the question")
        return self


class Exam(_Model):
    id: str = Field(pattern=ID_PATTERN)
    title: str
    total_points: float | None = Field(default=None, gt=0)
    questions: list[Question] = Field(min_length=1)

    @model_validator(mode="after")
    def _consistent(self) -> Exam:
        reject_duplicate_ids([q.id for q in self.questions], "question")
        total = sum(q.points for q in self.questions)
        if self.total_points is not None and abs(total - self.total_points) > 1e-9:
            raise ValueError(
                f"questions add up to {total:g} points, but total_points is {self.total_points:g}"
            )
        return self

    @property
    def max_score(self) -> float:
        return sum(q.points for q in self.questions)

    def question(self, qid: str) -> Question:
        for q in self.questions:
            if q.id == qid:
                return q
        raise KeyError(qid)
