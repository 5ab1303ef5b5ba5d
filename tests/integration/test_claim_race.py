"""BAD_INPUTS 16: the same submission graded twice at the same time -> one grade."""

from __future__ import annotations

import json
import threading

import pytest
from flask.testing import FlaskClient

from grader.services.grading import grade_submissions
from grader.services.runtime import Runtime
from grader.store.models import Submission
from tests.conftest import Tokens

pytestmark = pytest.mark.integration


def test_concurrent_deliveries_store_one_grade(
    it_client: FlaskClient, it_tokens: Tokens, it_runtime: Runtime, demo_rubric: str
) -> None:
    r = it_client.post(
        "/api/v1/exams",
        data=demo_rubric,
        headers=it_tokens.headers("admin", **{"Content-Type": "application/yaml"}),
    )
    assert r.status_code == 201
    ids = []
    for i in range(20):
        body = {"student_id": f"s{i}", "answers": {"q1": "relu"}}
        r = it_client.post(
            "/api/v1/exams/demo/submissions",
            data=json.dumps(body),
            headers=it_tokens.headers("admin", **{"Content-Type": "application/json"}),
        )
        ids.append(r.get_json()["id"])
    rt = it_runtime
    outcomes: list[dict[str, str]] = []
    barrier = threading.Barrier(4)

    def deliver() -> None:
        barrier.wait()
        outcomes.append(grade_submissions(rt, ids))

    threads = [threading.Thread(target=deliver) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for sid in ids:
        assert sorted(o[sid] for o in outcomes) == ["graded", "skipped", "skipped", "skipped"]
    with rt.db.session() as s:
        rows = [s.get(Submission, sid) for sid in ids]
        assert all(row is not None and row.deliveries == 1 for row in rows)
