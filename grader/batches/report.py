"""A self-contained HTML statistics report: one file, plots embedded as base64 PNG, no script.

matplotlib is used through `Figure` + the Agg canvas directly (never pyplot), so rendering
keeps no global state and is safe inside a web process or a worker thread.
"""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem auto;
max-width:70rem;color:#1b1b1b;padding:0 1rem}
h1{font-size:1.6rem;margin-bottom:.2rem}h2{font-size:1.2rem;margin-top:2rem}
.meta{color:#555;margin-top:0}
table{border-collapse:collapse;margin:.5rem 0 1rem;font-size:.9rem}
th,td{border:1px solid #ccc;padding:.25rem .5rem;text-align:right}
th{background:#f2f2f2}td.l,th.l{text-align:left}
.cards{display:flex;gap:1rem;flex-wrap:wrap}
.card{border:1px solid #ddd;border-radius:.4rem;padding:.6rem 1rem;min-width:8rem}
.card b{display:block;font-size:1.4rem}
.warn{color:#a40000}img{max-width:100%}
"""


def _png(fig: Figure) -> str:
    buf = io.BytesIO()
    FigureCanvasAgg(fig).print_png(buf)
    return (
        '<img alt="" src="data:image/png;base64,' + base64.b64encode(buf.getvalue()).decode() + '">'
    )


def _fmt(value: Any, digits: int = 2) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return html.escape(str(value))


def plot_histogram(hist: Mapping[str, Any], title: str, xlabel: str) -> str:
    fig = Figure(figsize=(6.4, 3.0), dpi=100, layout="constrained")
    ax = fig.add_subplot()
    edges, counts = hist["edges"], hist["counts"]
    widths = [b - a for a, b in zip(edges[:-1], edges[1:], strict=True)]
    ax.bar(edges[:-1], counts, width=widths, align="edge", color="#3b6ea5", edgecolor="white")
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("submissions")
    return _png(fig)


def plot_items(questions: Sequence[Mapping[str, Any]]) -> str:
    """Facility and discrimination side by side per question."""
    fig = Figure(figsize=(6.4, 3.2), dpi=100, layout="constrained")
    ax = fig.add_subplot()
    ids = [str(q["id"]) for q in questions]
    xs = list(range(len(ids)))
    ax.bar(
        [x - 0.2 for x in xs],
        [q["facility"] or 0.0 for q in questions],
        width=0.4,
        label="facility",
        color="#3b6ea5",
    )
    ax.bar(
        [x + 0.2 for x in xs],
        [q["discrimination"] or 0.0 for q in questions],
        width=0.4,
        label="discrimination",
        color="#d98b2b",
    )
    ax.axhline(0.2, color="#999", linewidth=0.8, linestyle="--")
    ax.set_xticks(xs, ids, rotation=45 if len(ids) > 8 else 0)
    ax.set_ylim(min(-0.2, *(q["discrimination"] or 0.0 for q in questions)), 1.05)
    ax.legend(loc="upper right", fontsize="small")
    ax.set_title("Questions: facility and discrimination")
    return _png(fig)


def plot_criteria(question: Mapping[str, Any]) -> str:
    crits = question["criteria"]
    fig = Figure(figsize=(6.4, 0.5 + 0.35 * len(crits)), dpi=100, layout="constrained")
    ax = fig.add_subplot()
    ids = [str(c["id"]) for c in crits]
    ys = list(range(len(ids)))
    ax.barh(ys, [c["hit_rate"] or 0.0 for c in crits], color="#3b6ea5", label="full")
    ax.barh(
        ys,
        [c["partial_rate"] or 0.0 for c in crits],
        left=[c["hit_rate"] or 0.0 for c in crits],
        color="#9dbbdd",
        label="partial",
    )
    ax.set_yticks(ys, ids)
    ax.invert_yaxis()
    ax.set_xlim(0, 1)
    ax.set_xlabel("share of submissions")
    ax.legend(loc="lower right", fontsize="small")
    return _png(fig)


def _table(header: Sequence[str], rows: Sequence[Sequence[Any]], left: int = 1) -> str:
    def cell(tag: str, i: int, value: Any) -> str:
        cls = ' class="l"' if i < left else ""
        return f"<{tag}{cls}>{value}</{tag}>"

    head = "".join(cell("th", i, html.escape(h)) for i, h in enumerate(header))
    body = "".join(
        "<tr>" + "".join(cell("td", i, _fmt(v)) for i, v in enumerate(row)) + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _question_section(q: Mapping[str, Any], plots: bool) -> str:
    parts = [f"<h3>{html.escape(str(q['id']))}</h3>"]
    warn = ""
    if q["discrimination"] is not None and q["discrimination"] < 0.2:
        warn = '<p class="warn">Low discrimination: check the rubric or the question.</p>'
    parts.append(warn)
    parts.append(
        _table(
            ["criterion", "points", "mean", "hit rate", "partial", "needs review", "invalid"],
            [
                [
                    c["id"],
                    c["max_score"],
                    c["mean"],
                    c["hit_rate"],
                    c["partial_rate"],
                    c["needs_review"],
                    c["invalid"],
                ]
                for c in q["criteria"]
            ],
        )
    )
    if plots and q["criteria"]:
        parts.append(plot_criteria(q))
    return "\n".join(parts)


def render_html(
    stats: Mapping[str, Any], *, title: str, subtitle: str = "", plots: bool = True
) -> str:
    """The report as one HTML document (`stats` from `grader.batches.stats.compute_stats`)."""
    total, review = stats["total"], stats["needs_review"]
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    meta = html.escape(" · ".join(p for p in (subtitle, f"generated {when}") if p))
    cards = [
        ("submissions", stats["n"]),
        ("mean", total["mean"]),
        ("median", total["median"]),
        ("std", total["std"]),
        ("max score", stats["max_score"]),
        ("need review", review["submissions"]),
    ]
    out = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{html.escape(title)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{html.escape(title)}</h1><p class='meta'>{meta}</p>",
        '<div class="cards">'
        + "".join(f'<div class="card">{html.escape(k)}<b>{_fmt(v)}</b></div>' for k, v in cards)
        + "</div>",
    ]
    if not stats["n"]:
        out.append("<p>No graded submissions yet.</p></body></html>")
        return "\n".join(out)
    out.append("<h2>Total scores</h2>")
    if plots:
        out.append(plot_histogram(total["histogram"], "Distribution of total scores", "score"))
    out.append("<h2>Questions</h2>")
    questions = stats["questions"]
    out.append(
        _table(
            [
                "question",
                "points",
                "n",
                "answered",
                "mean",
                "median",
                "std",
                "facility",
                "discrimination",
                "upper-lower",
                "needs review",
                "overridden",
            ],
            [
                [
                    q["id"],
                    q["max_score"],
                    q["n"],
                    q["answered"],
                    q["mean"],
                    q["median"],
                    q["std"],
                    q["facility"],
                    q["discrimination"],
                    q["discrimination_ul"],
                    q["needs_review"],
                    q["overridden"],
                ]
                for q in questions
            ],
        )
    )
    if plots and questions:
        out.append(plot_items(questions))
    out.append(
        "<p>Facility = mean score / points. Discrimination = correlation of the question "
        "score with the rest of the total (below 0.2: the question separates strong "
        "and weak students poorly).</p>"
    )
    out.append("<h2>Criteria</h2>")
    out.extend(_question_section(q, plots) for q in questions)
    out.append("</body></html>")
    return "\n".join(out)
