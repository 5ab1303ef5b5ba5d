"""Rubric files: validation errors name the field and the line."""

from __future__ import annotations

import pytest

from grader.checks import simple_registry
from grader.checks.choice.checker import ChoiceSpec
from grader.exams import RubricInvalid, load_exam


def errors_of(text: str) -> list[str]:
    with pytest.raises(RubricInvalid) as info:
        load_exam(text, simple_registry())
    return [str(e) for e in info.value.errors]


def test_demo_rubric_loads(demo_rubric: str) -> None:
    loaded = load_exam(demo_rubric, simple_registry())
    assert [q.id for q in loaded.exam.questions] == ["q1", "q2"]
    assert loaded.exam.max_score == 5
    picks_a = loaded.spec("q2", "picks-a")
    assert isinstance(picks_a, ChoiceSpec) and picks_a.correct == "A"


def test_points_that_do_not_add_up_name_the_question_and_line(demo_rubric: str) -> None:
    broken = demo_rubric.replace("    points: 3\n", "    points: 4\n")
    (error,) = errors_of(broken)
    assert "line 14" in error and "questions.1" in error
    assert "add up to 3" in error and "worth 4" in error


def test_duplicate_question_ids(demo_rubric: str) -> None:
    broken = demo_rubric.replace("id: q2", "id: q1")
    assert any("duplicate question ids: q1" in e for e in errors_of(broken))


def test_unknown_checker_kind_and_bad_spec_report_each_line(demo_rubric: str) -> None:
    broken = demo_rubric.replace("kind: keywords", "kind: telepathy").replace(
        'pattern: "bias(es)?"', 'pattern: "bias(("'
    )
    errors = errors_of(broken)
    assert len(errors) == 2
    assert any("line 11" in e and "unknown checker kind 'telepathy'" in e for e in errors)
    assert any("line 28" in e and "invalid regular expression" in e for e in errors)


def test_missing_fields_and_wrong_types() -> None:
    errors = errors_of("id: x\nquestions:\n  - id: q1\n    points: lots\n    criteria: []\n")
    joined = "\n".join(errors)
    assert "title: Field required" in joined
    assert "questions.0.points" in joined and "line 4" in joined
    assert "questions.0.criteria" in joined


def test_malformed_yaml_reports_line() -> None:
    (error,) = errors_of("id: x\ntitle: [unclosed\nquestions: []\n")
    assert error.startswith("line ") and "not valid YAML" in error


@pytest.mark.parametrize("text", ["", "- a list", "just a string", "42"])
def test_documents_that_are_not_mappings(text: str) -> None:
    assert errors_of(text)


def test_yaml_tags_are_not_executed() -> None:
    errors = errors_of("!!python/object/apply:os.system ['touch /tmp/pwned']\n")
    assert "not valid YAML" in errors[0]


def test_combine_max_allows_alternatives() -> None:
    text = """
id: alt
title: Alternatives
questions:
  - id: q
    points: 2
    combine: max
    criteria:
      - {id: full, points: 2, check: {kind: exact, accept: ["42"]}}
      - {id: half, points: 1, check: {kind: exact, accept: ["41"]}}
"""
    assert load_exam(text, simple_registry()).exam.questions[0].combine == "max"


def test_criterion_examples_reach_checkers_that_use_them() -> None:
    from typing import ClassVar

    from grader.checks.base import BaseChecker, CheckResult, CheckSpec
    from grader.exams.schema import GradedExample

    class CalibratedSpec(CheckSpec):
        examples: list[GradedExample] = []

    class Calibrated(BaseChecker[CalibratedSpec]):
        kind: ClassVar[str] = "calibrated"
        spec_model: ClassVar[type[CheckSpec]] = CalibratedSpec

        def check(self, spec: CalibratedSpec, answer: str) -> CheckResult:
            return CheckResult(1.0)

    registry = simple_registry()
    registry.register(Calibrated())
    text = """
id: cal
title: Calibrated
questions:
  - id: q
    points: 2
    criteria:
      - id: c
        points: 1
        check: {kind: calibrated}
        examples: [{answer: "good", score: 1}, {answer: "bad", score: 0}]
      - id: d
        points: 1
        check: {kind: exact, accept: ["x"]}
"""
    loaded = load_exam(text, registry)
    calibrated = loaded.spec("q", "c")
    assert isinstance(calibrated, CalibratedSpec)
    assert [e.score for e in calibrated.examples] == [1, 0]
    broken = text.replace(
        'check: {kind: exact, accept: ["x"]}',
        'check: {kind: exact, accept: ["x"]}\n        examples: [{answer: a, score: 1}]',
    )
    with pytest.raises(RubricInvalid, match="does not use graded examples"):
        load_exam(broken, registry)


PROMPT_OPTIONS = """\
id: mc
title: MC
questions:
  - id: q1
    points: 1
    prompt: >-
      Which is private to each thread? (A) the heap (B) the global variables (C) the stack
      (D) the open file descriptors. Give the letter and justify it.
    criteria:
      - id: pick
        points: 1
        check:
          kind: choice
          correct: C
          options: [{id: A}, {id: B, text: globals}, {id: C}, {id: D}]
"""


def test_choice_options_take_their_text_from_the_prompt() -> None:
    spec = load_exam(PROMPT_OPTIONS, simple_registry()).spec("q1", "pick")
    assert isinstance(spec, ChoiceSpec)
    texts = [o.text for o in spec.options]
    # the rubric's own text wins; the last option ends with its sentence
    assert texts == ["the heap", "globals", "the stack", "the open file descriptors."]


def test_choice_prompt_without_every_marker_leaves_options_alone() -> None:
    from grader.checks.choice.checker import option_texts

    assert option_texts("Pick A or B. (A) one thing (B) another", ["A", "B", "C"]) == {}
    assert option_texts("A) yes\nB) no\n\nExplain.", ["A", "B"]) == {"A": "yes", "B": "no"}
    assert option_texts("Is it i) one, ii) two?", ["i", "ii"]) == {"i": "one", "ii": "two?"}
