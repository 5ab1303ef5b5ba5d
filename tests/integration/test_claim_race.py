"""BAD_INPUTS 16: the same submission graded twice at the same time -> one grade."""

from __future__ import annotations

import json
import threading

import pytest

from grader.services.grading import grade_submissions
from grader.store.models import Submission

pytestmark = pytest.mark.integration


def test_concurrent_deliveries_store_one_grade(it_client, it_tokens, it_runtime, demo_rubric) -> None:  # type: ignore[no-untyped-def]
    r = it_client.post("/api/v1/exams", data=demo_rubric,
                       headers=it_tokens.headers("admin", **{"Content-Type": "application/yaml"}))
    assert r.status_code == 201
    ids = []
    for i in range(20):
        body = {"student_id": f"s{i}", "answers": {"q1": "relu"}}
        r = it_client.post("/api/v1/exams/demo/submissions", data=json.dumps(body),
                           headers=it_tokens.headers("admin", **{"Content-Type": "application/json"}))
        ids.append(r.get_json()["id"])
    rt = it_runtime
    outcomes: list[dict[str, str]] = []
    barrier = threading.Barrier(4)

    def deliver() -> None:
        barrier.wait()
        outcomes.append(grade_submissions(rt.db, rt.settings, rt.exams, rt.runner, ids))

    threads = [threading.Thread(target=deliver) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for sid in ids:
        assert sorted(o[sid] for o in outcomes) == ["graded", "skipped", "skipped", "skipped"]
    with rt.db.session() as s:
        assert all(s.get(Submission, sid).deliveries == 1 for sid in ids)  # type: ignore[union-attr]
