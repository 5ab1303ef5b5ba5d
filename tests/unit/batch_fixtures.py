"""Hand-made SubmissionResult dicts for the batch unit tests."""

from __future__ import annotations

from typing import Any


def crit(
    cid: str,
    score: float,
    max_score: float,
    status: str = "ok",
    confidence: float = 1.0,
    feedback: str = "",
) -> dict[str, Any]:
    return {
        "id": cid,
        "score": score,
        "max_score": max_score,
        "feedback": feedback,
        "evidence": None,
        "status": status,
        "confidence": confidence,
        "details": {},
    }


def question(qid: str, *criteria: dict[str, Any], status: str = "answered") -> dict[str, Any]:
    return {
        "id": qid,
        "score": round(sum(c["score"] for c in criteria), 4),
        "max_score": sum(c["max_score"] for c in criteria),
        "status": status,
        "needs_review": any(c["status"] == "needs_review" for c in criteria),
        "criteria": list(criteria),
    }


def result(*questions: dict[str, Any]) -> dict[str, Any]:
    return {
        "score": round(sum(q["score"] for q in questions), 4),
        "max_score": sum(q["max_score"] for q in questions),
        "needs_review": any(q["needs_review"] for q in questions),
        "questions": list(questions),
    }


def simple(a: float, b1: float, b2: float, review: bool = False) -> dict[str, Any]:
    """q1 (2 points, one criterion) and q2 (2 points: b1 and b2 worth 1 each)."""
    return result(
        question("q1", crit("a", a, 2.0)),
        question(
            "q2",
            crit("b1", b1, 1.0),
            crit("b2", b2, 1.0, "needs_review" if review else "ok", 0.3 if review else 1.0),
        ),
    )
