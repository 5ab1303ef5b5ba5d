"""The pages' pure helpers: evidence marking, formulas for readers, SVG plot geometry."""

from __future__ import annotations

from grader.web.plots import histogram_chart, items_chart
from grader.web.render import Piece, highlight, readable_formula


def test_highlight_marks_evidence_case_insensitively_and_keeps_all_text() -> None:
    pieces = highlight("The Answer is ReLU, fast", ["relu", "“fast”"])
    assert "".join(p.text for p in pieces) == "The Answer is ReLU, fast"
    assert [p.text for p in pieces if p.marked] == ["ReLU", "fast"]


def test_highlight_marks_nothing_it_cannot_find() -> None:
    assert highlight("abc", ["zzz", None, ""]) == [Piece("abc", False)]
    assert highlight("", ["x"]) == [Piece("", False)]


def test_hostile_text_is_only_cut_into_pieces() -> None:
    text = "<script>alert(1)</script><img src=x onerror=alert(2)>"
    assert "".join(p.text for p in highlight(text, ["script"])) == text


def test_readable_formula() -> None:
    assert readable_formula("2*x^2 + sqrt(alpha) <= eta*x^(-1)") == "2·x² + √(α) ≤ η·x⁻¹"
    assert readable_formula("x^(n+1) + y^2.5") == "x^(n+1) + y^2.5"  # left as written
    assert readable_formula("w2 <- w2 - eta*G") == "w2 ← w2 - η·G"


def test_histogram_and_items_geometry() -> None:
    chart = histogram_chart({"edges": [0, 1, 2], "counts": [3, 1]}, "t", "points")
    assert len(chart.bars) == 2 and chart.bars[0].h > chart.bars[1].h > 0
    assert all(chart.left <= b.x and b.x + b.w <= chart.right for b in chart.bars)
    assert histogram_chart({"edges": [0, 1], "counts": [1, 2]}, "t", "x").bars == []
    items = items_chart(
        [{"id": "<q>", "facility": 1.0, "discrimination": -1.0}, {"id": "q2", "facility": None}]
    )
    (p,) = items.points
    assert (p.x, p.y, p.label) == (items.right, items.bottom, "<q>")
