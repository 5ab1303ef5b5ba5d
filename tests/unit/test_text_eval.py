"""`grader eval text`: protocol, metrics and the last-line JSON, with a model-free encoder."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import grader.embed
from grader.evaluation import text_eval
from grader.evaluation.text_metrics import macro_f1, pearson, qwk, spearman

from .test_text_checker import FakeEncoder

ROWS = (
    [
        {
            "id": f"q1.{i}",
            "source": "mohler",
            "qid": "q1",
            "question": "What does a stack do?",
            "reference": ["A stack stores items last in first out."],
            "answer": a,
            "score": s,
            "max_score": 5,
        }
        for i, (a, s) in enumerate(
            [
                ("A stack stores items last in first out.", 5),
                ("Items go in and the last one comes out first.", 4),
                ("It is a list.", 1),
                ("Last in first out storage of items.", 5),
                ("", 0),
                ("A queue of things, first in first out.", 1),
                ("Stores items; LIFO order.", 4),
            ]
        )
    ]
    + [
        {
            "id": f"b.{i}",
            "source": "beetle",
            "qid": "b",
            "question": "Why is the bulb off?",
            "reference": ["The bulb is not in a closed path.", "The circuit is open."],
            "answer": a,
            "score": s,
            "max_score": 1,
        }
        for i, (a, s) in enumerate(
            [
                ("The bulb is not in a closed path", 1),
                ("the circuit is open", 1),
                ("the battery is dead", 0),
                ("It is in a closed path", 0),
                ("no closed path with the battery", 1),
                ("I don't know", 0),
            ]
        )
    ]
    + [
        {
            "id": "noref.1",
            "source": "other",
            "qid": "n",
            "question": "?",
            "reference": [],
            "answer": "something",
            "score": 1,
            "max_score": 1,
        },
        {
            "id": "noref.2",
            "source": "other",
            "qid": "n",
            "question": "?",
            "reference": [],
            "answer": "something else",
            "score": 0,
            "max_score": 1,
        },
    ]
)


@pytest.fixture()
def data_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "t.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in ROWS) + "\n", encoding="utf-8")
    monkeypatch.setattr(grader.embed, "load_encoder", lambda *a, **k: FakeEncoder())
    return path


@pytest.mark.parametrize("shots", [0, 2])
def test_last_line_is_the_headline_json(
    data_file: Path, shots: int, capsys: pytest.CaptureFixture[str]
) -> None:
    assert text_eval.main([str(data_file), "--shots", str(shots)]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    result = json.loads(out[-1])
    assert result["shots"] == shots
    assert {"n", "pearson", "spearman", "qwk", "rmse", "by_source"} <= set(result)
    assert "macro_f1" in result["by_source"]["beetle"]
    assert "zero_shot" in result["by_source"]["mohler"] and "naive" in result["by_source"]["mohler"]
    # the shots are never scored: n shrinks by k per question (three questions here)
    assert result["n"] == len(ROWS) - 3 * shots
    assert any("naive" in line for line in out[:-1])


def test_shots_are_deterministic_and_never_scored() -> None:
    rows = text_eval.read_rows_from_dicts(ROWS[:7])
    shots, todo = text_eval.pick_shots(rows, 3, seed=1)
    again, _ = text_eval.pick_shots(list(reversed(rows)), 3, seed=1)
    assert [r.id for r in shots] == [r.id for r in again]
    assert not {r.id for r in shots} & {r.id for r in todo}


def test_missing_file(tmp_path: Path) -> None:
    assert text_eval.main([str(tmp_path / "nope.jsonl")]) == 2


def test_metrics() -> None:
    g = np.array([0.0, 1.0, 2.0, 3.0])
    assert pearson(g, g * 2 + 1) == pytest.approx(1.0)
    assert spearman(g, g**3) == pytest.approx(1.0)
    assert qwk(g, g, 1.0) == pytest.approx(1.0)
    assert macro_f1(
        np.array([0.0, 1.0, 1.0, 0.0]), np.array([0.0, 1.0, 0.0, 0.0])
    ) == pytest.approx(0.7333, abs=1e-3)
    assert pearson(g, np.ones(4)) == 0.0


def test_more_shots_than_answers(data_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert text_eval.main([str(data_file), "--shots", "50"]) == 0
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1])["n"] == 0
