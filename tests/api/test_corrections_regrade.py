"""An exam-wide regrade after corrections covers the exam's single submissions (those not in
a batch) as well as its batches, in the dry run and at apply; overrides are never overwritten.
And the rubric upload page shows the self-test's warnings with their lines, escaped."""

from __future__ import annotations

import io
import json
import re
from typing import Any, ClassVar

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from grader.checks.base import BaseChecker, CheckResult, CheckSpec
from grader.services import regrade_path
from grader.services.grading import grade_submissions
from grader.services.runtime import Runtime
from grader.store.batches import AutoResult
from grader.store.models import Submission
from tests.api.test_batches_api import grade_batch, upload
from tests.api.test_web_pages import LEARN_RUBRIC, LearnsFromExamples, csrf_of, login
from tests.conftest import Tokens

YAML = {"Content-Type": "application/yaml"}


def _single(client: Any, tokens: Any, student: str, answer: str) -> str:
    body = {"student_id": student, "answers": {"q1": answer}}
    r = client.post(
        "/api/v1/exams/learn/submissions",
        data=json.dumps(body),
        headers=tokens.headers("instructor", **{"Content-Type": "application/json"}),
    )
    assert r.status_code == 202, r.get_json()
    return str(r.get_json()["id"])


def _override(client: Any, tokens: Any, sid: str, score: float, reason: str) -> None:
    r = client.post(
        f"/api/v1/submissions/{sid}/overrides",
        json={"question_id": "q1", "score": score, "reason": reason},
        headers=tokens.headers("instructor"),
    )
    assert r.status_code == 201, r.get_json()


def _learn_exam(app: Any, client: Any, tokens: Any, runtime: Any) -> dict[str, str]:
    """Exam `learn` with a graded batch (a, b) and graded singles (x1-x4; q stays queued).
    b and x4 are overridden; b's correction ('rectifier' earns full marks) becomes a graded
    example, as version 2."""
    runtime.registry.register(LearnsFromExamples())
    r = client.post(
        "/api/v1/exams", data=LEARN_RUBRIC, headers=tokens.headers("instructor", **YAML)
    )
    assert r.status_code == 201, r.get_json()
    batch = upload(client, tokens, b"student_id,q1\na,relu\nb,rectifier\n", exam="learn")
    grade_batch(runtime, batch.get_json()["id"])
    ids = {
        s: _single(client, tokens, s, a)
        for s, a in [
            ("x1", "rectifier"),
            ("x2", "Rectifier "),
            ("x3", "relu"),
            ("x4", "rectifier"),
            ("q", "rectifier"),
        ]
    }
    singles = [ids[s] for s in ("x1", "x2", "x3", "x4")]
    graded = grade_submissions(runtime, singles)
    assert set(graded.values()) == {"graded"}
    with runtime.db.session() as s:
        for sid, student in s.execute(
            select(Submission.id, Submission.student_id).where(Submission.batch_id.is_not(None))
        ):
            ids[student] = sid
    _override(client, tokens, ids["b"], 2, "synonym")
    _override(client, tokens, ids["x4"], 1, "half: named it, no reason")  # auto 0 today
    r = client.post(
        "/api/v1/exams/learn/questions/q1/examples",
        json={"submission_ids": [ids["b"]], "force": True},
        headers=tokens.headers("instructor"),
    )
    assert r.status_code == 201 and r.get_json()["version"] == 2, r.get_json()
    return ids


def _scores(runtime: Any) -> dict[str, tuple[float | None, int, str]]:
    with runtime.db.session() as s:
        rows = s.execute(
            select(
                Submission.student_id,
                Submission.score,
                Submission.exam_version,
                Submission.status,
            )
        ).all()
    return {student: (score, version, status) for student, score, version, status in rows}


def test_exam_regrade_covers_single_submissions_and_keeps_overrides(
    app: Flask, client: FlaskClient, tokens: Tokens, runtime: Runtime
) -> None:
    ids = _learn_exam(app, client, tokens, runtime)
    h = tokens.headers("instructor")
    started = client.post("/api/v1/exams/learn/regrade", headers=h)
    assert started.status_code == 202
    body = started.get_json()
    assert body["skipped"] == [] and len(body["runs"]) == 2
    (batch_run,) = [r for r in body["runs"] if r["batch_id"]]
    (singles_run,) = [r for r in body["runs"] if r["batch_id"] is None]
    # The graded singles only: q is still queued and is left out.
    assert singles_run["exam_id"] == "learn" and singles_run["total"] == 4
    assert singles_run["to_version"] == 2 and singles_run["status"] == "grading"
    # A chunk of the singles' run ignores sheets that are not singles of the exam.
    out = regrade_path.regrade_chunk(
        runtime.db, runtime.exams, runtime.runner, singles_run["id"], [ids["a"]]
    )
    assert out["stored"] == 0
    singles = [ids[s] for s in ("x1", "x2", "x3", "x4")]
    regrade_path.regrade_chunk(
        runtime.db, runtime.exams, runtime.runner, singles_run["id"], singles
    )
    regrade_path.regrade_chunk(
        runtime.db, runtime.exams, runtime.runner, batch_run["id"], [ids["a"], ids["b"]]
    )
    dry = client.get(f"/api/v1/regrades/{singles_run['id']}", headers=h).get_json()
    assert dry["status"] == "ready" and dry["summary"]["n"] == 4
    # x1 and x2 learn from b's correction (0 -> 2); x4's override (1) is laid over its new
    # automatic 2, so it does not change; x3 was right already.
    assert sorted(c["student_id"] for c in dry["changes"]) == ["x1", "x2"]
    listed = client.get("/api/v1/exams/learn/regrades", headers=h).get_json()
    assert {r["id"] for r in listed} == {batch_run["id"], singles_run["id"]}
    before = _scores(runtime)
    assert before["x1"] == (0.0, 1, "graded") and before["x4"] == (1.0, 1, "graded")
    # Another instructor can neither read nor apply it; a student may not.
    other = tokens.headers("instructor2")
    assert client.get(f"/api/v1/regrades/{singles_run['id']}", headers=other).status_code == 404
    assert (
        client.post(f"/api/v1/regrades/{singles_run['id']}/apply", headers=other).status_code == 404
    )
    student = tokens.headers("student")
    assert client.get(f"/api/v1/regrades/{singles_run['id']}", headers=student).status_code == 403

    applied = client.post(f"/api/v1/regrades/{singles_run['id']}/apply", headers=h)
    assert applied.status_code == 200 and applied.get_json()["status"] == "applied"
    after = _scores(runtime)
    assert after["x1"] == (2.0, 2, "graded") and after["x2"] == (2.0, 2, "graded")
    assert after["x3"] == (2.0, 2, "graded")
    assert after["x4"] == (1.0, 2, "graded")  # the override is kept
    assert after["q"] == (None, 1, "queued")  # not in the run: untouched
    assert after["a"] == before["a"] and after["b"] == before["b"]  # the batch's own run
    with runtime.db.session() as s:
        auto = s.get(AutoResult, ids["x4"])
        assert auto is not None and auto.exam_version == 2 and auto.result["score"] == 2.0
    client.post(f"/api/v1/regrades/{batch_run['id']}/apply", headers=h)
    assert _scores(runtime)["b"] == (2.0, 2, "graded")  # b's override kept too


def test_singles_runs_one_at_a_time_and_a_stale_one_is_refused(
    app: Flask, client: FlaskClient, tokens: Tokens, runtime: Runtime
) -> None:
    ids = _learn_exam(app, client, tokens, runtime)
    h = tokens.headers("instructor")
    first = client.post("/api/v1/exams/learn/regrade", headers=h).get_json()
    (run1,) = [r for r in first["runs"] if r["batch_id"] is None]
    # While the singles' dry run is grading, another is skipped with the reason.
    busy = client.post("/api/v1/exams/learn/regrade", headers=h).get_json()
    assert [r["batch_id"] for r in busy["runs"]] != [None]
    assert {
        "batch_id": None,
        "reason": f"regrade {run1['id']} of the single submissions is still running",
    } in busy["skipped"]
    singles = [ids[s] for s in ("x1", "x2", "x3", "x4")]
    regrade_path.regrade_chunk(runtime.db, runtime.exams, runtime.runner, run1["id"], singles)
    second = client.post("/api/v1/exams/learn/regrade", headers=h).get_json()
    (run2,) = [r for r in second["runs"] if r["batch_id"] is None]
    regrade_path.regrade_chunk(runtime.db, runtime.exams, runtime.runner, run2["id"], singles)
    assert client.post(f"/api/v1/regrades/{run2['id']}/apply", headers=h).status_code == 200
    stale = client.post(f"/api/v1/regrades/{run1['id']}/apply", headers=h)
    assert stale.status_code == 409


def test_ui_exam_regrade_lists_and_shows_the_singles_run(
    app: Flask, client: FlaskClient, tokens: Tokens, runtime: Runtime
) -> None:
    ids = _learn_exam(app, client, tokens, runtime)
    ui = login(app, tokens.tokens["instructor"])
    r = ui.post("/ui/exams/learn/regrade", data={"csrf_token": csrf_of(ui)})
    assert r.status_code == 302 and r.headers["Location"].endswith("/ui/exams/learn#regrades")
    page = ui.get("/ui/exams/learn").get_data(as_text=True)
    assert "of the single submissions started" in page and "single submissions</td>" in page
    started = re.search(r"Dry run ([0-9a-f]+) of the single submissions", page)
    assert started is not None, page
    run_id = started.group(1)
    singles = [ids[s] for s in ("x1", "x2", "x3", "x4")]
    regrade_path.regrade_chunk(runtime.db, runtime.exams, runtime.runner, run_id, singles)
    diff = ui.get(f"/ui/regrades/{run_id}")
    html = diff.get_data(as_text=True)
    assert diff.status_code == 200 and "single submissions of learn" in html
    assert "2 of 4 sheet(s) change" in html and 'id="apply-regrade"' in html
    assert re.findall(r"<script(?![^>]*\ssrc=)", html) == []
    assert "unsafe-inline" not in diff.headers["Content-Security-Policy"]
    ui.post(f"/ui/regrades/{run_id}/apply", data={"csrf_token": csrf_of(ui)})
    assert _scores(runtime)["x1"] == (2.0, 2, "graded")


class EchoSpec(CheckSpec):
    accept: list[str]


class Echoes(BaseChecker[EchoSpec]):
    """Its feedback quotes the answer, so a self-test warning carries rubric text."""

    kind: ClassVar[str] = "echoes"
    spec_model: ClassVar[type[CheckSpec]] = EchoSpec

    def check(self, spec: EchoSpec, answer: str) -> CheckResult:
        ok = answer.strip() in spec.accept
        return CheckResult(1.0 if ok else 0.0, feedback=f"read {answer.strip()}")


WARN_RUBRIC = """\
id: warns
title: Warns
questions:
  - id: q1
    points: 2
    model_answer: "<b>x</b><script>alert(1)</script>"
    criteria:
      - id: c
        points: 2
        check: {kind: echoes, accept: [relu]}
"""


def test_rubric_upload_shows_self_test_warnings_with_lines_escaped(
    app: Flask, tokens: Tokens, runtime: Runtime
) -> None:
    runtime.registry.register(Echoes())
    ui = login(app, tokens.tokens["instructor"])

    def send(action: str) -> Any:
        data = {
            "csrf_token": csrf_of(ui),
            "action": action,
            "rubric": (io.BytesIO(WARN_RUBRIC.encode()), "warns.yaml"),
        }
        return ui.post("/ui/exams", data=data)

    for action in ("check", "upload"):
        r = send(action)
        html = r.get_data(as_text=True)
        assert r.status_code == 200, html
        table = html[html.index('id="rubric-warnings"') :]
        assert "<td>6</td>" in table  # the model answer's line
        assert "q1: the model answer scores 0 of 2" in table
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in table and "<script>alert" not in html
        assert re.findall(r"<script(?![^>]*\ssrc=)", html) == []
        assert "unsafe-inline" not in r.headers["Content-Security-Policy"]
    assert 'id="rubric-stored"' in html and "version 1" in html  # stored, not only checked
    again = send("upload").get_data(as_text=True)
    assert "version 2" in again and 'id="rubric-warnings"' in again
    # Without warnings, an upload goes to the exam's page as before.
    clean = WARN_RUBRIC.replace('"<b>x</b><script>alert(1)</script>"', "relu")
    r = ui.post(
        "/ui/exams",
        data={
            "csrf_token": csrf_of(ui),
            "action": "upload",
            "rubric": (io.BytesIO(clean.encode()), "warns.yaml"),
        },
    )
    assert r.status_code == 302 and r.headers["Location"].endswith("/ui/exams/warns")


HOSTILE = '<script>alert(1)</script><img src=x onerror="alert(2)">'


def _assert_safe_page(r: Any, path: str) -> None:
    html = r.get_data(as_text=True)
    csp = r.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "style-src 'self'" in csp, path
    assert "unsafe-inline" not in csp, path
    assert re.findall(r"<script(?![^>]*\ssrc=)", html) == [], path
    assert " style=" not in html and "<img src=x" not in html, path
    assert HOSTILE not in html and "<script>alert" not in html, path


def test_every_page_keeps_its_csp_and_escapes_answers_rubric_text_and_reasons(
    app: Flask, client: FlaskClient, tokens: Tokens, runtime: Runtime
) -> None:
    """Student answers, rubric text and override reasons all reach some page; none of them
    reaches it unescaped, and no page carries inline script or style."""
    runtime.registry.register(LearnsFromExamples())
    rubric = LEARN_RUBRIC.replace("title: Learns", f"title: '{HOSTILE}'")
    r = client.post("/api/v1/exams", data=rubric, headers=tokens.headers("instructor", **YAML))
    assert r.status_code == 201, r.get_json()
    sid = _single(client, tokens, "s1", HOSTILE)
    other = _single(client, tokens, "s2", "rectifier")
    grade_submissions(runtime, [sid, other])
    _override(client, tokens, sid, 1, HOSTILE)
    _override(client, tokens, other, 2, "synonym")
    ui = login(app, tokens.tokens["instructor"])
    _assert_safe_page(ui.get("/ui/login"), "/ui/login")
    escaped = "&lt;script&gt;alert(1)&lt;/script&gt;"
    for path in ("/ui/", "/ui/exams/learn", "/ui/exams/learn/review", f"/ui/submissions/{sid}"):
        page = ui.get(path)
        assert page.status_code == 200, path
        _assert_safe_page(page, path)
    assert escaped in ui.get("/ui/exams/learn").get_data(as_text=True)  # the rubric's title
    trail = ui.get(f"/ui/submissions/{sid}").get_data(as_text=True)
    assert trail.count(escaped) >= 2  # the answer and the override's reason
    made = ui.post(
        "/ui/exams/learn/questions/q1/examples", data={"csrf_token": csrf_of(ui), "force": "1"}
    )
    _assert_safe_page(made, "examples")
    assert escaped in made.get_data(as_text=True)  # the examples quote the answers
    regrade = ui.post("/ui/exams/learn/regrade", data={"csrf_token": csrf_of(ui)})
    run_page = ui.get(regrade.headers["Location"])
    assert run_page.status_code == 200
    _assert_safe_page(run_page, "regrade")
    missing = ui.get("/ui/submissions/nope")
    assert missing.status_code == 404
    _assert_safe_page(missing, "404")
    student = login(app, tokens.tokens["student"])  # s1
    for path in ("/ui/", f"/ui/submissions/{sid}"):
        page = student.get(path)
        assert page.status_code == 200, path
        _assert_safe_page(page, path)
    assert escaped in student.get(f"/ui/submissions/{sid}").get_data(as_text=True)
