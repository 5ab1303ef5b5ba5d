"""The `regex` checker: the rubric's pattern matches somewhere in the answer."""

from __future__ import annotations

import re
import unicodedata
from typing import ClassVar, Literal

from pydantic import field_validator

from grader.checks.base import BaseChecker, CheckResult, CheckSpec
from grader.checks.textutil import MAX_SCAN_CHARS, quote


class RegexSpec(CheckSpec):
    pattern: str
    flags: list[Literal["IGNORECASE", "MULTILINE", "DOTALL"]] = ["IGNORECASE"]

    @field_validator("pattern")
    @classmethod
    def _compiles(cls, value: str) -> str:
        try:
            re.compile(value)
        except re.error as exc:
            raise ValueError(f"invalid regular expression: {exc}") from exc
        return value


class RegexChecker(BaseChecker[RegexSpec]):
    """The rubric's regular expression matches somewhere in the answer."""

    kind: ClassVar[str] = "regex"
    spec_model: ClassVar[type[CheckSpec]] = RegexSpec

    def check(self, spec: RegexSpec, answer: str) -> CheckResult:
        flags = 0
        for name in spec.flags:
            flags |= getattr(re, name)
        text = unicodedata.normalize("NFKC", answer)[:MAX_SCAN_CHARS]
        match = re.search(spec.pattern, text, flags)
        if match is None:
            return CheckResult(0.0)
        return CheckResult(1.0, evidence=quote(text, match.start(), match.end()))
