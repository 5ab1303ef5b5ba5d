"""Regrading a batch, or an exam's single submissions (those not in a batch), under a rubric
version: a dry run graded by workers in chunks, its diff (who changes, by how much), then an
explicit apply. Overrides survive: they are laid over the
new automatic results, at the dry run for the diff and again at apply time.

The run row is the truth, like a submission row: chunk tasks carry (run id, submission ids)
and grade them through the one grading path (`grader.services.regrade_path`: each new result
stored once, counted on the run row, the diff computed by the chunk that brings the last).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from sqlalchemy import ColumnElement, and_, select, update
from sqlalchemy.orm import Session

from grader.services.auth import Actor
from grader.services.batches import managed_batch, managed_exam
from grader.services.errors import Conflict, Forbidden, Invalid, NotFound, Unavailable
from grader.services.regrade_path import effective_results, finish_run, sheets_of
from grader.store import Database
from grader.store.batches import AutoResult, Batch, RegradeRun
from grader.store.models import ExamVersion, Submission, utcnow
from grader.store.times import iso

log = logging.getLogger(__name__)

CHUNK_SIZE = 32


def run_view(run: RegradeRun) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": run.id,
        "exam_id": run.exam_id,
        "batch_id": run.batch_id,  # None: the exam's single submissions
        "to_version": run.exam_version,
        "status": run.status,
        "total": run.total,
        "done": run.done,
        "created_at": iso(run.created_at),
        "ready_at": iso(run.ready_at),
        "applied_at": iso(run.applied_at),
    }
    if run.error:
        out["error"] = run.error
    if run.diff is not None:
        out.update(run.diff)
    return out


def _version(body: Any) -> int | None:
    if body is None:
        return None
    if not isinstance(body, dict) or set(body) - {"version"}:
        raise Invalid('the body may have only "version" (an integer)')
    version = body.get("version")
    if version is not None and (not isinstance(version, int) or isinstance(version, bool)):
        raise Invalid('"version" must be an integer')
    return version


def _runs_of(batch_id: str | None, exam_id: str) -> ColumnElement[bool]:
    """The runs over the same submissions."""
    if batch_id is not None:
        return RegradeRun.batch_id == batch_id
    return and_(RegradeRun.exam_id == exam_id, RegradeRun.batch_id.is_(None))


def request_regrade(
    db: Database,
    publisher: Any,
    actor: Actor,
    batch_id: str,
    body: Any,
    chunk_size: int = CHUNK_SIZE,
) -> dict[str, Any]:
    """Start a dry run of a batch: the run row first, then its chunks on the queue."""
    version = _version(body)
    with db.session() as session:
        _, exam = managed_batch(session, actor, batch_id)
        busy = session.scalar(
            select(Submission.id)
            .where(Submission.batch_id == batch_id, Submission.status.in_(("queued", "grading")))
            .limit(1)
        )
        if busy is not None:
            raise Conflict("the batch is still being graded; regrade when it is complete")
        run_id, view, ids = _new_run(session, actor, exam.id, batch_id, version)
    _publish(db, publisher, run_id, ids, chunk_size)
    return view


def request_singles_regrade(
    db: Database,
    publisher: Any,
    actor: Actor,
    exam_id: str,
    body: Any,
    chunk_size: int = CHUNK_SIZE,
) -> dict[str, Any] | None:
    """Start a dry run of the exam's graded single submissions (None: there are none).
    Singles arrive one by one at any time, so those not graded yet do not hold the run back
    (as a batch still grading does); they are left out of it."""
    version = _version(body)
    with db.session() as session:
        exam = managed_exam(session, actor, exam_id)
        graded = sheets_of(None, exam_id) & (Submission.status == "graded")
        if session.scalar(select(Submission.id).where(graded).limit(1)) is None:
            return None
        run_id, view, ids = _new_run(session, actor, exam.id, None, version)
    _publish(db, publisher, run_id, ids, chunk_size)
    return view


def _new_run(
    session: Session, actor: Actor, exam_id: str, batch_id: str | None, version: int | None
) -> tuple[str, dict[str, Any], list[str]]:
    """The run row of a dry run over the graded sheets of a batch (or of the singles)."""
    exam = managed_exam(session, actor, exam_id)
    target = version or exam.current_version
    if session.get(ExamVersion, (exam_id, target)) is None:
        raise NotFound(f"exam {exam_id!r} has no version {target}")
    running = session.scalar(
        select(RegradeRun.id)
        .where(_runs_of(batch_id, exam_id), RegradeRun.status == "grading")
        .limit(1)
    )
    if running is not None:
        what = "this batch" if batch_id else "the single submissions"
        raise Conflict(f"regrade {running} of {what} is still running")
    ids = list(
        session.scalars(
            select(Submission.id)
            .where(sheets_of(batch_id, exam_id), Submission.status == "graded")
            .order_by(Submission.id)
        )
    )
    run = RegradeRun(
        batch_id=batch_id,
        exam_id=exam_id,
        exam_version=target,
        requested_by=actor.key_id,
        total=len(ids),
        done=0,
        status="grading",
    )
    session.add(run)
    session.flush()
    if not ids:
        finish_run(session, run)
    return run.id, run_view(run), ids


def _publish(db: Database, publisher: Any, run_id: str, ids: list[str], chunk_size: int) -> None:
    """Queue the run's chunks; if the queue fails, the run is marked failed (nothing is
    half-done)."""
    publish: Callable[[str, list[str]], object] | None
    publish = getattr(publisher, "publish_regrade_chunk", None)
    try:
        for start in range(0, len(ids), max(1, chunk_size)):
            if publish is None:
                raise RuntimeError("this publisher cannot queue regrade chunks")
            publish(run_id, ids[start : start + chunk_size])
    except Exception as exc:  # noqa: BLE001 - nothing half-done: the run is marked failed
        log.warning("queueing regrade %s failed", run_id, exc_info=True)
        with db.session() as session:
            session.execute(
                update(RegradeRun)
                .where(RegradeRun.id == run_id)
                .values(status="failed", error=f"could not be queued: {exc}"[:200])
            )
        raise Unavailable("the queue is unavailable; try the regrade again later") from None


def _managed_run(session: Session, actor: Actor, run_id: str) -> tuple[RegradeRun, Batch | None]:
    run = session.get(RegradeRun, run_id)
    if run is None:
        raise NotFound(f"no regrade {run_id!r}")
    try:
        if run.batch_id is not None:
            batch, _ = managed_batch(session, actor, run.batch_id)
            return run, batch
        if not actor.can_author:
            raise Forbidden("regrades are for instructors and admins")
        managed_exam(session, actor, run.exam_id)
    except NotFound:
        raise NotFound(f"no regrade {run_id!r}") from None
    return run, None


def get_regrade(db: Database, actor: Actor, run_id: str) -> dict[str, Any]:
    with db.session() as session:
        run, _ = _managed_run(session, actor, run_id)
        return run_view(run)


def apply_regrade(db: Database, actor: Actor, run_id: str) -> dict[str, Any]:
    """Store a ready dry run's results, overrides laid over them (including overrides made
    after the dry run), in one transaction."""
    now = utcnow()
    with db.session() as session:
        run, batch = _managed_run(session, actor, run_id)
        session.refresh(run, with_for_update=True)
        if run.status != "ready":
            raise Conflict(f"the regrade is {run.status}; only a ready one can be applied")
        newer = session.scalar(
            select(RegradeRun.id)
            .where(
                _runs_of(run.batch_id, run.exam_id),
                RegradeRun.status == "applied",
                RegradeRun.applied_at > run.created_at,
            )
            .limit(1)
        )
        if newer is not None:
            raise Conflict(f"regrade {newer} was applied since this dry run; start a new one")
        sheets, _ = effective_results(session, run)
        for row, auto, effective in sheets:
            if row.status != "graded":
                continue
            stored = session.get(AutoResult, row.id)
            if effective.auto_score is not None:  # overridden: keep the automatic result beside it
                if stored is None:
                    session.add(
                        AutoResult(
                            submission_id=row.id,
                            exam_version=run.exam_version,
                            result=auto.to_dict(),
                            updated_at=now,
                        )
                    )
                else:
                    stored.result, stored.exam_version, stored.updated_at = (
                        auto.to_dict(),
                        run.exam_version,
                        now,
                    )
            elif stored is not None:
                session.delete(stored)
            row.exam_version = run.exam_version
            row.result = effective.to_dict()
            row.score, row.max_score = effective.score, effective.max_score
            row.needs_review = effective.needs_review
            row.updated_at = now
        if batch is not None:
            batch.exam_version = run.exam_version
        run.status = "applied"
        run.applied_at = now
        return run_view(run)


def request_exam_regrade(
    db: Database, publisher: Any, actor: Actor, exam_id: str, body: Any
) -> dict[str, Any]:
    """A dry run of every batch of the exam, and one of its single submissions (those not in
    a batch), under a version (default: the current one), e.g. after corrections became
    graded examples. A batch still grading, or a batch or the singles with a run in progress,
    is listed as skipped with the reason (`batch_id` None: the singles)."""
    version = _version(body)
    with db.session() as session:
        exam = managed_exam(session, actor, exam_id)
        target = version or exam.current_version
        batch_ids = list(
            session.scalars(
                select(Batch.id).where(Batch.exam_id == exam_id).order_by(Batch.created_at)
            )
        )
    runs: list[dict[str, Any]] = []
    skipped: list[dict[str, Any]] = []
    for batch_id in batch_ids:
        try:
            runs.append(request_regrade(db, publisher, actor, batch_id, {"version": target}))
        except Conflict as exc:
            skipped.append({"batch_id": batch_id, "reason": exc.detail})
    try:
        singles = request_singles_regrade(db, publisher, actor, exam_id, {"version": target})
        if singles is not None:
            runs.append(singles)
    except Conflict as exc:
        skipped.append({"batch_id": None, "reason": exc.detail})
    return {"exam_id": exam_id, "to_version": target, "runs": runs, "skipped": skipped}


def exam_regrades(
    db: Database, actor: Actor, exam_id: str, limit: int = 20
) -> list[dict[str, Any]]:
    """The newest regrade runs of the exam (of its batches and of its single submissions)."""
    with db.session() as session:
        managed_exam(session, actor, exam_id)
        rows = session.scalars(
            select(RegradeRun)
            .where(RegradeRun.exam_id == exam_id)
            .order_by(RegradeRun.created_at.desc())
            .limit(limit)
        )
        return [run_view(r) for r in rows]
