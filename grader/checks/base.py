"""The checker contract: a checker judges one answer against one criterion's spec.

A checker is pure: it sees the criterion's validated spec and the student's answer text,
never a request, a database row or a task. Combining several criteria into a question
score lives in `grader.grading`, not here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, ClassVar, Generic, Protocol, TypeVar

from pydantic import BaseModel, ConfigDict


class Status(StrEnum):
    """How far a verdict can be trusted."""

    OK = "ok"  # the checker is sure of its verdict
    INVALID = "invalid"  # the answer could not be read (e.g. unparsable math); scored 0
    NEEDS_REVIEW = "needs_review"  # a human must look (timeout, low confidence, too complex)


@dataclass(frozen=True, slots=True)
class CheckResult:
    """The verdict of one checker on one answer.

    `fraction` is the share of the criterion's points earned, in [0, 1]. `feedback` is written
    for the student; `evidence` quotes what in the answer led to the verdict.
    """

    fraction: float
    feedback: str = ""
    evidence: str | None = None
    confidence: float = 1.0
    status: Status = Status.OK
    details: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not 0.0 <= self.fraction <= 1.0:
            raise ValueError(f"fraction must be in [0, 1], got {self.fraction}")
        if not 0.0 <= self.confidence <= 1.0:
            raise ValueError(f"confidence must be in [0, 1], got {self.confidence}")


class CheckSpec(BaseModel):
    """Base of every checker's spec model (the fields under a criterion's `check:`)."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def reject_duplicate_ids(ids: Sequence[str], what: str) -> None:
    """For a spec's or a rubric's validator: a ValueError naming every id that is there twice."""
    dupes = sorted({i for i in ids if ids.count(i) > 1})
    if dupes:
        raise ValueError(f"duplicate {what} ids: {', '.join(dupes)}")


SpecT = TypeVar("SpecT", bound=CheckSpec)
SpecT_contra = TypeVar("SpecT_contra", bound=CheckSpec, contravariant=True)


class Checker(Protocol[SpecT_contra]):
    """What the registry holds. `kind` is the name used in rubric files (`check: {kind: ...}`)."""

    kind: ClassVar[str]
    spec_model: ClassVar[type[CheckSpec]]

    def check(self, spec: SpecT_contra, answer: str) -> CheckResult: ...


class BatchChecker(Protocol[SpecT_contra]):
    """Optional: a checker that gains from seeing many answers at once (e.g. text encoding).

    `warm` is called with every (spec, answer) pair a task holds before the `check` calls,
    so the checker can batch expensive work (encode all sentences in one pass) and cache it.
    """

    def warm(self, items: Sequence[tuple[SpecT_contra, str]]) -> None: ...


class BaseChecker(Generic[SpecT]):
    """Convenience base class; subclasses set `kind`, `spec_model` and implement `check`."""

    kind: ClassVar[str]
    spec_model: ClassVar[type[CheckSpec]]

    @classmethod
    def enabled(cls) -> bool:
        """False when an optional dependency is missing; the registry then skips it."""
        return True

    def check(self, spec: SpecT, answer: str) -> CheckResult:  # pragma: no cover - abstract
        raise NotImplementedError
