"""Single sheets and a regrade's dry run go through the one grading path
(`grader.services.grading_path.run_path`): the same sheet stores the same result either way,
and a regrade, like a chunk, checks an answer repeated across its sheets once."""

from __future__ import annotations

from collections.abc import Sequence

from flask.testing import FlaskClient
from sqlalchemy import select

from grader.checks.base import CheckResult, CheckSpec
from grader.grading import CheckRunner
from grader.services import regrade_path
from grader.services.grading import grade_submissions
from grader.services.runtime import Runtime
from grader.store.batches import RegradeResult
from grader.store.models import Submission
from tests.conftest import Tokens

SHEETS = [
    ("s1", {"q1": "ReLU", "q2": "network A, it has more biases"}),
    ("s2", {"q1": "ReLU", "q2": "network A, it has more biases"}),
    ("s3", {"q1": "ReLU", "q2": "network A, it has more biases"}),
    ("s4", {"q1": "sigmoid", "q2": "network B"}),
]


class Counting:
    """The runtime's runner, counting the checks it runs."""

    def __init__(self, inner: CheckRunner) -> None:
        self.inner, self.calls = inner, 0

    def run(self, kind: str, spec: CheckSpec, answer: str) -> CheckResult:
        self.calls += 1
        return self.inner.run(kind, spec, answer)

    def warm(self, kind: str, items: Sequence[tuple[CheckSpec, str]]) -> None:
        self.inner.warm(kind, items)


def _singles(client: FlaskClient, tokens: Tokens, runtime: Runtime) -> list[str]:
    ids = []
    for student, answers in SHEETS:
        r = client.post(
            "/api/v1/exams/demo/submissions",
            json={"student_id": student, "answers": answers},
            headers=tokens.headers("instructor"),
        )
        assert r.status_code == 202, r.get_json()
        ids.append(str(r.get_json()["id"]))
    return ids


def test_a_regrade_stores_what_a_single_submission_stores(
    client: FlaskClient, tokens: Tokens, runtime: Runtime, demo_exam: str
) -> None:
    ids = _singles(client, tokens, runtime)
    graded = grade_submissions(runtime, ids)
    assert set(graded.values()) == {"graded"}
    r = client.post(
        "/api/v1/exams/demo/regrade", json={"version": 1}, headers=tokens.headers("instructor")
    )
    assert r.status_code == 202, r.get_json()
    (run,) = r.get_json()["runs"]
    counting = Counting(runtime.runner)
    out = regrade_path.regrade_chunk(runtime.db, runtime.exams, counting, run["id"], ids)
    assert (out["stored"], out["skipped"]) == (4, 0)
    # Two distinct sheets: each criterion checks each distinct answer once, as in a chunk.
    criteria = sum(len(q.criteria) for q in runtime.exams.get(runtime.db, "demo", 1).exam.questions)
    assert counting.calls == 2 * criteria
    again = regrade_path.regrade_chunk(runtime.db, runtime.exams, counting, run["id"], ids)
    assert (again["stored"], again["skipped"]) == (0, 4)  # a second delivery stores nothing
    with runtime.db.session() as s:
        stored = dict(s.execute(select(Submission.id, Submission.result)).tuples().all())
        regraded = dict(
            s.execute(
                select(RegradeResult.submission_id, RegradeResult.result).where(
                    RegradeResult.run_id == run["id"]
                )
            )
            .tuples()
            .all()
        )
    assert regraded == stored
    assert stored[ids[0]] != stored[ids[3]]  # the sheets differ: the comparison can fail
    done = client.get(f"/api/v1/regrades/{run['id']}", headers=tokens.headers("instructor"))
    assert done.get_json()["status"] == "ready" and done.get_json()["changes"] == []
