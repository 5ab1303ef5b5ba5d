"""The `keywords` checker: concepts named by synonyms, credit per concept found."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from grader.checks.base import BaseChecker, CheckResult, CheckSpec
from grader.checks.textutil import MAX_SCAN_CHARS, normalise_text, quote, word_pattern


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


class KeywordsChecker(BaseChecker[KeywordsSpec]):
    """Credit in proportion to the keyword groups found (whole words, case folded)."""

    kind: ClassVar[str] = "keywords"
    spec_model: ClassVar[type[CheckSpec]] = KeywordsSpec

    def check(self, spec: KeywordsSpec, answer: str) -> CheckResult:
        text = normalise_text(answer)[:MAX_SCAN_CHARS]
        for phrase in spec.forbidden:
            hit = word_pattern(phrase).search(text)
            if hit:
                return CheckResult(0.0, evidence=quote(text, hit.start(), hit.end()))
        found: list[str] = []
        missing: list[str] = []
        for group in spec.groups:
            label = group.label or group.any_of[0]
            hit = next((m for p in group.any_of if (m := word_pattern(p).search(text))), None)
            (found if hit else missing).append(label)
        needed = spec.min_groups or len(spec.groups)
        fraction = min(1.0, len(found) / needed)
        feedback = "" if not missing or fraction == 1.0 else "Missing: " + ", ".join(missing)
        return CheckResult(fraction, feedback=feedback, evidence=", ".join(found) or None)
