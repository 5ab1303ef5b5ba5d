"""Item analysis of graded results: score distribution, facility, discrimination, criterion hit
rates and review counts, per exam, batch or question (the caller chooses which results).

Input: `SubmissionResult`s (overrides applied, if any). Definitions:

- facility of a question = mean score / max score (1 = everyone earned it all);
- discrimination = the corrected item-total correlation: Pearson's r between the question's
  score and the *rest* of the total (total minus that question), so an item is not credited
  for correlating with itself. For a 0/1 item this is the point-biserial coefficient.
  `discrimination_ul` is the classical upper-lower index: facility among the top 27% by rest
  score minus facility among the bottom 27%;
- a criterion's hit rate = share of submissions earning its full points; partial rate = share
  earning some but not all;
- std is the sample standard deviation (n - 1), as item-analysis reports use.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from typing import Any

from grader.grading.core import CriterionResult, QuestionResult, SubmissionResult

_EPS = 1e-9
UPPER_LOWER_SHARE = 0.27


def _r4(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def histogram(values: Sequence[float], lo: float, hi: float, bins: int = 10) -> dict[str, Any]:
    """Equal-width bins over [lo, hi]; the last bin includes `hi`."""
    bins = max(1, bins)
    width = (hi - lo) / bins if hi > lo else 1.0
    counts = [0] * bins
    for value in values:
        index = int((value - lo) / width) if hi > lo else 0
        counts[min(max(index, 0), bins - 1)] += 1
    edges = [round(lo + i * width, 4) for i in range(bins + 1)]
    return {"edges": edges, "counts": counts}


def describe(values: Sequence[float]) -> dict[str, float | None]:
    if not values:
        return {"mean": None, "median": None, "std": None, "min": None, "max": None}
    return {
        "mean": _r4(statistics.fmean(values)),
        "median": _r4(statistics.median(values)),
        "std": _r4(statistics.stdev(values)) if len(values) > 1 else 0.0,
        "min": _r4(min(values)),
        "max": _r4(max(values)),
    }


def pearson(xs: Sequence[float], ys: Sequence[float]) -> float | None:
    """Pearson's r, or None when it is undefined (fewer than 3 pairs, or no variance)."""
    n = len(xs)
    if n < 3 or n != len(ys):
        return None
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    sxy = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True))
    sxx = sum((x - mx) ** 2 for x in xs)
    syy = sum((y - my) ** 2 for y in ys)
    if sxx < _EPS or syy < _EPS:
        return None
    return sxy / math.sqrt(sxx * syy)


def upper_lower_index(
    item: Sequence[float], rest: Sequence[float], max_score: float
) -> float | None:
    """Facility in the top 27% (by rest score) minus facility in the bottom 27%."""
    n = len(item)
    if n < 4 or max_score <= 0:
        return None
    k = max(1, round(UPPER_LOWER_SHARE * n))
    order = sorted(range(n), key=lambda i: rest[i])
    lower = [item[i] for i in order[:k]]
    upper = [item[i] for i in order[-k:]]
    return (statistics.fmean(upper) - statistics.fmean(lower)) / max_score


def _criterion_stats(questions: list[QuestionResult]) -> list[dict[str, Any]]:
    """Criteria of one question across submissions (same ids in the same order)."""
    by_id: dict[str, list[CriterionResult]] = {}
    for question in questions:
        for crit in question.criteria:
            by_id.setdefault(crit.id, []).append(crit)
    out = []
    for cid, crits in by_id.items():
        n = len(crits)
        full = sum(float(c.score) >= float(c.max_score) - _EPS for c in crits)
        partial = sum(_EPS < float(c.score) < float(c.max_score) - _EPS for c in crits)
        out.append(
            {
                "id": cid,
                "max_score": float(crits[0].max_score),
                "n": n,
                "mean": _r4(statistics.fmean(float(c.score) for c in crits)),
                "hit_rate": _r4(full / n),
                "partial_rate": _r4(partial / n),
                "needs_review": sum(c.status == "needs_review" for c in crits),
                "invalid": sum(c.status == "invalid" for c in crits),
                "overridden": sum(c.override is not None for c in crits),
            }
        )
    return out


def _question_stats(
    qid: str, questions: list[QuestionResult], totals: list[float], bins: int
) -> dict[str, Any]:
    scores = [float(q.score) for q in questions]
    max_score = float(questions[0].max_score)
    rest = [t - s for t, s in zip(totals, scores, strict=True)]
    answered = [float(q.score) for q in questions if q.status != "unanswered"]
    mean = statistics.fmean(scores)
    return {
        "id": qid,
        "max_score": max_score,
        "n": len(scores),
        "answered": len(answered),
        **describe(scores),
        "mean_answered": _r4(statistics.fmean(answered)) if answered else None,
        "facility": _r4(mean / max_score) if max_score > 0 else None,
        "discrimination": _r4(pearson(scores, rest)),
        "discrimination_ul": _r4(upper_lower_index(scores, rest, max_score)),
        "needs_review": sum(q.needs_review for q in questions),
        "overridden": sum(q.override is not None or q.auto_score is not None for q in questions),
        "histogram": histogram(scores, 0.0, max_score, min(bins, max(1, math.ceil(max_score) * 2))),
        "criteria": _criterion_stats(questions),
    }


def compute_stats(graded: Sequence[SubmissionResult | None], *, bins: int = 10) -> dict[str, Any]:
    """Statistics of graded results; questions are matched by id (rubric order of the first)."""
    results = [r for r in graded if r is not None]
    if not results:
        return {
            "n": 0,
            "max_score": None,
            "total": describe([]),
            "questions": [],
            "needs_review": {"submissions": 0, "questions": 0, "criteria": 0},
        }
    totals = [float(r.score) for r in results]
    max_score = max(float(r.max_score) for r in results)
    order: list[str] = []
    per_question: dict[str, list[QuestionResult]] = {}
    for result in results:
        for question in result.questions:
            if question.id not in per_question:
                order.append(question.id)
            per_question.setdefault(question.id, []).append(question)
    questions = []
    for qid in order:
        # A question missing from some results (another rubric version) is analysed over the
        # results that have it, against their own totals.
        have = [(r, q) for r in results for q in r.questions if q.id == qid]
        questions.append(
            _question_stats(qid, [q for _, q in have], [float(r.score) for r, _ in have], bins)
        )
    return {
        "n": len(results),
        "max_score": max_score,
        "total": {
            **describe(totals),
            "mean_fraction": _r4(statistics.fmean(totals) / max_score) if max_score > 0 else None,
            "histogram": histogram(totals, 0.0, max_score, bins),
        },
        "needs_review": {
            "submissions": sum(r.needs_review for r in results),
            "questions": sum(q.needs_review for r in results for q in r.questions),
            "criteria": sum(
                c.status == "needs_review" for r in results for q in r.questions for c in q.criteria
            ),
        },
        "questions": questions,
    }
