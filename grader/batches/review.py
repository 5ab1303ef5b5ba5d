"""The review queue: answers waiting for a human, most uncertain first, and similar free-text
answers grouped so one decision can be applied to a whole group.

The encoder is injected (anything with `encode(list[str]) -> ndarray` of unit vectors, such as
`grader.embed.load_encoder(path)`), so this module loads no model and tests use a fake one.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from grader.grading.core import QuestionResult, SubmissionResult

DEFAULT_THRESHOLD = 0.85
_WS = re.compile(r"\s+")


class Encoder(Protocol):
    def encode(self, texts: list[str]) -> npt.NDArray[np.floating[Any]]: ...


@dataclass(frozen=True)
class ReviewItem:
    """One question of one submission that needs a human."""

    submission_id: str
    student_id: str | None
    question_id: str
    answer: str
    uncertainty: float  # 1 - the lowest confidence among the criteria waiting for review
    score: float
    max_score: float
    criteria: list[str]  # ids of the criteria waiting for review

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def question_uncertainty(question: QuestionResult) -> float:
    """1 - the lowest confidence among the criteria needing review (all criteria if none is
    flagged). A checker that failed reports confidence 0 and so comes first."""
    crits = question.criteria
    flagged = [c for c in crits if c.status == "needs_review"] or crits
    lowest = min((float(c.confidence) for c in flagged), default=1.0)
    return round(1.0 - lowest, 4)


def review_items(
    submission_id: str,
    student_id: str | None,
    result: SubmissionResult,
    answers: Mapping[str, str],
) -> list[ReviewItem]:
    """The questions of one graded submission that need review."""
    items = []
    for question in result.questions:
        if not question.needs_review:
            continue
        items.append(
            ReviewItem(
                submission_id=submission_id,
                student_id=student_id,
                question_id=question.id,
                answer=answers.get(question.id, ""),
                uncertainty=question_uncertainty(question),
                score=float(question.score),
                max_score=float(question.max_score),
                criteria=[c.id for c in question.criteria if c.status == "needs_review"],
            )
        )
    return items


def order_queue(items: Iterable[ReviewItem]) -> list[ReviewItem]:
    """Most uncertain first; among equals the most points at stake first; then stable ids."""
    return sorted(
        items, key=lambda i: (-i.uncertainty, -i.max_score, i.question_id, i.submission_id)
    )


def normalise_answer(text: str) -> str:
    """The form under which two answers count as the same text (case, spacing, Unicode)."""
    return _WS.sub(" ", unicodedata.normalize("NFKC", text)).strip().casefold()


@dataclass
class AnswerGroup:
    """Answers close enough in meaning to be judged together."""

    id: int
    representative: str  # the first answer of the group (its leader)
    keys: list[str] = field(default_factory=list)
    similarity: list[float] = field(default_factory=list)  # each member's cosine to the leader

    @property
    def size(self) -> int:
        return len(self.keys)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "representative": self.representative,
            "size": self.size,
            "keys": self.keys,
            "similarity": self.similarity,
        }


def _unit_rows(vectors: npt.NDArray[Any]) -> npt.NDArray[np.float32]:
    rows = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(rows, axis=1, keepdims=True)
    return (rows / np.where(norms > 0, norms, 1.0)).astype(np.float32)


def cluster_answers(
    answers: Sequence[tuple[str, str]],
    encoder: Encoder,
    *,
    threshold: float = DEFAULT_THRESHOLD,
    batch_size: int = 256,
) -> list[AnswerGroup]:
    """Group (key, answer text) pairs by greedy leader clustering on cosine similarity.

    Identical answers (after normalisation) are encoded once and always share a group. The
    most frequent distinct answers become leaders first; each further answer joins the most
    similar leader at or above `threshold`, else leads a group of its own. Leader clustering
    is O(n * groups) in time and memory (agglomerative clustering would need an n x n matrix)
    and its groups are tight: every member is close to the representative shown to the
    grader. Groups come largest first, the group of empty answers last."""
    by_text: dict[str, list[str]] = {}
    shown: dict[str, str] = {}
    for key, text in answers:
        norm = normalise_answer(text)
        by_text.setdefault(norm, []).append(key)
        shown.setdefault(norm, text)
    distinct = sorted(by_text, key=lambda t: (-len(by_text[t]), t))
    if not distinct:
        return []
    encodable = [t for t in distinct if t]
    vectors: dict[str, npt.NDArray[np.float32]] = {}
    for start in range(0, len(encodable), batch_size):
        chunk = encodable[start : start + batch_size]
        for text, vec in zip(chunk, _unit_rows(encoder.encode(chunk)), strict=True):
            vectors[text] = vec
    groups: list[AnswerGroup] = []
    # Leaders' vectors in one preallocated matrix (stacking a list per answer was O(n^2)).
    dim = len(next(iter(vectors.values()))) if vectors else 0
    leaders = np.empty((len(vectors), dim), np.float32)
    n_leaders = 0
    leader_group: list[int] = []  # leaders[i] leads groups[leader_group[i]]
    for text in distinct:
        keys = by_text[text]
        vec = vectors.get(text)
        if vec is not None and n_leaders:
            sims = leaders[:n_leaders] @ vec
            best = int(np.argmax(sims))
            if float(sims[best]) >= threshold:
                group = groups[leader_group[best]]
                group.keys.extend(keys)
                group.similarity.extend([round(float(sims[best]), 4)] * len(keys))
                continue
        # Empty answers form a group of their own: they have no meaning to compare.
        groups.append(AnswerGroup(len(groups), shown[text], list(keys), [1.0] * len(keys)))
        if vec is not None:
            leaders[n_leaders] = vec
            n_leaders += 1
            leader_group.append(len(groups) - 1)
    groups.sort(key=lambda g: (not g.representative.strip(), -g.size, g.id))
    for index, group in enumerate(groups):
        group.id = index
    return groups


def group_queue(
    items: Sequence[ReviewItem],
    encoder: Encoder,
    *,
    threshold: float = DEFAULT_THRESHOLD,
) -> dict[str, list[dict[str, Any]]]:
    """The review queue grouped per question: question id -> groups of similar answers, each
    with its items (most uncertain first) and the group's highest uncertainty."""
    per_question: dict[str, list[ReviewItem]] = {}
    for item in items:
        per_question.setdefault(item.question_id, []).append(item)
    out: dict[str, list[dict[str, Any]]] = {}
    for qid, qitems in per_question.items():
        index = {it.submission_id: it for it in qitems}
        groups = cluster_answers(
            [(it.submission_id, it.answer) for it in qitems], encoder, threshold=threshold
        )
        rendered = []
        for group in groups:
            members = order_queue(index[k] for k in group.keys)
            rendered.append(
                {
                    **group.to_dict(),
                    "uncertainty": max(m.uncertainty for m in members),
                    "items": [m.to_dict() for m in members],
                }
            )
        rendered.sort(key=lambda g: (-g["uncertainty"], -g["size"]))
        out[qid] = rendered
    return out
