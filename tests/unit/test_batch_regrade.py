"""Overrides laid over automatic results, and the dry-run diff of a regrade."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from grader.batches.regrade import RegradeDiff, apply_overrides, diff_results
from grader.grading import SubmissionResult
from tests.unit.batch_fixtures import crit, question, result, simple


def _apply(
    auto: dict[str, Any],
    overrides: Sequence[Mapping[str, Any]],
    combine: Mapping[str, str] | None = None,
) -> tuple[dict[str, Any], list[Mapping[str, Any]]]:
    """apply_overrides on the typed result, read back as the dict stored and served."""
    effective, lost = apply_overrides(SubmissionResult.from_dict(auto), overrides, combine)
    return effective.to_dict(), lost


def _diff(
    old: Mapping[str, dict[str, Any] | None],
    new: Mapping[str, dict[str, Any] | None],
    labels: Mapping[str, str] | None = None,
) -> RegradeDiff:
    def typed(results: Mapping[str, dict[str, Any] | None]) -> dict[str, SubmissionResult | None]:
        return {k: None if v is None else SubmissionResult.from_dict(v) for k, v in results.items()}

    return diff_results(typed(old), typed(new), labels)


def _ov(qid, cid, score, at="2026-11-25T10:00:00", who="ta"):
    return {
        "question_id": qid,
        "criterion_id": cid,
        "score": score,
        "reason": "checked by hand",
        "author": who,
        "created_at": at,
    }


def test_criterion_override_keeps_the_automatic_score_beside_it():
    auto = simple(2, 1, 0, review=True)
    eff, orphans = _apply(auto, [_ov("q2", "b2", 1.0)])
    assert orphans == []
    b2 = eff["questions"][1]["criteria"][1]
    assert (b2["score"], b2["auto_score"], b2["status"]) == (1.0, 0.0, "ok")
    assert b2["override"]["auto_status"] == "needs_review" and b2["override"]["author"] == "ta"
    assert eff["questions"][1]["score"] == 2.0 and eff["questions"][1]["auto_score"] == 1.0
    assert (eff["score"], eff["auto_score"], eff["needs_review"]) == (4.0, 3.0, False)
    assert auto["score"] == 3.0 and "override" not in auto["questions"][1]["criteria"][1]


def test_question_override_wins_and_latest_override_wins():
    auto = simple(2, 1, 1)
    overrides = [
        _ov("q1", None, 0.5, at="2026-11-25T12:00"),
        _ov("q1", None, 1.0, at="2026-11-25T11:00"),
        _ov("q1", "a", 2.0),
    ]
    eff, _ = _apply(auto, overrides)
    q1 = eff["questions"][0]
    assert q1["score"] == 0.5 and q1["auto_score"] == 2.0  # automatic, not the criterion override
    assert eff["score"] == 2.5


def test_override_scores_are_clamped_and_combine_max_respected():
    auto = result(question("q", crit("x", 1.0, 2.0), crit("y", 0.0, 2.0)))
    auto["questions"][0]["max_score"] = 2.0
    auto["max_score"] = 2.0
    eff, _ = _apply(auto, [_ov("q", "y", 5.0)], combine={"q": "max"})
    assert eff["questions"][0]["criteria"][1]["score"] == 2.0
    assert eff["questions"][0]["score"] == 2.0


def test_orphaned_overrides_are_reported_not_applied():
    eff, orphans = _apply(simple(1, 1, 1), [_ov("q9", None, 1), _ov("q1", "zz", 1)])
    assert len(orphans) == 2 and eff["score"] == 3.0 and "auto_score" not in eff


def test_diff_lists_who_changes_and_by_how_much():
    old = {"a": simple(2, 1, 1), "b": simple(1, 0, 0), "c": simple(0, 0, 0)}
    new = {"a": simple(2, 1, 1), "b": simple(2, 1, 0), "c": simple(0, 0, 0, review=True)}
    diff = _diff(old, new, labels={"a": "s1", "b": "s2", "c": "s3"})
    assert [(c.submission_id, c.student_id, c.delta) for c in diff.changes] == [
        ("b", "s2", 2.0),
        ("c", "s3", 0.0),
    ]
    assert [(q.id, q.old, q.new, q.delta) for q in diff.changes[0].questions] == [
        ("q1", 1.0, 2.0, 1.0),
        ("q2", 0.0, 1.0, 1.0),
    ]
    assert diff.changes[1].new_needs_review is True
    s = diff.summary
    assert (s["n"], s["changed"], s["increased"], s["decreased"], s["unchanged"]) == (3, 2, 1, 0, 2)
    assert s["mean_delta"] == round(2 / 3, 4) and s["max_increase"] == 2.0


def test_overrides_laid_over_the_regrade_survive_it() -> None:
    # As services.regrades does: the sheet's current (overridden) result against the new
    # automatic result with the same overrides laid over it. The instructor gave q1 full
    # marks by hand; the new rubric version is stricter on q1 and more lenient on q2. The
    # override holds, so only q2 moves.
    overrides = [_ov("q1", "a", 2.0)]
    old, _ = _apply(simple(0, 0, 0), overrides)
    new, lost = _apply(simple(0, 1, 1), overrides)
    diff = _diff({"a": old}, {"a": new}, labels={"a": "s1"})
    (change,) = diff.changes
    assert (change.old_score, change.new_score, change.delta) == (2.0, 4.0, 2.0)
    assert [q.id for q in change.questions] == ["q2"]
    assert lost == []


def test_overrides_that_no_longer_fit_the_regrade_are_returned_not_applied() -> None:
    old, _ = _apply(simple(0, 0, 0), [_ov("q2", "b1", 1.0)])
    new_version = result(question("q1", crit("a", 2.0, 2.0)))
    new, lost = _apply(new_version, [_ov("q2", "b1", 1.0)])
    assert [(o["question_id"], o["criterion_id"]) for o in lost] == [("q2", "b1")]
    diff = _diff({"a": old}, {"a": new})
    assert diff.changes[0].questions[-1].id == "q2" and diff.changes[0].questions[-1].new is None
    assert diff.to_dict()["summary"]["changed"] == 1


def test_diff_with_ungraded_sides():
    diff = _diff({"a": None}, {"a": simple(1, 0, 0), "b": simple(0, 0, 0)})
    assert diff.summary["n"] == 2
    assert {c.submission_id for c in diff.changes} == {"a", "b"}


def test_an_overridden_result_is_stored_and_read_back_whole() -> None:
    auto = SubmissionResult.from_dict(simple(2, 1, 0, review=True))
    overrides = [_ov("q2", "b2", 1.0), _ov("q1", None, 1.5)]
    effective, _ = apply_overrides(auto, overrides)
    stored = effective.to_dict()
    assert SubmissionResult.from_dict(stored) == effective
    assert stored["questions"][0]["override"]["auto_score"] == 2.0
    assert "auto_status" not in stored["questions"][0]["override"]  # a question has none
    assert "override" not in stored["questions"][0]["criteria"][0]
    assert "auto_score" not in auto.to_dict() and "override" not in auto.to_dict()["questions"][0]
