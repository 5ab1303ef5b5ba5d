"""The grade step every way of grading shares (the service's sheets, chunks and regrades,
and the offline `grader grade`): `grade_sheets` grades the sheets of one exam version with a
`MemoRunner`, which runs each (criterion, answer) once and the sandboxed criteria side by
side before grading."""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor

from grader.checks.base import CheckResult, CheckSpec
from grader.exams import LoadedExam
from grader.grading.core import CheckRunner, SubmissionResult, grade_many


def grade_sheets(
    loaded: LoadedExam, sheets: Sequence[Mapping[str, str]], memo: MemoRunner
) -> list[SubmissionResult]:
    """Grade these sheets of one exam version: the sandboxed checks first, side by side,
    then one `grade_many` (text criteria encoded in one pass across the sheets)."""
    memo.prefetch(loaded, sheets)
    return grade_many(loaded, sheets, memo)


class MemoRunner:
    """Runs each (criterion, answer) once per call: identical answers (a number, a formula,
    a copied sentence) get the verdict already computed for the first. Checkers are
    deterministic functions of (spec, answer), so this changes no result. Specs come from one
    `LoadedExam`, so the spec object's identity names the criterion."""

    def __init__(self, runner: CheckRunner) -> None:
        self.runner = runner
        self.hits = 0
        self.seconds: defaultdict[str, float] = defaultdict(float)  # per checker kind
        # The spec is kept with its result: a live object's id cannot be reused by another.
        self._seen: dict[tuple[str, int, str], tuple[CheckSpec, CheckResult]] = {}
        self._prefetched: set[tuple[str, int, str]] = set()

    def run(self, kind: str, spec: CheckSpec, answer: str) -> CheckResult:
        key = (kind, id(spec), answer)
        hit = self._seen.get(key)
        if hit is not None and hit[0] is spec:
            if key in self._prefetched:
                self._prefetched.discard(key)  # its first use: not a repeated answer
            else:
                self.hits += 1
            return hit[1]
        started = time.perf_counter()
        result = self.runner.run(kind, spec, answer)
        self.seconds[kind] += time.perf_counter() - started
        self._seen[key] = (spec, result)
        return result

    def warm(self, kind: str, items: Sequence[tuple[CheckSpec, str]]) -> None:
        started = time.perf_counter()
        self.runner.warm(kind, items)
        self.seconds[kind] += time.perf_counter() - started

    def prefetch(self, loaded: LoadedExam, sheets: Sequence[Mapping[str, str]]) -> None:
        """Run the sheets' sandboxed criteria (math) side by side on the sandbox's child
        processes before grading, instead of one after the other during it.

        Only for a runner with several children (`processes`) and checkers marked
        `sandboxed`: those run in child processes, so these threads only wait on pipes. The
        calls are exactly those `grade_many` will make, so it finds every verdict here."""
        workers = int(getattr(self.runner, "processes", 1) or 1)
        registry = getattr(self.runner, "registry", None)
        if workers < 2 or registry is None:
            return
        calls: dict[tuple[str, int, str], tuple[str, CheckSpec, str]] = {}
        for sheet in sheets:
            for question in loaded.exam.questions:
                answer = sheet.get(question.id)
                if answer is None or not answer.strip():
                    continue  # unanswered: grading runs no checker
                for crit in question.criteria:
                    if getattr(type(registry.get(crit.kind)), "sandboxed", False):
                        spec = loaded.spec(question.id, crit.id)
                        calls.setdefault((crit.kind, id(spec), answer), (crit.kind, spec, answer))
        todo = [c for k, c in calls.items() if k not in self._seen]
        if len(todo) < 2:
            return
        started = time.perf_counter()
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="sandbox-call") as pool:
            results = list(pool.map(lambda c: self.runner.run(*c), todo))
        share = (time.perf_counter() - started) / len(todo)
        for (kind, spec, answer), result in zip(todo, results, strict=True):
            key = (kind, id(spec), answer)
            self._seen[key] = (spec, result)
            self._prefetched.add(key)
            self.seconds[kind] += share
