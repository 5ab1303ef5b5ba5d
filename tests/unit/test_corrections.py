"""Corrections -> graded examples (grader.batches.corrections): pure."""

from __future__ import annotations

from grader.batches.corrections import (
    MAX_EXAMPLES,
    NewExample,
    add_examples,
    criterion_targets,
    examples_from_override,
)
from grader.grading import SubmissionResult
from tests.unit.batch_fixtures import crit, question, result

QUESTION = {
    "id": "q1",
    "points": 4,
    "combine": "sum",
    "criteria": [
        {"id": "value", "points": 1, "check": {"kind": "math"}},
        {"id": "explain", "points": 3, "check": {"kind": "text", "exemplars": ["x"]}},
    ],
}
AUTO = SubmissionResult.from_dict(
    result(question("q1", crit("value", 1.0, 1.0), crit("explain", 0.5, 3.0)))
)


def test_question_score_goes_to_learnable_criteria_after_the_fixed_ones() -> None:
    # 2.5 of 4 points; the math criterion keeps its automatic 1, the text one gets 1.5 / 3.
    assert criterion_targets(QUESTION, {"value": 1.0, "explain": 0.5}, 2.5, {"explain"}) == {
        "explain": 0.5
    }
    # Less than the fixed part: the learnable criterion earned nothing (never negative).
    assert criterion_targets(QUESTION, {"value": 1.0}, 0.5, {"explain"}) == {"explain": 0.0}
    assert criterion_targets(QUESTION, {}, 4, set()) == {}


def test_combine_max_gives_each_learnable_criterion_the_question_fraction() -> None:
    q = {**QUESTION, "combine": "max"}
    assert criterion_targets(q, {}, 3, {"value", "explain"}) == {"value": 0.75, "explain": 0.75}


def test_examples_from_criterion_and_question_overrides() -> None:
    crit = examples_from_override(
        QUESTION, AUTO, {"criterion_id": "explain", "score": 3}, "because", {"explain"}, "s1"
    )
    assert crit == [NewExample("q1", "explain", "because", 1.0, "s1")]
    whole = examples_from_override(
        QUESTION, AUTO, {"criterion_id": None, "score": 2.5}, "because", {"explain"}
    )
    assert [(e.criterion_id, e.score) for e in whole] == [("explain", 0.5)]
    # A criterion that does not learn, and a blank answer, teach nothing.
    assert (
        examples_from_override(
            QUESTION, AUTO, {"criterion_id": "value", "score": 0}, "x", {"explain"}
        )
        == []
    )
    assert (
        examples_from_override(
            QUESTION, AUTO, {"criterion_id": None, "score": 1}, "   ", {"explain"}
        )
        == []
    )


def test_add_examples_copies_replaces_same_answer_and_uses_the_rubrics_list() -> None:
    definition = {"questions": [QUESTION]}
    out, added = add_examples(definition, [NewExample("q1", "explain", "Because  X", 0.5)])
    assert added and out["questions"][0]["criteria"][1]["examples"] == [
        {"answer": "Because  X", "score": 0.5}
    ]
    assert "examples" not in QUESTION["criteria"][1]  # the input is not changed
    again, _ = add_examples(out, [NewExample("q1", "explain", "because x", 1.0)])
    assert again["questions"][0]["criteria"][1]["examples"] == [
        {"answer": "because x", "score": 1.0}
    ]
    # Examples written inside `check:` are the ones the loader uses: new ones join them.
    inside = {
        "questions": [
            {
                **QUESTION,
                "criteria": [
                    {"id": "explain", "points": 3, "check": {"kind": "text", "examples": []}}
                ],
            }
        ]
    }
    out, _ = add_examples(inside, [NewExample("q1", "explain", "a", 1.0)])
    assert out["questions"][0]["criteria"][0]["check"]["examples"] == [
        {"answer": "a", "score": 1.0}
    ]
    many = [NewExample("q1", "explain", f"answer {i}", 1.0) for i in range(MAX_EXAMPLES + 5)]
    out, _ = add_examples(definition, many)
    kept = out["questions"][0]["criteria"][1]["examples"]
    assert len(kept) == MAX_EXAMPLES and kept[-1]["answer"] == f"answer {MAX_EXAMPLES + 4}"
    _, none = add_examples(definition, [NewExample("q9", "explain", "a", 1.0)])
    assert none == []
    _, same = add_examples(again, [NewExample("q1", "explain", "Because x", 1.0)])
    assert same == []  # already taught


def test_leave_one_out_grades_each_correction_with_the_others_as_examples() -> None:
    from grader.batches.corrections import Corrected, leave_one_out

    definition = {"questions": [QUESTION]}
    corrected = [
        Corrected(f"a{i}", 0.0, 1.0, (NewExample("q1", "explain", f"a{i}", 1.0),)) for i in range(3)
    ]
    seen: list[int] = []

    def grade(d: dict, answer: str) -> float:  # credit = share of examples taught
        n = len(d["questions"][0]["criteria"][1].get("examples", []))
        seen.append(n)
        assert answer not in [e["answer"] for e in d["questions"][0]["criteria"][1]["examples"]]
        return n / 4

    out = leave_one_out(definition, corrected, grade)
    assert seen == [2, 2, 2] and out == {"n": 3, "error_before": 1.0, "error_held_out": 0.5}
    assert leave_one_out(definition, corrected[:1], grade) is None
