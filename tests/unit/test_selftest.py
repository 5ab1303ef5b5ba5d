"""A rubric tests itself: model answers must earn full marks, graded examples their score."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import ClassVar

import pytest
from pydantic import BaseModel

from grader.checks import simple_registry
from grader.checks.base import BaseChecker, CheckResult, CheckSpec
from grader.checks.registry import CheckerRegistry
from grader.exams import load_exam
from grader.grading import DirectRunner
from grader.grading.selftest import EXAMPLE_TOLERANCE, self_test

RUBRIC = """\
id: tiny
title: Tiny
questions:
  - id: q1
    points: 3
    model_answer: >-
      B, because each thread needs its own stack.
    criteria:
      - id: pick
        points: 2
        check: {kind: choice, correct: C, options: [{id: A}, {id: B}, {id: C}]}
      - id: why
        points: 1
        check: {kind: keywords, groups: [{any_of: [stack]}]}
  - id: q2
    points: 1
    model_answer: "ReLU"
    criteria:
      - id: relu
        points: 1
        check: {kind: keywords, groups: [{any_of: [relu]}]}
"""


def test_a_failing_model_answer_is_a_warning_with_its_line() -> None:
    loaded = load_exam(RUBRIC, simple_registry())
    (warning,) = self_test(loaded, DirectRunner(simple_registry()))
    assert warning.line == 6 and warning.question == "q1"
    assert warning.message.startswith("q1: the model answer scores 1 of 3: pick 0/2")
    assert "You chose B" in warning.message
    assert warning.to_dict() == {"line": 6, "message": warning.message}


def test_a_rubric_that_agrees_with_itself_has_no_warnings() -> None:
    fixed = RUBRIC.replace("B, because", "C, because")
    loaded = load_exam(fixed, simple_registry())
    assert self_test(loaded, DirectRunner(simple_registry())) == []


class _Example(BaseModel):
    answer: str
    score: float


class _LengthSpec(CheckSpec):
    examples: list[_Example] = []


class _LengthChecker(BaseChecker[_LengthSpec]):
    """A stand-in calibrating checker: full credit for answers of at least five words."""

    kind: ClassVar[str] = "length"
    spec_model: ClassVar[type[CheckSpec]] = _LengthSpec
    warmed: ClassVar[list[int]] = []

    def check(self, spec: _LengthSpec, answer: str) -> CheckResult:
        return CheckResult(1.0 if len(answer.split()) >= 5 else 0.0)

    def warm(self, items: Sequence[tuple[_LengthSpec, str]]) -> None:
        self.warmed.append(len(items))


def _registry() -> CheckerRegistry:
    registry = simple_registry()
    registry.register(_LengthChecker())
    return registry


EXAMPLES = """\
id: ex
title: Examples
questions:
  - id: q1
    points: 1
    criteria:
      - id: explain
        points: 1
        check: {kind: length}
        examples:
          - {answer: "a long enough answer of words", score: 1}
          - {answer: "too short", score: 1}
          - {answer: "short but partly", score: %s}
"""


def test_graded_examples_off_their_score_are_warnings_in_one_batch() -> None:
    partly = EXAMPLE_TOLERANCE  # exactly at the tolerance: no warning
    loaded = load_exam(EXAMPLES % partly, _registry())
    _LengthChecker.warmed.clear()
    (warning,) = self_test(loaded, DirectRunner(_registry()))
    assert warning.line == 12 and warning.criterion == "explain"
    assert "graded example 2 ('too short') scores 0.00, the rubric says 1.00" in warning.message
    assert _LengthChecker.warmed == [3]  # every example handed over at once
    beyond = load_exam(EXAMPLES % (partly + 0.1), _registry())
    assert len(self_test(beyond, DirectRunner(_registry()))) == 2


def test_json_rubrics_have_no_lines_but_the_same_warnings() -> None:
    import yaml

    from grader.exams import load_exam_json

    loaded = load_exam_json(yaml.safe_load(RUBRIC), simple_registry())
    (warning,) = self_test(loaded, DirectRunner(simple_registry()))
    assert warning.line is None and str(warning).startswith("q1: the model answer")


def test_exams_check_prints_warnings_but_only_errors_fail(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from grader.cli import main

    monkeypatch.setenv("GRADER_DATA_DIR", str(tmp_path / "var"))
    rubric = tmp_path / "tiny.yaml"
    rubric.write_text(RUBRIC)
    assert main(["exams", "check", str(rubric)]) == 0
    out, err = capsys.readouterr()
    assert f"{rubric}:6: warning: q1: the model answer scores 1 of 3" in out
    assert "self-test: 1 warning(s)" in err
    assert main(["exams", "check", str(rubric), "--no-self-test"]) == 0
    assert "warning" not in capsys.readouterr().out
    rubric.write_text(RUBRIC.replace("correct: C", "correct: E"))
    assert main(["exams", "check", str(rubric)]) == 1
    assert "is not one of the options" in capsys.readouterr().out


def test_a_stopped_self_test_says_how_much_it_did_not_grade() -> None:
    loaded = load_exam(RUBRIC, simple_registry())
    (stopped,) = self_test(loaded, DirectRunner(simple_registry()), stop=lambda: True)
    assert stopped.line is None and "2 of 2 model answers and graded examples" in stopped.message
    calls = iter([False, True])
    partial = self_test(loaded, DirectRunner(simple_registry()), stop=lambda: next(calls))
    assert [w.question for w in partial] == ["q1", ""]  # q1 graded, q2 not
    assert "1 of 2" in partial[-1].message


class _SlowWarmChecker(_LengthChecker):
    """Warming takes long (a model loading on a busy machine); checking is instant."""

    kind: ClassVar[str] = "length"
    release = __import__("threading").Event()

    def warm(self, items: Sequence[tuple[_LengthSpec, str]]) -> None:
        self.release.wait(5.0)


def test_an_upload_waits_a_bounded_time_for_its_self_test(monkeypatch: pytest.MonkeyPatch) -> None:
    import time

    from grader.services import exams as exam_service

    registry = simple_registry()
    registry.register(_SlowWarmChecker())
    loaded = load_exam(EXAMPLES % 1, registry)
    monkeypatch.setattr(exam_service, "SELF_TEST_GRACE_SECONDS", 0.1)
    started = time.monotonic()
    try:
        (warning,) = exam_service.rubric_warnings(loaded, DirectRunner(registry), budget_s=0.2)
    finally:
        _SlowWarmChecker.release.set()
    assert time.monotonic() - started < 2.0
    assert warning["line"] is None and "did not finish within 0.2 s" in warning["message"]
    # Given the time, the same rubric's warnings come back as usual.
    done = exam_service.rubric_warnings(loaded, DirectRunner(registry), budget_s=5.0)
    assert [w["line"] for w in done] == [12, 13]  # examples 2 and 3 score 0, the rubric says 1
