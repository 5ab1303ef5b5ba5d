"""grade(exam, answers) -> SubmissionResult.

Checkers judge one criterion each; this module decides how their verdicts combine into a
question score, which feedback the student sees, and when a human must review.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

from grader.checks.base import CheckResult, CheckSpec, Status
from grader.checks.registry import CheckerRegistry
from grader.exams.loader import LoadedExam
from grader.exams.schema import Criterion, Question

log = logging.getLogger(__name__)

# Below this confidence a criterion's verdict is sent to a human.
REVIEW_CONFIDENCE = 0.5
# A question goes to a human when its unsure criteria could move its score by at least this
# share of its points, or when any criterion could not be checked at all (timeout, error).
REVIEW_SHARE = 0.25


class CheckRunner(Protocol):
    """Runs one checker on one answer; a sandboxing runner may run it in a child process."""

    def run(self, kind: str, spec: CheckSpec, answer: str) -> CheckResult: ...

    def warm(self, kind: str, items: Sequence[tuple[CheckSpec, str]]) -> None: ...


class DirectRunner:
    """Runs checkers in this process. A checker that raises gets `needs_review`, never 'wrong'."""

    def __init__(self, registry: CheckerRegistry) -> None:
        self.registry = registry

    def run(self, kind: str, spec: CheckSpec, answer: str) -> CheckResult:
        try:
            result: CheckResult = self.registry.get(kind).check(spec, answer)
        except Exception as exc:  # noqa: BLE001 - one broken checker must not lose the sheet
            log.exception("checker %s failed", kind)
            return CheckResult(
                0.0,
                feedback="This part could not be checked automatically; a grader will review it.",
                confidence=0.0,
                status=Status.NEEDS_REVIEW,
                details={"error": type(exc).__name__},
            )
        return result

    def warm(self, kind: str, items: Sequence[tuple[CheckSpec, str]]) -> None:
        warm = getattr(self.registry.get(kind), "warm", None)
        if callable(warm) and items:
            try:
                warm(items)
            except Exception:  # noqa: BLE001 - warming is an optimisation only
                log.exception("warming checker %s failed", kind)


@dataclass(frozen=True)
class CriterionResult:
    id: str
    score: float
    max_score: float
    feedback: str
    evidence: str | None
    status: str
    confidence: float
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def needs_review(self) -> bool:
        return self.status == Status.NEEDS_REVIEW


@dataclass(frozen=True)
class QuestionResult:
    id: str
    score: float
    max_score: float
    status: str  # answered | unanswered
    needs_review: bool
    criteria: list[CriterionResult]


@dataclass(frozen=True)
class SubmissionResult:
    score: float
    max_score: float
    needs_review: bool
    questions: list[QuestionResult]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @staticmethod
    def from_dict(data: Mapping[str, Any]) -> SubmissionResult:
        questions = [
            QuestionResult(
                **{k: v for k, v in q.items() if k != "criteria"},
                criteria=[CriterionResult(**c) for c in q["criteria"]],
            )
            for q in data["questions"]
        ]
        return SubmissionResult(
            score=data["score"],
            max_score=data["max_score"],
            needs_review=data["needs_review"],
            questions=questions,
        )


def _feedback(criterion: Criterion, result: CheckResult) -> str:
    """The instructor's text for the outcome, then what the checker found (a named mistake,
    a missing concept), so neither hides the other."""
    texts = criterion.feedback
    if result.status == Status.NEEDS_REVIEW:
        return result.feedback or "A grader will review this part."
    if result.fraction >= 1.0:
        parts = [texts.met or result.feedback or "Correct."]
    elif result.fraction > 0.0:
        parts = [texts.partial or texts.missed, result.feedback]
    else:
        parts = [texts.missed, result.feedback]
    unique = [p.strip() for p in dict.fromkeys(parts) if p and p.strip()]
    if not unique:
        return "Partly correct." if result.fraction > 0 else "Not met."
    return " ".join(unique)


def _question_needs_review(question: Question, criteria: list[CriterionResult]) -> bool:
    unsure = [c for c in criteria if c.needs_review]
    if any(c.confidence <= 0.0 for c in unsure):
        return True  # could not be checked at all
    return sum(c.max_score for c in unsure) >= REVIEW_SHARE * question.points - 1e-9


def _criterion_result(criterion: Criterion, result: CheckResult) -> CriterionResult:
    status = result.status
    if status == Status.OK and result.confidence < REVIEW_CONFIDENCE:
        status = Status.NEEDS_REVIEW
    return CriterionResult(
        id=criterion.id,
        score=round(criterion.points * result.fraction, 4),
        max_score=criterion.points,
        feedback=_feedback(criterion, result),
        evidence=result.evidence,
        status=str(status),
        confidence=round(result.confidence, 4),
        details=dict(result.details),
    )


def _unanswered(question: Question) -> QuestionResult:
    criteria = [
        CriterionResult(c.id, 0.0, c.points, "No answer was given.", None, str(Status.OK), 1.0)
        for c in question.criteria
    ]
    return QuestionResult(question.id, 0.0, question.points, "unanswered", False, criteria)


def _combine(question: Question, criteria: list[CriterionResult]) -> float:
    if question.combine == "max":
        score = max((c.score for c in criteria), default=0.0)
    else:
        score = sum(c.score for c in criteria)
    return round(min(score, question.points), 4)


def _check(
    loaded: LoadedExam, qid: str, criterion: Criterion, answer: str, runner: CheckRunner
) -> CheckResult:
    result = runner.run(criterion.kind, loaded.spec(qid, criterion.id), answer)
    fallback = loaded.fallback(qid, criterion.id)
    if fallback is None or result.fraction >= 1.0:
        return result
    alternative = runner.run(fallback[0], fallback[1], answer)
    if alternative.status == Status.OK and alternative.fraction > result.fraction:
        return alternative
    return result


def grade_question(
    loaded: LoadedExam, question: Question, answer: str | None, runner: CheckRunner
) -> QuestionResult:
    if answer is None or not answer.strip():
        return _unanswered(question)
    criteria = [
        _criterion_result(c, _check(loaded, question.id, c, answer, runner))
        for c in question.criteria
    ]
    return QuestionResult(
        id=question.id,
        score=_combine(question, criteria),
        max_score=question.points,
        status="answered",
        needs_review=_question_needs_review(question, criteria),
        criteria=criteria,
    )


def grade(loaded: LoadedExam, answers: Mapping[str, str], runner: CheckRunner) -> SubmissionResult:
    """Grade one answer sheet. Questions without an answer score 0 with feedback saying so."""
    questions = [
        grade_question(loaded, q, answers.get(q.id), runner) for q in loaded.exam.questions
    ]
    return SubmissionResult(
        score=round(sum(q.score for q in questions), 4),
        max_score=loaded.exam.max_score,
        needs_review=any(q.needs_review for q in questions),
        questions=questions,
    )


def grade_many(
    loaded: LoadedExam, sheets: Sequence[Mapping[str, str]], runner: CheckRunner
) -> list[SubmissionResult]:
    """Grade many sheets, first letting batch-friendly checkers see all their answers at once."""
    by_kind: dict[str, list[tuple[CheckSpec, str]]] = {}
    for sheet in sheets:
        for question in loaded.exam.questions:
            answer = sheet.get(question.id)
            if not answer or not answer.strip():
                continue
            for c in question.criteria:
                by_kind.setdefault(c.kind, []).append((loaded.spec(question.id, c.id), answer))
                fallback = loaded.fallback(question.id, c.id)
                if fallback is not None:
                    by_kind.setdefault(fallback[0], []).append((fallback[1], answer))
    for kind, items in by_kind.items():
        runner.warm(kind, items)
    return [grade(loaded, sheet, runner) for sheet in sheets]
