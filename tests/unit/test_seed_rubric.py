"""The seed exam's rubric (rubrics/dl-ws2324.yaml): it loads, its model answers score, and
targeted partial answers get the partial credit and feedback an instructor would give."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from grader.config import Settings
from grader.exams.loader import LoadedExam, load_exam
from grader.grading.core import DirectRunner, QuestionResult, grade

ROOT = Path(__file__).resolve().parents[2]
RUBRIC = ROOT / "rubrics" / "dl-ws2324.yaml"
POINTS = {
    "q1a": 4,
    "q1b": 4,
    "q2a": 4,
    "q2b": 6,
    "q3a": 3,
    "q3b": 4,
    "q3c": 4,
    "q4a": 4,
    "q4b": 6,
    "q5": 6,
}


@pytest.fixture(scope="module")
def machinery() -> tuple[LoadedExam, DirectRunner]:
    from grader.services.runtime import build_registry

    registry, _ = build_registry(Settings(text_checks=True))
    for kind in ("math", "text"):
        if kind not in registry:
            pytest.skip(f"the {kind} checker is not available")
    return load_exam(RUBRIC.read_text(encoding="utf-8"), registry), DirectRunner(registry)


def _question(machinery: tuple[LoadedExam, DirectRunner], qid: str, answer: str) -> QuestionResult:
    loaded, runner = machinery
    result = grade(loaded, {qid: answer}, runner)
    return next(q for q in result.questions if q.id == qid)


def _criterion(q: QuestionResult, cid: str) -> Any:
    return next(c for c in q.criteria if c.id == cid)


def test_rubric_loads_with_the_exam_points(machinery: tuple[LoadedExam, DirectRunner]) -> None:
    exam = machinery[0].exam
    assert {q.id: q.points for q in exam.questions} == POINTS
    assert [q.id for q in exam.questions] == list(POINTS)
    assert exam.max_score == 45
    kinds = {c.kind for q in exam.questions for c in q.criteria}
    assert {"math", "text", "choice"} <= kinds
    for q in exam.questions:
        assert q.model_answer.strip()
        for c in q.criteria:  # every criterion tells the student something when missed
            assert c.feedback.missed or c.kind == "text" or c.feedback.partial, (q.id, c.id)


@pytest.mark.slow  # the first text criteria encode their exemplars (~10 s on a busy machine)
def test_model_answers_score_at_least_90_percent(
    machinery: tuple[LoadedExam, DirectRunner],
) -> None:
    loaded, runner = machinery
    sheet = {q.id: q.model_answer for q in loaded.exam.questions}
    result = grade(loaded, sheet, runner)
    assert result.score >= 0.9 * result.max_score
    for q in result.questions:
        assert q.score >= 0.85 * q.max_score, q.id


def test_empty_sheet_scores_zero(machinery: tuple[LoadedExam, DirectRunner]) -> None:
    loaded, runner = machinery
    result = grade(loaded, {qid: "  " for qid in POINTS}, runner)
    assert result.score == 0
    assert all(q.status == "unanswered" for q in result.questions)
    assert not result.needs_review


def test_example_sheet_scores_partly(machinery: tuple[LoadedExam, DirectRunner]) -> None:
    loaded, runner = machinery
    sheet = json.loads((ROOT / "examples" / "seed_answers.json").read_text(encoding="utf-8"))
    assert set(sheet["answers"]) == set(POINTS)
    result = grade(loaded, sheet["answers"], runner)
    assert 0.4 * result.max_score <= result.score <= 0.9 * result.max_score


def test_q1a_weights_only_and_a_wrong_ratio(machinery: tuple[LoadedExam, DirectRunner]) -> None:
    q = _question(
        machinery,
        "q1a",
        "Weights only: A has 100D + 100K + 10000, B has 100D + 100K + 2100, "
        "so A has more, about 4 times as many.",
    )
    assert _criterion(q, "count-a").score == 0.5 and _criterion(q, "count-b").score == 0.5
    assert _criterion(q, "which").score == 1
    assert _criterion(q, "how-much").score == 0
    assert q.score == 2


def test_q1a_prose_numbers(machinery: tuple[LoadedExam, DirectRunner]) -> None:
    q = _question(
        machinery,
        "q1a",
        "The first network has ten thousand two hundred plus 100D plus 101K "
        "parameters, the second two thousand three hundred and twenty plus the same "
        "terms, so the first has seven thousand eight hundred eighty more.",
    )
    assert q.score == 4


def test_q2b_missing_w1_is_a_recognised_mistake(machinery: tuple[LoadedExam, DirectRunner]) -> None:
    q = _question(
        machinery,
        "q2b",
        "E = 1/N sum_n (w1 ln(x_n + w2) - t_n)^2, "
        "dE/dw2 = 2/N sum_n (w1 ln(x_n + w2) - t_n) / (x_n + w2), "
        "w2 <- w2 - eta * dE/dw2",
    )
    gradient = _criterion(q, "gradient")
    assert gradient.score == 0.5 and "w1" in gradient.feedback
    assert _criterion(q, "update-sign").score == 1.5
    assert 0.5 * 6 <= q.score < 6


def test_q2b_gradient_ascent_loses_the_sign(machinery: tuple[LoadedExam, DirectRunner]) -> None:
    q = _question(
        machinery,
        "q2b",
        "E = sum_n (w1 ln(x_n+w2) - t_n)^2, "
        "w2 <- w2 + eta * 2 sum_n (w1 ln(x_n+w2) - t_n) * w1/(x_n+w2)",
    )
    assert _criterion(q, "update-sign").score == 0
    assert _criterion(q, "gradient-full").score == 1


def test_q5_gaussian_noise_gets_nothing(machinery: tuple[LoadedExam, DirectRunner]) -> None:
    q = _question(
        machinery,
        "q5",
        "With Gaussian noise the negative log-likelihood is 1/(2σ²) Σ (t_i − y)² + "
        "const, so we minimise the squared error.",
    )
    assert q.score == 0


def test_q5_without_the_argument(machinery: tuple[LoadedExam, DirectRunner]) -> None:
    q = _question(
        machinery,
        "q5",
        "L(w) = Π_i 1/(2b) exp(−|t_i − y(x_i,w)|/b), so ln L = −M ln(2b) − (1/b) "
        "Σ_i |t_i − y(x_i,w)|. Maximising it means minimising Σ_i |t_i − y(x_i,w)|.",
    )
    assert _criterion(q, "argument").score == 0
    assert q.score == 4


def test_eval_exam_prints_the_contract_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], machinery: tuple[LoadedExam, DirectRunner]
) -> None:
    from grader.evaluation import exam_eval

    cases = tmp_path / "cases.jsonl"
    rows = [
        {
            "id": "a",
            "qid": "q3b",
            "answer": "O(L^2 D): long sequences need a lot of memory.",
            "gold": 1.0,
        },
        {"id": "b", "qid": "q3b", "answer": "It is fast.", "gold": 0.0},
    ]
    cases.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    assert exam_eval.main([str(RUBRIC), str(cases)]) == 0
    last = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert {"n", "mae", "spearman", "within_0_25", "flagged", "by_qid"} <= set(last)
    assert last["n"] == 2 and last["within_0_25"] == 1.0
    assert set(last["by_qid"]["q3b"]) >= {"n", "mae", "within_0_25", "flagged"}


def test_q1a_unsimplified_counts_with_biases(machinery: tuple[LoadedExam, DirectRunner]) -> None:
    q = _question(
        machinery,
        "q1a",
        "$P_A = 100(D+1) + 101 \\cdot 100 + 101K$, "
        "$P_B = 100(D+1) + 101 \\cdot 10 + 11 \\cdot 10 + 11 \\cdot 100 + 101K$; "
        "the first network has more.",
    )
    assert _criterion(q, "count-a").score == 1 and _criterion(q, "count-b").score == 1


def test_q4a_swapped_terms_get_no_term_credit(machinery: tuple[LoadedExam, DirectRunner]) -> None:
    q = _question(
        machinery,
        "q4a",
        "The KL divergence term measures the reconstruction error of the decoder, and the "
        "expectation term regularises the encoder towards a Gaussian.",
    )
    assert _criterion(q, "kl").score == 0 and _criterion(q, "reconstruction").score == 0
    assert q.score <= 0.25 * 4


def test_q3c_rnns_are_better_is_not_a_comparison(
    machinery: tuple[LoadedExam, DirectRunner],
) -> None:
    q = _question(
        machinery,
        "q3c",
        "RNNs are better than transformers because they have memory; RNNs are also parallel "
        "and transformers forget the context.",
    )
    assert _criterion(q, "parallel").score == 0 and _criterion(q, "long-range").score == 0
