"""Manual overrides on top of automatic results, and the diff a regrade would make.

Pure functions over `SubmissionResult`s (the override is recorded in the result's
`auto_score` and `override` fields). An override never replaces the
automatic result: it is laid over it, and the automatic score stays beside the effective one
(`auto_score`), so a regrade under a new rubric version recomputes the automatic part and lays
the same overrides over it again.

An override is a mapping::

    {"question_id": "q1", "criterion_id": "c2" | None, "score": 1.5,
     "reason": "...", "author": "...", "created_at": "2026-11-25T21:00:00+00:00"}

`criterion_id: None` overrides the whole question's score. For one target the latest override
wins (by `created_at`, then by list order); the older ones stay in the audit trail.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from grader.grading.core import OverrideStamp, QuestionResult, SubmissionResult, combine_criteria

Override = Mapping[str, Any]
_EPS = 1e-6


def _clamp(value: float, hi: float) -> float:
    return round(min(max(float(value), 0.0), float(hi)), 4)


def _latest(overrides: Sequence[Override]) -> dict[tuple[str, str | None], Override]:
    ordered = sorted(enumerate(overrides), key=lambda p: (str(p[1].get("created_at") or ""), p[0]))
    return {(str(o["question_id"]), o.get("criterion_id")): o for _, o in ordered}


def _stamp(override: Override, auto_score: float, auto_status: str | None = None) -> OverrideStamp:
    return OverrideStamp(
        score=override["score"],  # as the audit trail has it (clamped in the result)
        reason=override.get("reason"),
        author=override.get("author"),
        created_at=override.get("created_at"),
        auto_score=auto_score,
        auto_status=auto_status,
    )


def _override_criterion(
    question: QuestionResult, cid: str, override: Override
) -> QuestionResult | None:
    crit = next((c for c in question.criteria if c.id == cid), None)
    if crit is None:
        return None
    decided = replace(
        crit,
        override=_stamp(override, crit.score, crit.status),
        auto_score=crit.score,
        score=_clamp(override["score"], crit.max_score),
        status="ok",  # a human decided: no longer waiting for review
    )
    return replace(question, criteria=[decided if c.id == cid else c for c in question.criteria])


def _recombine(question: QuestionResult, rule: str) -> QuestionResult:
    return replace(
        question,
        auto_score=question.score,
        score=combine_criteria(rule, (c.score for c in question.criteria), question.max_score),
        needs_review=any(c.status == "needs_review" for c in question.criteria),
    )


def _override_question(question: QuestionResult, override: Override) -> QuestionResult:
    auto = question.score if question.auto_score is None else question.auto_score
    return replace(
        question,
        auto_score=auto,
        override=_stamp(override, auto),
        score=_clamp(override["score"], question.max_score),
        needs_review=False,
    )


def apply_overrides(
    result: SubmissionResult,
    overrides: Sequence[Override],
    combine: Mapping[str, str] | None = None,
) -> tuple[SubmissionResult, list[Override]]:
    """The effective result with `overrides` laid over `result`, and the overrides whose
    question or criterion does not exist in it (e.g. removed in a new rubric version).

    `combine` maps question id -> "sum" | "max" (the rubric's rule; default "sum") so that a
    criterion override recomputes its question's score the way grading does."""
    if not overrides:
        return result, []
    questions = {q.id: q for q in result.questions}
    orphans: list[Override] = []
    touched: set[str] = set()
    latest = _latest(overrides)
    for (qid, cid), override in latest.items():
        if cid is None:
            continue
        question = questions.get(qid)
        changed = _override_criterion(question, cid, override) if question else None
        if changed is None:
            orphans.append(override)
            continue
        questions[qid] = changed
        touched.add(qid)
    for qid in touched:
        questions[qid] = _recombine(questions[qid], (combine or {}).get(qid, "sum"))
    for (qid, cid), override in latest.items():
        if cid is not None:
            continue
        question = questions.get(qid)
        if question is None:
            orphans.append(override)
            continue
        questions[qid] = _override_question(question, override)
        touched.add(qid)
    if not touched:
        return result, orphans
    effective = [questions[q.id] for q in result.questions]
    return replace(
        result,
        questions=effective,
        auto_score=result.score,
        score=round(sum(q.score for q in effective), 4),
        needs_review=any(q.needs_review for q in effective),
    ), orphans


@dataclass(frozen=True)
class QuestionChange:
    id: str
    old: float | None
    new: float | None
    delta: float


@dataclass(frozen=True)
class SheetChange:
    submission_id: str
    student_id: str | None
    old_score: float | None
    new_score: float | None
    delta: float
    old_needs_review: bool | None
    new_needs_review: bool | None
    questions: list[QuestionChange]


@dataclass
class RegradeDiff:
    changes: list[SheetChange] = field(default_factory=list)
    summary: dict[str, Any] = field(default_factory=dict)
    orphaned_overrides: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _question_changes(
    old: SubmissionResult | None, new: SubmissionResult | None
) -> list[QuestionChange]:
    old_q = {q.id: float(q.score) for q in (old.questions if old else [])}
    new_q = {q.id: float(q.score) for q in (new.questions if new else [])}
    changes = []
    for qid in list(old_q) + [q for q in new_q if q not in old_q]:
        a, b = old_q.get(qid), new_q.get(qid)
        if a is None or b is None or abs(a - b) > _EPS:
            changes.append(QuestionChange(qid, a, b, round((b or 0.0) - (a or 0.0), 4)))
    return changes


def diff_results(
    old: Mapping[str, SubmissionResult | None],
    new: Mapping[str, SubmissionResult | None],
    labels: Mapping[str, str] | None = None,
) -> RegradeDiff:
    """Who changes and by how much, between two sets of effective results keyed by
    submission id (`labels`: submission id -> student id, for the report)."""
    labels = labels or {}
    diff = RegradeDiff()
    deltas: list[float] = []
    for sid in list(old) + [s for s in new if s not in old]:
        a, b = old.get(sid), new.get(sid)
        a_score = None if a is None else float(a.score)
        b_score = None if b is None else float(b.score)
        delta = round((b_score or 0.0) - (a_score or 0.0), 4)
        questions = _question_changes(a, b)
        review_a = None if a is None else a.needs_review
        review_b = None if b is None else b.needs_review
        if b_score is not None and a_score is not None:
            deltas.append(delta)
        if questions or abs(delta) > _EPS or review_a != review_b:
            diff.changes.append(
                SheetChange(
                    sid, labels.get(sid), a_score, b_score, delta, review_a, review_b, questions
                )
            )
    diff.changes.sort(key=lambda c: (-abs(c.delta), c.submission_id))
    diff.summary = {
        "n": len(set(old) | set(new)),
        "changed": len(diff.changes),
        "increased": sum(d > _EPS for d in deltas),
        "decreased": sum(d < -_EPS for d in deltas),
        "unchanged": sum(abs(d) <= _EPS for d in deltas),
        "mean_delta": round(sum(deltas) / len(deltas), 4) if deltas else 0.0,
        "max_increase": max([d for d in deltas if d > 0], default=0.0),
        "max_decrease": min([d for d in deltas if d < 0], default=0.0),
        "needs_review_before": sum(bool(r and r.needs_review) for r in old.values()),
        "needs_review_after": sum(bool(r and r.needs_review) for r in new.values()),
    }
    return diff
