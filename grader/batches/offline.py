"""Grade a submissions file with no server: the same intake and grading code as the service,
run over a local process pool, results written as JSON Lines.

Each output line is a results record, the shape the results endpoint serves::

    {"row": 2, "source": "answers.csv", "student_id": "s1", "status": "graded",
     "result": {<SubmissionResult dict>}}

Sheets are graded in chunks by the service's grade step (`grader.grading.memo.grade_sheets`:
each repeated answer checked once, `grade_many` so that batch-friendly checkers such as text
embeddings see many answers at once). The registry factory and runner factory are parameters
(top-level callables, since they are sent to the pool's processes by reference).
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path
from typing import IO, Any

from tqdm import tqdm

from grader.batches.intake import read_upload_file
from grader.batches.intake_report import IntakeLimits, SheetRow
from grader.checks import CheckerRegistry, simple_registry
from grader.exams import LoadedExam, load_exam
from grader.grading import CheckRunner, DirectRunner
from grader.grading.memo import MemoRunner, grade_sheets

RegistryFactory = Callable[[], CheckerRegistry]
RunnerFactory = Callable[[CheckerRegistry], CheckRunner]
Chunk = list[tuple[int, str, str, dict[str, str]]]  # (row, source, student id, answers)

# Set once per pool process by `_init_worker`: the exam is parsed and checkers built once,
# not once per chunk.
_WORKER: dict[str, Any] = {}


def _init_worker(
    rubric_text: str, registry_factory: RegistryFactory, runner_factory: RunnerFactory
) -> None:
    registry = registry_factory()
    _WORKER["loaded"] = load_exam(rubric_text, registry)
    _WORKER["runner"] = runner_factory(registry)


def _grade(loaded: LoadedExam, runner: CheckRunner, chunk: Chunk) -> list[dict[str, Any]]:
    # The service's grade step (grader.grading.memo): a repeated answer is checked once.
    results = grade_sheets(loaded, [answers for *_, answers in chunk], MemoRunner(runner))
    return [
        {
            "row": row,
            "source": source,
            "student_id": sid,
            "status": "graded",
            "result": result.to_dict(),
        }
        for (row, source, sid, _), result in zip(chunk, results, strict=True)
    ]


def _grade_in_worker(chunk: Chunk) -> list[dict[str, Any]]:
    return _grade(_WORKER["loaded"], _WORKER["runner"], chunk)


def _failed(chunk: Chunk, exc: BaseException) -> list[dict[str, Any]]:
    error = type(exc).__name__
    return [
        {
            "row": row,
            "source": source,
            "student_id": sid,
            "status": "failed",
            "error": error,
            "result": None,
        }
        for row, source, sid, _ in chunk
    ]


def chunked(rows: Sequence[SheetRow], size: int) -> Iterator[Chunk]:
    for start in range(0, len(rows), max(1, size)):
        yield [(r.row, r.source, r.student_id, r.answers) for r in rows[start : start + size]]


def _pool_results(
    rubric_text: str,
    chunks: list[Chunk],
    workers: int,
    registry_factory: RegistryFactory,
    runner_factory: RunnerFactory,
) -> Iterator[list[dict[str, Any]]]:
    # spawn, not fork: a parent that already loaded torch or opened threads must not be
    # forked mid-state; each child builds its own checkers in the initializer.
    with ProcessPoolExecutor(
        max_workers=workers,
        mp_context=get_context("spawn"),
        initializer=_init_worker,
        initargs=(rubric_text, registry_factory, runner_factory),
    ) as pool:
        futures: list[Future[list[dict[str, Any]]]] = [
            pool.submit(_grade_in_worker, chunk) for chunk in chunks
        ]
        for chunk, future in zip(chunks, futures, strict=True):
            try:
                yield future.result()
            except Exception as exc:  # noqa: BLE001 - a broken chunk is reported, not fatal
                yield _failed(chunk, exc)


def grade_rows(
    rubric_text: str,
    rows: Sequence[SheetRow],
    out: IO[str],
    *,
    registry_factory: RegistryFactory = simple_registry,
    runner_factory: RunnerFactory = DirectRunner,
    workers: int = 1,
    chunk_size: int = 32,
    progress: bool = True,
) -> dict[str, Any]:
    """Grade `rows`, write one JSON line per sheet to `out` in input order; a summary."""
    started = time.perf_counter()
    chunks = list(chunked(rows, chunk_size))
    workers = max(1, min(workers, len(chunks)))
    if workers == 1:
        registry = registry_factory()
        loaded, runner = load_exam(rubric_text, registry), runner_factory(registry)
        batches: Iterator[list[dict[str, Any]]] = (_grade(loaded, runner, c) for c in chunks)
    else:
        batches = _pool_results(rubric_text, chunks, workers, registry_factory, runner_factory)
    scores: list[float] = []
    failed = review = 0
    bar = tqdm(total=len(rows), unit="sheet", disable=not progress, file=sys.stderr, desc="grading")
    with bar:
        for records in batches:
            for record in records:
                out.write(json.dumps(record, ensure_ascii=False) + "\n")
                if record["result"] is None:
                    failed += 1
                else:
                    scores.append(float(record["result"]["score"]))
                    review += bool(record["result"]["needs_review"])
            bar.update(len(records))
    seconds = time.perf_counter() - started
    return {
        "n": len(rows),
        "graded": len(scores),
        "failed": failed,
        "needs_review": review,
        "mean_score": round(statistics.fmean(scores), 4) if scores else None,
        "seconds": round(seconds, 3),
        "sheets_per_second": round(len(rows) / seconds, 2) if seconds > 0 else None,
        "workers": workers,
    }


def default_workers() -> int:
    return max(
        1,
        min(
            4,
            len(os.sched_getaffinity(0))
            if hasattr(os, "sched_getaffinity")
            else (os.cpu_count() or 1),
        ),
    )


def grade_file(
    rubric: str | Path,
    submissions: str | Path,
    out: str | Path,
    *,
    registry_factory: RegistryFactory = simple_registry,
    runner_factory: RunnerFactory = DirectRunner,
    workers: int | None = None,
    chunk_size: int = 32,
    progress: bool = True,
    limits: IntakeLimits | None = None,
) -> dict[str, Any]:
    """Grade a CSV / JSONL / ZIP submissions file against a rubric file; write results JSONL.

    Raises `RubricInvalid` for a bad rubric and `IntakeRejected` for a bad submissions file,
    before anything is graded or written."""
    rubric_text = Path(rubric).read_text(encoding="utf-8")
    loaded = load_exam(rubric_text, registry_factory())  # fail early, in this process
    qids = {q.id for q in loaded.exam.questions}
    intake = read_upload_file(submissions, question_ids=qids, limits=limits)
    out_path = Path(out)
    tmp = out_path.with_name(out_path.name + ".part")
    with tmp.open("w", encoding="utf-8") as fh:
        summary = grade_rows(
            rubric_text,
            intake.rows,
            fh,
            registry_factory=registry_factory,
            runner_factory=runner_factory,
            workers=workers or default_workers(),
            chunk_size=chunk_size,
            progress=progress,
        )
    tmp.replace(out_path)  # a reader never sees a half-written results file
    return {"exam": loaded.exam.id, "out": str(out_path), **summary}


def read_results(path: str | Path) -> list[dict[str, Any]]:
    """Records from a results JSONL file (as written by `grade_file`)."""
    with Path(path).open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]
