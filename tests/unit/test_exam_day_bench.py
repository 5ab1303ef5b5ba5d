"""bench/exam_day.py's pure parts: its options, its sheets and how it counts the day."""

from __future__ import annotations

import random

import pytest

from bench.exam_day import (
    Memory,
    Row,
    Sent,
    make_sheets,
    parse_args,
    percentile,
    summarise,
    verdict,
)


def test_options_and_their_defaults() -> None:
    args = parse_args([])
    assert (args.students, args.window, args.workers, args.broker) == (300, 60.0, [1, 2], "redis")
    args = parse_args(["--students", "30", "--workers", "2", "--broker", "embedded"])
    assert (args.students, args.workers, args.broker) == (30, [2], "embedded")
    for bad in (
        ["--workers", "0"],
        ["--workers", "a,b"],
        ["--broker", "kafka"],
        ["--students", "0"],
    ):
        with pytest.raises(SystemExit):
            parse_args(bad)


def test_each_student_gets_an_answer_to_every_question_drawn_from_the_pool() -> None:
    pool = {"q1": ["a", "b", "c"], "q2": ["x", "y"]}
    sheets = make_sheets(pool, 50, random.Random(1))
    assert len({s["student_id"] for s in sheets}) == 50
    assert all(
        s["answers"]["q1"] in pool["q1"] and s["answers"]["q2"] in pool["q2"] for s in sheets
    )
    assert len({tuple(s["answers"].values()) for s in sheets}) > 1  # varied per student


def test_percentile_is_nearest_rank() -> None:
    values = [float(v) for v in range(1, 21)]
    assert percentile(values, 50) == 10.0
    assert percentile(values, 95) == 19.0
    assert percentile([], 95) is None


def test_lost_twice_and_timings_are_counted_from_sends_and_rows() -> None:
    sent = [
        Sent("s1", 100.0, 202, "a"),
        Sent("s2", 101.0, 202, "b"),
        Sent("s3", 102.0, 202, "c"),  # accepted, never graded: lost
        Sent("s4", 103.0, 429, None),  # refused: not lost, reported as rejected
    ]
    rows = [
        Row("a", "graded", 102.0, 1, 1),
        Row("b", "graded", 105.0, 2, 2),  # two stored grades: graded twice
        Row("c", "queued", None, 0, 0),
    ]
    out = summarise(sent, rows, Memory({7: 500.0, 8: 510.0}, {7: 80.0, 8: 90.0}, 3.0, 0.9))
    assert (out["accepted"], out["graded"], out["lost"], out["graded_twice"]) == (3, 2, 1, 1)
    assert out["rejected"] == {"429": 1} and out["redelivered"] == 1
    assert out["p50_s"] == 2.0 and out["p95_s"] == 4.0
    assert out["sheets_per_s"] == 0.4  # 2 graded from the first send (100) to the last grade (105)
    assert out["rss_mb"] == [500, 510] and out["uss_mb"] == [80, 90]
    assert out["worker_cpu_s_per_sheet"] == 1.5 and out["machine_cpu_busy_pct"] == 90


def test_verdict_checks_the_goals_against_the_runs() -> None:
    run = {"lost": 0, "graded_twice": 0, "p95_s": 4.0, "rss_mb": [590], "uss_mb": [90]}
    out = verdict(300, {"1": {**run, "sheets_per_s": 2.0}, "2": {**run, "sheets_per_s": 3.0}}, 60.0)
    assert out["speedup"] == 1.5 and out["lost"] == 0 and out["graded_twice"] == 0
    assert out["window_s"] == 60.0  # the figures say which burst they measured
    goals = out["goals"]
    assert goals["no_lost"] and goals["none_graded_twice"] and goals["p95_2_workers_le_10_s"]
    assert goals["speedup_ge_1_6"] is False
    assert goals["worker_rss_le_300_mb"] is False and goals["worker_uss_le_300_mb"] is True
    lossy = verdict(30, {"2": {**run, "lost": 1, "sheets_per_s": 3.0}}, 10.0)
    assert lossy["speedup"] is None and lossy["goals"]["no_lost"] is False
