"""The forms (POST): log in and out, upload a rubric or a batch, override one answer or a
group, turn corrections into examples, regrade, apply. Each runs one service call and
redirects (post/redirect/get); errors come back as pages."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from grader.services import batches as batch_service
from grader.services import corrections, overrides, overview, regrades
from grader.services import exams as exam_service
from grader.services.auth import Actor, authenticate
from grader.services.errors import Conflict, Invalid, ServiceError, Unauthorized
from grader.web.blueprint import AUTHORS, back_to, bp, runtime, who
from grader.web.session import log_in, log_out

RUBRIC_MAX_BYTES = 2_000_000


@bp.post("/login")
def login_post() -> Any:
    token = request.form.get("token", "").strip()
    try:
        actor = authenticate(runtime().db, f"Bearer {token}")
    except Unauthorized:
        page = render_template("login.html", next=back_to("/ui/"), error="That key is not valid.")
        return page, 401
    log_in(actor)
    return redirect(back_to(url_for("web.index")))


@bp.post("/logout")
def logout() -> Response:
    log_out()
    return redirect(url_for("web.login"))


def _score(name: str = "score") -> float:
    raw = request.form.get(name, "").strip().replace(",", ".")
    try:
        return float(raw)
    except ValueError:
        raise Invalid(f"the {name} must be a number") from None


def _override_body() -> dict[str, Any]:
    body: dict[str, Any] = {
        "question_id": request.form.get("question_id", ""),
        "score": _score(),
        "reason": request.form.get("reason", "").strip() or "corrected in review",
    }
    criterion = request.form.get("criterion_id", "")
    if criterion:
        body["criterion_id"] = criterion
    return body


@bp.post("/submissions/<submission_id>/overrides")
def override(submission_id: str) -> Response:
    rt = runtime()
    out = overrides.add_override(rt.db, rt.settings, who(*AUTHORS), submission_id, _override_body())
    flash(f"Saved: the score is now {out['score']:g} (automatic {out['auto_score']:g}).")
    return redirect(back_to(url_for("web.submission", submission_id=submission_id)))


@bp.post("/exams/<exam_id>/overrides")
def group_override(exam_id: str) -> Response:
    body = {**_override_body(), "submission_ids": request.form.getlist("submission_ids")}
    rt = runtime()
    out = overrides.add_group_override(rt.db, rt.settings, who(*AUTHORS), exam_id, body)
    flash(f"Saved for {out['applied']} answer(s).")
    return redirect(back_to(url_for("web.review", exam_id=exam_id)))


@bp.post("/exams")
def upload_rubric() -> Any:
    """Check a rubric (`grader exams check`'s errors with their lines, then its self-test's
    warnings with theirs, under the API's time budget), and unless only a check was asked
    for, store it: a new exam, or a new version of one's own exam. A stored rubric with
    warnings stays on this page to show them; without, it goes to the exam's page."""
    actor = who(*AUTHORS)
    rt = runtime()
    upload = request.files.get("rubric")
    data = upload.read(RUBRIC_MAX_BYTES + 1) if upload else b""
    check: dict[str, Any] = {
        "filename": upload.filename if upload else "",
        "errors": [],
        "warnings": [],
    }
    try:
        if not data.strip():
            raise Invalid("choose a rubric file (YAML or JSON)")
        if len(data) > RUBRIC_MAX_BYTES:
            raise Invalid("the rubric is larger than 2 MB")
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            raise Invalid("the rubric is not valid UTF-8") from None
        is_json = (check["filename"] or "").lower().endswith(".json")
        loaded = exam_service.parse_rubric(rt.registry, text, is_json)
        exam = loaded.exam
        check["ok"] = (
            f"exam {exam.id!r}: {len(exam.questions)} questions, "
            f"{sum(len(q.criteria) for q in exam.questions)} criteria, {exam.max_score:g} points"
        )
        if request.form.get("action") == "check":
            check["warnings"] = exam_service.rubric_warnings(loaded, rt.runner)
        else:
            ref = _store_rubric(actor, exam.id, text, is_json)
            if not ref["warnings"]:
                flash(f"Stored exam {ref['id']} version {ref['version']}.")
                return redirect(url_for("web.exam", exam_id=ref["id"]))
            check["stored"], check["warnings"] = ref, ref["warnings"]
    except ServiceError as exc:
        if not isinstance(exc, Invalid):
            raise
        check["detail"] = exc.detail
        check["errors"] = [e.to_dict() for e in exc.errors]
    exams = overview.managed_exams(rt.db, actor)
    status = 422 if check["errors"] or "detail" in check else 200
    return render_template("index.html", actor=actor, exams=exams, check=check), status


def _store_rubric(actor: Actor, exam_id: str, text: str, is_json: bool) -> dict[str, Any]:
    """A new exam, or a new version of one's own; with the self-test's warnings."""
    rt = runtime()
    try:
        return exam_service.create_exam(rt.db, rt.registry, actor, text, is_json, rt.runner)
    except Conflict:
        return exam_service.update_exam(
            rt.db, rt.registry, actor, exam_id, text, is_json, rt.runner
        )


@bp.post("/exams/<exam_id>/batches")
def upload_batch(exam_id: str) -> Response:
    actor = who(*AUTHORS)
    rt = runtime()
    from flask import current_app

    upload = request.files.get("file")
    if upload is None or not upload.filename:
        raise Invalid("choose a file of answer sheets (CSV, JSON Lines or ZIP)")
    data = upload.read(batch_service.UPLOAD_MAX_BYTES + 1)
    batch = batch_service.create_batch(
        rt.db,
        rt.settings,
        current_app.extensions["grader.publisher"],
        actor,
        exam_id,
        data,
        upload.filename,
    )
    flash(f"Batch {batch['id']}: {batch['total']} sheet(s) queued.")
    return redirect(url_for("web.exam", exam_id=exam_id) + f"#batch-{batch['id']}")


@bp.post("/exams/<exam_id>/questions/<question_id>/examples")
def make_examples(exam_id: str, question_id: str) -> str:
    rt = runtime()
    ids = request.form.getlist("submission_ids") or None
    out = corrections.examples_from_corrections(
        rt.db,
        rt.registry,
        who(*AUTHORS),
        exam_id,
        question_id,
        ids,
        runner=rt.runner,
        force=request.form.get("force") == "1",
    )
    return render_template("examples.html", actor=who(), out=out)


@bp.post("/exams/<exam_id>/regrade")
def regrade_exam(exam_id: str) -> Response:
    from flask import current_app

    version = request.form.get("version", type=int)
    out = regrades.request_exam_regrade(
        runtime().db,
        current_app.extensions["grader.publisher"],
        who(*AUTHORS),
        exam_id,
        {"version": version} if version else None,
    )
    question = request.form.get("question_id", "")
    for run in out["runs"]:
        of = f"batch {run['batch_id']}" if run["batch_id"] else "the single submissions"
        flash(f"Dry run {run['id']} of {of} started.")
    for skip in out["skipped"]:
        of = f"Batch {skip['batch_id']}" if skip["batch_id"] else "The single submissions"
        flash(f"{of} skipped: {skip['reason']}")
    if len(out["runs"]) == 1:
        return redirect(
            url_for("web.regrade", run_id=out["runs"][0]["id"], question=question or None)
        )
    return redirect(url_for("web.exam", exam_id=exam_id) + "#regrades")


@bp.post("/regrades/<run_id>/apply")
def apply_regrade(run_id: str) -> Response:
    run = regrades.apply_regrade(runtime().db, who(*AUTHORS), run_id)
    flash(f"Applied: {run.get('summary', {}).get('changed', 0)} sheet(s) changed.")
    return redirect(url_for("web.regrade", run_id=run_id))
