"""Feedback latency: sequential seed-exam submissions with `Prefer: wait`, Redis broker, one
worker (the real service: gunicorn API + Celery worker). Prints p50/p95 as one JSON line."""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _service import ROOT, memory_mb_of_tree, running_service  # noqa: E402
from batch_throughput import answer_pool, vary  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("-n", type=int, default=200)
    parser.add_argument("--rubric", default=str(ROOT / "rubrics" / "dl-ws2324.yaml"))
    parser.add_argument("--answers", default=str(ROOT / "examples" / "seed_answers.json"))
    parser.add_argument("--broker", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--database", default=None, help="default: SQLite in a temp dir")
    parser.add_argument(
        "--env",
        action="append",
        default=[],
        metavar="GRADER_X=V",
        help="extra settings for the service, e.g. GRADER_EMBED_QUANTIZE=1",
    )
    args = parser.parse_args()
    extra = dict(item.split("=", 1) for item in args.env)

    rubric = Path(args.rubric).read_text()
    sheet = json.loads(Path(args.answers).read_text())
    with running_service(args.broker, args.database, **extra) as svc:
        status, body = svc.call(
            "POST",
            "/api/v1/exams",
            raw=rubric.encode(),
            headers={"Content-Type": "application/yaml"},
        )
        if status != 201:
            raise SystemExit(f"rubric upload failed: {status} {body}")
        exam_id = body["id"]
        # One warm-up submission: the worker loads the model and the sandbox on first use.
        svc.call(
            "POST",
            f"/api/v1/exams/{exam_id}/submissions",
            {"student_id": "warmup", "answers": sheet["answers"]},
            {"Prefer": "wait=60"},
        )
        latencies, not_graded = [], 0
        rng = random.Random(7)
        pool = answer_pool()
        for i in range(args.n):
            # Varied sheets with typos in every sentence: no answer is served from a cache.
            answers = {
                q: vary(rng.choice(pool.get(q, [text])), rng)
                for q, text in sheet["answers"].items()
            }
            started = time.perf_counter()
            status, body = svc.call(
                "POST",
                f"/api/v1/exams/{exam_id}/submissions",
                {"student_id": f"s{i}", "answers": answers},
                {"Prefer": "wait=30"},
            )
            latencies.append((time.perf_counter() - started) * 1000)
            not_graded += status != 200 or body.get("status") != "graded"
        worker_rss, worker_pss = memory_mb_of_tree(svc.worker_pid)
    latencies.sort()
    q = statistics.quantiles(latencies, n=100)
    result = {
        "bench": "feedback_latency",
        "n": args.n,
        "p50_ms": round(statistics.median(latencies), 1),
        "p95_ms": round(q[94], 1),
        "max_ms": round(latencies[-1], 1),
        "not_graded": not_graded,
        "worker_rss_mb": round(worker_rss, 1),  # the largest process of the worker
        "worker_tree_pss_mb": round(worker_pss, 1),  # the worker and its pool, shared pages once
        "broker": args.broker.split("://")[0],
        "settings": extra,
    }
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
