"""grade_chunk: grade a chunk of queued sheets with two commits instead of two per sheet.

Same guarantees as `grader.services.grading.grade_submissions` (a claim is a compare-and-swap
from `queued`, or from `grading` with an expired lease, stamping a claim token; a result is
stored only by the holder of the current token; a second delivery finds nothing to claim), but
the chunk is claimed in one UPDATE ... RETURNING and its results stored in one transaction.
Per-sheet transactions cost two commits each (an fsync apiece on PostgreSQL): for a batch of
1,000 sheets that was most of the time spent outside the checkers.

Batch progress is counted once per batch per chunk (one UPDATE of the batch row) rather than
by a per-sheet hook; the transaction that stores a batch's last sheet completes the batch.

`ChunkPath` says how a chunk is claimed and stored; grading it is the one path's
(`grader.services.grading_path.run_path`), the same as for single sheets and regrades.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from grader.config import Settings
from grader.services.batches import CompletedHook, count_finished, first_count
from grader.services.grading import (
    FinalHook,
    SheetPath,
    StoreHooks,
    claim_for_grading,
    store_in_session,
)
from grader.services.grading_path import Claimed, Graded, Grader, run_path
from grader.store import Database

log = logging.getLogger(__name__)


def _store_all(
    db: Database,
    pairs: Graded,
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


@dataclass
class ChunkPath:
    """The `GradingPath` of a chunk: claimed in one UPDATE, stored in one transaction with
    `hooks.rows` per row and batch progress counted per batch; if that transaction fails,
    stored row by row (the slow path, batch counter per row) so one bad row loses no other."""

    settings: Settings
    hooks: StoreHooks
    batch_of: dict[str, str | None] = field(default_factory=dict)

    def claim(self, db: Database, submission_ids: Sequence[str]) -> Claimed:
        claimed = claim_for_grading(
            db, self.settings, submission_ids, self.hooks.per_row(), together=True
        )
        self.batch_of = claimed.batch_of
        return claimed

    def store(self, db: Database, graded: Graded) -> dict[str, str]:
        try:
            return _store_all(
                db,
                graded,
                self.batch_of,
                self.hooks.rows,
                self.hooks.on_completed,
            )
        except Exception:  # noqa: BLE001 - one bad row must not lose the chunk: store one by one
            log.exception("storing a chunk of %d failed; storing row by row", len(graded))
        return SheetPath(self.settings, self.hooks.per_row()).store(db, graded)


def grade_chunk(
    grader: Grader,
    submission_ids: Sequence[str],
    hooks: StoreHooks | Sequence[FinalHook] | None = None,
) -> dict[str, str]:
    """Claim, grade (one `grade_many` per exam version), store; the outcome per id.

    `hooks` (default: the service's own, from the settings): the row hooks run per stored
    row in the storing transaction (webhook outbox rows); batch progress is counted per chunk,
    or per row on the slow path (a row stored on its own)."""
    path = ChunkPath(grader.settings, StoreHooks.of(grader.settings, hooks))
    run = run_path(grader.db, grader.exams, grader.runner, submission_ids, path)
    by_kind = ", ".join(
        f"{k} {v:.2f}" for k, v in sorted(run.memo.seconds.items(), key=lambda kv: -kv[1])
    )
    log.info(
        "chunk of %d: claim %.2f s, grade %.2f s (%s; %d repeated answers), store %.2f s",
        len(submission_ids),
        run.claim_seconds,
        run.grade_seconds,
        by_kind,
        run.memo.hits,
        run.store_seconds,
    )
    return run.outcomes
