"""One home per rule: combining criteria, student ids, and the time format the API serves."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from grader.batches.regrade import apply_overrides
from grader.grading.core import SubmissionResult, combine_criteria
from grader.services.ids import MAX_STUDENT_ID_CHARS, is_student_id
from grader.store.times import iso
from tests.unit.batch_fixtures import crit, question, result


def test_combine_sums_or_takes_the_best_within_the_points() -> None:
    assert combine_criteria("sum", [1.0, 0.5, 0.25], 2.0) == 1.75
    assert combine_criteria("sum", [1.5, 1.5], 2.0) == 2.0
    assert combine_criteria("max", [0.5, 1.5, 1.0], 2.0) == 1.5
    assert combine_criteria("max", [], 2.0) == 0.0
    assert combine_criteria("sum", [1 / 3, 1 / 3], 2.0) == 0.6667


def test_an_override_recombines_its_question_by_the_same_rule() -> None:
    auto = result(question("q", crit("x", 1.0, 2.0), crit("y", 0.5, 2.0)))
    override = {"question_id": "q", "criterion_id": "y", "score": 1.5, "reason": "r"}
    for rule in ("sum", "max"):
        effective, _ = apply_overrides(SubmissionResult.from_dict(auto), [override], {"q": rule})
        assert effective.questions[0].score == combine_criteria(rule, [1.0, 1.5], 4.0)


def test_student_ids() -> None:
    assert is_student_id("s.m@uni+1_a-b")
    assert is_student_id("x" * MAX_STUDENT_ID_CHARS)
    assert not is_student_id("x" * (MAX_STUDENT_ID_CHARS + 1))
    assert not is_student_id("")
    assert not is_student_id("a b")
    assert not is_student_id("a\n")  # re.match with $ let a final newline through


def test_times_are_served_in_utc_with_an_offset() -> None:
    naive = datetime(2026, 11, 25, 21, 0, 0, 123456)
    assert iso(naive) == "2026-11-25T21:00:00.123456+00:00"
    berlin = datetime(2026, 11, 25, 22, 0, tzinfo=timezone(timedelta(hours=1)))
    assert iso(berlin) == "2026-11-25T21:00:00+00:00"
    assert iso(datetime(2026, 1, 1, tzinfo=UTC)) == "2026-01-01T00:00:00+00:00"
    assert iso(None) is None
