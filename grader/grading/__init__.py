"""Grade a whole answer sheet: run every criterion's checker, combine, write feedback."""

from grader.grading.core import (
    CheckRunner,
    CriterionResult,
    DirectRunner,
    QuestionResult,
    SubmissionResult,
    grade,
    grade_many,
)

__all__ = [
    "CheckRunner",
    "CriterionResult",
    "DirectRunner",
    "QuestionResult",
    "SubmissionResult",
    "grade",
    "grade_many",
]
