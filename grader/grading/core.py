"""grade(exam, answers) -> SubmissionResult.

Checkers judge one criterion each; this module decides how their verdicts combine into a
question score, which feedback the student sees, and when a human must review.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields
from typing import Any, Protocol

from grader.checks.base import CheckResult, CheckSpec, Status
from grader.checks.registry import CheckerRegistry
from grader.exams.loader import LoadedExam
from grader.exams.schema import Criterion, Exam, Question
from grader.grading import hostile, review

log = logging.getLogger(__name__)

# Below this confidence (the checker's own) a criterion's verdict is marked needs_review.
# Whether its question goes to a human is decided by `grader.grading.review`.
REVIEW_CONFIDENCE = 0.5
# A hostile answer (see `grader.grading.hostile`) goes to review when it earns more than this
# share of the points; one that earns less has gained nothing from its trick.
HOSTILE_EARNS = 0.25


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
class OverrideStamp:
    """An instructor's decision laid over an automatic score (`grader.batches.regrade`): the
    override's score, reason, author and time, and the automatic score (and, for a criterion,
    the checker's status) it replaced."""

    score: float
    reason: str | None
    author: str | None
    created_at: str | None
    auto_score: float
    auto_status: str | None = None  # criterion overrides only

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        if self.auto_status is None:
            del out["auto_status"]
        return out


# The public fields of a criterion's result, declared once: the API's submission response
# uses this class as its per-criterion schema (grader.api.schemas.QuestionOut).
@dataclass(frozen=True)
class CriterionVerdict:
    """One criterion's verdict: its score out of max_score, feedback, evidence, status and
    calibrated confidence."""

    id: str
    score: float
    max_score: float
    feedback: str
    evidence: str | None
    status: str
    confidence: float  # calibrated: how often a verdict like this one was right on dev data


@dataclass(frozen=True)
class CriterionResult(CriterionVerdict):
    details: dict[str, Any] = field(default_factory=dict)
    kind: str = ""  # the checker that gave the verdict (math, choice, text, keywords, ...)
    # Set when an instructor overrode this criterion: the automatic score and the decision.
    auto_score: float | None = None
    override: OverrideStamp | None = None

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
    # P(score within a quarter of the points of an instructor's), see grading.review
    confidence: float = 1.0
    review_reasons: list[str] = field(default_factory=list)  # instructor-facing, when flagged
    # Set when an override changed this question (its criterion's or its own score).
    auto_score: float | None = None
    override: OverrideStamp | None = None

    def to_dict(self) -> dict[str, Any]:
        """The question's result as stored and served (see `SubmissionResult.to_dict`)."""
        out = _unset_dropped(asdict(self))
        for c in out["criteria"]:
            _unset_dropped(c)
        return out


def _known(cls: type, data: Mapping[str, Any]) -> dict[str, Any]:
    """The fields of `cls` in `data`: results stored by older or newer versions still load.
    An override stamp is read into its type."""
    names = {f.name for f in fields(cls)}
    out = {k: v for k, v in data.items() if k in names}
    if out.get("override") is not None:
        out["override"] = OverrideStamp(**_known(OverrideStamp, out["override"]))
    return out


def _unset_dropped(data: dict[str, Any]) -> dict[str, Any]:
    """`data` (one level of `asdict`) without the override fields of a result no one
    overrode: stored and served results have those keys only when set."""
    for key in ("auto_score", "override"):
        if data.get(key, 0) is None:
            del data[key]
    if isinstance(data.get("override"), dict) and data["override"].get("auto_status") is None:
        data["override"].pop("auto_status", None)
    return data


@dataclass(frozen=True)
class SubmissionResult:
    score: float
    max_score: float
    needs_review: bool
    questions: list[QuestionResult]
    auto_score: float | None = None  # set when an override changed the score

    def to_dict(self) -> dict[str, Any]:
        """The result as stored (a JSON column) and served."""
        out = _unset_dropped(asdict(self))
        out["questions"] = [q.to_dict() for q in self.questions]
        return out

    @staticmethod
    def from_dict(data: Mapping[str, Any]) -> SubmissionResult:
        questions = [
            QuestionResult(
                **{k: v for k, v in _known(QuestionResult, q).items() if k != "criteria"},
                criteria=[CriterionResult(**_known(CriterionResult, c)) for c in q["criteria"]],
            )
            for q in data["questions"]
        ]
        return SubmissionResult(
            score=data["score"],
            max_score=data["max_score"],
            needs_review=data["needs_review"],
            questions=questions,
            auto_score=data.get("auto_score"),
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


def _criterion_result(criterion: Criterion, result: CheckResult) -> CriterionResult:
    status = result.status
    if status == Status.OK and result.confidence < REVIEW_CONFIDENCE:
        status = Status.NEEDS_REVIEW
    model = review.fitted_model()
    confidence = result.confidence
    details = dict(result.details)
    if model is not None and result.confidence > 0.0:
        details["checker_confidence"] = result.confidence
        confidence = model.criterion_confidence(criterion.kind, result.confidence)
    return CriterionResult(
        id=criterion.id,
        score=round(criterion.points * result.fraction, 4),
        max_score=criterion.points,
        feedback=_feedback(criterion, result),
        evidence=result.evidence,
        status=str(status),
        confidence=round(confidence, 4),
        details=details,
        kind=criterion.kind,
    )


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, Mapping):
        for v in value.values():
            yield from _strings(v)
    elif isinstance(value, list | tuple):
        for v in value:
            yield from _strings(v)


def question_texts(exam: Exam, question: Question) -> hostile.QuestionTexts:
    """The exam's own words about a question, against which hostile answers are recognised."""
    own = [question.prompt, question.model_answer]
    for c in question.criteria:
        own += [c.description, *_strings(c.check), *_strings(c.fallback or {})]
        own += [e.answer for e in c.examples if e.score >= 0.5]
    others = [(q.id, q.model_answer) for q in exam.questions if q.id != question.id]
    return hostile.QuestionTexts(
        prompt=question.prompt,
        model_answer=question.model_answer,
        rubric_text=" ".join(own),
        other_model_answers=[(qid, m) for qid, m in others if m.strip()],
    )


def hostile_families(
    loaded: LoadedExam,
    question: Question,
    criteria: Sequence[CriterionResult],
    score: float,
    answer: str,
) -> dict[str, str]:
    """The hostile families an answered question shows that matter (see `HOSTILE_EARNS`)."""
    families = hostile.families(answer, question_texts(loaded.exam, question))
    for c in criteria:  # families only a checker can see (every option named, guesses)
        if c.details.get("hostile") == "all_options":
            families["all_options"] = hostile.REASONS["all_options"]
        elif review.guessed(c.details):
            families["padding"] = hostile.REASONS["padding"]
    pred = score / question.points if question.points else 0.0
    if pred <= HOSTILE_EARNS:  # the trick earned nothing; no one need look
        families = {k: v for k, v in families.items() if k == "addresses_grader"}
    return families


def review_views(
    question: Question, criteria: Sequence[CriterionResult]
) -> list[review.CriterionView]:
    return [
        review.CriterionView(
            id=c.id,
            kind=c.kind,
            weight=c.max_score / question.points if question.points else 0.0,
            fraction=c.score / c.max_score if c.max_score else 0.0,
            confidence=float(c.details.get("checker_confidence", c.confidence)),
            status=c.status,
            details=c.details,
        )
        for c in criteria
    ]


def _assess(
    loaded: LoadedExam,
    question: Question,
    criteria: list[CriterionResult],
    score: float,
    answer: str,
) -> review.Assessment:
    pred = score / question.points if question.points else 0.0
    families = hostile_families(loaded, question, criteria, score, answer)
    views = review_views(question, criteria)
    return review.assess(views, pred, answer, families, review.fitted_model())


def _unanswered(question: Question) -> QuestionResult:
    criteria = [
        CriterionResult(
            c.id, 0.0, c.points, "No answer was given.", None, str(Status.OK), 1.0, kind=c.kind
        )
        for c in question.criteria
    ]
    return QuestionResult(question.id, 0.0, question.points, "unanswered", False, criteria)


def combine_criteria(rule: str, scores: Iterable[float], points: float) -> float:
    """The one rule for a question's score from its criteria' scores: their sum (rule "sum")
    or their best (rule "max"), within [0, the question's points], to 4 decimals. Grading
    and overrides (which recompute a question after a criterion is overridden) both use it."""
    values = [float(s) for s in scores]
    total = max(values, default=0.0) if rule == "max" else sum(values)
    return round(min(max(total, 0.0), float(points)), 4)


def _combine(question: Question, criteria: list[CriterionResult]) -> float:
    return combine_criteria(question.combine, (c.score for c in criteria), question.points)


def check_criterion(
    loaded: LoadedExam, qid: str, criterion: Criterion, answer: str, runner: CheckRunner
) -> CheckResult:
    """The criterion's verdict as grading gives it: the check, then its fallback if better."""
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
        _criterion_result(c, check_criterion(loaded, question.id, c, answer, runner))
        for c in question.criteria
    ]
    score = _combine(question, criteria)
    assessment = _assess(loaded, question, criteria, score, answer)
    return QuestionResult(
        id=question.id,
        score=score,
        max_score=question.points,
        status="answered",
        needs_review=assessment.needs_review,
        criteria=criteria,
        confidence=assessment.confidence,
        review_reasons=assessment.reasons,
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
