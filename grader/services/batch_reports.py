"""Results, gradebooks and statistics of a batch or an exam, as JSON, CSV or an HTML report."""

from __future__ import annotations

from typing import Any, Literal

from grader.batches import export
from grader.batches.stats import compute_stats
from grader.grading import SubmissionResult
from grader.services.auth import Actor
from grader.services.batches import batch_records, exam_records, question_ids
from grader.services.errors import Invalid, NotFound
from grader.store import Database

Scope = Literal["batch", "exam"]


def _records(
    db: Database, actor: Actor, scope: Scope, ident: str
) -> tuple[dict[str, Any], list[dict[str, Any]], list[str]]:
    if scope == "batch":
        info, records = batch_records(db, actor, ident)
        qids = question_ids(db, info["exam_id"], info["exam_version"])
    else:
        info, records = exam_records(db, actor, ident)
        qids = question_ids(db, ident, info["version"])
    return info, records, qids


def _sheets(records: list[dict[str, Any]]) -> list[export.Sheet]:
    return [export.Sheet.from_record(r) for r in records]


def results(db: Database, actor: Actor, batch_id: str) -> dict[str, Any]:
    info, records = batch_records(db, actor, batch_id)
    return {"batch": info, "items": records}


def results_csv(db: Database, actor: Actor, batch_id: str, criteria: bool = False) -> str:
    _, records, qids = _records(db, actor, "batch", batch_id)
    return export.write_csv(export.results_rows(_sheets(records), qids, criteria=criteria))


_GRADEBOOK_FORMS: dict[str, export.GradebookForm] = {"canvas": "canvas", "moodle": "moodle"}


def gradebook_csv(
    db: Database, actor: Actor, scope: Scope, ident: str, form: str, feedback: bool | None = None
) -> str:
    chosen = _GRADEBOOK_FORMS.get(form)
    if chosen is None:
        raise Invalid(f"unknown gradebook form {form!r}; use canvas or moodle")
    _, records, qids = _records(db, actor, scope, ident)
    return export.write_csv(
        export.gradebook_rows(
            _sheets(records),
            qids,
            chosen,
            feedback=feedback,
        )
    )


def stats(
    db: Database, actor: Actor, scope: Scope, ident: str, question: str | None = None
) -> dict[str, Any]:
    info, records, _ = _records(db, actor, scope, ident)
    graded = [
        SubmissionResult.from_dict(r["result"])
        for r in records
        if r["status"] == "graded" and r["result"]
    ]
    out = compute_stats(graded)
    if question is not None:
        match = [q for q in out["questions"] if q["id"] == question]
        if not match:
            raise NotFound(f"no graded answers to question {question!r}")
        out["questions"] = match
    out[scope] = info
    out["submissions"] = len(records)
    return out


def stats_html(db: Database, actor: Actor, scope: Scope, ident: str) -> str:
    from grader.batches.report import render_html  # matplotlib only when a report is asked for

    data = stats(db, actor, scope, ident)
    if scope == "batch":
        info = data["batch"]
        title = f"Exam {info['exam_id']}: batch {info['id']}"
        subtitle = f"rubric version {info['exam_version']} · {info['filename'] or 'upload'}"
    else:
        title = f"Exam {ident}"
        subtitle = f"rubric version {data['exam']['version']} · latest submission per student"
    return render_html(data, title=title, subtitle=subtitle)
