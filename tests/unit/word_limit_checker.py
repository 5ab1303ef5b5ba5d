"""An example checker kind, `word_limit`, kept with the tests: the whole of what a new kind
needs in `grader/checks/` (see docs/architecture.md, "Adding a checker kind").

A rubric uses it as `check: {kind: word_limit, max_words: 40}`: full credit when the answer
keeps to the limit, none (with the count as feedback) when it does not.
"""

from __future__ import annotations

import re
from typing import ClassVar

from pydantic import Field, model_validator

from grader.checks.base import BaseChecker, CheckResult, CheckSpec

# A word: letters or digits, with inner apostrophes or hyphens ("don't", "well-known").
_WORD = re.compile(r"\w+(?:['’-]\w+)*")


class WordLimitSpec(CheckSpec):
    """The fields under `check:` (unknown fields are errors, as for every kind)."""

    max_words: int = Field(gt=0, description="At most this many words earn the points.")
    min_words: int = Field(default=1, ge=1, description="At least this many words.")

    @model_validator(mode="after")
    def _min_below_max(self) -> WordLimitSpec:
        if self.min_words > self.max_words:
            raise ValueError("min_words must not exceed max_words")
        return self


class WordLimitChecker(BaseChecker[WordLimitSpec]):
    """The answer has between `min_words` and `max_words` words."""

    kind: ClassVar[str] = "word_limit"
    spec_model: ClassVar[type[CheckSpec]] = WordLimitSpec

    def check(self, spec: WordLimitSpec, answer: str) -> CheckResult:
        count = len(_WORD.findall(answer))
        if spec.min_words <= count <= spec.max_words:
            return CheckResult(1.0, evidence=f"{count} words")
        limit = (
            f"at most {spec.max_words}" if count > spec.max_words else f"at least {spec.min_words}"
        )
        return CheckResult(0.0, feedback=f"{count} words; the question asks for {limit}.")
