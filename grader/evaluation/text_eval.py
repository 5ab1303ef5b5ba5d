"""`grader eval text FILE [--shots K]`: free-text scores against human scores.

Protocol (k-shot): for every question (`qid`) the K answers with the smallest
blake2b(seed + id) are the question's graded examples; they calibrate the scorer and are NOT
scored. All other answers of the question are scored, and every column of the table (k-shot,
zero-shot, naive baseline) is measured on that same set. With K = 0 every answer is scored.
Rows without a `reference` are scored from the K shots alone (nearest-neighbour vote and the
shots' mean; with no shots either, the middle of the scale). The naive baseline is one cosine
between the whole answer and the best reference (both encoded whole), min-max mapped to the
score range per source. Options: --seed (shot draw), --model PATH, --quantize (int8).
The `ALL` row and the top-level figures compare fractions (score / max_score), since a file
may mix 0-5 and 0/1 sources.

Prints a table per source and, as its last line, one JSON object with the headline figures.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import sys
import time
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from grader.checks.text import learned as tl
from grader.checks.text import scoring as tm
from grader.evaluation.text_metrics import summarise

BINARY_SOURCES = ("scientsbank", "beetle")


@dataclass
class Row:
    id: str
    source: str
    qid: str
    question: str
    reference: list[str]
    answer: str
    score: float
    max_score: float
    pred: dict[str, float] = field(default_factory=dict)


def read_rows(path: Path) -> list[Row]:
    with path.open(encoding="utf-8") as fh:
        return read_rows_from_dicts(json.loads(line) for line in fh if line.strip())


def read_rows_from_dicts(dicts: Iterable[dict[str, Any]]) -> list[Row]:
    rows: list[Row] = []
    for n, d in enumerate(dicts, 1):
        ref = d.get("reference") or []
        rows.append(
            Row(
                id=str(d.get("id", n)),
                source=str(d.get("source", "unknown")),
                qid=str(d.get("qid", d.get("question", ""))),
                question=str(d.get("question") or ""),
                reference=[ref] if isinstance(ref, str) else [str(r) for r in ref],
                answer=str(d.get("answer") or ""),
                score=float(d["score"]),
                max_score=float(d.get("max_score") or 1.0),
            )
        )
    return rows


def by_question(rows: Sequence[Row]) -> dict[str, list[Row]]:
    """The rows of each question, questions in the order they first appear."""
    out: dict[str, list[Row]] = defaultdict(list)
    for r in rows:
        out[r.qid].append(r)
    return out


def pick_shots(rows: Sequence[Row], k: int, seed: int) -> tuple[list[Row], list[Row]]:
    """Deterministic split of one question's answers into (shots, scored)."""
    order = sorted(
        rows, key=lambda r: hashlib.blake2b(f"{seed}:{r.id}".encode(), digest_size=8).digest()
    )
    return order[:k], order[k:]


def _whole(text: str) -> str:
    return " ".join(text.split())


def all_texts(rows: Sequence[Row]) -> list[str]:
    """Every sentence the scorer needs, plus whole answers and references for the baseline."""
    texts: list[str] = []
    seen_q: set[str] = set()
    for r in rows:
        texts.extend(tm.texts_to_encode(r.answer))
        texts.append(_whole(r.answer))
        if r.qid not in seen_q:
            seen_q.add(r.qid)
            texts.extend(tm.texts_to_encode(r.question))
            for ref in r.reference:
                texts.extend(tm.texts_to_encode(ref))
                texts.append(_whole(ref))
    return [t for t in dict.fromkeys(texts) if t]


def question_reference(
    encoder: tm.EncoderLike, first: Row, shot_rows: Sequence[Row]
) -> tuple[tm.Reference, tm.Shots | None]:
    """One question's reference (its exemplars and prompt) and its graded answers as shots."""
    exemplars = [e for e in tm.prepare(encoder, first.reference) if not e.empty]
    (question,) = tm.prepare(encoder, [first.question])
    ref = tm.Reference(tuple(exemplars), question=None if question.empty else question)
    shot_reps = tm.prepare(encoder, [r.answer for r in shot_rows])
    keep = [i for i, rep in enumerate(shot_reps) if not rep.empty]
    shots = tm.make_shots(
        [shot_reps[i] for i in keep],
        [shot_rows[i].score / shot_rows[i].max_score for i in keep],
        ref,
    )
    return ref, shots


def run(
    rows: list[Row],
    encoder: tm.EncoderLike,
    shots: int,
    seed: int,
    scorer: tl.PairScorerLike | None = None,
    calib: tuple[float, float] = (tl.CALIB_RIDGE, tl.SHOT_PRIOR),
) -> list[Row]:
    """Predict every scored row (k-shot, zero-shot and baseline); returns the scored rows.

    With `scorer` (the learned pair scorer) rows with a reference are scored by it, calibrated
    on the shots as the text checker does; otherwise by the sentence-alignment model."""
    encoder.encode(all_texts(rows))  # one big batched pass; `prepare` then hits the cache
    scored: list[Row] = []
    for group in by_question(rows).values():
        first = group[0]
        shot_rows, todo = pick_shots(group, shots, seed)
        ref, shot_obj = question_reference(encoder, first, shot_rows)
        kref = tm.Reference(ref.exemplars, question=ref.question, shots=shot_obj)
        wholes = [_whole(t) for t in first.reference if _whole(t)]
        ref_whole = encoder.encode(wholes) if wholes else None
        ref_text = tl.reference_text(first.reference)
        cal = None
        if scorer is not None and ref_text:
            cal = tl.Calibration.of(
                [scorer.score(ref_text, _whole(r.answer)) for r in shot_rows],
                [r.score / r.max_score for r in shot_rows],
            )
        for r, rep in zip(todo, tm.prepare(encoder, [r.answer for r in todo]), strict=True):
            if rep.empty or not _whole(r.answer):
                r.pred = {"kshot": 0.0, "zero": 0.0, "naive": 0.0}
            else:
                if scorer is not None and ref_text:
                    zero = scorer.score(ref_text, _whole(r.answer))
                    frac = cal.apply(zero, ridge=calib[0], prior=calib[1]) if cal else zero
                else:
                    frac, _, _ = tm.score(rep, kref)
                    zero, _, _ = tm.score(rep, ref)
                naive = 0.0
                if ref_whole is not None:
                    naive = float(np.max(ref_whole @ encoder.encode([_whole(r.answer)])[0]))
                r.pred = {"kshot": frac, "zero": zero, "naive": naive}
            r.pred = {k: v * r.max_score for k, v in r.pred.items()}
            scored.append(r)
    _rescale_naive(scored)
    return scored


def _rescale_naive(rows: list[Row]) -> None:
    """The baseline's cosine min-max mapped to [0, max_score] per source (a naive mapping)."""
    by_src: dict[str, list[Row]] = defaultdict(list)
    for r in rows:
        by_src[r.source].append(r)
    for group in by_src.values():
        vals = [r.pred["naive"] / r.max_score for r in group]
        lo, hi = min(vals), max(vals)
        for r, v in zip(group, vals, strict=True):
            r.pred["naive"] = (v - lo) / (hi - lo) * r.max_score if hi > lo else 0.0


def _fmt(x: float | None) -> str:
    return "   -  " if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:6.3f}"


def report(rows: list[Row], shots: int) -> dict[str, Any]:
    by_src: dict[str, list[Row]] = defaultdict(list)
    for r in rows:
        by_src[r.source].append(r)
    cols = [("kshot", f"{shots}-shot"), ("zero", "0-shot"), ("naive", "naive")]
    head = f"{'source':<12} {'n':>5}  " + "  ".join(
        f"{name:>8}:{m:<7}" for _, name in cols for m in ("pearson", "f1")
    )
    print(head)
    out: dict[str, Any] = {}
    groups = sorted(by_src.items()) + [("ALL", rows)]
    for src, group in groups:
        binary = src in BINARY_SOURCES
        mixed = src == "ALL"
        figs = {key: summarise(group, key, binary=binary, fractions=mixed) for key, _ in cols}
        cells = "  ".join(
            f"{_fmt(figs[key].get('pearson')):>16}  {_fmt(figs[key].get('macro_f1')):>14}"
            for key, _ in cols
        )
        print(f"{src:<12} {len(group):>5}  {cells}")
        if src != "ALL":
            entry = dict(figs["kshot"])
            entry["zero_shot"] = figs["zero"]
            entry["naive"] = figs["naive"]
            out[src] = entry
    return out


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="grader eval text", description=__doc__.split("\n")[0])
    parser.add_argument("file", type=Path)
    parser.add_argument("--shots", type=int, default=0, help="graded answers per question (k)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the shot selection")
    parser.add_argument("--model", default=None, help="sentence-transformers model folder")
    parser.add_argument("--quantize", action="store_true", help="int8 dynamic quantization")
    parser.add_argument(
        "--no-scorer", action="store_true", help="sentence alignment only (no learned scorer)"
    )
    parser.add_argument(
        "--held-out",
        action="store_true",
        help="only the questions `grader fit text` left out of training (honest figures)",
    )
    parser.add_argument(
        "--sweep", action="store_true", help="print k-shot figures over calibration constants"
    )
    args = parser.parse_args(argv)
    if args.shots < 0:
        parser.error("--shots must be >= 0")
    if not args.file.is_file():
        print(f"no such file: {args.file}", file=sys.stderr)
        return 2
    from grader.embed import load_encoder
    from grader.embed.scorer import load_scorer

    started = time.monotonic()
    rows = read_rows(args.file)
    scorer = None if args.no_scorer else load_scorer()
    if args.held_out:
        from grader.training.text_scorer import held_out

        rows = [
            r
            for r in rows
            if held_out(r.source, r.qid, int((scorer.meta if scorer else {}).get("seed", 0)))
        ]
    options: dict[str, Any] = {"cache_size": max(100_000, 4 * len(rows))}
    if args.quantize:
        options["quantize"] = True
    encoder = load_encoder(args.model, **options)
    if args.sweep:
        _sweep(rows, encoder, args.shots, args.seed, scorer)
    scored = run(rows, encoder, args.shots, args.seed, scorer)
    by_source = report(scored, args.shots)
    overall = summarise(scored, "kshot", binary=False, fractions=True)
    result: dict[str, Any] = {"n": len(scored), **overall, "by_source": by_source}
    result["zero_shot"] = summarise(scored, "zero", binary=False, fractions=True)
    result["naive"] = summarise(scored, "naive", binary=False, fractions=True)
    result["shots"] = args.shots
    result["scorer"] = scorer is not None
    result["held_out"] = args.held_out
    result["seconds"] = round(time.monotonic() - started, 1)
    print(json.dumps(result, allow_nan=False, default=_json_num))
    return 0


def _sweep(
    rows: list[Row],
    encoder: tm.EncoderLike,
    shots: int,
    seed: int,
    scorer: tl.PairScorerLike | None,
) -> None:
    """k-shot Pearson (fractions) over a grid of calibration constants (scores are cached)."""
    for ridge in (0.01, 0.05, 0.2, 1.0):
        for prior in (0.0, 1.0, 3.0, 10.0):
            scored = run(
                [Row(**{**r.__dict__, "pred": {}}) for r in rows],
                encoder,
                shots,
                seed,
                scorer,
                (ridge, prior),
            )
            figs = summarise(scored, "kshot", binary=False, fractions=True)
            f1s = [
                summarise([r for r in scored if r.source == src], "kshot", binary=True).get(
                    "macro_f1", float("nan")
                )
                for src in BINARY_SOURCES
            ]
            moh = summarise([r for r in scored if r.source == "mohler"], "kshot", binary=False)
            print(
                f"sweep ridge={ridge} prior={prior}: pearson {figs.get('pearson')} "
                f"mohler {moh.get('pearson')} f1 {f1s}",
                file=sys.stderr,
            )


def _json_num(x: object) -> Any:
    if isinstance(x, np.floating):
        return float(x)
    raise TypeError(type(x).__name__)
