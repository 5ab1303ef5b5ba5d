"""The review fit: a logistic model that learns, and a threshold that keeps to its budget."""

from __future__ import annotations

import numpy as np

from grader.evaluation.review_fit import figures, fit_logistic, predict, threshold_for


def test_logistic_fit_recovers_a_signal() -> None:
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 1, size=(2000, 2))
    p_true = 1 / (1 + np.exp(-(4 * x[:, 0] - 2)))
    y = (rng.uniform(size=2000) < p_true).astype(np.float64)
    w, b = fit_logistic(x, y, l2=0.1)
    assert 3.0 < w[0] < 5.0 and abs(w[1]) < 0.6 and -2.6 < b < -1.4


def test_threshold_keeps_the_flagged_share_within_budget() -> None:
    p = np.linspace(0, 1, 101)
    forced = np.zeros(101, dtype=bool)
    forced[:5] = True  # flagged whatever the model says: they use up budget first
    t = threshold_for(p, forced, 0.2)
    flagged = (p >= t) | forced
    assert flagged.mean() <= 0.2 and ((p >= t - 0.011) | forced).mean() > 0.2
    y = (p > 0.5).astype(np.float64)
    figs = figures(p, y, forced, t)
    assert figs["flagged"] <= 0.2 and 0.0 < figs["error_capture"] <= 1.0


def test_predict_is_a_probability() -> None:
    x = np.array([[0.0], [100.0], [-100.0]])
    p = predict(x, np.array([1.0]), 0.0)
    assert p[0] == 0.5 and 0.999 < p[1] <= 1.0 and 0.0 <= p[2] < 0.001
