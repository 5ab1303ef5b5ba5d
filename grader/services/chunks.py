"""grade_chunk: grade a chunk of queued sheets with two commits instead of two per sheet.

Same guarantees as `grader.services.grading.grade_submissions` (a claim is a compare-and-swap
from `queued`, or from `grading` with an expired lease, stamping a claim token; a result is
stored only by the holder of the current token; a second delivery finds nothing to claim), but
the chunk is claimed in one UPDATE ... RETURNING and its results stored in one transaction.
Per-sheet transactions cost two commits each (an fsync apiece on PostgreSQL): for a batch of
1,000 sheets that was most of the time spent outside the checkers.

Batch progress is counted once per batch per chunk (one UPDATE of the batch row) rather than
by a per-sheet hook; the transaction that stores a batch's last sheet completes the batch.
"""

from __future__ import annotations

import logging
import time
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor

from grader.checks.base import CheckResult, CheckSpec
from grader.config import Settings
from grader.exams import LoadedExam
from grader.grading import CheckRunner, grade_many
from grader.services.batches import CompletedHook, count_finished, first_count
from grader.services.exams import ExamCache
from grader.services.grading import (
    Claim,
    FinalHook,
    StoreHooks,
    by_exam_version,
    claim_for_grading,
    store_in_session,
    store_result,
)
from grader.store import Database

log = logging.getLogger(__name__)


class MemoRunner:
    """Runs each (criterion, answer) once per chunk: identical answers (a number, a formula,
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
        """Run the chunk's sandboxed criteria (math) side by side on the sandbox's child
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


def _store_all(
    db: Database,
    pairs: Sequence[tuple[Claim, dict[str, object]]],
    batch_of: dict[str, str | None],
    hooks: Sequence[FinalHook],
    on_completed: CompletedHook | None,
) -> dict[str, str]:
    outcomes: dict[str, str] = {}
    finished: Counter[str] = Counter()
    with db.session() as session:
        for claim_, result in pairs:
            if not store_in_session(session, claim_, result, hooks):
                outcomes[claim_.submission_id] = "skipped"  # another delivery won
                continue
            outcomes[claim_.submission_id] = "graded"
            batch_id = batch_of.get(claim_.submission_id)
            if batch_id and first_count(session, claim_.submission_id):
                finished[batch_id] += 1
        for batch_id, n in finished.items():
            count_finished(session, batch_id, n, on_completed)
    return outcomes


def grade_chunk(
    db: Database,
    settings: Settings,
    exams: ExamCache,
    runner: CheckRunner,
    submission_ids: Sequence[str],
    hooks: StoreHooks | Sequence[FinalHook] | None = None,
) -> dict[str, str]:
    """Claim, grade (one `grade_many` per exam version), store; the outcome per id.

    `hooks` (default: the service's own, from the settings): the row hooks run per stored
    row in the storing transaction (webhook outbox rows); batch progress is counted per chunk,
    or per row on the slow path (a row stored on its own)."""
    store_hooks = StoreHooks.of(settings, hooks)
    slow_hooks = store_hooks.per_row()
    started = time.perf_counter()
    claimed = claim_for_grading(db, settings, submission_ids, slow_hooks, together=True)
    claimed_at = time.perf_counter()
    outcomes = {sid: "skipped" for sid in submission_ids}
    outcomes.update(claimed.outcomes)
    pairs = []
    memo = MemoRunner(runner)
    for (exam_id, version), group in by_exam_version(claimed.ready).items():
        loaded = exams.get(db, exam_id, version)
        memo.prefetch(loaded, [c.answers for c in group])
        results = grade_many(loaded, [c.answers for c in group], memo)
        pairs += [(c, r) for c, r in zip(group, results, strict=True)]
    graded_at = time.perf_counter()
    try:
        outcomes.update(
            _store_all(
                db,
                [(c, r.to_dict()) for c, r in pairs],
                claimed.batch_of,
                store_hooks.rows,
                store_hooks.on_completed,
            )
        )
    except Exception:  # noqa: BLE001 - one bad row must not lose the chunk: store one by one
        log.exception("storing a chunk of %d failed; storing row by row", len(pairs))
        for c, result in pairs:
            stored = store_result(db, c, result, slow_hooks)
            outcomes[c.submission_id] = "graded" if stored else "skipped"
    by_kind = ", ".join(
        f"{k} {v:.2f}" for k, v in sorted(memo.seconds.items(), key=lambda kv: -kv[1])
    )
    log.info(
        "chunk of %d: claim %.2f s, grade %.2f s (%s; %d repeated answers), store %.2f s",
        len(submission_ids),
        claimed_at - started,
        graded_at - claimed_at,
        by_kind,
        memo.hits,
        time.perf_counter() - graded_at,
    )
    return outcomes
