"""One grade per answer on the real service: the seed exam's answer sheets score the same, bit
for bit (==, not approx), through

(a) `grader grade RUBRIC SHEETS --out FILE` (offline, its own process and model),
(b) one batch upload graded by a real Celery worker (concurrency 2) over Redis into PostgreSQL,
(c) single submissions to the same service, one task each.

The sheets are built from the instructor-marked answers of ../shared/eval/seed_exam_dev.jsonl
(read at run time, never copied): four answers per question, combined into SHEETS sheets of
every question, so each answer is graded in many batch compositions and by both pool processes.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import SHARED, model_installed
from tests.integration.conftest import ROOT

pytestmark = [pytest.mark.integration, pytest.mark.seed, pytest.mark.timeout(300)]

SEED = SHARED / "eval" / "seed_exam_dev.jsonl"
RUBRIC = ROOT / "rubrics" / "dl-ws2324.yaml"
OFFLINE_OPTIONS = ("--workers", "1", "--chunk-size", "16", "--no-progress")
SHEETS = 40  # two batch chunks (32 + 8), so both pool processes grade part of the batch
JSON = {"Content-Type": "application/json"}
# Text criteria on (API and worker); time limits for a cold model on a busy machine; no re-drive
# or redelivery while a chunk is still running.
# Two torch threads per process whatever the machine: the pool must not inherit a parent's
# OpenMP threads (workers/main.py), and 1 (`grader grade` on one core) or 2 give the same vectors.
SERVICE_ENV = {
    "GRADER_TEXT_CHECKS": "1",
    "GRADER_EMBED_THREADS": "2",
    "GRADER_TASK_SOFT_TIME_LIMIT": "150",
    "GRADER_TASK_TIME_LIMIT": "180",
    "GRADER_VISIBILITY_TIMEOUT": "600",
    "GRADER_REDRIVE_AFTER": "600",
    # One key polls the batch and posts 40 singles within a minute on a quick machine: the
    # per-key limit (120/minute) is not what this test is about (a CI run got a 429).
    "GRADER_RATE_LIMIT": "100000/minute",
}

# question id -> (question score, criterion id -> criterion score)
Scores = dict[str, tuple[float, dict[str, float]]]


@pytest.fixture
def service_env(service_env: dict[str, str]) -> dict[str, str]:
    return {**service_env, **SERVICE_ENV}


def build_sheets(lines: list[str], n: int) -> list[tuple[str, dict[str, str]]]:
    """Sheet j answers question i with that question's answer (j % 4 + (j // 4) * i) % k: every
    answer appears in many sheets, next to different answers to the other questions."""
    by_question: dict[str, list[str]] = {}
    for line in lines:
        if line.strip():
            case = json.loads(line)
            by_question.setdefault(case["qid"], []).append(case["answer"] or "")
    sheets = []
    for j in range(n):
        answers = {
            qid: options[(j % 4 + (j // 4) * i) % len(options)]
            for i, (qid, options) in enumerate(by_question.items())
        }
        sheets.append((f"s{j:02d}", answers))
    return sheets


def scores(result: dict[str, Any]) -> Scores:
    return {
        q["id"]: (q["score"], {c["id"]: c["score"] for c in q["criteria"]})
        for q in result["questions"]
    }


def differences(name: str, got: Scores, want: Scores) -> list[str]:
    out = []
    for qid, (score, crits) in want.items():
        other_score, other = got[qid]
        if other_score != score:
            out.append(f"{name} {qid}: {other_score!r} != {score!r}")
        for cid, value in crits.items():
            if other[cid] != value:
                out.append(f"{name} {qid}/{cid}: {other[cid]!r} != {value!r}")
    return out


def test_offline_batch_and_single_grades_are_identical(
    it_client, it_tokens, start_worker, tmp_path: Path
) -> None:
    if not SEED.is_file():
        pytest.skip(f"{SEED} is absent (the seed exam's marked answers live in ../shared/eval)")
    if not model_installed():
        pytest.skip("the packaged embedding model is not installed")
    sheets = build_sheets(SEED.read_text(encoding="utf-8").splitlines(), SHEETS)
    upload = "".join(json.dumps({"student_id": s, "answers": a}) + "\n" for s, a in sheets)
    (tmp_path / "sheets.jsonl").write_text(upload, encoding="utf-8")

    # (a) offline, in its own process while the service starts: chunks of 16, one process
    offline_log = (tmp_path / "offline.log").open("wb")
    out = tmp_path / "offline.jsonl"
    command = ["grade", str(RUBRIC), str(tmp_path / "sheets.jsonl"), "--out", str(out)]
    offline = subprocess.Popen(  # noqa: S603
        [sys.executable, "-m", "grader", *command, *OFFLINE_OPTIONS],
        cwd=ROOT,
        env={**os.environ, "HF_HUB_OFFLINE": "1", "GRADER_DATA_DIR": str(tmp_path / "offline")},
        stdout=offline_log,
        stderr=subprocess.STDOUT,
    )
    try:
        headers = it_tokens.headers("instructor")
        r = it_client.post(
            "/api/v1/exams",
            data=RUBRIC.read_bytes(),
            headers={**headers, "Content-Type": "application/yaml"},
        )
        assert r.status_code == 201, r.get_json()
        exam_id = r.get_json()["id"]
        start_worker("w", "--concurrency", "2")

        # (b) one batch through Redis, graded in chunks by the pool's two processes
        r = it_client.post(
            f"/api/v1/exams/{exam_id}/batches",
            data=upload.encode(),
            headers={**headers, "Content-Type": "application/x-ndjson"},
        )
        assert r.status_code == 202, r.get_json()
        assert r.get_json()["chunks"] == 2
        batch_id = r.get_json()["id"]
        deadline = time.monotonic() + 150
        while True:
            status = it_client.get(f"/api/v1/batches/{batch_id}", headers=headers).get_json()
            if status["status"] == "completed" or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        assert status["counts"]["graded"] == SHEETS, status
        results = it_client.get(f"/api/v1/batches/{batch_id}/results", headers=headers)
        batch = {i["student_id"]: scores(i["result"]) for i in results.get_json()["items"]}

        # (c) single submissions to the same service, one task each, answered when graded
        single: dict[str, Scores] = {}
        for sid, answers in sheets:
            r = it_client.post(
                f"/api/v1/exams/{exam_id}/submissions",
                data=json.dumps({"student_id": sid, "answers": answers}),
                headers={**headers, **JSON, "Prefer": "wait=30"},
            )
            assert r.status_code == 200 and r.get_json()["status"] == "graded", r.get_json()
            single[sid] = scores(r.get_json())
        assert len(single) == SHEETS, f"{len(single)} of {SHEETS} single submissions graded"

        assert offline.wait(timeout=240) == 0, (tmp_path / "offline.log").read_text()
    finally:
        if offline.poll() is None:
            offline.kill()
            offline.wait()
        offline_log.close()
    records = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert all(rec["status"] == "graded" for rec in records)
    alone = {rec["student_id"]: scores(rec["result"]) for rec in records}

    assert set(alone) == set(batch) == set(single) == {sid for sid, _ in sheets}
    problems = []
    for sid, _ in sheets:
        problems += differences(f"{sid} batch vs offline", batch[sid], alone[sid])
        problems += differences(f"{sid} single vs offline", single[sid], alone[sid])
    assert not problems, "\n".join(problems)
