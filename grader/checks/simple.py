"""First simple checkers: exact, regex, keywords, choice."""

from __future__ import annotations

import re
import unicodedata
from typing import ClassVar, Literal

from pydantic import Field, field_validator, model_validator

from grader.checks.base import BaseChecker, CheckResult, CheckSpec

_WS = re.compile(r"\s+")
# A student's regex is never compiled; rubric regexes are the instructor's, but are still
# bounded so a pathological pattern cannot hang a worker on a long answer.
MAX_SCAN_CHARS = 20_000


def normalise_text(text: str, *, case_sensitive: bool = False) -> str:
    text = unicodedata.normalize("NFKC", text)
    text = _WS.sub(" ", text).strip()
    return text if case_sensitive else text.casefold()


def _quote(answer: str, start: int, end: int, pad: int = 40) -> str:
    lo, hi = max(0, start - pad), min(len(answer), end + pad)
    return ("…" if lo else "") + answer[lo:hi].strip() + ("…" if hi < len(answer) else "")


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
        return CheckResult(1.0, evidence=_quote(text, match.start(), match.end()))


class KeywordGroup(CheckSpec):
    """One concept: met if any of its synonyms occurs (as whole words)."""

    any_of: list[str] = Field(min_length=1)
    label: str | None = None


class KeywordsSpec(CheckSpec):
    groups: list[KeywordGroup] = Field(min_length=1)
    min_groups: int | None = Field(
        default=None, ge=1, description="Groups needed for full credit (default: all)."
    )
    forbidden: list[str] = Field(default_factory=list, description="Any of these scores 0.")


def _word_pattern(phrase: str) -> re.Pattern[str]:
    words = [re.escape(w) for w in normalise_text(phrase).split(" ")]
    return re.compile(r"(?<!\w)" + r"\s+".join(words) + r"(?!\w)")


class KeywordsChecker(BaseChecker[KeywordsSpec]):
    """Credit in proportion to the keyword groups found (whole words, case folded)."""

    kind: ClassVar[str] = "keywords"
    spec_model: ClassVar[type[CheckSpec]] = KeywordsSpec

    def check(self, spec: KeywordsSpec, answer: str) -> CheckResult:
        text = normalise_text(answer)[:MAX_SCAN_CHARS]
        for phrase in spec.forbidden:
            hit = _word_pattern(phrase).search(text)
            if hit:
                return CheckResult(0.0, evidence=_quote(text, hit.start(), hit.end()))
        found: list[str] = []
        missing: list[str] = []
        for group in spec.groups:
            label = group.label or group.any_of[0]
            hit = next((m for p in group.any_of if (m := _word_pattern(p).search(text))), None)
            (found if hit else missing).append(label)
        needed = spec.min_groups or len(spec.groups)
        fraction = min(1.0, len(found) / needed)
        feedback = "" if not missing or fraction == 1.0 else "Missing: " + ", ".join(missing)
        return CheckResult(fraction, feedback=feedback, evidence=", ".join(found) or None)


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
            positions = [m.start() for p in option.phrases if (m := _word_pattern(p).search(text))]
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
