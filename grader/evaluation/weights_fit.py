"""`grader fit weights`: fit the alignment model's linear constants, then its credit bands.

The text model (grader/checks/text/scoring.py) scores an answer with two small global models
over features that are on comparable scales for any question:

- zero-shot: `ZERO_BIAS + ZERO_WEIGHTS . features(answer, reference)`, a linear model of the
  fraction of the points the answer earned;
- with graded examples ("shots"): `sigmoid(SHOT_BIAS + SHOT_WEIGHTS . shot_features)`, a
  logistic model of the same fraction (soft labels), over the zero-shot score, the shots'
  nearest-neighbour vote, the per-question recalibration and the like.

Data (read from ../shared/eval/, never copied): every answer of `text_dev.jsonl` and the
answers of the dev exams' one-`text`-criterion questions (`credit_fit.exam_rows`), each
scored against its question's reference; with shots, SHOTS graded answers of the same
question are drawn by hash for each of SEEDS (never the answer scored), as `grader eval
text` does, and the draws are pooled.

Fit: ridge least squares (zero-shot) and L2-regularised logistic regression by Newton's
method (shots), every source weighing the same whatever its size; the ridge strength is
chosen by grouped cross-validation (FOLDS folds of whole questions, by a hash of the
question id) for the least source-averaged error, and the held-out figures per source are
printed. Features are used as the text model computes them, so what is fitted is what grades.
The shot model is fitted with the new zero-shot constants in place (its features include the
zero-shot score), and then the credit bands (`grader fit credit`) are refitted on top.

Deterministic: no random draw besides the seeded hashes. Prints a table and, last, one JSON
line with the constants, the figures and the data's hash; the constants go into
grader/checks/text/scoring.py by hand (ZERO_WEIGHTS, ZERO_BIAS, SHOT_WEIGHTS, SHOT_BIAS,
ZERO_STRETCH, SHOT_STRETCH, SHORT_RATIO).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from grader.checks.text import scoring as tm
from grader.evaluation import credit_fit
from grader.evaluation.text_eval import (
    Row,
    all_texts,
    by_question,
    pick_shots,
    question_reference,
)

SEEDS = (0, 1, 2)  # shot draws pooled for the shot model
SHOTS = credit_fit.SHOTS
FOLDS = 5
ZERO_RIDGES = (0.0003, 0.001, 0.003, 0.01, 0.03, 0.1)
SHOT_RIDGES = (0.0003, 0.001, 0.003, 0.01, 0.03)
SHOT_FEATURES = tuple(tm.SHOT_WEIGHTS)

Arr = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Design:
    """A design matrix with its targets, sources, question groups and sample weights."""

    x: Arr
    y: Arr
    sources: npt.NDArray[np.str_]
    groups: npt.NDArray[np.str_]

    @property
    def weights(self) -> Arr:
        """Each source weighs the same in total, whatever its size."""
        names, inverse, counts = np.unique(self.sources, return_inverse=True, return_counts=True)
        return np.asarray(1.0 / (len(names) * counts[inverse]), dtype=np.float64)

    def subset(self, mask: npt.NDArray[np.bool_]) -> Design:
        return Design(self.x[mask], self.y[mask], self.sources[mask], self.groups[mask])


def fold_of(group: str, seed: int) -> int:
    digest = hashlib.blake2b(f"{seed}:{group}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") % FOLDS


def _with_bias(x: Arr) -> Arr:
    return np.hstack([np.ones((len(x), 1)), x])


def fit_linear(d: Design, ridge: float) -> Arr:
    """Weighted ridge least squares (weighted mean squared error + ridge * |weights|^2);
    returns [bias, *weights] (the bias is not shrunk)."""
    xb, w = _with_bias(d.x), d.weights
    penalty = ridge * np.eye(xb.shape[1])
    penalty[0, 0] = 0.0
    a = xb.T @ (w[:, None] * xb) / w.sum() + penalty
    return np.asarray(np.linalg.solve(a, xb.T @ (w * d.y) / w.sum()), dtype=np.float64)


def _sigmoid(z: Arr) -> Arr:
    return np.asarray(1.0 / (1.0 + np.exp(-np.clip(z, -30.0, 30.0))), dtype=np.float64)


def fit_logistic(d: Design, ridge: float, iterations: int = 50) -> Arr:
    """Weighted L2 logistic regression on soft labels by Newton's method; [bias, *weights]."""
    xb, w = _with_bias(d.x), d.weights / d.weights.mean()
    penalty = ridge * np.eye(xb.shape[1])
    penalty[0, 0] = 0.0
    beta = np.zeros(xb.shape[1])
    n = len(w)
    for _ in range(iterations):
        p = _sigmoid(xb @ beta)
        grad = xb.T @ (w * (p - d.y)) / n + penalty @ beta
        hess = xb.T @ ((w * p * (1 - p))[:, None] * xb) / n + penalty + 1e-9 * np.eye(len(beta))
        step = np.linalg.solve(hess, grad)
        beta = beta - step
        if float(np.max(np.abs(step))) < 1e-8:
            break
    return np.asarray(beta, dtype=np.float64)


def predict(beta: Arr, x: Arr, logistic: bool) -> Arr:
    raw = _with_bias(x) @ beta
    return _sigmoid(raw) if logistic else np.clip(raw, 0.0, 1.0)


def source_mae(pred: Arr, d: Design) -> float:
    return float(
        np.mean(
            [np.mean(np.abs(pred[d.sources == s] - d.y[d.sources == s])) for s in set(d.sources)]
        )
    )


def cross_validated(d: Design, ridge: float, logistic: bool, seed: int) -> Arr:
    """Every row predicted by the model fitted on the folds its question is not in."""
    folds = np.array([fold_of(g, seed) for g in d.groups])
    out = np.zeros(len(d.y))
    for k in range(FOLDS):
        test = folds == k
        if not test.any() or test.all():
            continue
        train = d.subset(~test)
        beta = fit_logistic(train, ridge) if logistic else fit_linear(train, ridge)
        out[test] = predict(beta, d.x[test], logistic)
    return out


def _pearson(a: Arr, b: Arr) -> float:
    return 0.0 if a.std() == 0 or b.std() == 0 else float(np.corrcoef(a, b)[0, 1])


def fit_model(
    d: Design, ridges: Sequence[float], logistic: bool, seed: int
) -> tuple[Arr, float, dict[str, dict[str, float]]]:
    """The ridge with the least held-out source-averaged MAE, its fit on all rows, figures."""
    best: tuple[float, float, Arr] | None = None
    for ridge in ridges:
        held = cross_validated(d, ridge, logistic, seed)
        err = source_mae(held, d)
        if best is None or err < best[0] - 1e-9:
            best = (err, ridge, held)
    assert best is not None
    _, ridge, held = best
    beta = fit_logistic(d, ridge) if logistic else fit_linear(d, ridge)
    figs = {
        src: {
            "n": int(m.sum()),
            "held_out_mae": round(float(np.mean(np.abs(held[m] - d.y[m]))), 4),
            "held_out_pearson": round(_pearson(held[m], d.y[m]), 4),
        }
        for src in dict.fromkeys(d.sources.tolist())
        for m in [d.sources == src]
    }
    return beta, ridge, figs


@contextmanager
def constants(
    zero: tuple[float, dict[str, float]] | None = None,
    shot: tuple[float, dict[str, float]] | None = None,
) -> Iterator[None]:
    """The text model with other zero-shot and/or shot constants, for the fitting only."""
    models = [
        ("ZERO_BIAS", tm.ZERO_WEIGHTS, zero),
        ("SHOT_BIAS", tm.SHOT_WEIGHTS, shot),
    ]
    saved = [(getattr(tm, bias), dict(weights)) for bias, weights, _ in models]
    try:
        for bias, weights, new in models:
            if new is not None:
                setattr(tm, bias, new[0])
                weights.clear()
                weights.update(new[1])
        yield
    finally:
        for (bias, weights, _), (old_bias, old_weights) in zip(models, saved, strict=True):
            setattr(tm, bias, old_bias)
            weights.clear()
            weights.update(old_weights)


def zero_design(rows: list[Row], encoder: tm.EncoderLike) -> Design:
    xs, ys, srcs, groups = [], [], [], []
    by_qid = by_question(rows)
    for group in by_qid.values():
        ref, _ = question_reference(encoder, group[0], [])
        if not ref.exemplars:
            continue
        for r, rep in zip(group, tm.prepare(encoder, [r.answer for r in group]), strict=True):
            if rep.empty:
                continue
            values = tm.features(rep, ref).values
            xs.append([values[k] for k in tm.FEATURES])
            ys.append(r.score / r.max_score)
            srcs.append(r.source)
            groups.append(r.qid)
    return Design(np.array(xs), np.array(ys), np.array(srcs), np.array(groups))


def shot_design(rows: list[Row], encoder: tm.EncoderLike, shots: int) -> Design:
    xs, ys, srcs, groups = [], [], [], []
    by_qid = by_question(rows)
    for seed in SEEDS:
        for group in by_qid.values():
            shot_rows, todo = pick_shots(group, shots, seed)
            ref, shot_obj = question_reference(encoder, group[0], shot_rows)
            if not ref.exemplars or shot_obj is None:
                continue
            for r, rep in zip(todo, tm.prepare(encoder, [r.answer for r in todo]), strict=True):
                if rep.empty:
                    continue
                z = tm.zero_shot(tm.features(rep, ref).values)
                values = tm.shot_features(rep, z, shot_obj).values
                xs.append([values[k] for k in SHOT_FEATURES])
                ys.append(r.score / r.max_score)
                srcs.append(r.source)
                groups.append(r.qid)
    return Design(np.array(xs), np.array(ys), np.array(srcs), np.array(groups))


def _print_figures(title: str, ridge: float, figs: dict[str, dict[str, float]]) -> None:
    print(f"{title}: ridge {ridge} (held-out questions)")
    for src, f in figs.items():
        print(
            f"  {src:<14} n {f['n']:>5}  mae {f['held_out_mae']:.3f}  "
            f"pearson {f['held_out_pearson']:.3f}"
        )


def fit_everything(
    rows: list[Row], encoder: tm.EncoderLike, shots: int, seed: int
) -> dict[str, Any]:
    zd = zero_design(rows, encoder)
    zbeta, zridge, zfigs = fit_model(zd, ZERO_RIDGES, logistic=False, seed=seed)
    zero_w = {k: round(float(b), 4) for k, b in zip(tm.FEATURES, zbeta[1:], strict=True)}
    zero = (round(float(zbeta[0]), 4), zero_w)
    _print_figures("zero-shot", zridge, zfigs)
    with constants(zero):
        sd = shot_design(rows, encoder, shots)
        sbeta, sridge, sfigs = fit_model(sd, SHOT_RIDGES, logistic=True, seed=seed)
        _print_figures("with shots", sridge, sfigs)
        shot_w = {k: round(float(b), 4) for k, b in zip(SHOT_FEATURES, sbeta[1:], strict=True)}
    with constants(zero, (round(float(sbeta[0]), 4), shot_w)):
        rows_f = rows + credit_fit.fragments(rows, seed)
        credit = credit_fit.fit_all(credit_fit.score_rows(rows_f, encoder, shots, seed))
    return {
        "zero": {"bias": zero[0], "weights": zero_w, "ridge": zridge, "held_out": zfigs},
        "shot": {
            "bias": round(float(sbeta[0]), 4),
            "weights": shot_w,
            "ridge": sridge,
            "held_out": sfigs,
        },
        "credit": credit,
    }


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="grader fit weights", description=__doc__.split("\n")[0])
    parser.add_argument("--eval-dir", type=Path, default=Path("../shared/eval"))
    parser.add_argument("--seed", type=int, default=credit_fit.SEED)
    parser.add_argument("--shots", type=int, default=SHOTS)
    args = parser.parse_args(argv)
    started = time.monotonic()
    try:
        rows, data = credit_fit.dev_rows(args.eval_dir)
    except FileNotFoundError as exc:
        print(exc, file=sys.stderr)
        return 2
    from grader.embed import load_encoder

    encoder = load_encoder(None, cache_size=max(100_000, 8 * len(rows)))
    encoder.encode(all_texts(rows))  # one batched pass; `prepare` then hits the cache
    result = fit_everything(rows, encoder, args.shots, args.seed)
    credit = result["credit"]
    for path in ("zero", "shot"):
        print(f"credit band {path}: {credit[path]['stretch']}")
    print(f"short-answer cap: len_ratio / {credit['short_ratio']['ratio']}")
    result.update(
        seed=args.seed,
        seeds=list(SEEDS),
        shots=args.shots,
        folds=FOLDS,
        data_sha256=credit_fit.sha256_of(data),
        seconds=round(time.monotonic() - started, 1),
    )
    print(json.dumps(result))
    return 0
