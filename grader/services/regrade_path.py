"""A dry run's chunk through the one grading path: `RegradePath` claims the run's sheets
(the claim is the run, still grading) and stores each new result once beside the sheet's
grade (one row per run and submission, never over the grade), counting it on the run row;
the row lock on that counter makes exactly one chunk see the last result, and that chunk
computes the run's diff (`finish_run`). Requesting, reading and applying runs is
`grader.services.regrades`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, and_, select, update
from sqlalchemy.orm import Session

from grader.batches.regrade import apply_overrides, diff_results
from grader.grading import CheckRunner, SubmissionResult
from grader.services.exams import ExamCache
from grader.services.grading_path import Claim, Claimed, Graded, run_path
from grader.services.overrides import combine_rules, override_dicts
from grader.store import Database
from grader.store.batches import RegradeResult, RegradeRun
from grader.store.models import Submission, utcnow


def sheets_of(batch_id: str | None, exam_id: str) -> ColumnElement[bool]:
    """The submissions a run covers: its batch's, or the exam's submitted one by one."""
    if batch_id is not None:
        return Submission.batch_id == batch_id
    return and_(Submission.exam_id == exam_id, Submission.batch_id.is_(None))


@dataclass
class RegradePath:
    """The `GradingPath` of a dry run's chunk: the claim is the run (still grading) and the
    result not stored yet; a result is stored beside the sheet's grade (one row per run and
    submission, never over the grade) and counted on the run row, whose lock makes exactly
    one chunk see the last result and compute the diff."""

    run_id: str
    running: bool = False
    stored: int = 0

    def claim(self, db: Database, submission_ids: Sequence[str]) -> Claimed:
        claimed = Claimed(outcomes={sid: "skipped" for sid in submission_ids})
        with db.session() as session:
            run = session.get(RegradeRun, self.run_id)
            if run is None or run.status != "grading":
                return claimed
            self.running = True
            have = set(
                session.scalars(
                    select(RegradeResult.submission_id).where(
                        RegradeResult.run_id == self.run_id,
                        RegradeResult.submission_id.in_(submission_ids),
                    )
                )
            )
            rows = session.scalars(
                select(Submission).where(
                    Submission.id.in_(submission_ids), sheets_of(run.batch_id, run.exam_id)
                )
            )
            for r in rows:
                if r.id not in have:
                    claimed.ready.append(
                        Claim(r.id, self.run_id, run.exam_id, run.exam_version, dict(r.answers), 0)
                    )
                    del claimed.outcomes[r.id]
        order = {sid: i for i, sid in enumerate(submission_ids)}
        claimed.ready.sort(key=lambda c: order[c.submission_id])
        return claimed

    def store(self, db: Database, graded: Graded) -> dict[str, str]:
        if not self.running:
            return {}
        outcomes: dict[str, str] = {}
        with db.session() as session:
            for c, result in graded:
                if session.get(RegradeResult, (self.run_id, c.submission_id)) is None:
                    session.add(
                        RegradeResult(
                            run_id=self.run_id,
                            submission_id=c.submission_id,
                            result=result.to_dict(),
                        )
                    )
                    self.stored += 1
                    outcomes[c.submission_id] = "graded"
                else:
                    outcomes[c.submission_id] = "skipped"  # another delivery stored it
            session.flush()
            session.execute(
                update(RegradeRun)
                .where(RegradeRun.id == self.run_id, RegradeRun.status == "grading")
                .values(done=RegradeRun.done + self.stored)
                .execution_options(synchronize_session=False)
            )
            run = session.get(RegradeRun, self.run_id, populate_existing=True)
            if run is not None and run.status == "grading" and run.done >= run.total:
                finish_run(session, run)
        return outcomes


def regrade_chunk(
    db: Database, exams: ExamCache, runner: CheckRunner, run_id: str, submission_ids: list[str]
) -> dict[str, Any]:
    """A worker's part of a dry run: grade these sheets under the run's version through the
    one grading path (`grader.services.grading_path.run_path`), store each result once, and
    compute the diff if this chunk brought the last result."""
    path = RegradePath(run_id)
    run = run_path(db, exams, runner, submission_ids, path)
    skipped = len(submission_ids) - len(run.claimed.ready)
    return {"run": run_id, "stored": path.stored, "skipped": skipped}


def stored_result(data: dict[str, Any] | None) -> SubmissionResult | None:
    """A result read from a JSON column (None: not graded)."""
    return None if data is None else SubmissionResult.from_dict(data)


def effective_results(
    session: Session, run: RegradeRun
) -> tuple[list[tuple[Submission, SubmissionResult, SubmissionResult]], list[dict[str, Any]]]:
    """(row, new automatic, new effective) per sheet, and the overrides that no longer fit."""
    combine = combine_rules(session, run.exam_id, run.exam_version)
    out = []
    orphaned: list[dict[str, Any]] = []
    pairs = session.execute(
        select(Submission, RegradeResult.result)
        .join(RegradeResult, RegradeResult.submission_id == Submission.id)
        .where(RegradeResult.run_id == run.id)
        .order_by(Submission.id)
    ).all()
    for row, stored in pairs:
        auto = SubmissionResult.from_dict(stored)
        effective, lost = apply_overrides(auto, override_dicts(session, row.id), combine)
        orphaned += [{"submission_id": row.id, **o} for o in lost]
        out.append((row, auto, effective))
    return out, orphaned


def finish_run(session: Session, run: RegradeRun) -> None:
    sheets, orphaned = effective_results(session, run)
    diff = diff_results(
        {row.id: stored_result(row.result) for row, _, _ in sheets},
        {row.id: eff for row, _, eff in sheets},
        {row.id: row.student_id for row, _, _ in sheets},
    )
    diff.orphaned_overrides = orphaned
    diff.summary["orphaned_overrides"] = len(orphaned)
    run.diff = {
        "from_versions": sorted({row.exam_version for row, _, _ in sheets}),
        **diff.to_dict(),
    }
    run.status = "ready"
    run.ready_at = utcnow()
