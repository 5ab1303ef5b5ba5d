"""grade_submission: claim the row atomically, grade, store the grade once.

Exactly once in effect: a claim is a compare-and-swap (`queued` -> `grading`, or a
`grading` row whose lease ran out because its worker died) that stamps a fresh claim token;
the grade is stored only by the holder of the current token. A second delivery of the same
task finds nothing to claim and does nothing.

Single sheets (here, `SheetPath`) and chunks (`grader.services.chunks`) share the claim
(`claim_for_grading`, which also gives up on a sheet delivered too often) and the hooks that
run where a final state is stored (`StoreHooks`: webhook outbox rows, batch progress and the
batch's completion), built here from the settings rather than by the tasks that call us.
Both, and regrades, are graded by the one path `grader.services.grading_path.run_path`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session

from grader.config import Settings
from grader.grading import SubmissionResult
from grader.services.batches import (
    CompletedHook,
    complete_finished_batches,
    completed_hook,
    make_batch_hook,
)
from grader.services.grading_path import Claim, Claimed, Graded, Grader, run_path
from grader.services.submissions import Publisher, publish_safely
from grader.services.webhook_options import WebhookOptions
from grader.services.webhook_outbox import submission_outbox_hook
from grader.store import Database
from grader.store.models import Submission, new_id, utcnow

log = logging.getLogger(__name__)

# Called inside the transaction that stores a final state, so side effects such as webhook
# outbox rows commit (or roll back) together with the grade.
FinalHook = Callable[[Session, Submission], None]


@dataclass(frozen=True)
class StoreHooks:
    """What storing a final state (graded, failed) does in the same transaction.

    `rows` run for every stored row (the webhook outbox); a batch's sheets are always
    counted, and the transaction that stores a batch's last sheet completes the batch and
    runs `on_completed` (the `batch.completed` webhook). That is the only place a batch
    completes (besides the re-drive's sweep for sheets finished by an older worker)."""

    rows: tuple[FinalHook, ...] = ()
    on_completed: CompletedHook | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> StoreHooks:
        options = WebhookOptions.from_settings(settings)
        return cls((submission_outbox_hook(options),), completed_hook(settings))

    @classmethod
    def of(cls, settings: Settings, hooks: StoreHooks | Sequence[FinalHook] | None) -> StoreHooks:
        """None: the service's own hooks; a sequence: exactly these row hooks (tests)."""
        if hooks is None:
            return cls.from_settings(settings)
        if isinstance(hooks, StoreHooks):
            return hooks
        return cls(tuple(hooks))

    def per_row(self) -> list[FinalHook]:
        """The hooks of a row stored in a transaction of its own, batch counter included."""
        return [*self.rows, make_batch_hook(self.on_completed)]


def claim_many(
    db: Database, settings: Settings, submission_ids: Sequence[str]
) -> tuple[list[Claim], dict[str, str | None]]:
    """Claim every claimable row among `submission_ids` in one UPDATE ... RETURNING;
    returns (claims in the given order, batch id per claimed row)."""
    now = utcnow()
    token = new_id()
    lease = timedelta(seconds=settings.claim_lease_seconds)  # renewed while grading
    claimable = or_(
        Submission.status == "queued",
        and_(Submission.status == "grading", Submission.lease_until < now),
    )
    with db.session() as session:
        rows = session.execute(
            update(Submission)
            .where(Submission.id.in_(list(submission_ids)), claimable)
            .values(
                status="grading",
                claim_token=token,
                lease_until=now + lease,
                deliveries=Submission.deliveries + 1,
                updated_at=now,
            )
            .returning(
                Submission.id,
                Submission.exam_id,
                Submission.exam_version,
                Submission.answers,
                Submission.deliveries,
                Submission.batch_id,
            )
            .execution_options(synchronize_session=False)
        ).all()
    claims = [Claim(r[0], token, r[1], r[2], dict(r[3]), r[4]) for r in rows]
    order = {sid: i for i, sid in enumerate(submission_ids)}
    claims.sort(key=lambda c: order.get(c.submission_id, 0))
    return claims, {r[0]: r[5] for r in rows}


def claim(db: Database, settings: Settings, submission_id: str) -> Claim | None:
    claims, _ = claim_many(db, settings, [submission_id])
    return claims[0] if claims else None


def claim_for_grading(
    db: Database,
    settings: Settings,
    submission_ids: Sequence[str],
    hooks: Sequence[FinalHook],
    *,
    together: bool,
) -> Claimed:
    """Claim the claimable rows among `submission_ids` (`together`: in one UPDATE, else one
    UPDATE per row), and fail, with `hooks`, each claim delivered more often than
    `settings.max_deliveries`."""
    out = Claimed(outcomes={sid: "skipped" for sid in submission_ids})
    groups = [list(submission_ids)] if together else [[sid] for sid in submission_ids]
    for group in groups:
        claims, batch_of = claim_many(db, settings, group)
        out.batch_of.update(batch_of)
        for c in claims:
            if c.deliveries > settings.max_deliveries:
                # Delivered too often: it keeps killing workers (OOM, crash). Stop the loop.
                mark_failed(db, c, f"gave up after {c.deliveries - 1} deliveries", hooks)
                log.error(
                    "submission %s failed after %d deliveries", c.submission_id, c.deliveries - 1
                )
                out.outcomes[c.submission_id] = "failed"
            else:
                out.ready.append(c)
                del out.outcomes[c.submission_id]
    return out


def _finish_claim(
    session: Session, claim_: Claim, hooks: Sequence[FinalHook], **values: Any
) -> bool:
    """Move the claimed row to its final state (`values`) if this claim is still current, and
    run `hooks` in the same transaction; False if another delivery won."""
    done = session.execute(
        update(Submission)
        .where(
            Submission.id == claim_.submission_id,
            Submission.status == "grading",
            Submission.claim_token == claim_.token,
        )
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    if getattr(done, "rowcount", 0) != 1:
        return False
    _run_hooks(session, claim_.submission_id, hooks)
    return True


def store_in_session(
    session: Session,
    claim_: Claim,
    result: SubmissionResult,
    hooks: Sequence[FinalHook] = (),
) -> bool:
    """Store a grade inside the caller's transaction if this claim is still current; False if
    another delivery won. The result becomes JSON here, in the column it is stored in."""
    now = utcnow()
    return _finish_claim(
        session,
        claim_,
        hooks,
        status="graded",
        result=result.to_dict(),
        score=result.score,
        max_score=result.max_score,
        needs_review=result.needs_review,
        graded_at=now,
        updated_at=now,
        lease_until=None,
        error=None,
    )


def store_result(
    db: Database, claim_: Claim, result: SubmissionResult, hooks: Sequence[FinalHook] = ()
) -> bool:
    """Store the grade if this claim is still current; False if another delivery won."""
    with db.session() as session:
        return store_in_session(session, claim_, result, hooks)


def mark_failed(db: Database, claim_: Claim, reason: str, hooks: Sequence[FinalHook] = ()) -> bool:
    now = utcnow()
    with db.session() as session:
        return _finish_claim(
            session,
            claim_,
            hooks,
            status="failed",
            error=reason[:200],
            updated_at=now,
            lease_until=None,
        )


@dataclass(frozen=True)
class SheetPath:
    """The `GradingPath` of single sheets: each claimed, and stored, in a transaction of its
    own, with `hooks` (webhook outbox rows, batch progress) in the storing transaction."""

    settings: Settings
    hooks: Sequence[FinalHook]

    def claim(self, db: Database, submission_ids: Sequence[str]) -> Claimed:
        return claim_for_grading(db, self.settings, submission_ids, self.hooks, together=False)

    def store(self, db: Database, graded: Graded) -> dict[str, str]:
        return {
            c.submission_id: "graded" if store_result(db, c, result, self.hooks) else "skipped"
            for c, result in graded
        }


def _run_hooks(session: Session, submission_id: str, hooks: Sequence[FinalHook]) -> None:
    if not hooks:
        return
    row = session.get(Submission, submission_id, populate_existing=True)
    assert row is not None
    for hook in hooks:
        hook(session, row)


def grade_submissions(
    grader: Grader,
    submission_ids: Sequence[str],
    hooks: StoreHooks | Sequence[FinalHook] | None = None,
) -> dict[str, str]:
    """Claim (row by row), grade (text encoded in one pass across the claimed sheets) and
    store each sheet in a transaction of its own, with the service's hooks by default.

    Returns the outcome per id: graded, failed, or skipped (another delivery has it)."""
    path = SheetPath(grader.settings, StoreHooks.of(grader.settings, hooks).per_row())
    return run_path(grader.db, grader.exams, grader.runner, submission_ids, path).outcomes


def redrive(
    db: Database, settings: Settings, publisher: Publisher, limit: int = 500
) -> dict[str, Any]:
    """Republish rows stuck in `queued` (publish lost, broker restarted) or in `grading`
    with an expired lease (worker died). Duplicates are absorbed by the claim."""
    now = utcnow()
    stale = now - timedelta(seconds=settings.redrive_after)
    with db.session() as session:
        ids = list(
            session.scalars(
                select(Submission.id)
                .where(
                    or_(
                        and_(Submission.status == "queued", Submission.updated_at < stale),
                        and_(Submission.status == "grading", Submission.lease_until < now),
                    )
                )
                .order_by(Submission.updated_at)
                .limit(limit)
            )
        )
        if ids:
            session.execute(
                update(Submission)
                .where(Submission.id.in_(ids), Submission.status == "queued")
                .values(updated_at=now)
                .execution_options(synchronize_session=False)
            )
    published = sum(publish_safely(publisher, sid) for sid in ids)
    if ids:
        log.info("re-drive republished %d of %d stale submissions", published, len(ids))
    completed = complete_finished_batches(db, completed_hook(settings))
    return {"found": len(ids), "published": published, "batches_completed": completed}


def queue_lag(db: Database) -> dict[str, Any]:
    """Age of the oldest queued row and counts by state: the readiness signal."""
    with db.session() as session:
        oldest = session.scalar(
            select(Submission.created_at)
            .where(Submission.status == "queued")
            .order_by(Submission.created_at)
            .limit(1)
        )
        queued = session.query(Submission).filter(Submission.status == "queued").count()
        grading = session.query(Submission).filter(Submission.status == "grading").count()
    lag = 0.0
    if oldest is not None:
        if oldest.tzinfo is None:
            oldest = oldest.replace(tzinfo=utcnow().tzinfo)
        lag = (utcnow() - oldest).total_seconds()
    return {"queued": queued, "grading": grading, "oldest_queued_seconds": round(lag, 3)}
