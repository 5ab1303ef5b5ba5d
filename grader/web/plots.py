"""Plots drawn on the server as SVG geometry (pure): the templates turn these shapes into
`<rect>`, `<circle>` and `<text>` elements, escaping every label like any other text."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

WIDTH, HEIGHT = 360, 180
PAD_L, PAD_B, PAD_T, PAD_R = 36, 28, 10, 10


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    w: float
    h: float
    title: str  # tooltip: the bin and its count


@dataclass(frozen=True)
class Point:
    x: float
    y: float
    label: str
    title: str


@dataclass(frozen=True)
class Tick:
    x: float
    y: float
    label: str


@dataclass
class Chart:
    title: str
    width: int = WIDTH
    height: int = HEIGHT
    bars: list[Bar] = field(default_factory=list)
    points: list[Point] = field(default_factory=list)
    xticks: list[Tick] = field(default_factory=list)
    yticks: list[Tick] = field(default_factory=list)
    xlabel: str = ""
    ylabel: str = ""
    # Plot area, for the axes and reference lines.
    left: float = PAD_L
    top: float = PAD_T
    right: float = WIDTH - PAD_R
    bottom: float = HEIGHT - PAD_B
    hlines: list[float] = field(default_factory=list)  # y positions of reference lines


def _fmt(v: float) -> str:
    return f"{v:.2f}".rstrip("0").rstrip(".") if v != int(v) else str(int(v))


def histogram_chart(hist: Mapping[str, Any], title: str, xlabel: str) -> Chart:
    """Bars of an equal-width histogram (`{"edges": [...], "counts": [...]}`)."""
    chart = Chart(title, xlabel=xlabel, ylabel="answers")
    counts = [int(c) for c in hist.get("counts", [])]
    edges = [float(e) for e in hist.get("edges", [])]
    if not counts or len(edges) != len(counts) + 1:
        return chart
    top = max(max(counts), 1)
    span_w = chart.right - chart.left
    span_h = chart.bottom - chart.top
    bw = span_w / len(counts)
    for i, c in enumerate(counts):
        h = span_h * c / top
        chart.bars.append(
            Bar(
                round(chart.left + i * bw + 1, 1),
                round(chart.bottom - h, 1),
                round(max(bw - 2, 1), 1),
                round(h, 1),
                f"{_fmt(edges[i])}–{_fmt(edges[i + 1])}: {c}",
            )
        )
    step = max(1, len(edges) // 5)
    for i in range(0, len(edges), step):
        chart.xticks.append(Tick(round(chart.left + i * bw, 1), chart.bottom + 14, _fmt(edges[i])))
    for v in sorted({0, top // 2, top}):
        chart.yticks.append(
            Tick(chart.left - 4, round(chart.bottom - span_h * v / top + 4, 1), str(v))
        )
    return chart


def items_chart(questions: Sequence[Mapping[str, Any]]) -> Chart:
    """Facility (x, 0..1) against discrimination (y, -1..1), one labelled point per question.
    Questions that are too easy, too hard or that do not discriminate stand out."""
    chart = Chart("Facility and discrimination", xlabel="facility", ylabel="discrimination")
    span_w = chart.right - chart.left
    span_h = chart.bottom - chart.top

    def y_of(d: float) -> float:
        return round(chart.bottom - span_h * (d + 1) / 2, 1)

    for q in questions:
        f, d = q.get("facility"), q.get("discrimination")
        if f is None:
            continue
        dd = 0.0 if d is None else float(d)
        chart.points.append(
            Point(
                round(chart.left + span_w * float(f), 1),
                y_of(dd),
                str(q["id"]),
                f"{q['id']}: facility {float(f):.2f}, discrimination "
                + ("n/a" if d is None else f"{dd:.2f}"),
            )
        )
    for v in (0.0, 0.5, 1.0):
        chart.xticks.append(Tick(round(chart.left + span_w * v, 1), chart.bottom + 14, _fmt(v)))
    for v in (-1.0, 0.0, 1.0):
        chart.yticks.append(Tick(chart.left - 4, y_of(v) + 4, _fmt(v)))
    chart.hlines.append(y_of(0.0))
    return chart
