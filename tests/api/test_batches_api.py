"""Batches through the API: upload, progress, results, gradebooks, stats, review, overrides,
regrading. Grading is done in-process with the worker's service call (no broker needed)."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from collections.abc import Sequence
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select
from werkzeug.test import TestResponse

from grader.config import Settings
from grader.services.batches import make_batch_hook
from grader.services.grading import grade_submissions
from grader.services.runtime import Runtime
from grader.store.batches import Batch, RegradeRun
from grader.store.models import Submission
from tests.conftest import Tokens

CSV = {"Content-Type": "text/csv"}
JSON = {"Content-Type": "application/json"}

SHEETS = [
    ("s1", "ReLU", "network A, it has more biases"),
    ("s2", "relu", "network B"),
    ("s3", "sigmoid", "network A"),
    ("s4", "", "network A has more"),
]


def sheets_csv(rows: Sequence[tuple[str, ...]] = SHEETS) -> bytes:
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(["student_id", "q1", "q2"])
    writer.writerows(rows)
    return buf.getvalue().encode()


def upload(
    client: FlaskClient,
    tokens: Tokens,
    data: bytes | str | dict[str, Any],
    who: str = "instructor",
    exam: str = "demo",
    **headers: str,
) -> TestResponse:
    return client.post(
        f"/api/v1/exams/{exam}/batches", data=data, headers=tokens.headers(who, **(headers or CSV))
    )


def grade_batch(runtime: Runtime, batch_id: str) -> dict[str, str]:
    with runtime.db.session() as s:
        ids = list(s.scalars(select(Submission.id).where(Submission.batch_id == batch_id)))
    return grade_submissions(runtime, ids, [make_batch_hook()])


def uploaded_and_graded(client: FlaskClient, tokens: Tokens, runtime: Runtime) -> str:
    r = upload(client, tokens, sheets_csv())
    assert r.status_code == 202, r.get_json()
    batch_id = r.get_json()["id"]
    grade_batch(runtime, batch_id)
    return batch_id


def read_csv(response: TestResponse) -> list[list[str]]:
    return list(csv.reader(io.StringIO(response.get_data(as_text=True), newline="")))


def test_upload_progress_and_results(
    client: FlaskClient, tokens: Tokens, runtime: Runtime, demo_exam: str
) -> None:
    r = upload(client, tokens, sheets_csv())
    assert r.status_code == 202, r.get_json()
    body = r.get_json()
    assert (body["total"], body["status"], body["exam_version"]) == (4, "grading", 1)
    assert r.headers["Location"] == f"/api/v1/batches/{body['id']}"
    h = tokens.headers("instructor")
    progress = client.get(f"/api/v1/batches/{body['id']}", headers=h).get_json()
    assert progress["counts"] == {"queued": 4, "grading": 0, "graded": 0, "failed": 0}
    assert progress["eta_seconds"] is None and progress["progress"] == 0
    grade_batch(runtime, body["id"])
    progress = client.get(f"/api/v1/batches/{body['id']}", headers=h).get_json()
    assert progress["status"] == "completed" and progress["counts"]["graded"] == 4
    assert progress["eta_seconds"] == 0 and progress["completed_at"]
    with runtime.db.session() as s:
        batch = s.get(Batch, body["id"])
        assert batch is not None and batch.done == 4
    results = client.get(f"/api/v1/batches/{body['id']}/results", headers=h).get_json()
    scores = {i["student_id"]: i["score"] for i in results["items"]}
    assert scores == {"s1": 5, "s2": 2, "s3": 2, "s4": 2}
    rows = read_csv(
        client.get(f"/api/v1/batches/{body['id']}/results?format=csv&criteria=1", headers=h)
    )
    assert rows[0][:9] == [
        "student_id",
        "submission_id",
        "status",
        "score",
        "max_score",
        "needs_review",
        "q1",
        "q2",
        "q1.names-relu",
    ]
    assert [r[0] for r in rows[1:]] == ["s1", "s2", "s3", "s4"]
    listed = client.get("/api/v1/exams/demo/batches", headers=h).get_json()["items"]
    assert [b["id"] for b in listed] == [body["id"]]


def test_jsonl_multipart_and_zip_uploads(
    client: FlaskClient, tokens: Tokens, runtime: Runtime, demo_exam: str
) -> None:
    jsonl = b'{"student_id": "j1", "answers": {"q1": "relu"}}\n'
    r = upload(client, tokens, jsonl, **{"Content-Type": "application/x-ndjson"})
    assert r.status_code == 202 and r.get_json()["total"] == 1
    r = client.post(
        "/api/v1/exams/demo/batches",
        headers=tokens.headers("instructor"),
        data={"file": (io.BytesIO(sheets_csv()), "class.csv")},
        content_type="multipart/form-data",
    )
    assert r.status_code == 202 and r.get_json()["total"] == 4
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("a.csv", sheets_csv(SHEETS[:2]))
        zf.writestr("b.jsonl", b'{"student_id": "z9", "answers": {"q2": "network A"}}\n')
    r = upload(client, tokens, buf.getvalue(), **{"Content-Type": "application/zip"})
    assert r.status_code == 202 and r.get_json()["total"] == 3
    r = upload(client, tokens, b"x", **{"Content-Type": "image/png"})
    assert r.status_code == 415


def _counts(runtime: Runtime) -> tuple[int, int]:
    with runtime.db.session() as s:
        return (
            int(s.scalar(select(func.count()).select_from(Batch)) or 0),
            int(s.scalar(select(func.count()).select_from(Submission)) or 0),
        )


def test_bad_uploads_report_every_row_and_create_nothing(
    client: FlaskClient, tokens: Tokens, runtime: Runtime, demo_exam: str
) -> None:
    bad = b"student_id,q1,q2,q9\ns1,a,b,c\n"
    r = upload(client, tokens, bad)
    assert r.status_code == 422
    problem = r.get_json()
    assert "nothing was created" in problem["detail"]
    assert "q9" in problem["errors"][0]["message"] and problem["errors"][0]["row"] == 1
    dupes = b"student_id,q1\ns1,a\ns2,b\ns1,c\nbad id!,d\n" + b"s5," + b"x" * 9000 + b"\n"
    errors = upload(client, tokens, dupes).get_json()["errors"]
    assert [(e["row"], e["column"]) for e in errors] == [
        (4, "student_id"),
        (5, "student_id"),
        (6, "q1"),
    ]
    latin1 = "student_id,q1\ns1,Müller\n".encode("latin-1")
    assert "UTF-8" in upload(client, tokens, latin1).get_json()["errors"][0]["message"]
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("../../evil.csv", sheets_csv())
    errors = upload(
        client, tokens, buf.getvalue(), **{"Content-Type": "application/zip"}
    ).get_json()["errors"]
    assert errors[0]["file"] == "../../evil.csv"
    assert _counts(runtime) == (0, 0)
    bom = b"\xef\xbb\xbf" + sheets_csv()
    assert upload(client, tokens, bom).status_code == 202


def test_roles_and_ownership(
    client: FlaskClient, tokens: Tokens, runtime: Runtime, demo_exam: str
) -> None:
    assert upload(client, tokens, sheets_csv(), who="student").status_code == 403
    assert upload(client, tokens, sheets_csv(), who="lms").status_code == 403
    assert upload(client, tokens, sheets_csv(), who="instructor2").status_code == 404
    batch_id = upload(client, tokens, sheets_csv()).get_json()["id"]
    for path in ("", "/results", "/stats", "/gradebook"):
        url = f"/api/v1/batches/{batch_id}{path}"
        assert client.get(url, headers=tokens.headers("instructor2")).status_code == 404
        assert client.get(url, headers=tokens.headers("student")).status_code == 403
        assert client.get(url, headers=tokens.headers("admin")).status_code == 200
    assert client.get(f"/api/v1/batches/{batch_id}").status_code == 401


def test_gradebooks_are_injection_safe(
    client: FlaskClient, tokens: Tokens, runtime: Runtime, demo_exam: str
) -> None:
    rows = [("+1", "relu", "network A biases"), ("-1+1", "x", "network B"), ("@x", "relu", "")]
    batch_id = upload(client, tokens, sheets_csv(rows)).get_json()["id"]
    grade_batch(runtime, batch_id)
    h = tokens.headers("instructor")
    canvas = read_csv(client.get(f"/api/v1/batches/{batch_id}/gradebook?form=canvas", headers=h))
    assert canvas[0] == ["Student ID", "q1", "q2", "Total"]
    assert sorted(r[0] for r in canvas[1:]) == ["'+1", "'-1+1", "'@x"]
    assert all(float(r[-1]) >= 0 for r in canvas[1:])
    moodle = client.get("/api/v1/exams/demo/gradebook?form=moodle", headers=h)
    assert moodle.mimetype == "text/csv" and "attachment" in moodle.headers["Content-Disposition"]
    assert read_csv(moodle)[0] == ["ID number", "q1", "q2", "Total", "Feedback"]
    assert client.get(f"/api/v1/batches/{batch_id}/gradebook?form=x", headers=h).status_code == 422


def test_stats_json_and_html_report(
    client: FlaskClient, tokens: Tokens, runtime: Runtime, demo_exam: str
) -> None:
    batch_id = uploaded_and_graded(client, tokens, runtime)
    h = tokens.headers("instructor")
    stats = client.get(f"/api/v1/batches/{batch_id}/stats", headers=h).get_json()
    assert stats["n"] == 4 and stats["total"]["mean"] == 2.75
    q1 = stats["questions"][0]
    assert q1["id"] == "q1" and q1["facility"] == 0.5
    one = client.get("/api/v1/exams/demo/stats?question=q2", headers=h).get_json()
    assert [q["id"] for q in one["questions"]] == ["q2"]
    page = client.get(f"/api/v1/batches/{batch_id}/stats?format=html", headers=h)
    assert (
        page.mimetype == "text/html"
        and "default-src 'none'" in page.headers["Content-Security-Policy"]
    )
    assert "data:image/png;base64," in page.get_data(as_text=True)


def _flag_for_review(runtime: Runtime, student: str, confidence: float) -> str:
    """Simple checkers are always sure; mark one criterion uncertain as a text checker would."""
    with runtime.db.session() as s:
        row = s.scalars(select(Submission).where(Submission.student_id == student)).one()
        result = json.loads(json.dumps(row.result))
        crit = result["questions"][1]["criteria"][0]
        crit.update(status="needs_review", confidence=confidence)
        result["questions"][1]["needs_review"] = result["needs_review"] = True
        row.result, row.needs_review = result, True
        return row.id


def test_review_queue_and_overrides(
    client: FlaskClient, tokens: Tokens, runtime: Runtime, demo_exam: str
) -> None:
    batch_id = uploaded_and_graded(client, tokens, runtime)
    s2 = _flag_for_review(runtime, "s2", 0.4)
    s3 = _flag_for_review(runtime, "s3", 0.1)
    h = tokens.headers("instructor")
    queue = client.get(
        f"/api/v1/exams/demo/review?batch_id={batch_id}&group=1", headers=h
    ).get_json()
    assert [i["submission_id"] for i in queue["items"]] == [s3, s2]  # most uncertain first
    assert queue["items"][0]["criteria"] == ["picks-a"] and queue["total"] == 2
    assert sum(g["size"] for g in queue["groups"]["q2"]) == 2
    r = client.post(
        f"/api/v1/submissions/{s2}/overrides",
        headers=tokens.headers("instructor", **JSON),
        data=json.dumps(
            {
                "question_id": "q2",
                "criterion_id": "picks-a",
                "score": 2,
                "reason": "B is defensible with this argument",
            }
        ),
    )
    assert r.status_code == 201, r.get_json()
    out = r.get_json()
    assert (out["score"], out["auto_score"], out["needs_review"]) == (4, 2, False)
    trail = client.get(f"/api/v1/submissions/{s2}/overrides", headers=h).get_json()
    assert trail["items"][0]["reason"].startswith("B is") and trail["items"][0]["author"]
    sub = client.get(f"/api/v1/submissions/{s2}", headers=h).get_json()
    assert sub["score"] == 4 and sub["questions"][1]["criteria"][0]["auto_score"] == 0
    r = client.post(
        "/api/v1/exams/demo/overrides",
        headers=tokens.headers("instructor", **JSON),
        data=json.dumps(
            {"submission_ids": [s3], "question_id": "q2", "score": 0.5, "reason": "group decision"}
        ),
    )
    assert r.status_code == 201 and r.get_json()["applied"] == 1
    assert client.get("/api/v1/exams/demo/review", headers=h).get_json()["total"] == 0
    bad = {"question_id": "q2", "criterion_id": "picks-a", "score": 9, "reason": "x"}
    r = client.post(
        f"/api/v1/submissions/{s2}/overrides",
        headers=tokens.headers("instructor", **JSON),
        data=json.dumps(bad),
    )
    assert r.status_code == 422
    r = client.post(
        f"/api/v1/submissions/{s2}/overrides",
        headers=tokens.headers("student", **JSON),
        data=json.dumps(bad),
    )
    assert r.status_code == 403


def _score(client: FlaskClient, tokens: Tokens, sid: str) -> Any:
    return client.get(f"/api/v1/submissions/{sid}", headers=tokens.headers("instructor")).get_json()


def dry_run(
    client: FlaskClient,
    tokens: Tokens,
    runtime: Runtime,
    batch_id: str,
    body: dict[str, object] | None = None,
) -> Any:
    """Request a regrade and do the workers' part in-process, in two chunks."""
    from grader.services import regrade_path

    h = tokens.headers("instructor", **JSON)
    r = client.post(
        f"/api/v1/batches/{batch_id}/regrade",
        headers=h,
        data=json.dumps(body) if body is not None else None,
    )
    assert r.status_code == 202, r.get_json()
    run = r.get_json()
    assert r.headers["Location"] == f"/api/v1/regrades/{run['id']}"
    with runtime.db.session() as s:
        ids = sorted(s.scalars(select(Submission.id).where(Submission.batch_id == batch_id)))
    for chunk in (ids[:2], ids[2:], ids[:2]):  # the last one: a duplicate delivery, a no-op
        regrade_path.regrade_chunk(runtime.db, runtime.exams, runtime.runner, run["id"], chunk)
    return client.get(f"/api/v1/regrades/{run['id']}", headers=h).get_json()


def test_regrade_dry_run_then_apply_and_overrides_survive(
    client: FlaskClient, tokens: Tokens, runtime: Runtime, demo_exam: str, demo_rubric: str
) -> None:
    batch_id = uploaded_and_graded(client, tokens, runtime)
    h = tokens.headers("instructor")
    ids = {
        i["student_id"]: i["submission_id"]
        for i in client.get(f"/api/v1/batches/{batch_id}/results", headers=h).get_json()["items"]
    }
    # s2 answered B; under v1 (A correct) the instructor gives half the choice points by hand.
    r = client.post(
        f"/api/v1/submissions/{ids['s2']}/overrides",
        headers=tokens.headers("instructor", **JSON),
        data=json.dumps(
            {"question_id": "q2", "criterion_id": "picks-a", "score": 1, "reason": "argued well"}
        ),
    )
    assert r.status_code == 201 and r.get_json()["score"] == 3
    # Version 2 makes B the correct option.
    v2 = demo_rubric.replace("correct: A", "correct: B")
    r = client.put(
        "/api/v1/exams/demo",
        data=v2,
        headers=tokens.headers("instructor", **{"Content-Type": "application/yaml"}),
    )
    assert r.get_json()["version"] == 2
    dry = dry_run(client, tokens, runtime, batch_id)
    assert (dry["status"], dry["from_versions"], dry["to_version"]) == ("ready", [1], 2)
    assert (dry["done"], dry["total"]) == (4, 4)
    changes = {c["student_id"]: c for c in dry["changes"]}
    assert {s: (c["old_score"], c["new_score"], c["delta"]) for s, c in changes.items()} == {
        "s1": (5, 3, -2),
        "s3": (2, 0, -2),
        "s4": (2, 0, -2),
    }  # s2: the override holds
    assert changes["s1"]["questions"] == [{"id": "q2", "old": 3.0, "new": 1.0, "delta": -2.0}]
    assert dry["summary"]["changed"] == 3 and dry["summary"]["unchanged"] == 1
    assert dry["summary"]["orphaned_overrides"] == 0
    assert _score(client, tokens, ids["s1"])["score"] == 5  # a dry run changes nothing
    applied = client.post(f"/api/v1/regrades/{dry['id']}/apply", headers=h)
    assert applied.status_code == 200, applied.get_json()
    assert applied.get_json()["status"] == "applied"
    s1, s2 = _score(client, tokens, ids["s1"]), _score(client, tokens, ids["s2"])
    assert (s1["score"], s1["exam_version"]) == (3, 2)
    assert (s2["score"], s2["exam_version"]) == (3, 2)
    picks = s2["questions"][1]["criteria"][0]
    assert picks["score"] == 1 and picks["auto_score"] == 2  # new automatic score beside it
    trail = client.get(f"/api/v1/submissions/{ids['s2']}/overrides", headers=h).get_json()
    assert trail["auto_score"] == 4 and len(trail["items"]) == 1
    again = client.post(f"/api/v1/regrades/{dry['id']}/apply", headers=h)
    assert again.status_code == 409  # applied once
    second = dry_run(client, tokens, runtime, batch_id)
    assert second["changes"] == [] and second["from_versions"] == [2]
    assert client.get(f"/api/v1/batches/{batch_id}", headers=h).get_json()["exam_version"] == 2
    r = client.post(
        f"/api/v1/batches/{batch_id}/regrade",
        headers=tokens.headers("instructor", **JSON),
        data=json.dumps({"version": 7}),
    )
    assert r.status_code == 404
    other = client.get(f"/api/v1/regrades/{dry['id']}", headers=tokens.headers("instructor2"))
    assert other.status_code == 404


def test_regrade_waits_for_a_complete_batch(
    client: FlaskClient, tokens: Tokens, runtime: Runtime, demo_exam: str
) -> None:
    batch_id = upload(client, tokens, sheets_csv()).get_json()["id"]
    r = client.post(f"/api/v1/batches/{batch_id}/regrade", headers=tokens.headers("instructor"))
    assert r.status_code == 409


def test_a_stale_dry_run_cannot_be_applied(
    client: FlaskClient, tokens: Tokens, runtime: Runtime, demo_exam: str
) -> None:
    batch_id = uploaded_and_graded(client, tokens, runtime)
    h = tokens.headers("instructor")
    first = dry_run(client, tokens, runtime, batch_id)
    second = dry_run(client, tokens, runtime, batch_id)
    assert client.post(f"/api/v1/regrades/{second['id']}/apply", headers=h).status_code == 200
    stale = client.post(f"/api/v1/regrades/{first['id']}/apply", headers=h)
    assert stale.status_code == 409 and "start a new one" in stale.get_json()["detail"]


def test_oversized_uploads_are_refused(
    client: FlaskClient,
    tokens: Tokens,
    runtime: Runtime,
    demo_exam: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from grader.services import batches as service

    monkeypatch.setattr(service, "UPLOAD_MAX_BYTES", 1000)
    big = sheets_csv([(f"s{i}", "relu", "network A") for i in range(400)])
    r = upload(client, tokens, big)
    assert r.status_code == 422 and "larger than 1000 bytes" in r.get_json()["errors"][0]["message"]
    huge = b"student_id,q1\n" + b"s1," + b"x" * (300 * 1024) + b"\n"
    assert upload(client, tokens, huge).status_code == 413
    assert _counts(runtime) == (0, 0)


def test_a_publisher_that_cannot_queue_regrades_fails_the_run(
    client: FlaskClient, tokens: Tokens, runtime: Runtime, settings: Settings, demo_exam: str
) -> None:
    from grader.api import create_app

    batch_id = uploaded_and_graded(client, tokens, runtime)

    class SubmissionsOnly:
        def publish(self, submission_id: str) -> None:
            raise AssertionError("nothing is submitted here")

    other = create_app(settings, runtime=runtime, publisher=SubmissionsOnly()).test_client()
    r = other.post(f"/api/v1/batches/{batch_id}/regrade", headers=tokens.headers("instructor"))
    assert r.status_code == 503, r.get_json()
    with runtime.db.session() as s:
        runs = list(s.scalars(select(RegradeRun)))
    assert [(run.status, run.error) for run in runs] == [
        ("failed", "could not be queued: this publisher cannot queue regrade chunks")
    ]
