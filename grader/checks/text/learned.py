"""Turning the learned pair scorer's output into a criterion's credit (pure Python).

The scorer (grader/embed/scorer.py) estimates the share of a reference an answer states. With
graded examples ("shots") of a criterion, its scale is recalibrated per criterion: a line
y = ybar + slope * (s - sbar) through the examples, the slope shrunk towards 1 by
CALIB_RIDGE and the whole correction shrunk towards the uncalibrated score by SHOT_PRIOR
pseudo-examples. Both constants were chosen on the development questions the scorer never
saw (`grader eval text ../shared/eval/text_dev.jsonl --shots 5 --held-out --sweep`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

CALIB_RIDGE = 0.05
SHOT_PRIOR = 3.0
SLOPE_RANGE = (0.0, 3.0)


class PairScorerLike(Protocol):
    def score(self, reference: str, answer: str) -> float: ...


@dataclass(frozen=True)
class Calibration:
    """A criterion's graded examples as (scorer's prediction, instructor's fraction) pairs."""

    preds: tuple[float, ...]
    scores: tuple[float, ...]

    @classmethod
    def of(cls, preds: Sequence[float], scores: Sequence[float]) -> Calibration | None:
        if not preds:
            return None
        return cls(tuple(float(p) for p in preds), tuple(float(y) for y in scores))

    def apply(self, s: float, *, ridge: float = CALIB_RIDGE, prior: float = SHOT_PRIOR) -> float:
        k = len(self.preds)
        sbar = sum(self.preds) / k
        ybar = sum(self.scores) / k
        ds = [p - sbar for p in self.preds]
        dy = [y - ybar for y in self.scores]
        slope = (sum(a * b for a, b in zip(ds, dy, strict=True)) + ridge) / (
            sum(a * a for a in ds) + ridge
        )
        slope = min(SLOPE_RANGE[1], max(SLOPE_RANGE[0], slope))
        calibrated = ybar + slope * (s - sbar)
        w = k / (k + prior)
        return min(1.0, max(0.0, w * calibrated + (1.0 - w) * s))


def reference_text(exemplars: Sequence[str], description: str = "") -> str:
    """What the scorer reads as the reference: the exemplars together (they are the parts of a
    model answer, or its alternative phrasings), else the criterion's description."""
    parts = [" ".join(e.split()) for e in exemplars if e.strip()]
    return " ".join(parts) if parts else " ".join(description.split())


# A misconception counts as stated when the scorer judges the answer more likely than not to
# state it (its own decision point) and more likely than it states the reference.
MISCONCEPTION_STATED = 0.5


@dataclass(frozen=True)
class LearnedRef:
    """A criterion as the pair scorer reads it (built once per spec)."""

    reference: str
    calibration: Calibration | None
    misconceptions: tuple[str, ...]


@dataclass(frozen=True)
class LearnedVerdict:
    raw: float  # the scorer's estimate before calibration
    fraction: float
    misconception: int = -1  # index of the misconception the answer states (-1: none)
    misconception_score: float = 0.0


def learned_reference(
    scorer: PairScorerLike,
    exemplars: Sequence[str],
    description: str,
    misconceptions: Sequence[str],
    examples: Sequence[tuple[str, float]],
) -> LearnedRef | None:
    ref = reference_text(exemplars, description)
    if not ref:
        return None
    shown = [(" ".join(a.split()), y) for a, y in examples if a.strip()]
    cal = Calibration.of([scorer.score(ref, a) for a, _ in shown], [y for _, y in shown])
    return LearnedRef(ref, cal, tuple(" ".join(m.split()) for m in misconceptions))


def judge(
    scorer: PairScorerLike,
    ref: LearnedRef,
    answer: str,
    candidates: Sequence[int] | None = None,
) -> LearnedVerdict:
    """The scorer's verdict; `candidates`: the misconceptions worth asking about (all: None)."""
    raw = scorer.score(ref.reference, answer)
    fraction = ref.calibration.apply(raw) if ref.calibration is not None else raw
    best, best_score = -1, 0.0
    wanted = range(len(ref.misconceptions)) if candidates is None else candidates
    for i in wanted:
        s = scorer.score(ref.misconceptions[i], answer)
        if s >= MISCONCEPTION_STATED and s > raw and s > best_score:
            best, best_score = i, s
    return LearnedVerdict(raw, fraction, best, best_score)
