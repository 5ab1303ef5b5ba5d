"""Fuzzing through the sandbox pool: random answers never crash the pool."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from grader.checks.base import Status
from grader.checks.math.checker import MathSpec, register_math_checkers
from grader.checks.registry import CheckerRegistry
from grader.sandbox import SandboxRunner

pytestmark = pytest.mark.slow

SPEC = MathSpec(expected="(x+1)^2", variables=["x"], find="any")


@pytest.fixture(scope="module")
def runner() -> Iterator[SandboxRunner]:
    registry = CheckerRegistry()
    register_math_checkers(registry)
    with SandboxRunner(registry, processes=2, timeout_s=2.0) as r:
        yield r


@settings(
    max_examples=400,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)
@given(
    st.text(alphabet=st.characters(codec="utf-8"), max_size=80)
    | st.text(alphabet="x1+-*/^()!2e. πΣ√", max_size=40)
)
def test_pool_survives_random_answers(runner: SandboxRunner, answer: str) -> None:
    result = runner.run("math", SPEC, answer)
    assert 0.0 <= result.fraction <= 1.0
    assert result.status in (Status.OK, Status.INVALID, Status.NEEDS_REVIEW)


def test_pool_still_grades_after_fuzzing(runner: SandboxRunner) -> None:
    assert runner.run("math", SPEC, "x^2+2x+1").fraction == 1.0
