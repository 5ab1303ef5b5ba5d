"""`grader eval math FILE`: agreement of our answer tests with expected verdicts.

Prints a per-test table and, as the last line, one JSON object:
{"n", "agreement", "by_test", "errors", "timeouts", "p50_ms", "p99_ms"}.
A crash or a timeout counts as a disagreement, never as a skip.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import time
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from grader.checks.math.answertests.table import answer_test

CASE_LIMIT_S = 2.0
_WARM = [
    ("AlgEquiv", "x+1", "1+x", ""),
    ("FacForm", "(x-1)*(x+1)", "x^2-1", "x"),
    ("PartFrac", "1/(x-1)-1/(x+1)", "2/(x^2-1)", "x"),
    ("LowestTerms", "x/2", "x/2", ""),
    ("Int", "x^2/2+c", "x", "x"),
    ("NumSigFigs", "3.14", "pi", "3"),
    ("Units", "9.81*m/s^2", "9.81*m/s^2", "3"),
    ("Extract", "$\\boxed{1}$", "1", ""),
]


class CaseTimeout(Exception):
    pass


def _alarm(signum: int, frame: Any) -> None:
    raise CaseTimeout


def read_cases(path: Path) -> Iterator[dict[str, Any]]:
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                yield json.loads(line)


def run_case(case: dict[str, Any], limit: float = CASE_LIMIT_S) -> tuple[str, float]:
    """(verdict or 'error'/'timeout', milliseconds) with a wall-clock limit per case."""
    use_alarm = hasattr(signal, "setitimer")
    if use_alarm:
        old = signal.signal(signal.SIGALRM, _alarm)
        signal.setitimer(signal.ITIMER_REAL, limit)
    start = time.perf_counter()
    try:
        verdict = answer_test(
            str(case.get("test", "AlgEquiv")),
            str(case.get("student", "")),
            str(case.get("teacher", "")),
            str(case.get("options") or ""),
        )
        got: str = verdict.result
    except CaseTimeout:
        got = "timeout"
    except Exception:  # noqa: BLE001 - a crash is a measured disagreement, not a stop
        got = "error"
    finally:
        if use_alarm:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, old)
    return got, (time.perf_counter() - start) * 1000


def percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    k = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[k]


def evaluate_file(path: Path, *, show_failures: bool = False) -> dict[str, Any]:
    by_test: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    times: list[float] = []
    errors = timeouts = n = agree = 0
    for case in read_cases(path):
        got, ms = run_case(case)
        times.append(ms)
        n += 1
        test = str(case.get("test", "?"))
        ok = got == case.get("expected")
        errors += got == "error"
        timeouts += got == "timeout"
        agree += ok
        by_test[test][0] += ok
        by_test[test][1] += 1
        if show_failures and not ok:
            print(
                f"  MISMATCH {case.get('id')} {test} opts={case.get('options')!r} "
                f"s={str(case.get('student'))[:80]!r} t={str(case.get('teacher'))[:80]!r} "
                f"expected={case.get('expected')} got={got}",
                file=sys.stderr,
            )
    return {
        "n": n,
        "agreement": round(agree / n, 4) if n else 0.0,
        "by_test": {k: round(v[0] / v[1], 4) for k, v in sorted(by_test.items())},
        "counts": {k: v[1] for k, v in sorted(by_test.items())},
        "errors": errors,
        "timeouts": timeouts,
        "p50_ms": round(percentile(times, 0.5), 3),
        "p99_ms": round(percentile(times, 0.99), 3),
        "max_ms": round(max(times, default=0.0), 3),
    }


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="grader eval math")
    parser.add_argument("file", type=Path)
    parser.add_argument("--show-failures", action="store_true")
    args = parser.parse_args(argv)
    if not args.file.exists():
        print(f"no such file: {args.file}", file=sys.stderr)
        return 2
    # warm imports and caches (sympy's polynomial code, units) outside the timed cases
    for test, student, teacher, options in _WARM:
        answer_test(test, student, teacher, options)
    summary = evaluate_file(args.file, show_failures=args.show_failures)
    counts = summary.pop("counts")
    print(f"{'test':<22}{'n':>6}{'agreement':>11}")
    for test, agreement in summary["by_test"].items():
        print(f"{test:<22}{counts[test]:>6}{agreement:>11.3f}")
    print(
        f"{'ALL':<22}{summary['n']:>6}{summary['agreement']:>11.3f}   "
        f"errors={summary['errors']} timeouts={summary['timeouts']} "
        f"p50={summary['p50_ms']}ms p99={summary['p99_ms']}ms max={summary['max_ms']}ms"
    )
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main(sys.argv[1:]))
