"""The pages under /ui with the Flask test client: sessions, CSRF, CSP, escaping, who sees
what, and corrections that teach a checker (one that calibrates on graded examples)."""

from __future__ import annotations

import re
from typing import Any, ClassVar

import pytest
from flask import Flask
from flask.testing import FlaskClient

from grader.checks.base import BaseChecker, CheckResult, CheckSpec
from grader.services.runtime import Runtime
from tests.api.test_batches_api import _flag_for_review, grade_batch, sheets_csv, upload
from tests.conftest import Tokens

HOSTILE = '<script>alert(1)</script><img src=x onerror="alert(2)">'
_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def _csrf(html: str) -> str:
    found = _TOKEN.search(html)
    assert found is not None, html[:300]
    return found.group(1)


def login(app: Flask, token: str, base_url: str = "http://localhost") -> FlaskClient:
    client = app.test_client()
    page = client.get("/ui/login", base_url=base_url)
    csrf = _csrf(page.get_data(as_text=True))
    r = client.post("/ui/login", data={"token": token, "csrf_token": csrf}, base_url=base_url)
    assert r.status_code == 302, r.get_data(as_text=True)
    return client


def csrf_of(client: FlaskClient, path: str = "/ui/") -> str:
    return _csrf(client.get(path).get_data(as_text=True))


@pytest.fixture
def graded(client: FlaskClient, tokens: Tokens, runtime: Runtime, demo_exam: str) -> str:
    rows = [
        ("s1", "ReLU", "network A, it has more biases"),
        ("s2", HOSTILE, "network B"),
        ("s3", "relu", "network B"),
    ]
    r = upload(client, tokens, sheets_csv(rows))
    batch_id = r.get_json()["id"]
    grade_batch(runtime, batch_id)
    _flag_for_review(runtime, "s2", 0.2)
    _flag_for_review(runtime, "s3", 0.3)
    return str(batch_id)


def test_login_sets_a_safe_session_cookie_and_logout_ends_it(app: Flask, tokens: Tokens) -> None:
    anon = app.test_client()
    r = anon.get("/ui/exams/demo")
    assert r.status_code == 302 and "/ui/login" in r.headers["Location"]
    page = anon.get("/ui/login")
    csrf = _csrf(page.get_data(as_text=True))
    assert anon.post("/ui/login", data={"token": tokens.tokens["admin"]}).status_code == 400
    bad = anon.post("/ui/login", data={"token": "grd_x_y", "csrf_token": csrf})
    assert bad.status_code == 401 and "not valid" in bad.get_data(as_text=True)
    ok = anon.post("/ui/login", data={"token": tokens.tokens["admin"], "csrf_token": csrf})
    cookie = ok.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie
    # the key's secret stays out (grd_<key id>_<secret>; the secret itself may hold "_")
    secret = tokens.tokens["admin"].split("_", 2)[2]
    assert len(secret) >= 40 and secret not in cookie
    assert anon.get("/ui/").status_code == 200
    anon.post("/ui/logout", data={"csrf_token": csrf_of(anon)})
    assert anon.get("/ui/").status_code == 302
    tls = login(app, tokens.tokens["admin"], base_url="https://localhost")
    assert tls is not None


def test_cookie_is_secure_over_tls(app: Flask, tokens: Tokens) -> None:
    client = app.test_client()
    page = client.get("/ui/login", base_url="https://localhost")
    csrf = _csrf(page.get_data(as_text=True))
    r = client.post(
        "/ui/login",
        data={"token": tokens.tokens["admin"], "csrf_token": csrf},
        base_url="https://localhost",
    )
    assert "Secure" in r.headers["Set-Cookie"]


def test_revoked_key_and_expired_session_log_out(
    app: Flask, tokens: Tokens, runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    from grader.services.auth import revoke_token
    from grader.web import session as web_session

    client = login(app, tokens.tokens["instructor"])
    monkeypatch.setattr(web_session, "SESSION_HOURS", 0)
    assert client.get("/ui/").status_code == 302
    monkeypatch.undo()
    client = login(app, tokens.tokens["instructor"])
    revoke_token(runtime.db, tokens.ids["instructor"])
    assert client.get("/ui/").status_code == 302


def test_pages_have_csp_and_no_inline_script_and_escape_answers(
    app: Flask, tokens: Tokens, graded: str, runtime: Runtime
) -> None:
    client = login(app, tokens.tokens["instructor"])
    for path in ("/ui/", "/ui/exams/demo", "/ui/exams/demo/review"):
        r = client.get(path)
        assert r.status_code == 200, path
        csp = r.headers["Content-Security-Policy"]
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp
        html = r.get_data(as_text=True)
        assert re.findall(r"<script(?![^>]*\ssrc=)", html) == [], path
        assert " style=" not in html and "onerror=" not in html.replace("onerror=&#34;", "")
    sid = _flag_for_review(runtime, "s2", 0.2)
    page = client.get(f"/ui/submissions/{sid}").get_data(as_text=True)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and HOSTILE not in page
    assert "<svg" in client.get("/ui/exams/demo").get_data(as_text=True)


def test_every_form_needs_its_csrf_token(
    app: Flask, tokens: Tokens, graded: str, runtime: Runtime
) -> None:
    client = login(app, tokens.tokens["instructor"])
    sid = _flag_for_review(runtime, "s1", 0.1)
    body = {"question_id": "q2", "score": "1", "reason": "r"}
    assert client.post(f"/ui/submissions/{sid}/overrides", data=body).status_code == 400
    wrong = {**body, "csrf_token": "forged"}
    assert client.post(f"/ui/submissions/{sid}/overrides", data=wrong).status_code == 400
    ok = client.post(
        f"/ui/submissions/{sid}/overrides", data={**body, "csrf_token": csrf_of(client)}
    )
    assert ok.status_code == 302


def test_students_see_only_their_own_submission(
    app: Flask, tokens: Tokens, graded: str, runtime: Runtime
) -> None:
    from sqlalchemy import select

    from grader.store.models import Submission

    with runtime.db.session() as s:
        ids = dict(s.execute(select(Submission.student_id, Submission.id)).all())
    student = login(app, tokens.tokens["student"])  # bound to s1
    mine = student.get(f"/ui/submissions/{ids['s1']}")
    text = mine.get_data(as_text=True)
    assert mine.status_code == 200 and "network A, it has more biases" in text
    assert "Confidence" not in text and 'class="override"' not in text
    other = student.get(f"/ui/submissions/{ids['s2']}")
    assert other.status_code == 404 and "network B" not in other.get_data(as_text=True)
    assert student.get("/ui/exams/demo/review").status_code == 403
    listing = student.get("/ui/").get_data(as_text=True)
    assert ids["s1"] in listing and ids["s2"] not in listing
    csrf = csrf_of(student)
    r = student.post(
        f"/ui/submissions/{ids['s1']}/overrides",
        data={"question_id": "q2", "score": "3", "reason": "x", "csrf_token": csrf},
    )
    assert r.status_code == 403
    other_instructor = login(app, tokens.tokens["instructor2"])
    assert other_instructor.get(f"/ui/submissions/{ids['s1']}").status_code == 404


def test_group_override_from_the_review_page(
    app: Flask, tokens: Tokens, graded: str, runtime: Runtime
) -> None:
    client = login(app, tokens.tokens["instructor"])
    page = client.get("/ui/exams/demo/review").get_data(as_text=True)
    sids = re.findall(r'name="submission_ids" value="([0-9a-f]+)"', page)
    assert len(sids) == 2  # s2 and s3 answered q2 the same way: one group
    r = client.post(
        "/ui/exams/demo/overrides",
        data={
            "csrf_token": csrf_of(client),
            "question_id": "q2",
            "criterion_id": "picks-a",
            "score": "1",
            "reason": "group",
            "submission_ids": sids,
            "next": "/ui/exams/demo/review",
        },
    )
    assert r.status_code == 302 and r.headers["Location"] == "/ui/exams/demo/review"
    assert "Saved for 2 answer(s)" in client.get("/ui/exams/demo/review").get_data(as_text=True)
    evil = client.post(
        "/ui/exams/demo/overrides",
        data={
            "csrf_token": csrf_of(client),
            "question_id": "q2",
            "score": "1",
            "reason": "x",
            "submission_ids": sids,
            "next": "https://evil.example/",
        },
    )
    assert evil.headers["Location"] == "/ui/exams/demo/review"  # no open redirect


def test_rubric_upload_shows_errors_with_lines(app: Flask, tokens: Tokens) -> None:
    import io

    client = login(app, tokens.tokens["instructor"])
    bad = b"id: x\ntitle: t\nquestions:\n  - id: q\n    points: -1\n"
    r = client.post(
        "/ui/exams",
        data={
            "csrf_token": csrf_of(client),
            "action": "check",
            "rubric": (io.BytesIO(bad), "bad.yaml"),
        },
    )
    html = r.get_data(as_text=True)
    assert r.status_code == 422 and "<td>5</td>" in html and "questions.0.points" in html


class GradedSpec(CheckSpec):
    accept: list[str]
    examples: list[dict[str, Any]] = []


class LearnsFromExamples(BaseChecker[GradedSpec]):
    """A stand-in for the text checker: an answer equal to a graded example gets its score."""

    kind: ClassVar[str] = "learns"
    spec_model: ClassVar[type[CheckSpec]] = GradedSpec

    def check(self, spec: GradedSpec, answer: str) -> CheckResult:
        for ex in spec.examples:
            if ex["answer"].strip().lower() == answer.strip().lower():
                return CheckResult(float(ex["score"]), confidence=0.9)
        ok = answer.strip().lower() in spec.accept
        return CheckResult(1.0 if ok else 0.0, confidence=0.9 if ok else 0.2)


LEARN_RUBRIC = """\
id: learn
title: Learns
questions:
  - id: q1
    points: 2
    criteria:
      - id: c
        points: 2
        check: {kind: learns, accept: [relu]}
"""


def test_corrections_become_examples_and_a_regrade_applies_them(
    app: Flask, tokens: Tokens, runtime: Runtime
) -> None:
    from sqlalchemy import select

    from grader.services import regrade_path
    from grader.store.models import Submission

    runtime.registry.register(LearnsFromExamples())
    h = tokens.headers("instructor", **{"Content-Type": "application/yaml"})
    assert app.test_client().post("/api/v1/exams", data=LEARN_RUBRIC, headers=h).status_code == 201
    api = app.test_client()
    data = b"student_id,q1\na,relu\nb,rectifier\nc,rectifier\nd,Rectifier \n"
    r = upload(api, tokens, data, exam="learn")
    batch_id = r.get_json()["id"]
    grade_batch(runtime, batch_id)
    client = login(app, tokens.tokens["instructor"])
    with runtime.db.session() as s:
        rows = s.execute(select(Submission.student_id, Submission.id)).all()
        ids = [sid for _, sid in rows]
        b_id = dict(rows)["b"]
    client.post(
        f"/ui/submissions/{b_id}/overrides",
        data={
            "csrf_token": csrf_of(client),
            "question_id": "q1",
            "score": "2",
            "reason": "synonym",
        },
    )
    out = client.post(
        "/ui/exams/learn/questions/q1/examples", data={"csrf_token": csrf_of(client)}
    ).get_data(as_text=True)
    assert "1 example(s) added" in out and "version 2" in out
    # The same over the API (nothing new to add: the version stays).
    again = api.post(
        "/api/v1/exams/learn/questions/q1/examples", headers=tokens.headers("instructor")
    )
    assert again.status_code == 200 and again.get_json()["added"] == []
    assert again.get_json()["version"] == 2
    started = api.post("/api/v1/exams/learn/regrade", headers=tokens.headers("instructor"))
    assert started.status_code == 202
    (run,) = started.get_json()["runs"]
    regrade_path.regrade_chunk(runtime.db, runtime.exams, runtime.runner, run["id"], ids)
    diff = client.get(f"/ui/regrades/{run['id']}").get_data(as_text=True)
    assert 'id="apply-regrade"' in diff and "2 of 4 sheet(s) change" in diff
    client.post(f"/ui/regrades/{run['id']}/apply", data={"csrf_token": csrf_of(client)})
    with runtime.db.session() as s:
        scores = dict(s.execute(select(Submission.student_id, Submission.score)).all())
    assert scores == {"a": 2.0, "b": 2.0, "c": 2.0, "d": 2.0}  # b kept its override


def test_corrections_api_refuses_strangers_and_unknown_questions(
    client: FlaskClient, tokens: Tokens, demo_exam: str
) -> None:
    url = "/api/v1/exams/demo/questions/{}/examples"
    assert client.post(url.format("q1"), headers=tokens.headers("student")).status_code == 403
    assert client.post(url.format("q1"), headers=tokens.headers("instructor2")).status_code == 404
    assert client.post(url.format("q9"), headers=tokens.headers("instructor")).status_code == 404
    bad = client.post(
        url.format("q1"), json={"dry_run": "x", "extra": 1}, headers=tokens.headers("instructor")
    )
    assert bad.status_code == 422
    # Keywords and choice criteria do not learn from examples: nothing to add, version kept.
    r = client.post(url.format("q1"), headers=tokens.headers("instructor"))
    assert r.status_code == 200 and r.get_json()["learnable"] == [] and r.get_json()["version"] == 1
    none = client.post("/api/v1/exams/demo/regrade", headers=tokens.headers("instructor"))
    assert none.status_code == 202 and none.get_json()["runs"] == []
    assert (
        client.get("/api/v1/exams/demo/regrades", headers=tokens.headers("instructor")).get_json()
        == []
    )


def test_a_key_that_expires_during_a_session_logs_out(
    app: Flask, tokens: Tokens, runtime: Runtime
) -> None:
    from datetime import timedelta

    from grader.store.models import ApiKey, utcnow

    client = login(app, tokens.tokens["instructor"])
    assert client.get("/ui/").status_code == 200
    with runtime.db.session() as s:
        key = s.get(ApiKey, tokens.ids["instructor"])
        assert key is not None
        key.expires_at = utcnow() - timedelta(seconds=1)
    assert client.get("/ui/").status_code == 302
