"""Batches on the real path: API -> Redis -> Celery worker (grade_chunk) -> PostgreSQL, then
every batch endpoint over the stored results."""

from __future__ import annotations

import csv
import io
import json
import time

import pytest
from sqlalchemy import select

from grader.store.batches import Batch, GradeOverride
from grader.store.models import Submission

pytestmark = pytest.mark.integration
JSON = {"Content-Type": "application/json"}
HOSTILE_IDS = ["+1", "-1+1", "@SUM"]


def create_demo(client, tokens, rubric):
    r = client.post(
        "/api/v1/exams",
        data=rubric,
        headers=tokens.headers("instructor", **{"Content-Type": "application/yaml"}),
    )
    assert r.status_code == 201, r.get_json()


def sheets(n: int) -> bytes:
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(["student_id", "q1", "q2"])
    for i in range(n):
        sid = HOSTILE_IDS[i] if i < len(HOSTILE_IDS) else f"s{i:03d}"
        q1 = ["ReLU", "relu is my answer", "sigmoid", ""][i % 4]
        q2 = ["network A, more biases", "network B", "the first network", "A"][i % 3]
        writer.writerow([sid, q1, q2])
    return buf.getvalue().encode()


def wait_completed(client, tokens, batch_id, timeout=90.0):
    deadline = time.monotonic() + timeout
    body = {}
    while time.monotonic() < deadline:
        body = client.get(f"/api/v1/batches/{batch_id}", headers=tokens.headers("instructor"))
        body = body.get_json()
        if body["status"] == "completed":
            return body
        time.sleep(0.25)
    raise AssertionError(f"batch not completed: {body}")


def read_csv(response):
    return list(csv.reader(io.StringIO(response.get_data(as_text=True), newline="")))


def test_batch_through_redis_worker_and_postgres(
    it_client, it_tokens, it_runtime, start_worker, demo_rubric
):
    create_demo(it_client, it_tokens, demo_rubric)
    h = it_tokens.headers("instructor")
    r = it_client.post(
        "/api/v1/exams/demo/batches",
        data=sheets(100),
        headers=it_tokens.headers("instructor", **{"Content-Type": "text/csv"}),
    )
    assert r.status_code == 202, r.get_json()
    batch_id = r.get_json()["id"]
    assert r.get_json()["chunks"] == 4 and r.get_json()["chunks_published"] == 4
    start_worker()
    done = wait_completed(it_client, it_tokens, batch_id)
    assert done["counts"] == {"queued": 0, "grading": 0, "graded": 100, "failed": 0}
    assert done["eta_seconds"] == 0 and done["progress"] == 1.0
    with it_runtime.db.session() as s:
        batch = s.get(Batch, batch_id)
        assert (batch.done, batch.total, batch.status) == (100, 100, "completed")
        rows = list(s.scalars(select(Submission).where(Submission.batch_id == batch_id)))
    assert all(r.status == "graded" and r.deliveries == 1 for r in rows)

    results = it_client.get(f"/api/v1/batches/{batch_id}/results", headers=h).get_json()
    assert len(results["items"]) == 100
    table = read_csv(it_client.get(f"/api/v1/batches/{batch_id}/results?format=csv", headers=h))
    assert len(table) == 101 and table[0][0] == "student_id"

    # The gradebook opened with the csv module: injection-prone ids are text, scores numbers.
    book = read_csv(it_client.get(f"/api/v1/batches/{batch_id}/gradebook?form=moodle", headers=h))
    assert book[0] == ["ID number", "q1", "q2", "Total", "Feedback"]
    ids = [row[0] for row in book[1:]]
    for hostile in HOSTILE_IDS:
        assert "'" + hostile in ids and hostile not in ids
    for row in book[1:]:
        assert not row[0].startswith(("=", "+", "-", "@", "\t", "\r"))
        float(row[3])
        assert not row[4].startswith(("=", "+", "-", "@", "\t", "\r"))

    stats = it_client.get(f"/api/v1/batches/{batch_id}/stats", headers=h).get_json()
    assert stats["n"] == 100 and [q["id"] for q in stats["questions"]] == ["q1", "q2"]
    page = it_client.get("/api/v1/exams/demo/stats?format=html", headers=h)
    assert page.status_code == 200 and b"data:image/png;base64," in page.data
    assert it_client.get("/api/v1/exams/demo/gradebook", headers=h).status_code == 200
    listed = it_client.get("/api/v1/exams/demo/batches", headers=h).get_json()["items"]
    assert [b["id"] for b in listed] == [batch_id]


def test_review_overrides_and_regrade_on_postgres(
    it_client, it_tokens, it_runtime, start_worker, demo_rubric
):
    create_demo(it_client, it_tokens, demo_rubric)
    h = it_tokens.headers("instructor")
    hj = it_tokens.headers("instructor", **JSON)
    start_worker()
    r = it_client.post(
        "/api/v1/exams/demo/batches",
        data=sheets(12),
        headers=it_tokens.headers("instructor", **{"Content-Type": "text/csv"}),
    )
    batch_id = r.get_json()["id"]
    wait_completed(it_client, it_tokens, batch_id)
    items = it_client.get(f"/api/v1/batches/{batch_id}/results", headers=h).get_json()["items"]
    by_student = {i["student_id"]: i for i in items}
    target = by_student["s004"]  # answered "network B": 0 for picks-a under version 1
    assert target["result"]["questions"][1]["criteria"][0]["score"] == 0

    queue = it_client.get(f"/api/v1/exams/demo/review?batch_id={batch_id}&group=1", headers=h)
    assert queue.status_code == 200 and queue.get_json()["total"] == 0  # simple checkers: sure

    r = it_client.post(
        f"/api/v1/submissions/{target['submission_id']}/overrides",
        headers=hj,
        data=json.dumps(
            {"question_id": "q2", "criterion_id": "picks-a", "score": 1.5, "reason": "partly"}
        ),
    )
    assert r.status_code == 201, r.get_json()
    trail = it_client.get(
        f"/api/v1/submissions/{target['submission_id']}/overrides", headers=h
    ).get_json()
    assert [o["reason"] for o in trail["items"]] == ["partly"] and trail["auto_score"] is not None
    group = [by_student["s005"]["submission_id"], by_student["s006"]["submission_id"]]
    r = it_client.post(
        "/api/v1/exams/demo/overrides",
        headers=hj,
        data=json.dumps(
            {"submission_ids": group, "question_id": "q1", "score": 0, "reason": "copied"}
        ),
    )
    assert r.status_code == 201 and r.get_json()["applied"] == 2

    v2 = demo_rubric.replace("correct: A", "correct: B")
    r = it_client.put(
        "/api/v1/exams/demo",
        data=v2,
        headers=it_tokens.headers("instructor", **{"Content-Type": "application/yaml"}),
    )
    assert r.get_json()["version"] == 2
    r = it_client.post(f"/api/v1/batches/{batch_id}/regrade", headers=h)
    assert r.status_code == 202, r.get_json()
    dry = r.get_json()
    deadline = time.monotonic() + 60
    while dry["status"] == "grading" and time.monotonic() < deadline:
        time.sleep(0.25)
        dry = it_client.get(f"/api/v1/regrades/{dry['id']}", headers=h).get_json()
    assert dry["status"] == "ready" and dry["done"] == 12, dry
    changed = {c["student_id"]: c for c in dry["changes"]}
    # The overridden criterion stays at 1.5 although version 2 would give it 2.
    assert "s004" not in changed
    expected = {}
    for student, item in by_student.items():
        picks = item["result"]["questions"][1]["criteria"][0]["score"]
        if student not in ("s004",) and picks != 0:
            expected[student] = -2.0  # picked A: right under v1, wrong under v2
        elif student not in ("s004",):
            expected[student] = 2.0
    assert {s: c["delta"] for s, c in changed.items()} == expected
    applied = it_client.post(f"/api/v1/regrades/{dry['id']}/apply", headers=h).get_json()
    assert applied["status"] == "applied"
    assert applied["summary"]["changed"] == dry["summary"]["changed"]
    after = it_client.get(f"/api/v1/submissions/{target['submission_id']}", headers=h).get_json()
    picks = after["questions"][1]["criteria"][0]
    assert (picks["score"], picks["auto_score"], after["exam_version"]) == (1.5, 2, 2)
    for sid in group:  # group decisions survive too
        body = it_client.get(f"/api/v1/submissions/{sid}", headers=h).get_json()
        assert body["questions"][0]["score"] == 0
    with it_runtime.db.session() as s:
        assert len(list(s.scalars(select(GradeOverride)))) == 3
