"""Corrections teach the grader: the overrides of one question become graded examples of its
criteria in a new rubric version; a dry-run regrade under that version (`regrades`: one run per
batch and one for the exam's single submissions) shows what they change, and applying it keeps
every override (they are laid over the new results).

Only criteria whose checker calibrates on graded examples (text) learn; the answer says which
overrides taught nothing and why, so the instructor is never left guessing.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select

from grader.batches.corrections import (
    Corrected,
    NewExample,
    add_examples,
    examples_from_override,
    leave_one_out,
)
from grader.checks.registry import CheckerRegistry
from grader.exams.loader import load_exam_json
from grader.grading import CheckRunner, SubmissionResult, grade_many
from grader.services.auth import Actor
from grader.services.batches import managed_exam
from grader.services.errors import Forbidden, NotFound
from grader.services.exams import update_exam
from grader.store import Database
from grader.store.batches import AutoResult, GradeOverride
from grader.store.models import ExamVersion, Submission


def learnable_criteria(registry: CheckerRegistry, question: dict[str, Any]) -> set[str]:
    """The criteria of a rubric question whose checker takes graded examples."""
    out = set()
    for c in question["criteria"]:
        kind = str(c["check"]["kind"])
        if kind in registry and "examples" in registry.get(kind).spec_model.model_fields:
            out.add(c["id"])
    return out


def _latest_overrides(
    session: Any, exam_id: str, question_id: str, only: set[str] | None
) -> dict[str, list[GradeOverride]]:
    """Per submission, the overrides of the question that still count: the newest
    question-level one if any, else the newest per criterion."""
    query = (
        select(GradeOverride)
        .join(Submission, Submission.id == GradeOverride.submission_id)
        .where(Submission.exam_id == exam_id, GradeOverride.question_id == question_id)
        .order_by(GradeOverride.id)
    )
    latest: dict[tuple[str, str | None], GradeOverride] = {}
    for o in session.scalars(query):
        if only is None or o.submission_id in only:
            latest[(o.submission_id, o.criterion_id)] = o
    out: dict[str, list[GradeOverride]] = {}
    for (sid, cid), o in latest.items():
        if (sid, None) in latest and cid is not None:
            continue
        out.setdefault(sid, []).append(o)
    return out


def examples_from_corrections(
    db: Database,
    registry: CheckerRegistry,
    actor: Actor,
    exam_id: str,
    question_id: str,
    submission_ids: list[str] | None = None,
    *,
    dry_run: bool = False,
    runner: CheckRunner | None = None,
    force: bool = False,
) -> dict[str, Any]:
    """Turn the overrides of `question_id` (of the given submissions, or all) into graded
    examples of its criteria, stored as a new version of the exam (unless `dry_run`).

    With a `runner`, the corrections first test themselves (leave one out: each corrected
    answer graded under the examples of the others): if that does not bring them closer to
    the instructor's scores than the rubric alone, nothing is stored unless `force`, and the
    answer says so (`self_test`)."""
    if not actor.can_author:
        raise Forbidden("corrections are for instructors and admins")
    with db.session() as session:
        exam = managed_exam(session, actor, exam_id)
        ver = session.get(ExamVersion, (exam_id, exam.current_version))
        if ver is None:  # pragma: no cover - the current version always exists
            raise NotFound(f"exam {exam_id!r} has no current version")
        definition = ver.definition
        question = next((q for q in definition["questions"] if q["id"] == question_id), None)
        if question is None:
            raise NotFound(f"no question {question_id!r} in exam {exam_id!r}")
        learnable = learnable_criteria(registry, question)
        wanted = set(submission_ids) if submission_ids else None
        new: list[NewExample] = []
        skipped: list[dict[str, Any]] = []
        corrected: list[Corrected] = []
        for sid, overrides in _latest_overrides(session, exam_id, question_id, wanted).items():
            row = session.get(Submission, sid)
            if row is None:  # pragma: no cover - overrides reference existing rows
                continue
            auto_row = session.get(AutoResult, sid)
            auto = _stored(auto_row.result if auto_row is not None else row.result)
            effective = _stored(row.result)
            answer = str(row.answers.get(question_id) or "")
            made_here: list[NewExample] = []
            for o in overrides:
                made = examples_from_override(
                    question,
                    auto,
                    o.as_dict(),
                    answer,
                    learnable,
                    sid,
                )
                if made:
                    made_here += made
                else:
                    skipped.append(
                        {
                            "submission_id": sid,
                            "criterion_id": o.criterion_id,
                            "reason": _why_not(question, o.criterion_id, learnable, answer),
                        }
                    )
            new += made_here
            corrected.append(
                Corrected(
                    answer,
                    _fraction_of(auto, question_id),
                    _fraction_of(effective, question_id),
                    tuple(made_here),
                )
            )
    check = None
    if runner is not None and new:
        check = leave_one_out(
            definition, corrected, lambda d, a: _grade_one(registry, runner, d, question_id, a)
        )
    taught, added = add_examples(definition, new)
    out: dict[str, Any] = {
        "exam_id": exam_id,
        "question_id": question_id,
        "from_version": exam.current_version,
        "version": exam.current_version,
        "added": [e.to_dict() for e in added],
        "skipped": skipped,
        "learnable": sorted(learnable),
        "self_test": check,
    }
    held_back = check is not None and check["error_held_out"] >= check["error_before"]
    if held_back and not force:
        out["held_back"] = True
        return out
    if added and not dry_run:
        ref = update_exam(db, registry, actor, exam_id, json.dumps(taught), True)
        out["version"] = ref["version"]
    return out


def _stored(data: dict[str, Any] | None) -> SubmissionResult | None:
    return SubmissionResult.from_dict(data) if data else None


def _fraction_of(result: SubmissionResult | None, question_id: str) -> float:
    questions = result.questions if result is not None else []
    q = next((q for q in questions if q.id == question_id), None)
    return float(q.score) / float(q.max_score) if q and q.max_score else 0.0


def _grade_one(
    registry: CheckerRegistry,
    runner: CheckRunner,
    definition: dict[str, Any],
    question_id: str,
    answer: str,
) -> float:
    (result,) = grade_many(load_exam_json(definition, registry), [{question_id: answer}], runner)
    return _fraction_of(result, question_id)


def _why_not(question: dict[str, Any], cid: str | None, learnable: set[str], answer: str) -> str:
    if not answer.strip():
        return "a blank answer is scored before any checker runs"
    if not learnable:
        kinds = sorted({str(c["check"]["kind"]) for c in question["criteria"]})
        return f"no criterion of this question learns from examples ({', '.join(kinds)})"
    crit = next((c for c in question["criteria"] if c["id"] == cid), None)
    kind = str(crit["check"]["kind"]) if crit else "?"
    return f"criterion {cid!r} ({kind}) does not learn from examples"
