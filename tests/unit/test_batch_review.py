"""Review queue ordering and grouping of similar answers with an injected (fake) encoder."""

from __future__ import annotations

from typing import Any

import numpy as np

from grader.batches.review import (
    cluster_answers,
    group_queue,
    order_queue,
    question_uncertainty,
    review_items,
)
from grader.grading import QuestionResult, SubmissionResult
from tests.unit.batch_fixtures import crit, question, result


class BagOfWords:
    """A stand-in encoder: normalised word-count vectors over a fixed vocabulary."""

    VOCAB = ["gradient", "vanishes", "small", "saturates", "tanh", "centred", "zero", "bias"]

    def __init__(self) -> None:
        self.calls: list[list[str]] = []

    def encode(self, texts: list[str]) -> np.ndarray:
        self.calls.append(list(texts))
        out = np.zeros((len(texts), len(self.VOCAB)), np.float32)
        for i, text in enumerate(texts):
            for word in text.lower().replace(",", " ").split():
                if word in self.VOCAB:
                    out[i, self.VOCAB.index(word)] += 1
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.where(norms > 0, norms, 1)


def _typed(q: dict[str, Any]) -> QuestionResult:
    return SubmissionResult.from_dict(result(q)).questions[0]


def _sheet(conf_q1: float, conf_q2: float | None = None) -> SubmissionResult:
    q1 = question("q1", crit("a", 0.0, 1.0, "needs_review", conf_q1), crit("b", 1.0, 1.0))
    q2_status = "ok" if conf_q2 is None else "needs_review"
    q2 = question("q2", crit("c", 0.0, 3.0, q2_status, conf_q2 if conf_q2 is not None else 0.9))
    return SubmissionResult.from_dict(result(q1, q2))


def test_uncertainty_uses_the_least_confident_flagged_criterion():
    q = question("q", crit("a", 0, 1, "needs_review", 0.4), crit("b", 0, 1, "ok", 0.1))
    assert question_uncertainty(_typed(q)) == 0.6
    assert question_uncertainty(_typed(question("q", crit("a", 0, 1, "ok", 0.7)))) == 0.3


def test_queue_most_uncertain_first_then_points_at_stake():
    items = (
        review_items("s1", "st1", _sheet(0.4), {"q1": "x"})
        + review_items("s2", "st2", _sheet(0.0, 0.0), {"q1": "y", "q2": "z"})
        + review_items("s3", None, _sheet(0.45), {})
    )
    queue = order_queue(items)
    assert [(i.submission_id, i.question_id) for i in queue] == [
        ("s2", "q2"),
        ("s2", "q1"),
        ("s1", "q1"),
        ("s3", "q1"),
    ]
    assert queue[0].criteria == ["c"] and queue[0].answer == "z" and queue[3].answer == ""


def test_similar_answers_are_grouped_and_duplicates_encoded_once():
    encoder = BagOfWords()
    answers = [
        ("1", "The gradient vanishes, gradient small"),
        ("2", "the GRADIENT   vanishes, gradient small"),
        ("3", "gradient vanishes small"),
        ("4", "tanh is zero centred"),
        ("5", "tanh zero centred"),
        ("6", "bias"),
        ("7", ""),
    ]
    groups = cluster_answers(answers, encoder, threshold=0.8)
    assert [sorted(g.keys) for g in groups] == [["1", "2", "3"], ["4", "5"], ["6"], ["7"]]
    assert groups[0].representative == "The gradient vanishes, gradient small"
    assert [g.id for g in groups] == [0, 1, 2, 3]
    encoded = [t for call in encoder.calls for t in call]
    assert len(encoded) == 5 and "" not in encoded  # 1 and 2 are the same text; empty not sent


def test_threshold_one_keeps_distinct_answers_apart():
    groups = cluster_answers(
        [("1", "tanh zero"), ("2", "tanh centred")], BagOfWords(), threshold=0.99
    )
    assert len(groups) == 2


def test_group_queue_per_question():
    items = (
        review_items("s1", "a", _sheet(0.2), {"q1": "gradient vanishes"})
        + review_items("s2", "b", _sheet(0.4), {"q1": "gradient vanishes small"})
        + review_items("s3", "c", _sheet(0.3), {"q1": "bias"})
    )
    grouped = group_queue(items, BagOfWords(), threshold=0.8)
    (g1, g2) = grouped["q1"]
    assert [i["submission_id"] for i in g1["items"]] == ["s1", "s2"]
    assert g1["uncertainty"] == 0.8 and g2["size"] == 1
    assert cluster_answers([], BagOfWords()) == []
