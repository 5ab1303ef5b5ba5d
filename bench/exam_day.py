"""Exam day: S students submit the seed exam within W seconds through the API (gunicorn),
Redis and PostgreSQL, with 1 and with 2 worker processes (one `grader worker --concurrency N`,
the model loaded before the fork). Prints, per worker count, sheets/s, p50/p95 time to
grade (graded_at - created_at of each row), peak memory of the worker's process tree (RSS,
and PSS which counts shared pages once) and lost/duplicated counts; the last line is JSON.

    .venv/bin/python bench/exam_day.py [--students 300] [--within 60] [--workers 1,2]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import random
import statistics
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _service import ROOT, Service, running_service  # noqa: E402
from batch_throughput import answer_pool, vary  # noqa: E402

PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def _tree_memory(pid: int) -> tuple[float, float]:
    """(RSS, PSS) in MB of a process and all its descendants."""
    import psutil

    try:
        root = psutil.Process(pid)
        procs = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0.0, 0.0
    rss = pss = 0
    for proc in procs:
        try:
            info = proc.memory_full_info()
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
        rss += info.rss
        pss += getattr(info, "pss", info.rss)
    return rss / 2**20, pss / 2**20


def _sheets(n: int, seed: int) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    pool = answer_pool()
    return [
        {
            "student_id": f"day{i:04d}",
            "answers": {q: vary(rng.choice(a), rng) for q, a in pool.items()},
        }
        for i in range(n)
    ]


def _rows(database: str, ids: list[str]) -> list[tuple[Any, ...]]:
    from sqlalchemy import select

    from grader.store import Database
    from grader.store.models import Submission

    db = Database(database)
    try:
        with db.session() as s:
            return [
                tuple(r)  # type: ignore[misc]
                for r in s.execute(
                    select(
                        Submission.id,
                        Submission.status,
                        Submission.created_at,
                        Submission.graded_at,
                        Submission.deliveries,
                        Submission.student_id,
                    ).where(Submission.id.in_(ids))
                ).all()
            ]
    finally:
        db.dispose()


def run_day(
    svc: Service, sheets: list[dict[str, Any]], within: float, database: str
) -> dict[str, Any]:
    peak = [0.0, 0.0]
    done = threading.Event()

    def sample() -> None:
        while not done.wait(0.5):
            rss, pss = _tree_memory(svc.worker_pid)
            peak[0], peak[1] = max(peak[0], rss), max(peak[1], pss)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    start = time.monotonic()
    step = within / len(sheets)

    def submit(i: int) -> str | None:
        time.sleep(max(0.0, start + i * step - time.monotonic()))  # arrivals spread evenly
        status, body = svc.call("POST", "/api/v1/exams/dl-ws2324/submissions", sheets[i])
        return body.get("id") if status == 202 else None

    with ThreadPoolExecutor(max_workers=32) as pool:
        ids = [sid for sid in pool.map(submit, range(len(sheets))) if sid]
    deadline = time.monotonic() + 600
    rows = _rows(database, ids)
    while time.monotonic() < deadline and any(r[1] not in ("graded", "failed") for r in rows):
        time.sleep(1)
        rows = _rows(database, ids)
    done.set()
    graded = [r for r in rows if r[1] == "graded" and r[3] is not None]
    waits = sorted((r[3] - r[2]).total_seconds() for r in graded)
    first = min(r[2] for r in graded)
    last = max(r[3] for r in graded)
    span = max((last - first).total_seconds(), 1e-9)
    return {
        "sheets": len(sheets),
        "accepted": len(ids),
        "graded": len(graded),
        "lost": len(sheets) - len(graded),
        # a sheet stored twice is a second row of one student; a second delivery of one row
        # is refused by the claim, so it is counted apart
        "duplicated": len(rows) - len({r[5] for r in rows}),
        "redelivered": sum(1 for r in rows if r[4] > 1),
        "sheets_per_s": round(len(graded) / span, 2),
        "p50_s": round(statistics.median(waits), 2) if waits else None,
        "p95_s": round(waits[int(0.95 * (len(waits) - 1))], 2) if waits else None,
        "peak_rss_mb": round(peak[0]),
        "peak_pss_mb": round(peak[1]),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--students", type=int, default=300)
    parser.add_argument("--within", type=float, default=60.0)
    parser.add_argument("--workers", default="1,2", help="worker process counts to compare")
    parser.add_argument("--broker", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--database", default=PG)
    parser.add_argument("--seed", type=int, default=15)
    args = parser.parse_args()
    return _run(args)


@contextlib.contextmanager
def _fresh_database(url: str) -> Iterator[str]:
    """A PostgreSQL database of its own for each run (created, then dropped)."""
    if not url.startswith("postgresql"):
        yield url
        return
    import psycopg

    name = f"exam_day_{uuid.uuid4().hex[:8]}"
    base = url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield url.rsplit("/", 1)[0] + "/" + name
    finally:
        with psycopg.connect(base, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _run(args: argparse.Namespace) -> int:
    rubric = (ROOT / "rubrics" / "dl-ws2324.yaml").read_text()
    sheets = _sheets(args.students, args.seed)
    results: dict[str, Any] = {}
    for n in (int(x) for x in args.workers.split(",")):
        env = {"GRADER_EMBED_THREADS": "1"}
        with (
            _fresh_database(args.database) as database,
            running_service(args.broker, database, concurrency=n, **env) as svc,
        ):
            status, body = svc.call(
                "POST",
                "/api/v1/exams",
                raw=rubric.encode(),
                headers={"Content-Type": "application/yaml"},
            )
            assert status in (200, 201), body
            time.sleep(10)  # the pool processes' warm-up (sandbox, exemplars)
            results[str(n)] = out = run_day(svc, sheets, args.within, database)
            print(f"{n} worker process(es): {out}", flush=True)
    if "1" in results and "2" in results and results["1"]["sheets_per_s"]:
        results["speedup_2_over_1"] = round(
            results["2"]["sheets_per_s"] / results["1"]["sheets_per_s"], 2
        )
        results["added_worker_pss_mb"] = results["2"]["peak_pss_mb"] - results["1"]["peak_pss_mb"]
    print(json.dumps(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
