"""The one grading path: claim -> grade -> store.

Every way the service grades sheets (a single submission, a batch's chunk, a regrade's dry
run) is a `GradingPath`, which says how its sheets are claimed and how their results are
stored, and is run by `run_path`, which grades what was claimed in one way for all of them:
grouped by exam version, the checkers' answers seen once per call (`MemoRunner`), the
sandboxed checks run side by side, one `grade_many` per group. So a sheet scores the same
whichever way it comes in.

The paths: `grader.services.grading.SheetPath` (single sheets: each claimed and stored in a
transaction of its own), `grader.services.chunks.ChunkPath` (a chunk claimed in one UPDATE and
stored in one transaction), `grader.services.regrades.RegradePath` (a dry run's sheets,
stored beside the grade, never over it).
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Protocol

from grader.checks.base import CheckResult, CheckSpec
from grader.exams import LoadedExam
from grader.grading import CheckRunner, SubmissionResult, grade_many
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
    """Grade the claimed sheets: one `grade_many` per exam version."""
    graded: list[tuple[Claim, SubmissionResult]] = []
    for (exam_id, version), group in by_exam_version(claims).items():
        loaded = exams.get(db, exam_id, version)
        sheets = [c.answers for c in group]
        memo.prefetch(loaded, sheets)
        graded += zip(group, grade_many(loaded, sheets, memo), strict=True)
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


class MemoRunner:
    """Runs each (criterion, answer) once per call: identical answers (a number, a formula,
    a copied sentence) get the verdict already computed for the first. Checkers are
    deterministic functions of (spec, answer), so this changes no result. Specs come from one
    `LoadedExam`, so the spec object's identity names the criterion."""

    def __init__(self, runner: CheckRunner) -> None:
        self.runner = runner
        self.hits = 0
        self.seconds: defaultdict[str, float] = defaultdict(float)  # per checker kind
        # The spec is kept with its result: a live object's id cannot be reused by another.
        self._seen: dict[tuple[str, int, str], tuple[CheckSpec, CheckResult]] = {}
        self._prefetched: set[tuple[str, int, str]] = set()

    def run(self, kind: str, spec: CheckSpec, answer: str) -> CheckResult:
        key = (kind, id(spec), answer)
        hit = self._seen.get(key)
        if hit is not None and hit[0] is spec:
            if key in self._prefetched:
                self._prefetched.discard(key)  # its first use: not a repeated answer
            else:
                self.hits += 1
            return hit[1]
        started = time.perf_counter()
        result = self.runner.run(kind, spec, answer)
        self.seconds[kind] += time.perf_counter() - started
        self._seen[key] = (spec, result)
        return result

    def warm(self, kind: str, items: Sequence[tuple[CheckSpec, str]]) -> None:
        started = time.perf_counter()
        self.runner.warm(kind, items)
        self.seconds[kind] += time.perf_counter() - started

    def prefetch(self, loaded: LoadedExam, sheets: Sequence[Mapping[str, str]]) -> None:
        """Run the sheets' sandboxed criteria (math) side by side on the sandbox's child
        processes before grading, instead of one after the other during it.

        Only for a runner with several children (`processes`) and checkers marked
        `sandboxed`: those run in child processes, so these threads only wait on pipes. The
        calls are exactly those `grade_many` will make, so it finds every verdict here."""
        workers = int(getattr(self.runner, "processes", 1) or 1)
        registry = getattr(self.runner, "registry", None)
        if workers < 2 or registry is None:
            return
        calls: dict[tuple[str, int, str], tuple[str, CheckSpec, str]] = {}
        for sheet in sheets:
            for question in loaded.exam.questions:
                answer = sheet.get(question.id)
                if answer is None or not answer.strip():
                    continue  # unanswered: grading runs no checker
                for crit in question.criteria:
                    if getattr(type(registry.get(crit.kind)), "sandboxed", False):
                        spec = loaded.spec(question.id, crit.id)
                        calls.setdefault((crit.kind, id(spec), answer), (crit.kind, spec, answer))
        todo = [c for k, c in calls.items() if k not in self._seen]
        if len(todo) < 2:
            return
        started = time.perf_counter()
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="sandbox-call") as pool:
            results = list(pool.map(lambda c: self.runner.run(*c), todo))
        share = (time.perf_counter() - started) / len(todo)
        for (kind, spec, answer), result in zip(todo, results, strict=True):
            key = (kind, id(spec), answer)
            self._seen[key] = (spec, result)
            self._prefetched.add(key)
            self.seconds[kind] += share
