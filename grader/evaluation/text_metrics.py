"""Agreement figures between predicted and human scores (Pearson, Spearman, QWK, RMSE, F1)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

Array = npt.NDArray[np.float64]


class Scored(Protocol):
    score: float
    max_score: float
    pred: dict[str, float]


def pearson(x: Array, y: Array) -> float:
    if len(x) < 2 or x.std() == 0 or y.std() == 0:
        return 0.0
    return float(np.corrcoef(x, y)[0, 1])


def _ranks(x: Array) -> Array:
    order = np.argsort(x, kind="mergesort")
    ranks = np.empty(len(x))
    ranks[order] = np.arange(len(x))
    # average ranks of ties
    _, inv, counts = np.unique(x, return_inverse=True, return_counts=True)
    sums = np.bincount(inv, weights=ranks)
    return np.asarray(sums[inv] / counts[inv], dtype=np.float64)


def spearman(x: Array, y: Array) -> float:
    return pearson(_ranks(x), _ranks(y))


def qwk(gold: Array, pred: Array, step: float) -> float:
    """Quadratic weighted kappa with predictions rounded to the gold scale's step."""
    g = np.rint(gold / step).astype(int)
    p = np.rint(pred / step).astype(int)
    lo, hi = min(g.min(), p.min()), max(g.max(), p.max())
    n = hi - lo + 1
    if n <= 1:
        return 1.0
    obs = np.zeros((n, n))
    np.add.at(obs, (g - lo, p - lo), 1)
    w = (np.arange(n)[:, None] - np.arange(n)[None, :]) ** 2 / (n - 1) ** 2
    exp = np.outer(obs.sum(1), obs.sum(0)) / obs.sum()
    den = float((w * exp).sum())
    return 1.0 - float((w * obs).sum()) / den if den else 1.0


def macro_f1(gold: Array, pred: Array) -> float:
    f1s = []
    for label in (0, 1):
        tp = float(np.sum((pred == label) & (gold == label)))
        fp = float(np.sum((pred == label) & (gold != label)))
        fn = float(np.sum((pred != label) & (gold == label)))
        f1s.append(2 * tp / (2 * tp + fp + fn) if tp else 0.0)
    return float(np.mean(f1s))


def _step(gold: Array) -> float:
    return 1.0 if np.allclose(gold, np.rint(gold)) else 0.5


def summarise(
    rows: Sequence[Scored], key: str, *, binary: bool, fractions: bool = False
) -> dict[str, Any]:
    """Figures of one prediction column. `fractions`: compare score/max_score (for files that
    mix scales, e.g. 0-5 and 0/1 sources), else the raw scores."""
    if not rows:
        return {"n": 0}
    scale = np.array([r.max_score if fractions else 1.0 for r in rows], dtype=np.float64)
    gold = np.array([r.score for r in rows], dtype=np.float64) / scale
    pred = np.array([r.pred[key] for r in rows], dtype=np.float64) / scale
    out: dict[str, Any] = {
        "n": len(rows),
        "pearson": round(pearson(gold, pred), 4),
        "spearman": round(spearman(gold, pred), 4),
        "qwk": round(qwk(gold, pred, _step(gold) if not fractions else 0.1), 4),
        "rmse": round(math.sqrt(float(np.mean((gold - pred) ** 2))), 4),
    }
    if binary:
        maxs = np.array([r.max_score for r in rows])
        out["macro_f1"] = round(macro_f1(gold / maxs, (pred / maxs >= 0.5).astype(float)), 4)
        out["accuracy"] = round(float(np.mean((pred / maxs >= 0.5) == (gold / maxs >= 0.5))), 4)
    return out
