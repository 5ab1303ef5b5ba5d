"""`grader fit credit`: the stretch from a score to credit (pure parts, synthetic data)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from grader.checks.text import scoring as tm
from grader.evaluation.credit_fit import (
    capped,
    exam_rows,
    figures,
    fit_short_ratio,
    fit_stretch,
    fragments,
    stretch,
)


def test_stretch_maps_linearly_and_clips() -> None:
    out = stretch(np.array([0.0, 0.2, 0.5, 0.8, 1.0]), 0.2, 0.8)
    assert out.tolist() == pytest.approx([0.0, 0.0, 0.5, 1.0, 1.0])


def test_fit_recovers_the_band_a_compressed_score_lives_in() -> None:
    # A model whose scores squeeze the credit into [0.3, 0.6]: right answers score ~0.6.
    rng = np.random.default_rng(0)
    targets = rng.choice([0.0, 0.5, 1.0], size=600)
    values = 0.3 + 0.3 * targets + rng.normal(0, 0.02, size=600)
    sources = np.array(["a"] * 300 + ["b"] * 300)
    lo, hi = fit_stretch(values, targets, sources)
    assert 0.25 <= lo <= 0.35 and 0.55 <= hi <= 0.65
    before = figures(values, targets, 0.0, 1.0)["mae"]
    after = figures(values, targets, lo, hi)["mae"]
    assert after < before / 4


def test_a_graded_source_keeps_its_ranking() -> None:
    # A scale source (five levels) whose scores keep rising beyond the 0/1 source's band:
    # clipping at the 0/1 source's optimum would tie its best answers, so the fit may not.
    rng = np.random.default_rng(1)
    binary = rng.choice([0.0, 1.0], size=400)
    scale = rng.choice([0.0, 0.25, 0.5, 0.75, 1.0], size=400)
    values = np.concatenate([0.4 + 0.1 * binary, 0.2 + 0.6 * scale]) + rng.normal(0, 0.01, 800)
    targets = np.concatenate([binary, scale])
    sources = np.array(["bin"] * 400 + ["scale"] * 400)
    lo, hi = fit_stretch(values, targets, sources)
    m = sources == "scale"
    raw = np.corrcoef(values[m], targets[m])[0, 1]
    assert np.corrcoef(stretch(values[m], lo, hi), targets[m])[0, 1] >= raw - 0.02


def test_exam_rows_take_only_single_text_criterion_questions(tmp_path: Path) -> None:
    exam = tmp_path / "exams" / "demo"
    exam.mkdir(parents=True)
    (exam / "exam.yaml").write_text(
        json.dumps(
            {
                "id": "demo",
                "questions": [
                    {
                        "id": "q1",
                        "points": 1,
                        "criteria": [
                            {
                                "id": "a",
                                "points": 1,
                                "check": {"kind": "text", "exemplars": ["Heat rises."]},
                            }
                        ],
                    },
                    {
                        "id": "q2",
                        "points": 2,
                        "criteria": [
                            {"id": "a", "points": 1, "check": {"kind": "text", "exemplars": ["x"]}},
                            {"id": "b", "points": 1, "check": {"kind": "keywords"}},
                        ],
                    },
                ],
            }
        ),
        encoding="utf-8",
    )
    (exam / "gold.jsonl").write_text(
        '{"id": "s1", "qid": "q1", "answer": "Warm air goes up.", "gold": 1.0}\n'
        '{"id": "s1", "qid": "q2", "answer": "x", "gold": 0.5}\n',
        encoding="utf-8",
    )
    rows = exam_rows(tmp_path / "exams")
    assert [(r.qid, r.reference, r.score) for r in rows] == [("demo:q1", ["Heat rises."], 1.0)]


def test_the_checker_uses_the_fitted_stretches() -> None:
    lo, hi = tm.ZERO_STRETCH
    assert tm.zero_shot_fraction(lo) == 0.0 and tm.zero_shot_fraction(hi) == 1.0
    lo, hi = tm.SHOT_STRETCH
    assert tm.shot_fraction(lo) == 0.0 and tm.shot_fraction(hi) == 1.0
    assert tm.shot_fraction((lo + hi) / 2) == pytest.approx(0.5)


def test_short_ratio_fit_caps_fragments_only_as_far_as_real_answers_allow() -> None:
    # Real answers: credit right whatever their length; fragments: short and credited 1.
    real_len = np.linspace(0.05, 1.0, 200)
    real_target = np.ones(200)
    frag_len = np.full(50, 0.1)
    credit = np.ones(250)
    len_ratio = np.concatenate([real_len, frag_len])
    targets = np.concatenate([real_target, np.zeros(50)])
    sources = np.array(["real"] * 200 + ["fragments"] * 50)
    ratio = fit_short_ratio(credit, len_ratio, targets, sources)
    assert ratio > 0  # the fragments pull a cap in
    c = capped(credit, len_ratio, ratio)
    assert c[200:].max() < 0.5
    assert fit_short_ratio(credit[:200], len_ratio[:200], targets[:200], sources[:200]) == 0.0


def test_fragments_are_three_content_words_of_the_reference() -> None:
    from grader.evaluation.text_eval import Row

    row = Row("a", "src", "q1", "Why?", ["The gradient of the sigmoid vanishes for large inputs."],
              "x", 1.0, 1.0)  # fmt: skip
    (frag,) = fragments([row, row], seed=0)
    assert frag.score == 0.0 and frag.qid == "q1"
    assert len(frag.answer.rstrip(".").split()) == 3
    assert set(frag.answer.rstrip(".").lower().split()) <= set(row.reference[0].lower().split())


def test_dev_rows_reads_text_dev_and_names_the_files(tmp_path: Path) -> None:
    from grader.evaluation.credit_fit import dev_rows

    with pytest.raises(FileNotFoundError):
        dev_rows(tmp_path)
    row = {
        "id": "a1", "source": "mohler", "qid": "q1", "question": "Why?",
        "reference": ["Because."], "answer": "Because so.", "score": 4, "max_score": 5,
    }  # fmt: skip
    (tmp_path / "text_dev.jsonl").write_text(json.dumps(row) + "\n")
    rows, files = dev_rows(tmp_path)
    assert [r.id for r in rows] == ["a1"] and files == [tmp_path / "text_dev.jsonl"]
