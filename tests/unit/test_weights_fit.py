"""`grader fit weights`: the fitting of the text model's linear constants (pure parts)."""

from __future__ import annotations

import numpy as np
import pytest

from grader.checks.text import scoring as tm
from grader.evaluation.weights_fit import (
    FOLDS,
    Design,
    constants,
    cross_validated,
    fit_linear,
    fit_logistic,
    fit_model,
    fold_of,
    predict,
    source_mae,
)


def _design(n: int, beta: np.ndarray, logistic: bool, seed: int = 0) -> Design:
    rng = np.random.default_rng(seed)
    x = rng.uniform(0, 1, size=(n, len(beta) - 1))
    raw = beta[0] + x @ beta[1:]
    y = 1 / (1 + np.exp(-raw)) if logistic else raw + rng.normal(0, 0.01, size=n)
    sources = np.array(["a" if i % 4 else "b" for i in range(n)])
    groups = np.array([f"q{i % 40}" for i in range(n)])
    return Design(x, y, sources, groups)


def test_linear_fit_recovers_known_weights() -> None:
    beta = np.array([0.1, 0.5, -0.2, 0.3])
    got = fit_linear(_design(800, beta, logistic=False), ridge=1e-6)
    assert got == pytest.approx(beta, abs=0.01)


def test_logistic_fit_recovers_known_weights_from_soft_labels() -> None:
    beta = np.array([-1.0, 2.0, -1.5, 0.5])
    got = fit_logistic(_design(800, beta, logistic=True), ridge=1e-6)
    assert got == pytest.approx(beta, abs=0.02)


def test_ridge_shrinks_the_weights_but_not_the_bias() -> None:
    d = _design(400, np.array([0.4, 0.5, -0.2, 0.3]), logistic=False)
    strong = fit_linear(d, ridge=100.0)
    assert np.abs(strong[1:]).max() < 0.05
    assert strong[0] == pytest.approx(float(np.average(d.y, weights=d.weights)), abs=0.05)


def test_each_source_weighs_the_same() -> None:
    d = Design(
        np.zeros((4, 1)), np.zeros(4), np.array(["big", "big", "big", "small"]), np.array(["q"] * 4)
    )
    w = d.weights
    assert w[:3].sum() == pytest.approx(w[3])


def test_folds_keep_a_question_together_and_are_deterministic() -> None:
    folds = {fold_of(f"q{i}", 0) for i in range(200)}
    assert folds == set(range(FOLDS))
    assert fold_of("q7", 0) == fold_of("q7", 0)
    assert [fold_of(f"q{i}", 0) for i in range(50)] != [fold_of(f"q{i}", 1) for i in range(50)]


def test_held_out_predictions_never_see_their_question() -> None:
    # Targets are a per-question constant unrelated to x: held out, nothing can be learned,
    # so the error is that of predicting the mean, not the (near-zero) in-sample error.
    rng = np.random.default_rng(1)
    groups = np.array([f"q{i % 20}" for i in range(400)])
    per_q = {g: rng.uniform() for g in set(groups)}
    x = np.array([[int(g[1:]) == k for k in range(20)] for g in groups], dtype=np.float64)
    y = np.array([per_q[g] for g in groups])
    d = Design(x, y, np.array(["s"] * 400), groups)
    inside = source_mae(predict(fit_linear(d, 1e-6), x, logistic=False), d)
    held = source_mae(cross_validated(d, 1e-6, logistic=False, seed=0), d)
    assert inside < 0.01 and held > 0.1


def test_model_choice_reports_held_out_figures_per_source() -> None:
    d = _design(400, np.array([0.1, 0.5, -0.2, 0.3]), logistic=False)
    beta, ridge, figs = fit_model(d, (0.01, 10.0), logistic=False, seed=0)
    assert ridge == 0.01
    assert set(figs) == {"a", "b"} and all(f["held_out_pearson"] > 0.9 for f in figs.values())
    assert len(beta) == 4


def test_constants_are_restored_after_fitting() -> None:
    before = (tm.ZERO_BIAS, dict(tm.ZERO_WEIGHTS))
    with constants((0.5, {k: 0.0 for k in tm.FEATURES})):
        assert tm.ZERO_BIAS == 0.5 and set(tm.ZERO_WEIGHTS.values()) == {0.0}
    assert before == (tm.ZERO_BIAS, tm.ZERO_WEIGHTS)


def test_shot_constants_are_set_and_restored_too() -> None:
    before = (tm.SHOT_BIAS, dict(tm.SHOT_WEIGHTS), tm.ZERO_BIAS)
    with constants(shot=(-1.0, {k: 0.5 for k in tm.SHOT_WEIGHTS})):
        assert tm.SHOT_BIAS == -1.0 and set(tm.SHOT_WEIGHTS.values()) == {0.5}
        assert before[2] == tm.ZERO_BIAS
    assert before == (tm.SHOT_BIAS, tm.SHOT_WEIGHTS, tm.ZERO_BIAS)
