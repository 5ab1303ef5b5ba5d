"""Bench: our answer tests vs a naive parse_expr + simplify checker on the same cases.

Usage: .venv/bin/python bench/math_checks.py [../shared/eval/math_dev.jsonl]
Prints both sides (agreement, p50, p99, timeouts) as ONE JSON line last.
"""

from __future__ import annotations

import json
import signal
import sys
import time
from pathlib import Path
from typing import Any

from grader.evaluation.math_eval import evaluate_file, percentile, read_cases

LIMIT_S = 2.0


class _Timeout(Exception):
    pass


def _alarm(signum: int, frame: Any) -> None:
    raise _Timeout


def naive_verdict(case: dict[str, Any]) -> str:
    """AlgEquiv by simplify(a - b) == 0 for every test (a baseline, not a grader)."""
    import sympy
    from sympy.parsing.sympy_parser import (
        convert_xor,
        implicit_multiplication_application,
        parse_expr,
        standard_transformations,
    )

    trans = standard_transformations + (implicit_multiplication_application, convert_xor)
    try:
        # safe: baseline on trusted eval data (bench only, never student input)
        s = parse_expr(str(case["student"]), transformations=trans)
        # safe: baseline on trusted eval data
        t = parse_expr(str(case["teacher"]), transformations=trans)
    except Exception:  # noqa: BLE001 - the baseline's failures are part of its score
        return "invalid"
    try:
        if isinstance(s, sympy.Equality) and isinstance(t, sympy.Equality):
            s, t = s.lhs - s.rhs, t.lhs - t.rhs
        diff = sympy.simplify(s - t)
        if diff.has(sympy.zoo, sympy.nan):
            return "invalid"
        return "pass" if diff == 0 else "fail"
    except Exception:  # noqa: BLE001
        return "invalid"


def run_naive(path: Path) -> dict[str, Any]:
    times: list[float] = []
    agree = timeouts = n = 0
    old = signal.signal(signal.SIGALRM, _alarm)
    for case in read_cases(path):
        n += 1
        start = time.perf_counter()
        signal.setitimer(signal.ITIMER_REAL, LIMIT_S)
        try:
            got = naive_verdict(case)
        except _Timeout:
            got = "timeout"
            timeouts += 1
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
        times.append((time.perf_counter() - start) * 1000)
        agree += got == case.get("expected")
    signal.signal(signal.SIGALRM, old)
    return {
        "agreement": round(agree / n, 4) if n else 0.0,
        "p50_ms": round(percentile(times, 0.5), 3),
        "p99_ms": round(percentile(times, 0.99), 3),
        "timeouts": timeouts,
        "n": n,
    }


def sandbox_overhead(calls: int = 300) -> dict[str, float]:
    """p50 of the q2b criterion checked in-process vs through the SandboxRunner pool."""
    from grader.checks.math.checker import MathChecker, MathSpec, register_math_checkers
    from grader.checks.registry import CheckerRegistry
    from grader.sandbox import SandboxRunner

    spec = MathSpec(
        expected="(2/N) Σ_n (w1 ln(x_n+w2) − t_n) · w1/(x_n+w2)",
        variables=["w1", "w2", "x_n", "t_n", "N", "eta"],
        positive=["x", "w1", "w2", "N"],
        accept_factors=["1/N", "1/2", "1", "2"],
    )
    answer = "dE/dw2 = (1/N) Σ_i (w1 ln(x_i+w2) − t_i) w1/(x_i+w2)"
    registry = CheckerRegistry()
    register_math_checkers(registry)
    checker = MathChecker()
    direct: list[float] = []
    pooled: list[float] = []
    with SandboxRunner(registry, processes=2) as runner:
        runner.run("math", spec, answer)
        for _ in range(calls):
            t0 = time.perf_counter()
            checker.check(spec, answer)
            t1 = time.perf_counter()
            runner.run("math", spec, answer)
            t2 = time.perf_counter()
            direct.append((t1 - t0) * 1000)
            pooled.append((t2 - t1) * 1000)
    d50, p50 = percentile(direct, 0.5), percentile(pooled, 0.5)
    return {
        "direct_p50_ms": round(d50, 3),
        "sandbox_p50_ms": round(p50, 3),
        "ipc_overhead_ms": round(p50 - d50, 3),
    }


def main() -> int:
    path = Path(sys.argv[1] if len(sys.argv) > 1 else "../shared/eval/math_dev.jsonl")
    ours = evaluate_file(path)
    naive = run_naive(path)
    sandbox = sandbox_overhead()
    ours_line = {k: ours[k] for k in ("n", "agreement", "p50_ms", "p99_ms", "timeouts", "errors")}
    ours_line["max_ms"] = ours["max_ms"]
    print(f"ours : {ours_line}")
    print(f"naive: {naive}")
    print(f"sandbox (q2b criterion): {sandbox}")
    print(json.dumps({"ours": ours_line, "naive_sympy": naive, "sandbox": sandbox}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
