"""Combining criteria into question scores, feedback choice, review flags."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from grader.checks import simple_registry
from grader.checks.base import BaseChecker, CheckResult, CheckSpec, Status
from grader.exams import load_exam
from grader.grading import DirectRunner, SubmissionResult, grade, grade_many


def test_full_partial_and_unanswered(demo_rubric: str) -> None:
    loaded = load_exam(demo_rubric, simple_registry())
    runner = DirectRunner(simple_registry())
    result = grade(loaded, {"q1": "ReLU", "q2": "Network A has more"}, runner)
    assert result.max_score == 5
    assert result.score == 4  # q1 2/2, q2 2/3 (no bias mention)
    q1, q2 = result.questions
    assert q1.criteria[0].feedback == "Right: ReLU."
    assert q2.score == 2 and q2.criteria[1].score == 0
    empty = grade(loaded, {"q1": "   "}, runner)
    assert empty.score == 0
    assert [q.status for q in empty.questions] == ["unanswered", "unanswered"]


def test_result_round_trips_through_json(demo_rubric: str) -> None:
    loaded = load_exam(demo_rubric, simple_registry())
    result = grade(loaded, {"q1": "relu", "q2": "b has more"}, DirectRunner(simple_registry()))
    assert SubmissionResult.from_dict(result.to_dict()) == result


class _Boom(CheckSpec):
    pass


class BoomChecker(BaseChecker[_Boom]):
    kind: ClassVar[str] = "boom"
    spec_model: ClassVar[type[CheckSpec]] = _Boom

    def check(self, spec: _Boom, answer: str) -> CheckResult:
        raise RuntimeError("checker bug")


class UnsureChecker(BaseChecker[_Boom]):
    kind: ClassVar[str] = "unsure"
    spec_model: ClassVar[type[CheckSpec]] = _Boom
    warmed: ClassVar[list[int]] = []

    def check(self, spec: _Boom, answer: str) -> CheckResult:
        return CheckResult(0.5, feedback="maybe", confidence=0.2)

    def warm(self, items: Sequence[tuple[_Boom, str]]) -> None:
        self.warmed.append(len(items))


RUBRIC = """
id: t
title: T
questions:
  - id: q
    points: 2
    criteria:
      - {id: a, points: 1, check: {kind: boom}}
      - {id: b, points: 1, check: {kind: unsure}}
"""


def test_a_crashing_checker_means_review_not_wrong() -> None:
    registry = simple_registry()
    registry.register(BoomChecker())
    registry.register(UnsureChecker())
    loaded = load_exam(RUBRIC, registry)
    results = grade_many(loaded, [{"q": "x"}, {"q": "y"}, {}], DirectRunner(registry))
    assert UnsureChecker.warmed == [2]  # both answered sheets warmed in one call
    a, b = results[0].questions[0].criteria
    assert a.status == Status.NEEDS_REVIEW and "review" in a.feedback
    assert b.status == Status.NEEDS_REVIEW  # low confidence
    assert results[0].needs_review and not results[2].needs_review


def test_registry_is_fresh_and_rejects_duplicates() -> None:
    import pytest

    first, second = simple_registry(), simple_registry()
    first.register(BoomChecker())
    assert "boom" in first and "boom" not in second
    with pytest.raises(ValueError, match="twice"):
        first.register(BoomChecker())


FALLBACK_RUBRIC = """
id: fb
title: Fallback
questions:
  - id: q
    points: 2
    criteria:
      - id: total
        points: 2
        check: {kind: regex, pattern: "100D \\\\+ 101K \\\\+ 10200"}
        fallback: {kind: keywords, groups: [{any_of: ["ten thousand two hundred"]}]}
        feedback: {missed: "Give the total."}
"""


def test_a_fallback_check_can_only_raise_the_verdict() -> None:
    registry = simple_registry()
    loaded = load_exam(FALLBACK_RUBRIC, registry)
    runner = DirectRunner(registry)
    assert grade(loaded, {"q": "100D + 101K + 10200"}, runner).score == 2
    assert grade(loaded, {"q": "ten thousand two hundred plus the D and K terms"}, runner).score == 2
    missed = grade(loaded, {"q": "no idea"}, runner).questions[0].criteria[0]
    assert missed.score == 0 and missed.feedback == "Give the total."


def test_fallback_errors_have_lines() -> None:
    import pytest

    from grader.exams import RubricInvalid

    broken = FALLBACK_RUBRIC.replace("fallback: {kind: keywords", "fallback: {kind: nope")
    with pytest.raises(RubricInvalid, match="line 11.*unknown checker kind 'nope'"):
        load_exam(broken, simple_registry())
