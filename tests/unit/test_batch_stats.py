"""Statistics on a small example computed by hand, and the HTML report built from them."""

from __future__ import annotations

import base64
import re
from typing import Any

import pytest

from grader.batches.regrade import apply_overrides
from grader.batches.stats import (
    compute_stats,
    histogram,
    pearson,
    upper_lower_index,
)
from grader.grading import SubmissionResult
from tests.unit.batch_fixtures import simple

# totals 4, 3, 1, 0; q1 = 2, 2, 0, 0; q2 = 2, 1, 1, 0 (b2 of the last waits for review)
RESULTS = [simple(2, 1, 1), simple(2, 1, 0), simple(0, 1, 0), simple(0, 0, 0, review=True)]


def _stats(results: list[dict[str, Any]], bins: int = 10) -> dict[str, Any]:
    return compute_stats([SubmissionResult.from_dict(r) for r in results], bins=bins)


def test_overridden_answers_are_counted() -> None:
    override = {"question_id": "q2", "criterion_id": "b2", "score": 1.0, "reason": "r"}
    whole = {"question_id": "q1", "criterion_id": None, "score": 1.0, "reason": "r"}
    auto = [SubmissionResult.from_dict(r) for r in RESULTS]
    overridden = [
        apply_overrides(auto[0], [whole])[0],
        apply_overrides(auto[3], [override])[0],
        auto[1],
        auto[2],
    ]
    q1, q2 = compute_stats(overridden)["questions"]
    assert (q1["overridden"], q2["overridden"]) == (1, 1)
    assert [c["overridden"] for c in q2["criteria"]] == [0, 1]
    assert compute_stats(auto)["questions"][1]["overridden"] == 0


def test_totals():
    stats = _stats(RESULTS, bins=4)
    assert stats["n"] == 4 and stats["max_score"] == 4.0
    total = stats["total"]
    assert total["mean"] == 2.0 and total["median"] == 2.0
    assert total["std"] == pytest.approx((10 / 3) ** 0.5, abs=1e-4)  # sample std
    assert (total["min"], total["max"], total["mean_fraction"]) == (0.0, 4.0, 0.5)
    assert total["histogram"] == {"edges": [0.0, 1.0, 2.0, 3.0, 4.0], "counts": [1, 1, 0, 2]}
    assert stats["needs_review"] == {"submissions": 1, "questions": 1, "criteria": 1}


def test_facility_and_discrimination():
    q1, q2 = _stats(RESULTS)["questions"]
    assert (q1["id"], q1["facility"], q1["mean"]) == ("q1", 0.5, 1.0)
    # q1 = [2,2,0,0] against the rest [2,1,1,0]: r = 2 / sqrt(4 * 2)
    assert q1["discrimination"] == pytest.approx(0.7071, abs=1e-4)
    # top 27% of 4 = 1 student (rest 2 scores 2), bottom one (rest 0 scores 0): (2 - 0) / 2
    assert q1["discrimination_ul"] == 1.0
    assert q2["facility"] == 0.5 and q2["discrimination"] == pytest.approx(0.7071, abs=1e-4)
    assert q2["needs_review"] == 1 and q1["needs_review"] == 0


def test_criterion_hit_rates():
    q1, q2 = _stats(RESULTS)["questions"]
    assert [(c["id"], c["hit_rate"], c["partial_rate"]) for c in q1["criteria"]] == [
        ("a", 0.5, 0.0)
    ]
    b1, b2 = q2["criteria"]
    assert (b1["hit_rate"], b2["hit_rate"], b2["needs_review"]) == (0.75, 0.25, 1)


def test_partial_credit_and_unanswered():
    results = [simple(1, 0, 0), simple(2, 0, 0)]
    results[0]["questions"][1]["status"] = "unanswered"
    q1, q2 = _stats(results)["questions"]
    assert q1["criteria"][0]["partial_rate"] == 0.5 and q1["criteria"][0]["hit_rate"] == 0.5
    assert q2["answered"] == 1
    assert q1["discrimination"] is None  # n < 3: undefined, not a made-up number


def test_edge_cases():
    assert _stats([])["n"] == 0
    assert pearson([1, 1, 1], [1, 2, 3]) is None
    assert upper_lower_index([1, 0], [1, 0], 1.0) is None
    assert histogram([0, 5], 0, 0, 3)["counts"] == [2, 0, 0]


def test_html_report_is_self_contained_and_escaped():
    from grader.batches.report import render_html

    page = render_html(_stats(RESULTS), title="<script>alert(1)</script> exam", subtitle="batch b1")
    assert page.startswith("<!DOCTYPE html>")
    assert "<script>" not in page and "&lt;script&gt;" in page
    assert not re.search(r"(src|href)=\"(?!data:)", page)  # nothing fetched from anywhere
    images = re.findall(r'src="data:image/png;base64,([^"]+)"', page)
    assert len(images) == 4  # totals, items, and one criteria chart per question
    assert base64.b64decode(images[0]).startswith(b"\x89PNG")
    assert "0.71" in page  # the discrimination shows in the table


def test_html_report_without_results_or_plots():
    from grader.batches.report import render_html

    assert "No graded submissions" in render_html(_stats([]), title="t")
    assert "<img" not in render_html(_stats(RESULTS), title="t", plots=False)
