"""Rubric/exam schema and loading."""

from grader.exams.loader import LoadedExam, RubricError, RubricInvalid, load_exam, load_exam_json
from grader.exams.schema import Criterion, Exam, Feedback, GradedExample, Question

__all__ = [
    "Criterion",
    "Exam",
    "Feedback",
    "GradedExample",
    "LoadedExam",
    "Question",
    "RubricError",
    "RubricInvalid",
    "load_exam",
    "load_exam_json",
]
