"""One grade per answer: the same sheet and rubric version score the same, bit for bit, through
`grader grade` (offline, process pool), single submissions, a dry-run regrade of those
submissions, a batch in chunks, and grade_many in any batch composition, with the encoder's
caches emptied between paths.

Real exams with math, choice, keyword and text criteria: the dev exams of ../shared/eval/
(skipped where they or the packaged model are absent)."""

from __future__ import annotations

import functools
import json
import random
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from grader.config import Settings
from grader.services import regrade_path
from grader.services.chunks import grade_chunk
from grader.services.grading import grade_submissions
from grader.services.runtime import Runtime
from grader.store.batches import RegradeResult
from grader.store.models import Submission
from tests.conftest import SHARED, Tokens, model_installed

EXAMS = ["stats101", "os201"]
SHEETS = 14  # per exam: two exams make a few dozen sheets of every kind of criterion
pytestmark = [pytest.mark.slow, pytest.mark.timeout(1200)]


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """The service's settings with text checks on (the conftest default turns them off)."""
    if not model_installed():
        pytest.skip("packaged model not installed")
    return Settings(data_dir=str(tmp_path / "data"), text_checks=True).resolved()


def _sheets(gold: Path) -> list[tuple[str, dict[str, str]]]:
    sheets: dict[str, dict[str, str]] = {}
    for line in gold.read_text(encoding="utf-8").splitlines():
        if line.strip():
            d = json.loads(line)
            sheets.setdefault(d["id"], {})[d["qid"]] = d["answer"] or ""
    return list(sheets.items())


Scores = dict[str, tuple[float, dict[str, float | None]]]
# sandbox reasons that depend on the machine's load rather than on the answer
CUT_OFF = ("timeout", "sandbox_busy", "worker_died", "cpu_time_limit", "answer_cpu_budget")


def _scores(result: dict[str, Any] | None) -> Scores:
    """Question score and criterion scores; None for a check the sandbox cut off (a timeout
    depends on the machine's load, not on the answer: the sandbox's budget, not this test)."""
    assert result is not None, "a graded sheet has its result"
    out: Scores = {}
    for q in result["questions"]:
        crits: dict[str, float | None] = {}
        for c in q["criteria"]:
            cut = (c.get("details") or {}).get("error") in CUT_OFF
            crits[c["id"]] = None if cut else c["score"]
        out[q["id"]] = (q["score"], crits)
    return out


def _same(a: Scores, b: Scores) -> bool:
    for qid, (score, crits) in a.items():
        other_score, other = b[qid]
        cut = any(v is None for v in crits.values()) or any(v is None for v in other.values())
        if not cut and score != other_score:
            return False
        for cid, v in crits.items():
            if v is not None and other[cid] is not None and v != other[cid]:
                return False
    return True


def _clear_caches(runtime: Runtime) -> None:
    if runtime.encoder is not None:
        runtime.encoder.clear_cache()


@pytest.mark.parametrize("exam", EXAMS)
def test_every_path_gives_the_same_scores(
    exam: str,
    client: FlaskClient,
    tokens: Tokens,
    runtime: Runtime,
    settings: Settings,
    tmp_path: Path,
) -> None:
    folder = SHARED / "eval" / "exams" / exam
    if not (folder / "exam.yaml").is_file():
        pytest.skip("../shared/eval is not here")
    rubric = (folder / "exam.yaml").read_text(encoding="utf-8")
    sheets = _sheets(folder / "gold.jsonl")[:SHEETS]
    headers = tokens.headers("instructor")
    r = client.post(
        "/api/v1/exams", data=rubric, headers={**headers, "Content-Type": "application/yaml"}
    )
    assert r.status_code == 201, r.get_json()
    exam_id = r.get_json()["id"]

    # 1. single submissions, each graded alone as the worker grades a POST
    single: dict[str, Any] = {}
    for sid, answers in sheets:
        body = json.dumps({"student_id": sid, "answers": answers})
        r = client.post(
            f"/api/v1/exams/{exam_id}/submissions",
            data=body,
            headers={**headers, "Content-Type": "application/json"},
        )
        assert r.status_code == 202, r.get_json()
        sub = r.get_json()["id"]
        assert grade_submissions(runtime, [sub]) == {sub: "graded"}
        single[sid] = _scores(client.get(f"/api/v1/submissions/{sub}", headers=headers).get_json())

    # 1b. a dry-run regrade of those singles under the same version, in chunks of 5 (the
    # regrade stores its results beside the grades, through the same claim -> grade -> store)
    _clear_caches(runtime)
    r = client.post(f"/api/v1/exams/{exam_id}/regrade", json={"version": 1}, headers=headers)
    assert r.status_code == 202, r.get_json()
    (run,) = r.get_json()["runs"]
    assert run["batch_id"] is None and run["total"] == SHEETS
    with runtime.db.session() as s:
        single_ids = sorted(s.scalars(select(Submission.id).where(Submission.exam_id == exam_id)))
    for start in range(0, len(single_ids), 5):
        out = regrade_path.regrade_chunk(
            runtime.db, runtime.exams, runtime.runner, run["id"], single_ids[start : start + 5]
        )
        assert out["stored"] == len(single_ids[start : start + 5])
    with runtime.db.session() as s:
        regraded = {
            student: _scores(result)
            for student, result in s.execute(
                select(Submission.student_id, RegradeResult.result)
                .join(RegradeResult, RegradeResult.submission_id == Submission.id)
                .where(RegradeResult.run_id == run["id"])
            )
        }

    # 2. the same sheets as one batch upload, graded in chunks of 7 in reverse order
    _clear_caches(runtime)
    upload = "".join(json.dumps({"student_id": s, "answers": a}) + "\n" for s, a in sheets)
    r = client.post(
        f"/api/v1/exams/{exam_id}/batches",
        data=upload.encode(),
        headers={**headers, "Content-Type": "application/x-ndjson"},
    )
    assert r.status_code == 202, r.get_json()
    batch_id = r.get_json()["id"]
    with runtime.db.session() as s:
        ids = list(s.scalars(select(Submission.id).where(Submission.batch_id == batch_id)))
    ids.reverse()
    for start in range(0, len(ids), 7):
        grade_chunk(runtime, ids[start : start + 7])
    with runtime.db.session() as s:
        rows = list(s.scalars(select(Submission).where(Submission.batch_id == batch_id)))
        batch = {row.student_id: _scores(row.result) for row in rows}

    # 3. grade_many over the whole exam shuffled, in one call
    from grader.grading import grade_many

    _clear_caches(runtime)
    order = list(range(len(sheets)))
    random.Random(7).shuffle(order)
    loaded = runtime.exams.get(runtime.db, exam_id, 1)
    many = grade_many(loaded, [sheets[i][1] for i in order], runtime.runner)
    shuffled = {sheets[i][0]: _scores(res.to_dict()) for i, res in zip(order, many, strict=True)}

    # 4. `grader grade`: fresh processes (two workers, chunks of 5), its own model and caches
    from grader.batches.cli import _registry_for, _runner_for
    from grader.batches.offline import grade_file, read_results

    (tmp_path / "rubric.yaml").write_text(rubric, encoding="utf-8")
    (tmp_path / "sheets.jsonl").write_text(upload, encoding="utf-8")
    grade_file(
        tmp_path / "rubric.yaml",
        tmp_path / "sheets.jsonl",
        tmp_path / "out.jsonl",
        registry_factory=functools.partial(_registry_for, settings),
        runner_factory=functools.partial(_runner_for, settings),
        workers=2,
        chunk_size=5,
        progress=False,
    )
    offline = {
        rec["student_id"]: _scores(rec["result"]) for rec in read_results(tmp_path / "out.jsonl")
    }

    assert len(single) == len(sheets) == len(regraded) == SHEETS
    for sid, _ in sheets:
        assert _same(regraded[sid], single[sid]), (sid, regraded[sid], single[sid])
        assert _same(batch[sid], single[sid]), (sid, batch[sid], single[sid])
        assert _same(shuffled[sid], single[sid]), (sid, shuffled[sid], single[sid])
        assert _same(offline[sid], single[sid]), (sid, offline[sid], single[sid])
