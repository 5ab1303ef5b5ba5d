"""The `choice` checker: which option the answer picks."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field, model_validator

from grader.checks.base import BaseChecker, CheckResult, CheckSpec
from grader.checks.textutil import MAX_SCAN_CHARS, normalise_text, word_pattern


class ChoiceOption(CheckSpec):
    id: str
    phrases: list[str] = Field(min_length=1, description="How a student names this option.")


class ChoiceSpec(CheckSpec):
    options: list[ChoiceOption] = Field(min_length=2)
    correct: str

    @model_validator(mode="after")
    def _correct_is_an_option(self) -> ChoiceSpec:
        ids = [o.id for o in self.options]
        if self.correct not in ids:
            raise ValueError(f"correct: {self.correct!r} is not one of the options {ids}")
        return self


class ChoiceChecker(BaseChecker[ChoiceSpec]):
    """Which option the answer picks; an answer naming several options is not credited."""

    kind: ClassVar[str] = "choice"
    spec_model: ClassVar[type[CheckSpec]] = ChoiceSpec

    def check(self, spec: ChoiceSpec, answer: str) -> CheckResult:
        text = normalise_text(answer)[:MAX_SCAN_CHARS]
        picked: dict[str, int] = {}
        for option in spec.options:
            positions = [m.start() for p in option.phrases if (m := word_pattern(p).search(text))]
            if positions:
                picked[option.id] = min(positions)
        if not picked:
            return CheckResult(0.0, feedback="No option was chosen.")
        if len(picked) > 1:
            return CheckResult(
                0.0,
                feedback="The answer names more than one option.",
                evidence=", ".join(sorted(picked)),
                confidence=0.5,
            )
        (choice,) = picked
        return CheckResult(1.0 if choice == spec.correct else 0.0, evidence=choice)
