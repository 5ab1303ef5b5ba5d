"""The one grading path: claim -> grade -> store.

Every way the service grades sheets (a single submission, a batch's chunk, a regrade's dry
run) is a `GradingPath`, which says how its sheets are claimed and how their results are
stored, and is run by `run_path`, which grades what was claimed in one way for all of them:
grouped by exam version, the checkers' answers seen once per call (`MemoRunner`), the
sandboxed checks run side by side, one `grade_many` per group. So a sheet scores the same
whichever way it comes in.

The paths: `grader.services.grading.SheetPath` (single sheets: each claimed and stored in a
transaction of its own), `grader.services.chunks.ChunkPath` (a chunk claimed in one UPDATE and
stored in one transaction), `grader.services.regrade_path.RegradePath` (a dry run's sheets,
stored beside the grade, never over it).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from grader.config import Settings
from grader.grading import CheckRunner, SubmissionResult
from grader.grading.memo import MemoRunner, grade_sheets
from grader.services.exams import ExamCache
from grader.store import Database


@dataclass(frozen=True)
class Claim:
    """A sheet this call may grade: `token` names the claim (a submission's claim token, or
    the regrade run) so that only its holder stores the result."""

    submission_id: str
    token: str
    exam_id: str
    exam_version: int
    answers: dict[str, str]
    deliveries: int


@dataclass
class Claimed:
    """The claims ready to grade, the outcome of every id that is not (skipped: another
    delivery has it; failed: delivered too often) and the batch of each claimed row."""

    ready: list[Claim] = field(default_factory=list)
    outcomes: dict[str, str] = field(default_factory=dict)
    batch_of: dict[str, str | None] = field(default_factory=dict)


Graded = Sequence[tuple[Claim, SubmissionResult]]


class Grader(Protocol):
    """What grading needs of its process: the settings, the database, the exams and the
    runner of the checks. A `grader.services.runtime.Runtime` is one; so is any object with
    these four attributes (a test's or a bench's own)."""

    @property
    def settings(self) -> Settings: ...

    @property
    def db(self) -> Database: ...

    @property
    def exams(self) -> ExamCache: ...

    @property
    def runner(self) -> CheckRunner: ...


class GradingPath(Protocol):
    """How one way of grading claims its sheets and stores their results."""

    def claim(self, db: Database, submission_ids: Sequence[str]) -> Claimed: ...

    def store(self, db: Database, graded: Graded) -> dict[str, str]:
        """Store what still may be stored; the outcome per id (graded, or skipped)."""
        ...


@dataclass
class PathRun:
    """What `run_path` did: the outcome per id (in the order asked for), the seconds each
    step took, and the runner that graded (its hits and seconds per checker kind)."""

    outcomes: dict[str, str]
    claimed: Claimed
    memo: MemoRunner
    claim_seconds: float
    grade_seconds: float
    store_seconds: float


def by_exam_version(claims: Sequence[Claim]) -> dict[tuple[str, int], list[Claim]]:
    groups: dict[tuple[str, int], list[Claim]] = {}
    for c in claims:
        groups.setdefault((c.exam_id, c.exam_version), []).append(c)
    return groups


def grade_claims(
    db: Database, exams: ExamCache, claims: Sequence[Claim], memo: MemoRunner
) -> list[tuple[Claim, SubmissionResult]]:
    """Grade the claimed sheets: one `grade_sheets` (the grade step every way of grading
    shares, the offline `grader grade` too) per exam version."""
    graded: list[tuple[Claim, SubmissionResult]] = []
    for (exam_id, version), group in by_exam_version(claims).items():
        loaded = exams.get(db, exam_id, version)
        graded += zip(group, grade_sheets(loaded, [c.answers for c in group], memo), strict=True)
    return graded


def run_path(
    db: Database,
    exams: ExamCache,
    runner: CheckRunner,
    submission_ids: Sequence[str],
    path: GradingPath,
) -> PathRun:
    """Claim, grade, store: the outcome per id (graded, failed, or skipped)."""
    started = time.perf_counter()
    claimed = path.claim(db, submission_ids)
    claimed_at = time.perf_counter()
    memo = MemoRunner(runner)
    graded = grade_claims(db, exams, claimed.ready, memo)
    graded_at = time.perf_counter()
    outcomes = {sid: "skipped" for sid in submission_ids}
    outcomes.update(claimed.outcomes)
    outcomes.update(path.store(db, graded))
    return PathRun(
        {sid: outcomes[sid] for sid in submission_ids},
        claimed,
        memo,
        claimed_at - started,
        graded_at - claimed_at,
        time.perf_counter() - graded_at,
    )
