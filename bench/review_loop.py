"""The review loop, measured: do a few corrections teach the grader the rest of a question?

For every exam folder under ../shared/eval/exams/ (exam.yaml + gold.jsonl): grade every
answer (each a sheet holding one question, as `grader eval exam` does); per question, take the
K most uncertain answers (the review queue's order: `grader.batches.review`), correct them to
the instructor's gold score (a question-level override), turn those corrections into graded
examples of the question's criteria (`grader.batches.corrections`, the same code the
"Make examples" button runs), regrade the other answers of the question under the new rubric,
and compare the mean absolute error of those other answers before and after.

Only criteria whose checker calibrates on graded examples (text) can learn; questions without
one are regraded unchanged and count in the pooled figures as they are.

    HF_HUB_OFFLINE=1 .venv/bin/python bench/review_loop.py [--k 3] [--exams DIR] [--only NAME]

Prints a table per exam and, as its last line, one JSON object:
`{"k", "n_rest", "mae_before", "mae_after", "change", "by_exam": {...}}`. Goal: change <= -0.30.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from grader.batches.corrections import (  # noqa: E402
    Corrected,
    add_examples,
    examples_from_override,
    leave_one_out,
)
from grader.batches.review import question_uncertainty  # noqa: E402
from grader.grading.core import QuestionResult, SubmissionResult, grade_many  # noqa: E402

EXAMS = ROOT.parent / "shared" / "eval" / "exams"


def read_gold(path: Path) -> list[dict[str, Any]]:
    rows = []
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                d = json.loads(line)
                rows.append({**d, "answer": "" if d.get("answer") is None else str(d["answer"])})
    return rows


def learnable_criteria(registry: Any, definition: dict[str, Any]) -> dict[str, set[str]]:
    """Per question, the criteria whose checker takes graded examples."""
    out: dict[str, set[str]] = {}
    for q in definition["questions"]:
        out[q["id"]] = {
            c["id"]
            for c in q["criteria"]
            if "examples" in registry.get(c["check"]["kind"]).spec_model.model_fields
        }
    return out


def grade_rows(loaded: Any, rows: list[dict[str, Any]], runner: Any) -> list[QuestionResult]:
    results = grade_many(loaded, [{r["qid"]: r["answer"]} for r in rows], runner)
    return [
        next(x for x in res.questions if x.id == row["qid"])
        for row, res in zip(rows, results, strict=True)
    ]


def frac(q: QuestionResult) -> float:
    return q.score / q.max_score if q.max_score else 0.0


def run_exam(
    folder: Path, k: int, registry: Any, runner: Any, self_test: bool = False
) -> dict[str, Any]:
    from grader.exams.loader import load_exam, load_exam_json

    loaded = load_exam((folder / "exam.yaml").read_text(encoding="utf-8"), registry)
    definition = loaded.exam.model_dump(mode="json")
    rows = [
        r
        for r in read_gold(folder / "gold.jsonl")
        if r["qid"] in {q.id for q in loaded.exam.questions}
    ]
    before = grade_rows(loaded, rows, runner)
    learnable = learnable_criteria(registry, definition)
    questions = {q["id"]: q for q in definition["questions"]}

    by_q: dict[str, list[int]] = defaultdict(list)
    for i, r in enumerate(rows):
        by_q[r["qid"]].append(i)
    corrected: set[int] = set()
    new = []
    gated: list[str] = []
    for qid, idx in by_q.items():
        order = sorted(idx, key=lambda i: (-question_uncertainty(before[i]), rows[i]["id"]))
        q = questions[qid]
        mine: list[tuple[int, list[Any]]] = []
        for i in order[:k]:
            corrected.add(i)
            b = before[i]
            override = {"criterion_id": None, "score": rows[i]["gold"] * float(q["points"])}
            made = examples_from_override(
                q,
                SubmissionResult(b.score, b.max_score, b.needs_review, [b]),
                override,
                rows[i]["answer"],
                learnable[qid],
            )
            mine.append((i, made))
        if self_test:
            check = leave_one_out(
                definition,
                [
                    Corrected(rows[i]["answer"], frac(before[i]), rows[i]["gold"], tuple(m))
                    for i, m in mine
                ],
                lambda d, answer, qid=qid: frac(
                    grade_rows(
                        load_exam_json(d, registry), [{"qid": qid, "answer": answer}], runner
                    )[0]
                ),
            )
            if check is not None and check["error_held_out"] >= check["error_before"]:
                gated.append(qid)
                continue
        new += [e for _, m in mine for e in m]
    taught, added = add_examples(definition, new)
    relearnt = load_exam_json(taught, registry)
    changed = {ex.question_id for ex in added}
    rest = [i for i in range(len(rows)) if i not in corrected]
    again = [i for i in rest if rows[i]["qid"] in changed]
    after = list(before)
    for i, q in zip(again, grade_rows(relearnt, [rows[i] for i in again], runner), strict=True):
        after[i] = q

    err_b = {i: abs(frac(before[i]) - rows[i]["gold"]) for i in rest}
    err_a = {i: abs(frac(after[i]) - rows[i]["gold"]) for i in rest}
    per_q = {}
    for qid, idx in by_q.items():
        r = [i for i in idx if i not in corrected]
        if r:
            per_q[qid] = {
                "n": len(r),
                "examples": sum(1 for ex in added if ex.question_id == qid),
                "before": round(sum(err_b[i] for i in r) / len(r), 4),
                "after": round(sum(err_a[i] for i in r) / len(r), 4),
            }
    n = len(rest)
    return {
        "n_rest": n,
        "examples": len(added),
        "not_taught": gated,
        "sum_before": sum(err_b.values()),
        "sum_after": sum(err_a.values()),
        "mae_before": round(sum(err_b.values()) / n, 4) if n else 0.0,
        "mae_after": round(sum(err_a.values()) / n, 4) if n else 0.0,
        "by_qid": per_q,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--k", type=int, default=3, help="corrections per question")
    parser.add_argument("--exams", type=Path, default=EXAMS)
    parser.add_argument("--only", action="append", help="exam folder name(s) to run")
    parser.add_argument(
        "--self-test",
        action="store_true",
        help="teach a question only if, leaving each correction out in turn, the others "
        "bring it closer to its score than the rubric alone",
    )
    args = parser.parse_args(argv)
    from grader.config import Settings
    from grader.grading.core import DirectRunner
    from grader.services.runtime import build_registry

    settings = Settings.from_env()
    registry, _ = build_registry(settings)
    runner = DirectRunner(registry)  # same checkers as the workers, without process isolation
    folders = sorted(p.parent for p in args.exams.glob("*/gold.jsonl"))
    if args.only:
        folders = [f for f in folders if f.name in args.only]
    if not folders:
        print(f"no exams under {args.exams}", file=sys.stderr)
        return 1
    by_exam: dict[str, Any] = {}
    start = time.monotonic()
    for folder in folders:
        out = run_exam(folder, args.k, registry, runner, args.self_test)
        by_exam[folder.name] = out
        print(
            f"{folder.name:14s} rest {out['n_rest']:5d}  examples {out['examples']:3d}  "
            f"mae {out['mae_before']:.3f} -> {out['mae_after']:.3f}"
        )
        for qid, q in out["by_qid"].items():
            print(
                f"    {qid:24s} n {q['n']:4d} ex {q['examples']:2d} {q['before']:.3f} -> "
                f"{q['after']:.3f}"
            )
    n = sum(e["n_rest"] for e in by_exam.values())
    before = sum(e["sum_before"] for e in by_exam.values()) / n
    after = sum(e["sum_after"] for e in by_exam.values()) / n
    mean_change = sum(
        (e["mae_after"] - e["mae_before"]) / e["mae_before"]
        for e in by_exam.values()
        if e["mae_before"]
    ) / len(by_exam)
    summary = {
        "k": args.k,
        "self_test": args.self_test,
        "n_rest": n,
        "mae_before": round(before, 4),
        "mae_after": round(after, 4),
        "change": round((after - before) / before, 4) if before else 0.0,
        "mean_change_per_exam": round(mean_change, 4),
        "seconds": round(time.monotonic() - start, 1),
        "by_exam": {
            name: {k: e[k] for k in ("n_rest", "examples", "not_taught", "mae_before", "mae_after")}
            for name, e in by_exam.items()
        },
    }
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
