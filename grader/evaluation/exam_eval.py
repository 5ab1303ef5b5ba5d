"""`grader eval exam RUBRIC FILE`: whole exam questions graded by a rubric vs an instructor.

FILE is JSON Lines, one answer per line: `{"id", "qid", "answer", "gold"}` where `gold` is the
fraction of the question's points the instructor gave. Every answer is graded as a sheet
holding only that question (all sheets go through `grade_many`, so text criteria are encoded
in one batch), with the full registry of the running service (simple + math + text) and the
same runner the workers use. The predicted fraction is the question's score / its points.

Prints a table per question, a reliability table (the questions' confidence in bins vs the
share whose score was within 0.25 of gold) and, as its LAST line, one JSON object:
`{"n", "mae", "spearman", "within_0_25", "flagged", "error_capture", "by_qid": {qid: {n, mae,
within_0_25, flagged}}, "by_kind": {kind: {...}}, "reliability": [...]}`. `flagged` is the
share of answers sent to human review (needs_review); `error_capture` the share of answers off
by more than 0.25 that were flagged (1.0 when none is). `by_kind` groups questions by the
checker kind that carries most of their points ("math-carried MAE").

Hostile sets (`grader eval hostile`) add `"family"` to each line; then the JSON also carries
`leak` (share earning more than 0.25 unflagged) and `by_family`.

`--cases` lists every answer with its gold, prediction and criterion scores;
`--cases-jsonl FILE` writes one line per answer: `{"id", "qid", "gold", "pred",
"needs_review", "criteria": {criterion id: score}, "confidence", "kind", "reasons",
"features"}` (`features` are those `grader fit review` learns from).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
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
    family: str = ""
    confidence: float = 1.0
    kind: str = ""
    scores: dict[str, float] = field(default_factory=dict)
    reasons: list[str] = field(default_factory=list)
    features: list[float] = field(default_factory=list)
    forced: bool = False  # flagged whatever the review model says (hostile, unchecked)
    criteria_conf: list[tuple[str, float]] = field(default_factory=list)  # (kind, checker's)


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
            case = Case(str(d.get("id", n)), qid, answer, gold)
            case.family = str(d.get("family") or "")
            cases.append(case)
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
    from grader.grading.core import hostile_families, review_views
    from grader.grading.review import features, forced

    for case, result in zip(todo, results, strict=True):
        q = next(r for r in result.questions if r.id == case.qid)
        case.pred = q.score / q.max_score if q.max_score else 0.0
        case.flagged = q.needs_review
        case.confidence = q.confidence
        case.reasons = list(q.review_reasons)
        case.scores = {c.id: c.score for c in q.criteria}
        case.kind = carrying_kind(q.criteria)
        if q.status == "answered":
            question = loaded.exam.question(case.qid)
            views = review_views(question, q.criteria)
            families = hostile_families(loaded, question, q.criteria, q.score, case.answer)
            case.forced = forced(views, families)
            case.criteria_conf = [(v.kind, v.confidence) for v in views]
            case.features = [round(x, 6) for x in features(views, case.pred, case.answer)]
        case.criteria = " ".join(
            f"{c.id}={c.score:g}{'?' if c.needs_review else ''}" for c in q.criteria
        )
    cases[:] = todo
    return problems


def carrying_kind(criteria: Sequence[Any]) -> str:
    """The checker kind that carries most of a question's points (ties: first listed)."""
    points: dict[str, float] = {}
    for c in criteria:
        points[c.kind or "?"] = points.get(c.kind or "?", 0.0) + c.max_score
    return max(points, key=lambda k: points[k]) if points else "?"


def error_capture(cases: Sequence[Case]) -> float:
    """Among answers off by more than 0.25, the share sent to review (1.0 if there are none)."""
    wrong = [c for c in cases if abs(c.gold - c.pred) > WITHIN + 1e-9]
    return round(sum(c.flagged for c in wrong) / len(wrong), 4) if wrong else 1.0


def leak(cases: Sequence[Case]) -> float:
    """Share of (hostile, gold 0) answers that earn more than 0.25 and are not flagged."""
    if not cases:
        return 0.0
    return round(sum(c.pred > WITHIN + 1e-9 and not c.flagged for c in cases) / len(cases), 4)


RELIABILITY_BINS = (0.0, 0.5, 0.7, 0.8, 0.9, 0.95, 1.0001)


def reliability(cases: Sequence[Case]) -> list[dict[str, Any]]:
    """Question confidence in bins vs the share of those answers within 0.25 of gold."""
    rows = []
    for lo, hi in zip(RELIABILITY_BINS, RELIABILITY_BINS[1:], strict=False):
        group = [c for c in cases if lo <= c.confidence < hi]
        if not group:
            continue
        rows.append(
            {
                "bin": f"[{lo:.2f},{min(hi, 1.0):.2f}{']' if hi > 1 else ')'}",
                "n": len(group),
                "confidence": round(float(np.mean([c.confidence for c in group])), 4),
                "accuracy": round(
                    float(np.mean([abs(c.gold - c.pred) <= WITHIN + 1e-9 for c in group])), 4
                ),
                "flagged": round(float(np.mean([c.flagged for c in group])), 4),
            }
        )
    return rows


def print_reliability(rows: Sequence[dict[str, Any]]) -> None:
    print(f"\n{'confidence':<13} {'n':>5} {'mean conf':>10} {'within':>8} {'flagged':>8}")
    for r in rows:
        print(
            f"{r['bin']:<13} {r['n']:>5} {r['confidence']:10.3f} {r['accuracy']:8.1%} "
            f"{r['flagged']:8.1%}"
        )


def write_cases(path: Path, cases: Sequence[Case]) -> None:
    with path.open("w", encoding="utf-8") as fh:
        for c in cases:
            line: dict[str, Any] = {
                "id": c.id,
                "qid": c.qid,
                "gold": c.gold,
                "pred": round(c.pred, 6),
                "needs_review": c.flagged,
                "criteria": c.scores,
                "confidence": c.confidence,
                "kind": c.kind,
                "reasons": c.reasons,
                "features": c.features,
            }
            if c.family:
                line["family"] = c.family
            fh.write(json.dumps(line, ensure_ascii=False) + "\n")


def grouped(cases: Sequence[Case], key: str) -> dict[str, dict[str, Any]]:
    groups: dict[str, list[Case]] = defaultdict(list)
    for c in cases:
        groups[getattr(c, key)].append(c)
    return {k: summarise(groups[k]) for k in sorted(groups)}


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
        "error_capture": error_capture(cases),
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
    parser.add_argument(
        "--cases-jsonl", type=Path, metavar="FILE", help="write one JSON line per answer"
    )
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
    rel = reliability(cases)
    print_reliability(rel)
    by_kind = grouped(cases, "kind")
    print(f"\n{'kind':<8} {'n':>5} {'mae':>6} {'within':>7} {'flagged':>8} {'capture':>8}")
    for kind, f in by_kind.items():
        print(
            f"{kind:<8} {f['n']:>5} {f['mae']:6.3f} {f['within_0_25']:7.1%} "
            f"{f['flagged']:8.1%} {f['error_capture']:8.1%}"
        )
    if args.cases_jsonl:
        write_cases(args.cases_jsonl, cases)
    overall = summarise(cases)
    gold = np.array([c.gold for c in cases], dtype=np.float64)
    pred = np.array([c.pred for c in cases], dtype=np.float64)
    result: dict[str, Any] = {
        "n": overall["n"],
        "mae": overall["mae"],
        "spearman": round(spearman(gold, pred), 4) if len(cases) > 1 else 0.0,
        "within_0_25": overall["within_0_25"],
        "flagged": overall["flagged"],
        "error_capture": overall["error_capture"],
        "by_qid": by_qid,
        "by_kind": by_kind,
        "reliability": rel,
        "skipped": len(problems),
        "seconds": round(time.monotonic() - started, 1),
    }
    hostile = [c for c in cases if c.family]
    if hostile:
        families: dict[str, list[Case]] = defaultdict(list)
        for c in hostile:
            families[c.family].append(c)
        result["leak"] = leak(hostile)
        result["by_family"] = {
            k: {"n": len(v), "leak": leak(v), "flagged": summarise(v)["flagged"]}
            for k, v in sorted(families.items())
        }
        print(f"\n{'family':<20} {'n':>5} {'leak':>6} {'flagged':>8}")
        for k, f in result["by_family"].items():
            print(f"{k:<20} {f['n']:>5} {f['leak']:6.1%} {f['flagged']:8.1%}")
    print(json.dumps(result))
    return 0
