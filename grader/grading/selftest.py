"""A rubric tests itself, like STACK's question tests.

Every question's `model_answer` is graded with the rubric and must earn full marks; every
criterion's graded `examples` are checked by that criterion and must earn their stated
score. Each case that does not is a warning (with the line of the model answer or example),
not an error: the rubric still loads, and the instructor decides whether the rubric or the
example is wrong.

Tolerances (the same conventions as the evaluation figures):
- a model answer may lose at most `MODEL_ANSWER_LOSS` of its question's points (5 %, the
  issue's bar for model answers on new exams), so rounding in a text criterion does not warn
  but a criterion the model answer misses does;
- a graded example may differ from its stated score by at most `EXAMPLE_TOLERANCE` of the
  criterion (0.25, the "within 0.25" band `grader eval exam` reports).

All answers are handed to batch-friendly checkers first (one `warm` per checker kind), so a
self-test costs one encoder batch, not one per answer.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from grader.checks.base import CheckSpec, Status
from grader.exams.loader import LoadedExam
from grader.exams.schema import Criterion, Question
from grader.grading.core import CheckRunner, check_criterion, grade_question

MODEL_ANSWER_LOSS = 0.05
EXAMPLE_TOLERANCE = 0.25
_QUOTE = 60


@dataclass(frozen=True, slots=True)
class SelfTestWarning:
    """One case where the rubric disagrees with itself."""

    line: int | None
    message: str
    question: str
    criterion: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"line": self.line, "message": self.message}

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}" if self.line else self.message


@dataclass(frozen=True, slots=True)
class _Example:
    qi: int
    ci: int
    index: int
    answer: str
    score: float
    loc: tuple[str | int, ...]


def _short(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= _QUOTE else flat[: _QUOTE - 1] + "…"


def _examples(loaded: LoadedExam) -> list[_Example]:
    """The graded examples of every criterion: `examples:` of the criterion, else those
    written inside its `check:` (text criteria)."""
    found: list[_Example] = []
    for qi, question in enumerate(loaded.exam.questions):
        for ci, criterion in enumerate(question.criteria):
            base: tuple[str | int, ...] = ("questions", qi, "criteria", ci)
            if criterion.examples:
                items = [(e.answer, e.score) for e in criterion.examples]
                where: tuple[str | int, ...] = (*base, "examples")
            else:
                spec_examples = getattr(loaded.spec(question.id, criterion.id), "examples", None)
                items = [
                    (str(getattr(e, "answer", "")), float(getattr(e, "score", 0.0)))
                    for e in spec_examples or []
                ]
                where = (*base, "check", "examples")
            for i, (answer, score) in enumerate(items):
                found.append(_Example(qi, ci, i, answer, score, (*where, i)))
    return found


def _warm(loaded: LoadedExam, examples: Sequence[_Example], runner: CheckRunner) -> None:
    by_kind: dict[str, list[tuple[CheckSpec, str]]] = {}

    def add(question: Question, criterion: Criterion, answer: str) -> None:
        if not answer.strip():
            return
        by_kind.setdefault(criterion.kind, []).append(
            (loaded.spec(question.id, criterion.id), answer)
        )
        fallback = loaded.fallback(question.id, criterion.id)
        if fallback is not None:
            by_kind.setdefault(fallback[0], []).append((fallback[1], answer))

    for question in loaded.exam.questions:
        for criterion in question.criteria:
            add(question, criterion, question.model_answer)
    for ex in examples:
        question = loaded.exam.questions[ex.qi]
        add(question, question.criteria[ex.ci], ex.answer)
    for kind, items in by_kind.items():
        runner.warm(kind, items)


def _model_answer_warning(
    loaded: LoadedExam, qi: int, question: Question, runner: CheckRunner
) -> SelfTestWarning | None:
    result = grade_question(loaded, question, question.model_answer, runner)
    if result.score >= question.points * (1 - MODEL_ANSWER_LOSS) - 1e-9:
        return None
    missed = []
    for c in result.criteria:
        if c.score < c.max_score - 1e-9 or c.needs_review:
            why = "sent to review" if c.needs_review else _short(c.feedback)
            missed.append(f"{c.id} {c.score:g}/{c.max_score:g} ({why})")
    message = f"{question.id}: the model answer scores {result.score:g} of {question.points:g}" + (
        ": " + "; ".join(missed) if missed else ""
    )
    line = loaded.line("questions", qi, "model_answer") or loaded.line("questions", qi)
    return SelfTestWarning(line, message, question.id)


def self_test(
    loaded: LoadedExam, runner: CheckRunner, *, stop: Callable[[], bool] | None = None
) -> list[SelfTestWarning]:
    """Grade the rubric's model answers and graded examples; warn where they disagree.

    `stop` is asked before each case; once it says yes, the remaining cases are skipped and
    one warning says how many (a caller with a time budget, e.g. an upload, passes it)."""
    examples = _examples(loaded)
    _warm(loaded, examples, runner)
    questions = [(qi, q) for qi, q in enumerate(loaded.exam.questions) if q.model_answer.strip()]
    cases = [ex for ex in examples if ex.answer.strip()]  # blanks are 0 by rule, never checked
    total, done = len(questions) + len(cases), 0
    warnings: list[SelfTestWarning] = []
    for qi, question in questions:
        if stop is not None and stop():
            break
        done += 1
        warning = _model_answer_warning(loaded, qi, question, runner)
        if warning is not None:
            warnings.append(warning)
    for ex in cases:
        if done < len(questions) or (stop is not None and stop()):
            break
        done += 1
        warning = _example_warning(loaded, ex, runner)
        if warning is not None:
            warnings.append(warning)
    warnings.sort(key=lambda w: w.line or 0)
    if done < total:
        warnings.append(
            SelfTestWarning(
                None,
                f"the self-test stopped early: {total - done} of {total} model answers and "
                "graded examples were not graded (`grader exams check FILE` grades them all)",
                "",
            )
        )
    return warnings


def _example_warning(
    loaded: LoadedExam, ex: _Example, runner: CheckRunner
) -> SelfTestWarning | None:
    question = loaded.exam.questions[ex.qi]
    criterion = question.criteria[ex.ci]
    result = check_criterion(loaded, question.id, criterion, ex.answer, runner)
    if abs(result.fraction - ex.score) <= EXAMPLE_TOLERANCE + 1e-9:
        return None
    review = " (sent to review)" if result.status == Status.NEEDS_REVIEW else ""
    message = (
        f"{question.id}/{criterion.id}: graded example {ex.index + 1} "
        f"({_short(ex.answer)!r}) scores {result.fraction:.2f}{review}, "
        f"the rubric says {ex.score:.2f}"
    )
    return SelfTestWarning(loaded.line(*ex.loc), message, question.id, criterion.id)
