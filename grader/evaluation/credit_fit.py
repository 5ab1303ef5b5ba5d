"""`grader fit credit`: fit the map from the text model's score to the credit it gives.

The alignment model's zero-shot score and its k-shot probability rank answers well but are
not credit: fitted on 0/1 labels, a complete answer lands near 0.6-0.75 of the points, so
on a whole exam every right explanation lost a third of its points (saf-networks: answers
the instructors gave full marks got 0.60 on average). The credit is the score stretched
linearly and clipped, `(s - lo) / (hi - lo)` in [0, 1], with (lo, hi) chosen here:

- data (read from ../shared/eval/, never copied): every answer of `text_dev.jsonl`, and the
  answers of each dev exam's questions that are a single `text` criterion (an exam built
  from reference answers); each scored against its question's reference, zero-shot and
  with K graded answers of the same question (picked by hash with SEED, never the answer
  scored), as `grader eval text` does;
- objective: the mean over sources of the mean absolute error of the credit (each source
  weighs the same, whatever its size), on a grid of (lo, hi);
- constraint: no source graded on a scale (more than two distinct scores) loses more than
  MAX_PEARSON_LOSS of the unclipped score's Pearson correlation (clipping ties the best
  answers together, which costs ranking); 0/1 sources count through their error alone;
- leave-one-source-out figures show how the fitted map does on a source it did not see;
- then, zero-shot only, a cap for answers much shorter than what they must state: credit at
  most `len_ratio / SHORT_RATIO` (`len_ratio` is half the answer's content words over its
  best exemplar's, at most 1). SHORT_RATIO is chosen on a grid by the same source-averaged
  error with one more source: fragments, three consecutive content words of each question's
  reference (target 0), the "short on-topic phrase" that the stretch alone would credit.

Prints a table and, last, one JSON line with the constants, the figures and the data's hash;
the constants go into grader/checks/text/scoring.py (ZERO_STRETCH, SHOT_STRETCH,
SHORT_RATIO) by hand.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import yaml

from grader.checks.text import scoring as tm
from grader.evaluation.text_eval import (
    Row,
    all_texts,
    by_question,
    pick_shots,
    question_reference,
    read_rows,
)

SEED = 0
SHOTS = 3  # the dev exams' text criteria carry three graded examples
MAX_PEARSON_LOSS = 0.02
FRAGMENTS = "fragments"  # the synthetic source of short on-topic phrases
SHORT_RATIOS = (0.0, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.5)  # 0: no cap
LOS = tuple(round(x, 2) for x in np.arange(-0.2, 0.61, 0.02))
HIS = tuple(round(x, 2) for x in np.arange(0.2, 1.21, 0.02))

Arr = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Scored:
    source: str
    target: float  # fraction of the points the human gave
    zero: float  # zero-shot score (before any stretch)
    shot: float | None  # k-shot probability (None for the answers used as shots)
    len_ratio: float = 1.0  # the answer's length against its best exemplar's (text.scoring)


def stretch(values: Arr, lo: float, hi: float) -> Arr:
    return np.clip((values - lo) / (hi - lo), 0.0, 1.0)


def _pearson(a: Arr, b: Arr) -> float:
    if a.std() == 0 or b.std() == 0:
        return 0.0
    return float(np.corrcoef(a, b)[0, 1])


def fit_stretch(
    values: Arr, targets: Arr, sources: npt.NDArray[np.str_], exclude: str | None = None
) -> tuple[float, float]:
    """(lo, hi) minimising the source-averaged MAE under the Pearson constraint."""
    names = [s for s in dict.fromkeys(sources.tolist()) if s != exclude]
    masks = [sources == s for s in names]
    floor = [
        _pearson(values[m], targets[m]) - MAX_PEARSON_LOSS
        if len(np.unique(targets[m])) > 2
        else -1.0
        for m in masks
    ]
    best: tuple[float, float, float] | None = None
    for lo in LOS:
        for hi in HIS:
            if hi <= lo + 0.1:
                continue
            credit = stretch(values, lo, hi)
            if any(_pearson(credit[m], targets[m]) < f for m, f in zip(masks, floor, strict=True)):
                continue
            err = float(np.mean([np.mean(np.abs(credit[m] - targets[m])) for m in masks]))
            if best is None or err < best[0]:
                best = (err, lo, hi)
    if best is None:
        return (0.0, 1.0)
    return best[1], best[2]


def capped(credit: Arr, len_ratio: Arr, ratio: float) -> Arr:
    return credit if ratio <= 0 else np.minimum(credit, len_ratio / ratio)


def fit_short_ratio(
    credit: Arr, len_ratio: Arr, targets: Arr, sources: npt.NDArray[np.str_]
) -> float:
    """The cap (SHORT_RATIOS) with the least source-averaged MAE; ties go to the gentler."""
    masks = [sources == s for s in dict.fromkeys(sources.tolist())]
    best: tuple[float, float] | None = None
    for ratio in SHORT_RATIOS:
        c = capped(credit, len_ratio, ratio)
        err = float(np.mean([np.mean(np.abs(c[m] - targets[m])) for m in masks]))
        if best is None or err < best[0] - 1e-9:
            best = (err, ratio)
    return best[1] if best is not None else 0.0


def fragments(rows: list[Row], seed: int) -> list[Row]:
    """Per question, three consecutive content words of its reference, scored 0."""
    rng = random.Random(seed)
    seen: dict[str, Row] = {}
    for r in rows:
        seen.setdefault(r.qid, r)
    out: list[Row] = []
    for qid, r in seen.items():
        content = [w for w in tm.words(" ".join(r.reference)) if w not in tm.STOPWORDS]
        if len(content) < 4:
            continue
        i = rng.randrange(len(content) - 2)
        text = " ".join(content[i : i + 3]).capitalize() + "."
        out.append(Row(f"{qid}:fragment", FRAGMENTS, qid, r.question, r.reference, text, 0.0, 1.0))
    return out


def figures(values: Arr, targets: Arr, lo: float, hi: float) -> dict[str, float]:
    credit = stretch(values, lo, hi)
    err = np.abs(credit - targets)
    return {
        "n": len(values),
        "mae": round(float(err.mean()), 4),
        "within_0_25": round(float((err <= 0.25).mean()), 4),
        "pearson": round(_pearson(credit, targets), 4),
    }


def exam_rows(exams_dir: Path) -> list[Row]:
    """Answers to dev-exam questions that are one `text` criterion, as text rows."""
    rows: list[Row] = []
    for exam_dir in sorted(p for p in exams_dir.iterdir() if (p / "exam.yaml").is_file()):
        exam = yaml.safe_load((exam_dir / "exam.yaml").read_text(encoding="utf-8"))
        single: dict[str, dict[str, Any]] = {}
        for q in exam.get("questions", []):
            crits = q.get("criteria") or []
            if len(crits) == 1 and (crits[0].get("check") or {}).get("kind") == "text":
                single[str(q["id"])] = crits[0]["check"]
        if not single:
            continue
        with (exam_dir / "gold.jsonl").open(encoding="utf-8") as fh:
            for line in fh:
                d = json.loads(line)
                check = single.get(str(d["qid"]))
                if check is None or not check.get("exemplars"):
                    continue
                rows.append(
                    Row(
                        id=str(d["id"]),
                        source=exam_dir.name,
                        qid=f"{exam_dir.name}:{d['qid']}",
                        question=str(check.get("question") or ""),
                        reference=[str(e) for e in check["exemplars"]],
                        answer=str(d.get("answer") or ""),
                        score=float(d["gold"]),
                        max_score=1.0,
                    )
                )
    return rows


def score_rows(rows: list[Row], encoder: tm.EncoderLike, shots: int, seed: int) -> list[Scored]:
    encoder.encode(all_texts(rows))  # one batched pass; `prepare` then hits the cache
    out: list[Scored] = []
    for group in by_question(rows).values():
        first = group[0]
        shot_rows, _ = pick_shots([r for r in group if r.source != FRAGMENTS], shots, seed)
        ref, shot_obj = question_reference(encoder, first, shot_rows)
        if not ref.exemplars:
            continue
        shot_ids = {r.id for r in shot_rows}
        for r, rep in zip(group, tm.prepare(encoder, [r.answer for r in group]), strict=True):
            if rep.empty:
                continue
            values = tm.features(rep, ref).values
            z = tm.zero_shot(values)
            p = None
            if shot_obj is not None and r.id not in shot_ids and r.source != FRAGMENTS:
                p = tm.with_shots(tm.shot_features(rep, z, shot_obj).values)
            out.append(Scored(r.source, r.score / r.max_score, z, p, values["len_ratio"]))
    return out


def sha256_of(paths: list[Path]) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest()[:16] for p in paths}


def fit_all(scored: list[Scored]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    real = [s for s in scored if s.source != FRAGMENTS]
    for path in ("zero", "shot"):
        use = [s for s in real if getattr(s, path) is not None]
        values = np.array([getattr(s, path) for s in use], dtype=np.float64)
        targets = np.array([s.target for s in use], dtype=np.float64)
        sources = np.array([s.source for s in use])
        lo, hi = fit_stretch(values, targets, sources)
        per_source: dict[str, Any] = {}
        for src in dict.fromkeys(sources.tolist()):
            m = sources == src
            lo_o, hi_o = fit_stretch(values, targets, sources, exclude=src)
            per_source[src] = {
                "unclipped": figures(values[m], targets[m], 0.0, 1.0),
                "fitted": figures(values[m], targets[m], lo, hi),
                "left_out": {"stretch": [lo_o, hi_o], **figures(values[m], targets[m], lo_o, hi_o)},
            }
        result[path] = {"stretch": [lo, hi], "by_source": per_source}
    # The short-answer cap, zero-shot, with the fragments as one more source.
    lo, hi = result["zero"]["stretch"]
    zs = np.array([s.zero for s in scored], dtype=np.float64)
    lr = np.array([s.len_ratio for s in scored], dtype=np.float64)
    ys = np.array([s.target for s in scored], dtype=np.float64)
    srcs = np.array([s.source for s in scored])
    credit = stretch(zs, lo, hi)
    ratio = fit_short_ratio(credit, lr, ys, srcs)
    result["short_ratio"] = {
        "ratio": ratio,
        "by_source": {
            src: {
                "uncapped_mae": round(float(np.mean(np.abs(credit[m] - ys[m]))), 4),
                "capped_mae": round(
                    float(np.mean(np.abs(capped(credit, lr, ratio)[m] - ys[m]))), 4
                ),
            }
            for src in dict.fromkeys(srcs.tolist())
            for m in [srcs == src]
        },
    }
    return result


def dev_rows(eval_dir: Path) -> tuple[list[Row], list[Path]]:
    """text_dev.jsonl's rows and the dev exams' one-text-criterion answers, with the files
    they come from (for the data hash); FileNotFoundError without text_dev.jsonl."""
    text_file, exams_dir = eval_dir / "text_dev.jsonl", eval_dir / "exams"
    if not text_file.is_file():
        raise FileNotFoundError(f"no such file: {text_file}")
    rows = read_rows(text_file)
    data = [text_file]
    if exams_dir.is_dir():
        rows += exam_rows(exams_dir)
        data += [p for p in sorted(exams_dir.glob("*/*.*")) if p.is_file()]
    return rows, data


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="grader fit credit", description=__doc__.split("\n")[0])
    parser.add_argument("--eval-dir", type=Path, default=Path("../shared/eval"))
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--shots", type=int, default=SHOTS)
    args = parser.parse_args(argv)
    started = time.monotonic()
    try:
        rows, data = dev_rows(args.eval_dir)
    except FileNotFoundError as exc:
        print(exc, file=sys.stderr)
        return 2
    from grader.embed import load_encoder

    encoder = load_encoder(None, cache_size=max(100_000, 8 * len(rows)))
    rows += fragments(rows, args.seed)
    result = fit_all(score_rows(rows, encoder, args.shots, args.seed))
    for path in ("zero", "shot"):
        lo, hi = result[path]["stretch"]
        print(f"{path}: stretch ({lo}, {hi})")
        for src, f in result[path]["by_source"].items():
            u, g, o = f["unclipped"], f["fitted"], f["left_out"]
            print(
                f"  {src:<14} n {g['n']:>5}  mae {u['mae']:.3f} -> {g['mae']:.3f} "
                f"(left out {o['mae']:.3f})  within {u['within_0_25']:.2f} -> "
                f"{g['within_0_25']:.2f}  pearson {u['pearson']:.3f} -> {g['pearson']:.3f}"
            )
    cap = result["short_ratio"]
    print(f"zero-shot short-answer cap: len_ratio / {cap['ratio']}")
    for src, f in cap["by_source"].items():
        print(f"  {src:<14} mae {f['uncapped_mae']:.3f} -> {f['capped_mae']:.3f}")
    result.update(
        seed=args.seed,
        shots=args.shots,
        max_pearson_loss=MAX_PEARSON_LOSS,
        data_sha256=sha256_of(data),
        seconds=round(time.monotonic() - started, 1),
    )
    print(json.dumps(result))
    return 0
