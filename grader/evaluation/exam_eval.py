"""`grader eval exam RUBRIC FILE`: whole exam questions graded by a rubric vs an instructor.

FILE is JSON Lines, one answer per line: `{"id", "qid", "answer", "gold"}` where `gold` is the
fraction of the question's points the instructor gave. Every answer is graded as a sheet
holding only that question (all sheets go through `grade_many`, so text criteria are encoded
in one batch), with the full registry of the running service (simple + math + text) and the
same runner the workers use. The predicted fraction is the question's score / its points.

Prints a table per question and, as its LAST line, one JSON object:
`{"n", "mae", "spearman", "within_0_25", "flagged", "by_qid": {qid: {n, mae, within_0_25,
flagged}}}`; `flagged` is the share of answers sent to human review (needs_review).
`--cases` also lists every answer with its gold, prediction and criterion scores.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from grader.evaluation.text_metrics import spearman

WITHIN = 0.25


@dataclass
class Case:
    id: str
    qid: str
    answer: str
    gold: float
    pred: float = 0.0
    flagged: bool = False
    criteria: str = ""


def read_cases(path: Path) -> tuple[list[Case], list[str]]:
    """The cases of a JSON Lines file and one message per line that could not be used."""
    cases: list[Case] = []
    problems: list[str] = []
    with path.open(encoding="utf-8") as fh:
        for n, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                d = json.loads(line)
                gold = float(d["gold"])
                qid = str(d["qid"])
            except (ValueError, KeyError, TypeError) as exc:
                problems.append(f"line {n}: skipped ({type(exc).__name__}: {exc})")
                continue
            answer = "" if d.get("answer") is None else str(d["answer"])
            cases.append(Case(str(d.get("id", n)), qid, answer, gold))
    return cases, problems


def grade_cases(rubric_text: str, cases: list[Case]) -> list[str]:
    """Fill in pred/flagged of every case; returns messages about cases that were skipped."""
    from grader.config import Settings
    from grader.exams.loader import load_exam
    from grader.grading.core import DirectRunner, grade_many
    from grader.services.runtime import build_registry, build_runner

    settings = Settings.from_env()
    registry, _encoder = build_registry(settings)
    loaded = load_exam(rubric_text, registry)
    known = {q.id: q for q in loaded.exam.questions}
    problems = [f"{c.id}: unknown question {c.qid!r}" for c in cases if c.qid not in known]
    todo = [c for c in cases if c.qid in known]
    sheets = [{c.qid: c.answer} for c in todo]
    runner: Any = None
    try:
        runner = build_runner(settings, registry)
        results = grade_many(loaded, sheets, runner)
    except Exception as exc:  # noqa: BLE001 - a broken sandbox must not stop the measurement
        # Same checkers, same verdicts, only without process isolation; said loudly.
        print(
            f"warning: the sandbox runner failed ({type(exc).__name__}: {exc}); "
            "grading in-process instead",
            file=sys.stderr,
        )
        results = grade_many(loaded, sheets, DirectRunner(registry))
    finally:
        close = getattr(runner, "close", None)
        if callable(close):
            close()
    for case, result in zip(todo, results, strict=True):
        q = next(r for r in result.questions if r.id == case.qid)
        case.pred = q.score / q.max_score if q.max_score else 0.0
        case.flagged = q.needs_review
        case.criteria = " ".join(
            f"{c.id}={c.score:g}{'?' if c.needs_review else ''}" for c in q.criteria
        )
    cases[:] = todo
    return problems


def summarise(cases: Sequence[Case]) -> dict[str, Any]:
    if not cases:
        return {"n": 0, "mae": 0.0, "within_0_25": 0.0, "flagged": 0.0}
    gold = np.array([c.gold for c in cases], dtype=np.float64)
    pred = np.array([c.pred for c in cases], dtype=np.float64)
    err = np.abs(gold - pred)
    return {
        "n": len(cases),
        "mae": round(float(err.mean()), 4),
        # a hair of slack so 0.25 exactly (float noise) counts as within
        "within_0_25": round(float(np.mean(err <= WITHIN + 1e-9)), 4),
        "flagged": round(float(np.mean([c.flagged for c in cases])), 4),
    }


def report(cases: Sequence[Case], *, show_cases: bool) -> dict[str, Any]:
    by_qid: dict[str, list[Case]] = defaultdict(list)
    for c in cases:
        by_qid[c.qid].append(c)
    if show_cases:
        for c in cases:
            mark = "  " if abs(c.gold - c.pred) <= WITHIN + 1e-9 else "!!"
            flag = "R" if c.flagged else " "
            print(
                f"{mark} {c.id:<8} {c.qid:<5} gold={c.gold:.2f} pred={c.pred:.2f} {flag} "
                f"{c.criteria}"
            )
        print()
    print(f"{'qid':<8} {'n':>4} {'gold':>6} {'pred':>6} {'mae':>6} {'within':>7} {'flagged':>8}")
    out: dict[str, Any] = {}
    for qid in sorted(by_qid):
        group = by_qid[qid]
        figs = summarise(group)
        out[qid] = figs
        print(
            f"{qid:<8} {figs['n']:>4} {np.mean([c.gold for c in group]):6.3f} "
            f"{np.mean([c.pred for c in group]):6.3f} {figs['mae']:6.3f} "
            f"{figs['within_0_25']:7.1%} {figs['flagged']:8.1%}"
        )
    return out


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="grader eval exam", description=__doc__.split("\n")[0])
    parser.add_argument("rubric", type=Path, help="rubric file (YAML or JSON)")
    parser.add_argument("file", type=Path, help="JSON Lines: id, qid, answer, gold")
    parser.add_argument("--cases", action="store_true", help="list every answer's verdict")
    args = parser.parse_args(argv)
    for path in (args.rubric, args.file):
        if not path.is_file():
            print(f"no such file: {path}", file=sys.stderr)
            return 2
    from grader.exams.loader import RubricInvalid

    started = time.monotonic()
    cases, problems = read_cases(args.file)
    try:
        problems += grade_cases(args.rubric.read_text(encoding="utf-8"), cases)
    except RubricInvalid as exc:
        for err in exc.errors:
            print(f"{args.rubric}: {err}", file=sys.stderr)
        return 1
    for msg in problems:
        print(msg, file=sys.stderr)
    by_qid = report(cases, show_cases=args.cases)
    overall = summarise(cases)
    gold = np.array([c.gold for c in cases], dtype=np.float64)
    pred = np.array([c.pred for c in cases], dtype=np.float64)
    result: dict[str, Any] = {
        "n": overall["n"],
        "mae": overall["mae"],
        "spearman": round(spearman(gold, pred), 4) if len(cases) > 1 else 0.0,
        "within_0_25": overall["within_0_25"],
        "flagged": overall["flagged"],
        "by_qid": by_qid,
        "skipped": len(problems),
        "seconds": round(time.monotonic() - started, 1),
    }
    print(json.dumps(result))
    return 0
