"""`grader fit review [--data ../shared/eval]`: learn when a question must go to review.

Grades every dev answer set (`exams/*/exam.yaml` + `gold.jsonl`, and `seed_exam_dev.jsonl`
with `rubrics/dl-ws2324.yaml`) with the checkers as they are now, reads each answered
question's review features (`grader.grading.review.FEATURES`), and fits:

1. a logistic model of P(|pred - gold| > 0.25) from those features (L2, Newton steps), whose
   complement is the question's confidence;
2. the review threshold: the lowest P(error) at which pooled flagging stays within
   `--budget` (default 0.18, under the 0.20 an instructor can bear, kept as a margin for
   exams not seen);
3. per checker kind, a Platt map of the checker's own confidence onto how often its question
   was right, the criterion confidence shown in results.

`--rows FILE` keeps the graded rows; `--regrade seed,stats101 --rows FILE` grades only those
sets again and reuses the others' rows (when their files are unchanged).

Writes `grader/grading/review_model.json` with the seed, a hash of every data and rubric file
read, and the figures: in-sample and leave-one-exam-out (each exam scored by a model fitted
without it, the honest figure for a stranger's exam). Re-run it whenever checkers change.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from grader.evaluation.exam_eval import WITHIN, Case, grade_cases, read_cases
from grader.grading.review import FEATURES, MODEL_FILE

Array = npt.NDArray[np.float64]
L2 = 1.0  # ridge on the weights (not the bias), in units of one answer's log-loss
SEED_RUBRIC = Path(__file__).resolve().parents[2] / "rubrics" / "dl-ws2324.yaml"


def sources(data: Path) -> list[tuple[str, Path, Path]]:
    out = [
        (d.name, d / "exam.yaml", d / "gold.jsonl")
        for d in sorted((data / "exams").glob("*"))
        if (d / "exam.yaml").is_file() and (d / "gold.jsonl").is_file()
    ]
    seed = data / "seed_exam_dev.jsonl"
    if seed.is_file() and SEED_RUBRIC.is_file():
        out.append(("seed", SEED_RUBRIC, seed))
    return out


def collect(
    data: Path, saved: dict[str, Any] | None = None, regrade: set[str] | None = None
) -> tuple[list[dict[str, Any]], str]:
    """Grade every source; one row per answered question (features, label, criteria).

    With `saved` rows (a previous run's `--rows` file), sources not named in `regrade` whose
    files are unchanged are taken from it instead of being graded again."""
    rows: list[dict[str, Any]] = []
    digest = hashlib.sha256()
    for name, rubric, gold in sources(data):
        own = hashlib.sha256()
        for path in (rubric, gold):
            digest.update(path.name.encode() + b"\0" + path.read_bytes())
            own.update(path.name.encode() + b"\0" + path.read_bytes())
        kept = (saved or {}).get("sources", {}).get(name)
        fresh = kept is not None and kept["hash"] == own.hexdigest()[:16]
        if fresh and regrade is not None and name not in regrade:
            print(f"{name}: {len(kept['rows'])} rows reused from the saved run")
            rows += kept["rows"]
            continue
        cases, _ = read_cases(gold)
        started = time.monotonic()
        grade_cases(rubric.read_text(encoding="utf-8"), cases)
        print(f"{name}: {len(cases)} answers graded in {time.monotonic() - started:.0f} s")
        rows += [_row(name, c) for c in cases if c.features]
    return rows, digest.hexdigest()[:16]


def by_source(rows: list[dict[str, Any]], data: Path) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, rubric, gold in sources(data):
        own = hashlib.sha256()
        for path in (rubric, gold):
            own.update(path.name.encode() + b"\0" + path.read_bytes())
        out[name] = {
            "hash": own.hexdigest()[:16],
            "rows": [r for r in rows if r["source"] == name],
        }
    return out


def _row(source: str, case: Case) -> dict[str, Any]:
    return {
        "source": source,
        "features": case.features,
        "error": abs(case.gold - case.pred) > WITHIN + 1e-9,
        "forced": case.forced,
        "criteria": case.criteria_conf,
    }


def fit_logistic(x: Array, y: Array, l2: float = L2, steps: int = 50) -> tuple[Array, float]:
    """Weights and bias of an L2-regularised logistic regression (Newton's method)."""
    n, d = x.shape
    xb = np.hstack([x, np.ones((n, 1))])
    w = np.zeros(d + 1)
    reg = np.full(d + 1, l2)
    reg[-1] = 0.0
    for _ in range(steps):
        p = 1.0 / (1.0 + np.exp(-(xb @ w)))
        grad = xb.T @ (p - y) + reg * w
        hess = (xb * (p * (1 - p))[:, None]).T @ xb + np.diag(reg) + 1e-9 * np.eye(d + 1)
        step = np.linalg.solve(hess, grad)
        w -= step
        if float(np.abs(step).max()) < 1e-8:
            break
    return w[:-1], float(w[-1])


def predict(x: Array, w: Array, b: float) -> Array:
    return np.asarray(1.0 / (1.0 + np.exp(-(x @ w + b))), dtype=np.float64)


def threshold_for(p: Array, forced: npt.NDArray[np.bool_], budget: float) -> float:
    """The lowest threshold whose flagged share (with the forced flags) stays within budget."""
    best = 1.0
    for t in np.unique(np.round(p, 4))[::-1]:
        if float(np.mean((p >= t) | forced)) > budget:
            break
        best = float(t)
    return best


def figures(
    p: Array, y: Array, forced: npt.NDArray[np.bool_], threshold: float
) -> dict[str, float]:
    flagged = (p >= threshold) | forced
    errors = y.astype(bool)
    return {
        "n": len(y),
        "errors": round(float(errors.mean()), 4),
        "flagged": round(float(flagged.mean()), 4),
        "error_capture": round(float(flagged[errors].mean()), 4) if errors.any() else 1.0,
    }


def platt(raw: Sequence[float], right: Sequence[bool]) -> tuple[float, float]:
    r = np.clip(np.asarray(raw, dtype=np.float64), 1e-3, 1 - 1e-3)
    z = np.log(r / (1 - r))[:, None]
    y = np.asarray(right, dtype=np.float64)
    w, b = fit_logistic(z, y, l2=1.0)
    if w[0] < 0:  # a checker surer of itself is never taken as less right: its base rate only
        share = float(np.clip(y.mean(), 1e-3, 1 - 1e-3))
        return 0.0, round(float(np.log(share / (1 - share))), 4)
    return round(float(w[0]), 4), round(b, 4)


def fit(rows: list[dict[str, Any]], budget: float) -> dict[str, Any]:
    x = np.array([r["features"] for r in rows], dtype=np.float64)
    y = np.array([r["error"] for r in rows], dtype=np.float64)
    forced = np.array([r.get("forced", False) for r in rows], dtype=bool)
    names = np.array([r["source"] for r in rows])
    w, b = fit_logistic(x, y)
    p = predict(x, w, b)
    threshold = threshold_for(p, forced, budget)
    in_sample = {"pooled": figures(p, y, forced, threshold)}
    for name in sorted(set(names)):
        m = names == name
        in_sample[name] = figures(p[m], y[m], forced[m], threshold)
    # leave one exam out: fitted and thresholded without it, then scored on it
    held_p = np.zeros_like(p)
    held_flag = np.zeros(len(p), dtype=bool)
    for name in sorted(set(names)):
        m = names == name
        wi, bi = fit_logistic(x[~m], y[~m])
        pi = predict(x[~m], wi, bi)
        ti = threshold_for(pi, forced[~m], budget)
        held_p[m] = predict(x[m], wi, bi)
        held_flag[m] = (held_p[m] >= ti) | forced[m]
    loo = {"pooled": figures(held_flag.astype(np.float64), y, forced, 0.5)}
    for name in sorted(set(names)):
        m = names == name
        loo[name] = figures(held_flag[m].astype(np.float64), y[m], forced[m], 0.5)
    by_kind: dict[str, tuple[list[float], list[bool]]] = {}
    for r in rows:
        for kind, raw in r["criteria"]:
            lists = by_kind.setdefault(kind, ([], []))
            lists[0].append(raw)
            lists[1].append(not r["error"])
    calibration = {k: platt(*v) for k, v in sorted(by_kind.items()) if len(v[0]) >= 20}
    bins = []
    for lo, hi in ((0, 0.5), (0.5, 0.7), (0.7, 0.8), (0.8, 0.9), (0.9, 0.95), (0.95, 1.01)):
        conf = 1 - p
        m = (conf >= lo) & (conf < hi)
        if m.any():
            bins.append(
                {
                    "bin": f"[{lo},{min(hi, 1)})",
                    "n": int(m.sum()),
                    "confidence": round(float(conf[m].mean()), 4),
                    "accuracy": round(float(1 - y[m].mean()), 4),
                }
            )
    return {
        "features": list(FEATURES),
        "weights": [round(float(v), 6) for v in w],
        "bias": round(b, 6),
        "threshold": round(threshold, 4),
        "calibration": calibration,
        "figures": {"in_sample": in_sample, "leave_one_exam_out": loo, "reliability": bins},
    }


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="grader fit review", description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=Path("../shared/eval"))
    parser.add_argument("--budget", type=float, default=0.18, help="share of answers flagged")
    parser.add_argument("--out", type=Path, default=MODEL_FILE)
    parser.add_argument("--rows", type=Path, help="write the graded rows here (for --regrade)")
    parser.add_argument(
        "--regrade",
        help="with --rows of an earlier run: grade only these sources (comma-separated, e.g. "
        "seed,stats101), reuse the others' rows; all: grade everything",
    )
    parser.add_argument("--seed", type=int, default=0, help="recorded; the fit is deterministic")
    args = parser.parse_args(argv)
    if not (args.data / "exams").is_dir():
        print(f"no eval data under {args.data}", file=sys.stderr)
        return 2
    saved = None
    regrade: set[str] | None = None
    if args.rows and args.rows.is_file() and args.regrade:
        saved = json.loads(args.rows.read_text(encoding="utf-8"))
        regrade = None if args.regrade == "all" else set(args.regrade.split(","))
    rows, data_hash = collect(args.data, saved, regrade)
    if args.rows:
        rows_file = {"data_hash": data_hash, "sources": by_source(rows, args.data)}
        args.rows.write_text(json.dumps(rows_file), encoding="utf-8")
    model = fit(rows, args.budget)
    model = {
        "command": "grader fit review --data ../shared/eval",
        "seed": args.seed,
        "budget": args.budget,
        "data_hash": data_hash,
        "n": len(rows),
        **model,
    }
    args.out.write_text(json.dumps(model, indent=1) + "\n", encoding="utf-8")
    print(json.dumps({"out": str(args.out), **model["figures"]["in_sample"]["pooled"]}))
    print(json.dumps({"leave_one_exam_out": model["figures"]["leave_one_exam_out"]}))
    return 0
