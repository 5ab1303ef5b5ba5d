"""grade_chunk: a chunk claimed in one UPDATE ... RETURNING and stored in one transaction, with
the guarantees of per-sheet grading (no double grade, max deliveries, batch completion once)."""

from __future__ import annotations

from collections.abc import Sequence

from flask.testing import FlaskClient
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from grader.checks.base import BaseChecker, CheckResult, CheckSpec
from grader.checks.registry import CheckerRegistry
from grader.services.batches import CompletedHook
from grader.services.chunks import grade_chunk
from grader.services.grading import FinalHook, StoreHooks
from grader.services.runtime import Runtime
from grader.store.batches import Batch
from grader.store.models import Submission
from tests.api.test_batches_api import sheets_csv, upload
from tests.api.test_grading_path import Counting
from tests.conftest import Tokens


def _batch(client: FlaskClient, tokens: Tokens, runtime: Runtime) -> tuple[str, list[str]]:
    batch_id = upload(client, tokens, sheets_csv()).get_json()["id"]
    with runtime.db.session() as s:
        ids = sorted(s.scalars(select(Submission.id).where(Submission.batch_id == batch_id)))
    return batch_id, ids


def _grade(
    runtime: Runtime,
    ids: list[str],
    hooks: Sequence[FinalHook] = (),
    completed: CompletedHook | None = None,
) -> dict[str, str]:
    return grade_chunk(
        runtime,
        ids,
        StoreHooks(tuple(hooks), completed),
    )


def test_chunk_is_graded_once_and_completes_the_batch_once(
    client: FlaskClient, tokens: Tokens, runtime: Runtime, demo_exam: str
) -> None:
    batch_id, ids = _batch(client, tokens, runtime)
    seen: list[tuple[str, str]] = []
    completions: list[tuple[int, int, int]] = []
    hook = lambda session, row: seen.append((row.id, row.status))  # noqa: E731
    completed = lambda session, batch, counts: completions.append(counts)  # noqa: E731
    assert _grade(runtime, ids[:3], [hook], completed) == {i: "graded" for i in ids[:3]}
    assert completions == []
    assert _grade(runtime, ids, [hook], completed) == {
        **{i: "skipped" for i in ids[:3]},
        ids[3]: "graded",
    }
    assert _grade(runtime, ids, [hook], completed) == {i: "skipped" for i in ids}
    assert sorted(seen) == [(i, "graded") for i in ids]
    assert completions == [(4, 4, 0)]
    with runtime.db.session() as s:
        batch = s.get(Batch, batch_id)
        assert batch is not None
        assert (batch.done, batch.status) == (4, "completed")
        rows = list(s.scalars(select(Submission).where(Submission.batch_id == batch_id)))
    assert all(r.status == "graded" and r.deliveries == 1 and r.claim_token for r in rows)
    assert {r.student_id: r.score for r in rows} == {"s1": 5, "s2": 2, "s3": 2, "s4": 2}


def test_too_many_deliveries_fail_and_still_count(
    client: FlaskClient, tokens: Tokens, runtime: Runtime, demo_exam: str
) -> None:
    batch_id, ids = _batch(client, tokens, runtime)
    with runtime.db.session() as s:
        s.execute(
            update(Submission)
            .where(Submission.id == ids[0])
            .values(deliveries=runtime.settings.max_deliveries)
        )
    outcomes = _grade(runtime, ids)
    assert outcomes[ids[0]] == "failed" and list(outcomes.values()).count("graded") == 3
    progress = client.get(f"/api/v1/batches/{batch_id}", headers=tokens.headers("instructor"))
    body = progress.get_json()
    assert body["status"] == "completed" and body["counts"]["failed"] == 1


def test_a_failing_store_falls_back_to_row_by_row(
    client: FlaskClient, tokens: Tokens, runtime: Runtime, demo_exam: str
) -> None:
    batch_id, ids = _batch(client, tokens, runtime)
    calls: list[str] = []

    def flaky(session: Session, row: Submission) -> None:
        calls.append(row.id)
        if len(calls) == 2:
            raise RuntimeError("transient")

    outcomes = _grade(runtime, ids, [flaky])
    assert outcomes == {i: "graded" for i in ids}
    with runtime.db.session() as s:
        batch = s.get(Batch, batch_id)
        assert batch is not None
        assert (batch.done, batch.status) == (4, "completed")


def test_identical_answers_are_checked_once_per_chunk(runtime: Runtime) -> None:
    from grader.exams import load_exam
    from grader.grading import grade_many
    from grader.grading.memo import MemoRunner
    from tests.conftest import DEMO_RUBRIC

    loaded = load_exam(DEMO_RUBRIC, runtime.registry)
    sheets = [{"q1": "relu", "q2": "network A"}] * 5 + [{"q1": "tanh", "q2": "network A"}]
    counting = Counting(runtime.runner)
    memo = MemoRunner(counting)
    memoised = grade_many(loaded, sheets, memo)
    assert counting.calls == 1 + 1 + 2  # q1: relu, tanh; q2: two criteria, one answer
    assert memo.hits == 14
    assert memoised == grade_many(loaded, sheets, runtime.runner)


def test_sandboxed_criteria_run_side_by_side_with_the_same_verdicts() -> None:
    import threading
    import time
    from typing import ClassVar

    from grader.checks import simple_registry
    from grader.exams import load_exam
    from grader.grading import DirectRunner, grade_many
    from grader.grading.memo import MemoRunner

    class SlowSpec(CheckSpec):
        want: str

    class Slow(BaseChecker[SlowSpec]):
        kind: ClassVar[str] = "slow"
        spec_model: ClassVar[type[CheckSpec]] = SlowSpec
        sandboxed = True

        def check(self, spec: SlowSpec, answer: str) -> CheckResult:
            time.sleep(0.02)
            return CheckResult(1.0 if spec.want in answer else 0.0)

    class PoolLike(DirectRunner):
        processes = 2

        def __init__(self, registry: CheckerRegistry) -> None:
            super().__init__(registry)
            self.running = self.most = self.calls = 0
            self.lock = threading.Lock()

        def run(self, kind: str, spec: CheckSpec, answer: str) -> CheckResult:
            with self.lock:
                self.running += 1
                self.calls += 1
                self.most = max(self.most, self.running)
            try:
                return super().run(kind, spec, answer)
            finally:
                with self.lock:
                    self.running -= 1

    registry = simple_registry()
    registry.register(Slow())
    rubric = """
id: slow
title: t
questions:
  - id: q
    points: 2
    criteria:
      - {id: a, points: 1, check: {kind: slow, want: x}}
      - {id: b, points: 1, check: {kind: exact, accept: [x]}}
"""
    loaded = load_exam(rubric, registry)
    sheets = [{"q": f"x{i % 6}"} for i in range(12)] + [{"q": " "}, {}]
    runner = PoolLike(registry)
    memo = MemoRunner(runner)
    memo.prefetch(loaded, sheets)
    assert runner.most == 2 and runner.calls == 6  # six distinct answers, two at a time
    results = grade_many(loaded, sheets, memo)
    assert runner.calls == 6 + 6  # grading ran only the in-process `exact` criterion
    assert memo.hits == 12  # the second copy of each answer, for both criteria
    assert results == grade_many(loaded, sheets, DirectRunner(registry))
