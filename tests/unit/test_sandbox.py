"""SandboxRunner: timeouts and crashes become needs_review; the pool heals itself."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import ClassVar

import pytest

from grader.checks.base import BaseChecker, CheckResult, CheckSpec, Status
from grader.checks.exact import ExactChecker, ExactSpec
from grader.checks.math.checker import MathSpec, register_math_checkers
from grader.checks.registry import CheckerRegistry
from grader.sandbox import SandboxRunner


class NoSpec(CheckSpec):
    pass


class SleepyChecker(BaseChecker[NoSpec]):
    """Hangs on 'hang', eats memory on 'oom', dies on 'die'; otherwise answers at once."""

    kind: ClassVar[str] = "sleepy"
    spec_model: ClassVar[type[CheckSpec]] = NoSpec
    sandboxed: ClassVar[bool] = True

    def check(self, spec: NoSpec, answer: str) -> CheckResult:
        if answer == "hang":
            while True:
                time.sleep(0.01)
        if answer == "spin":
            while True:
                pass
        if answer == "oom":
            hog = [bytearray(50 * 1024 * 1024) for _ in range(100)]
            return CheckResult(1.0, details={"n": len(hog)})
        if answer == "die":
            import os

            os._exit(3)
        return CheckResult(1.0, evidence=answer)


@pytest.fixture(scope="module")
def runner() -> Iterator[SandboxRunner]:
    registry = CheckerRegistry()
    register_math_checkers(registry)
    registry.register(SleepyChecker())
    registry.register(ExactChecker())
    with SandboxRunner(registry, processes=2, timeout_s=1.0, memory_mb=600) as r:
        yield r


def test_math_runs_in_the_pool(runner: SandboxRunner) -> None:
    spec = MathSpec(expected="x^2", variables=["x"], find="whole")
    assert runner.run("math", spec, "x*x").fraction == 1.0


def test_wall_clock_timeout_is_needs_review_and_pool_recovers(runner: SandboxRunner) -> None:
    before = runner.restarts
    result = runner.run("sleepy", NoSpec(), "hang")
    assert result.status == Status.NEEDS_REVIEW and result.fraction == 0.0
    assert result.details["error"] == "timeout"  # a sleeping check uses next to no CPU
    assert runner.restarts == before + 1
    assert runner.run("sleepy", NoSpec(), "ok").fraction == 1.0


def test_cpu_limit(runner: SandboxRunner) -> None:
    result = runner.run("sleepy", NoSpec(), "spin")
    assert result.status == Status.NEEDS_REVIEW
    assert runner.run("sleepy", NoSpec(), "ok").fraction == 1.0


def test_memory_limit(runner: SandboxRunner) -> None:
    result = runner.run("sleepy", NoSpec(), "oom")
    assert result.status == Status.NEEDS_REVIEW
    assert runner.run("sleepy", NoSpec(), "ok").fraction == 1.0


def test_killed_child_is_replaced(runner: SandboxRunner) -> None:
    result = runner.run("sleepy", NoSpec(), "die")
    assert result.status == Status.NEEDS_REVIEW
    for _ in range(4):
        assert runner.run("sleepy", NoSpec(), "ok").fraction == 1.0


def test_unsandboxed_checkers_run_in_process(runner: SandboxRunner) -> None:
    spec = ExactSpec(accept=["yes"])
    assert runner.run("exact", spec, "yes").fraction == 1.0


def test_hostile_math_in_the_pool(runner: SandboxRunner) -> None:
    spec = MathSpec(expected="x+1", variables=["x"], find="any")
    # Past the reader's limits (a number too large, an expression too long) a human looks;
    # an answer too long to read at all is invalid.
    for text, status in (
        ("9**9**9**9", Status.NEEDS_REVIEW),
        ("(10^10)!", Status.NEEDS_REVIEW),
        ("(" * 10_000 + ")" * 10_000, Status.NEEDS_REVIEW),
        ("x" * 1_000_000, Status.INVALID),
    ):
        result = runner.run("math", spec, text)
        assert (result.fraction, result.status) == (0.0, status), text[:20]
    assert runner.run("math", spec, "1+x").fraction == 1.0


def _grade_in_worker(answer: str) -> float:
    registry = CheckerRegistry()
    register_math_checkers(registry)
    spec = MathSpec(expected="x^2", variables=["x"], find="whole")
    with SandboxRunner(registry, processes=1) as runner:
        return runner.run("math", spec, answer).fraction


def test_pool_starts_inside_a_celery_prefork_worker() -> None:
    """Celery's prefork children are daemonic billiard processes with billiard auth keys."""
    billiard = pytest.importorskip("billiard")
    with billiard.Pool(1) as pool:
        assert pool.map(_grade_in_worker, ["x*x", "x+1"]) == [1.0, 0.0]


class GreedyChecker(BaseChecker[NoSpec]):
    """In-process; spins on 'spin' and swallows ordinary exceptions while it does."""

    kind: ClassVar[str] = "greedy"
    spec_model: ClassVar[type[CheckSpec]] = NoSpec

    def check(self, spec: NoSpec, answer: str) -> CheckResult:
        while answer == "spin":
            try:
                sum(range(10_000))
            except Exception:  # noqa: BLE001, S112 - a checker that hides errors must still stop
                continue
        return CheckResult(1.0)


@pytest.fixture
def budgeted() -> Iterator[SandboxRunner]:
    registry = CheckerRegistry()
    registry.register(SleepyChecker())
    registry.register(GreedyChecker())
    with SandboxRunner(registry, processes=1, timeout_s=5.0, answer_cpu_s=0.3) as r:
        yield r


def test_in_process_check_is_stopped_at_the_answer_budget(budgeted: SandboxRunner) -> None:
    result = budgeted.run("greedy", NoSpec(), "spin")
    assert result.status == Status.NEEDS_REVIEW and result.details["error"] == "cpu_time_limit"
    assert "review_reason" in result.details
    assert budgeted.run("greedy", NoSpec(), "fine").fraction == 1.0  # a new answer, a new budget


def test_an_answer_that_spent_its_budget_gets_review_for_the_rest(budgeted: SandboxRunner) -> None:
    answer = "spin"
    assert budgeted.run("sleepy", NoSpec(), answer).details["error"] == "cpu_time_limit"
    for kind in ("greedy", "sleepy"):
        result = budgeted.run(kind, NoSpec(), answer)
        assert result.status == Status.NEEDS_REVIEW
        assert result.details["error"] == "answer_cpu_budget"
    assert budgeted.run("sleepy", NoSpec(), "ok").fraction == 1.0
