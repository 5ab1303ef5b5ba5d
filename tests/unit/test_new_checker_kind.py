"""A new checker kind is one module and one registry line (docs/architecture.md, "Adding a
checker kind"): the example kind `word_limit` (tests/unit/word_limit_checker.py) is loaded
from a rubric, validated and graded like the kinds that ship."""

from __future__ import annotations

import pytest

from grader.checks import simple_registry
from grader.checks.registry import CheckerRegistry
from grader.exams import RubricInvalid, load_exam
from grader.grading import DirectRunner, grade
from tests.unit.word_limit_checker import WordLimitChecker, WordLimitSpec

RUBRIC = """\
id: brief
title: Short answers
questions:
  - id: q1
    prompt: In one sentence, why has ReLU no trainable parameters?
    points: 3
    criteria:
      - id: fixed-function
        points: 2
        check:
          kind: keywords
          groups: [{any_of: [fixed function, no weights, nothing to learn]}]
      - id: one-sentence
        points: 1
        check: {kind: word_limit, max_words: 12}
        feedback: {missed: "Keep it to one short sentence."}
"""


def _registry() -> CheckerRegistry:
    registry = simple_registry()
    registry.register(WordLimitChecker())  # the one registry line
    return registry


def test_the_new_kind_grades_an_exam() -> None:
    registry = _registry()
    loaded = load_exam(RUBRIC, registry)
    assert isinstance(loaded.spec("q1", "one-sentence"), WordLimitSpec)
    runner = DirectRunner(registry)

    short = grade(loaded, {"q1": "It is a fixed function: max(0, x) has no weights."}, runner)
    assert short.score == 3
    (criterion,) = [c for c in short.questions[0].criteria if c.id == "one-sentence"]
    assert criterion.score == 1 and criterion.evidence == "11 words"

    rambling = "It is a fixed function, " + "and I could say much more about it " * 3
    long = grade(loaded, {"q1": rambling}, runner)
    assert long.score == 2  # the keywords criterion still met, the limit not
    (criterion,) = [c for c in long.questions[0].criteria if c.id == "one-sentence"]
    assert criterion.score == 0
    assert "Keep it to one short sentence." in criterion.feedback
    assert "29 words; the question asks for at most 12." in criterion.feedback


def test_without_the_registry_line_the_rubric_is_refused() -> None:
    with pytest.raises(RubricInvalid, match="unknown checker kind 'word_limit'"):
        load_exam(RUBRIC, simple_registry())


def test_the_kinds_spec_model_checks_its_fields_when_the_rubric_loads() -> None:
    with pytest.raises(RubricInvalid, match="max_words"):
        load_exam(RUBRIC.replace("max_words: 12", "max_words: 0"), _registry())
    with pytest.raises(RubricInvalid, match="max_word"):
        load_exam(RUBRIC.replace("max_words: 12", "max_word: 12"), _registry())
