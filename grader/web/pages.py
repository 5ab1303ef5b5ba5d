"""The pages (GET): login, exams, an exam, its review queue, a submission, a regrade."""

from __future__ import annotations

from typing import Any

from flask import Response, jsonify, render_template, request

from grader.services import batch_reports, corrections, overrides, overview, regrades
from grader.services import batches as batch_service
from grader.services import exams as exam_service
from grader.services import submissions as submission_service
from grader.web import plots
from grader.web.blueprint import AUTHORS, back_to, bp, runtime, who

REVIEW_LIMIT = 500  # answers on one review page; the rest come after these are settled


@bp.get("/login")
def login() -> str:
    return render_template("login.html", next=back_to("/ui/"), error=None)


@bp.get("/")
def index() -> str:
    actor = who()
    rt = runtime()
    if not actor.can_author:
        subs = submission_service.list_submissions(rt.db, actor, None, limit=200)
        return render_template("my_submissions.html", actor=actor, submissions=subs)
    return render_template(
        "index.html", actor=actor, exams=overview.managed_exams(rt.db, actor), check=None
    )


def _criteria_learning(definition: dict[str, Any]) -> dict[str, set[str]]:
    reg = runtime().registry
    return {q["id"]: corrections.learnable_criteria(reg, q) for q in definition["questions"]}


@bp.get("/exams/<exam_id>")
def exam(exam_id: str) -> str:
    actor = who(*AUTHORS)
    db = runtime().db
    info = exam_service.get_exam(db, actor, exam_id)
    stats = batch_reports.stats(db, actor, "exam", exam_id)
    charts = []
    if stats["n"]:
        charts.append(plots.histogram_chart(stats["total"]["histogram"], "Total scores", "points"))
        charts.append(plots.items_chart(stats["questions"]))
    qcharts = {
        q["id"]: plots.histogram_chart(q["histogram"], f"{q['id']}: scores", "points")
        for q in stats["questions"]
    }
    return render_template(
        "exam.html",
        actor=actor,
        exam=info,
        definition=info["exam"],
        learnable=_criteria_learning(info["exam"]),
        stats=stats,
        qstats={q["id"]: q for q in stats["questions"]},
        charts=charts,
        qcharts=qcharts,
        batches=batch_service.list_batches(db, actor, exam_id),
        runs=regrades.exam_regrades(db, actor, exam_id),
    )


@bp.get("/batches/<batch_id>/progress")
def batch_progress(batch_id: str) -> Response:
    """Progress of a batch as JSON, for the page's small polling script."""
    view = batch_service.get_batch(runtime().db, who(*AUTHORS), batch_id)
    keep = ("id", "status", "total", "done", "progress", "needs_review", "eta_seconds", "counts")
    return jsonify({k: view[k] for k in keep})


def _csv(text: str, name: str) -> Response:
    return Response(
        text,
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@bp.get("/batches/<batch_id>/results.csv")
def batch_results(batch_id: str) -> Response:
    text = batch_reports.results_csv(runtime().db, who(*AUTHORS), batch_id, criteria=True)
    return _csv(text, f"results-{batch_id}.csv")


@bp.get("/exams/<exam_id>/gradebook.csv")
def gradebook(exam_id: str) -> Response:
    form = request.args.get("form", "canvas")
    text = batch_reports.gradebook_csv(runtime().db, who(*AUTHORS), "exam", exam_id, form)
    return _csv(text, f"gradebook-{exam_id}-{form}.csv")


@bp.get("/exams/<exam_id>/review")
def review(exam_id: str) -> str:
    actor = who(*AUTHORS)
    rt = runtime()
    question = request.args.get("question") or None
    queue = overrides.review_queue(
        rt.db,
        actor,
        exam_id,
        question_id=question,
        limit=REVIEW_LIMIT,
        group=True,
        encoder=rt.encoder,
        with_results=True,
    )
    info = exam_service.get_exam(rt.db, actor, exam_id)
    questions = {q["id"]: q for q in info["exam"]["questions"]}
    return render_template(
        "review.html",
        actor=actor,
        exam=info,
        queue=queue,
        questions=questions,
        learnable=_criteria_learning(info["exam"]),
        question=question,
        here=request.full_path.rstrip("?"),
    )


@bp.get("/submissions/<submission_id>")
def submission(submission_id: str) -> str:
    actor = who()
    db = runtime().db
    sub, answers = overview.submission_with_answers(db, actor, submission_id)
    manage = actor.can_author
    trail = overrides.list_overrides(db, actor, submission_id)["items"] if manage else []
    definition = None
    if manage:
        definition = exam_service.get_exam(db, actor, sub["exam_id"], sub["exam_version"])["exam"]
    return render_template(
        "submission.html",
        actor=actor,
        sub=sub,
        answers=answers,
        manage=manage,
        trail=trail,
        definition=definition,
        here=request.path,
    )


@bp.get("/regrades/<run_id>")
def regrade(run_id: str) -> str:
    actor = who(*AUTHORS)
    run = regrades.get_regrade(runtime().db, actor, run_id)
    question = request.args.get("question") or None
    return render_template("regrade.html", actor=actor, run=run, question=question)
