"""The `exact` checker: the whole answer equals an accepted string."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from grader.checks.base import BaseChecker, CheckResult, CheckSpec
from grader.checks.textutil import normalise_text


class ExactSpec(CheckSpec):
    accept: list[str] = Field(min_length=1, description="Answers accepted as correct.")
    case_sensitive: bool = False


class ExactChecker(BaseChecker[ExactSpec]):
    """The whole answer equals one of the accepted strings (whitespace and case folded)."""

    kind: ClassVar[str] = "exact"
    spec_model: ClassVar[type[CheckSpec]] = ExactSpec

    def check(self, spec: ExactSpec, answer: str) -> CheckResult:
        got = normalise_text(answer, case_sensitive=spec.case_sensitive)
        for option in spec.accept:
            if got == normalise_text(option, case_sensitive=spec.case_sensitive):
                return CheckResult(1.0, evidence=answer.strip())
        return CheckResult(0.0)
