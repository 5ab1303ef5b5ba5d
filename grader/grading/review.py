"""When a question goes to a human: its expected error, from the checkers' own evidence.

Every answered question gets a handful of features read from its criteria's verdicts (how
sure each checker was, partial credit, readings that disagreed, guesses, hostile patterns,
which kind of checker carries the points) and a logistic model turns them into the
probability that the score is more than a quarter of the points away from what an instructor
would give. That probability's complement is the question's `confidence`; above the fitted
threshold the question goes to review with the reasons an instructor reads.

Each criterion's confidence is the checker's own, mapped per checker kind onto how often its
question's score was right on dev data (Platt scaling).

The weights, the threshold and the criterion maps come from `grader fit review` over
`../shared/eval/` (seed, data hash and figures in `review_model.json` beside this file).
Without that file nothing is fitted: confidence is the checker's, and only answers that could
not be checked or are hostile go to review.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

MODEL_FILE = Path(__file__).with_name("review_model.json")

# Features of one answered question, in the order of the model's weights. Shares are of the
# question's points, so a question of 2 and one of 20 points read alike.
FEATURES = (
    "unsure",  # points-weighted 1 - checker confidence
    "review",  # share of points whose checker asked for review
    "invalid",  # share of points whose answer could not be read
    "partial",  # share of points with partial credit (neither met nor missed)
    "text",  # share of points carried by text criteria
    "math",  # ... by math criteria
    "choice",  # ... by choice criteria
    "text_unsure",  # 1 - confidence, over text criteria only
    "mid",  # 4 p (1 - p) of the predicted fraction p: a middling score
    "pred",  # the predicted fraction
    "ambiguous",  # share of points whose checker read the answer two ways with two verdicts
    "guesses",  # share of points where the answer offered more candidates than matched
    "short",  # fewer than 40 characters
    "length",  # log10 of the answer's characters / 3
)
KIND_GROUP = {"text": "text", "math": "math", "choice": "choice"}


@dataclass(frozen=True)
class CriterionView:
    """What review needs of one criterion's verdict (the grading core fills it)."""

    id: str
    kind: str
    weight: float  # the criterion's share of the question's points
    fraction: float
    confidence: float  # the checker's own
    status: str
    details: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ReviewModel:
    weights: tuple[float, ...]
    bias: float
    threshold: float  # review when P(error > 0.25) is at least this
    calibration: Mapping[str, tuple[float, float]]  # kind -> (a, b) of the Platt map

    @staticmethod
    def from_json(data: Mapping[str, Any]) -> ReviewModel:
        names = list(data["features"])
        if names != list(FEATURES):
            raise ValueError("fitted on other features; re-run `grader fit review`")
        return ReviewModel(
            weights=tuple(float(w) for w in data["weights"]),
            bias=float(data["bias"]),
            threshold=float(data["threshold"]),
            calibration={
                k: (float(v[0]), float(v[1])) for k, v in data.get("calibration", {}).items()
            },
        )

    def p_error(self, x: Sequence[float]) -> float:
        z = self.bias + sum(w * v for w, v in zip(self.weights, x, strict=True))
        return _sigmoid(z)

    def criterion_confidence(self, kind: str, raw: float) -> float:
        ab = self.calibration.get(kind)
        if ab is None:
            return raw
        return _sigmoid(ab[0] * _logit(raw) + ab[1])


def _sigmoid(z: float) -> float:
    if z >= 0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)


def _logit(p: float) -> float:
    p = min(max(p, 1e-3), 1 - 1e-3)
    return math.log(p / (1 - p))


@lru_cache(maxsize=1)
def fitted_model() -> ReviewModel | None:
    """The committed model, or None when it was never fitted (or is stale)."""
    try:
        data = json.loads(MODEL_FILE.read_text(encoding="utf-8"))
        return ReviewModel.from_json(data)
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _int(v: Any) -> int:
    return v if isinstance(v, int) and not isinstance(v, bool) else 0


def guessed(details: Mapping[str, Any]) -> bool:
    """The answer offered several candidates (values, formulas, options) and not all match:
    one right among guesses. Two candidates (a value and its rounding) are not padding."""
    candidates, matched = _int(details.get("candidates")), _int(details.get("matched"))
    return candidates >= 3 and 0 < matched < candidates


def features(criteria: Sequence[CriterionView], pred: float, answer: str) -> list[float]:
    total = sum(c.weight for c in criteria) or 1.0
    share: dict[str, float] = dict.fromkeys(FEATURES, 0.0)
    text_w = 0.0
    for c in criteria:
        w = c.weight / total
        share["unsure"] += w * (1.0 - c.confidence)
        share["review"] += w * (c.status == "needs_review")
        share["invalid"] += w * (c.status == "invalid")
        share["partial"] += w * (0.0 < c.fraction < 1.0)
        group = KIND_GROUP.get(c.kind)
        if group:
            share[group] += w
        if c.kind == "text":
            text_w += w
            share["text_unsure"] += w * (1.0 - c.confidence)
        share["ambiguous"] += w * bool(c.details.get("ambiguous"))
        share["guesses"] += w * guessed(c.details)
    if text_w:
        share["text_unsure"] /= text_w
    share["mid"] = 4.0 * pred * (1.0 - pred)
    share["pred"] = pred
    n = len(answer.strip())
    share["short"] = float(n < 40)
    share["length"] = math.log10(1 + n) / 3.0
    return [share[f] for f in FEATURES]


def forced(criteria: Sequence[CriterionView], hostile: Mapping[str, str]) -> bool:
    """Review whatever the model says: a criterion could not be checked, or a hostile answer
    earned points."""
    return bool(hostile) or any(
        c.status == "needs_review" and c.confidence <= 0.0 for c in criteria
    )


@dataclass(frozen=True)
class Assessment:
    confidence: float  # P(the question's score is within a quarter of its points)
    needs_review: bool
    reasons: list[str]


def _criterion_reasons(criteria: Sequence[CriterionView]) -> list[str]:
    """Instructor-facing reasons of the criteria that carry the doubt, heaviest first."""
    out: list[str] = []
    for c in sorted(criteria, key=lambda c: -c.weight * (1.0 - c.confidence)):
        given = c.details.get("review_reason")
        if isinstance(given, str) and given:
            out.append(f"{c.id}: {given}")
        elif c.status == "needs_review" and c.confidence <= 0.0:
            out.append(f"{c.id}: could not be checked automatically")
        elif c.details.get("ambiguous"):
            out.append(f"{c.id}: the answer reads two ways with different verdicts")
        elif guessed(c.details):
            out.append(
                f"{c.id}: offers {c.details['candidates']} candidates, {c.details['matched']} match"
            )
        elif c.confidence < 0.5:
            out.append(f"{c.id}: checker unsure ({c.kind}, confidence {c.confidence:.2f})")
    return out


def assess(
    criteria: Sequence[CriterionView],
    pred: float,
    answer: str,
    hostile: Mapping[str, str],
    model: ReviewModel | None,
) -> Assessment:
    """Confidence, review decision and reasons of one answered question."""
    unchecked = forced(criteria, hostile)
    reasons = list(hostile.values())
    if model is None:
        conf = min((c.confidence for c in criteria), default=1.0)
        review = unchecked
    else:
        p = model.p_error(features(criteria, pred, answer))
        conf = 1.0 - p
        review = unchecked or p >= model.threshold
    if review:
        reasons += _criterion_reasons(criteria)
        if not reasons:
            reasons.append(f"expected error is high (confidence {conf:.2f})")
    return Assessment(round(conf, 4), review, list(dict.fromkeys(reasons)) if review else [])
