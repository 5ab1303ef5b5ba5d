"""The seed exam's rubric (rubrics/dl-ws2324.yaml): it is written the way rubrics/README.md
teaches, its precise criteria give the model answers full credit and the classic mistakes
their own feedback, and (with the text model) the model answers and the README tour sheet
grade as they should.

Most tests replace the `text` checker by a stub that gives no credit, so they exercise the
math, keywords, choice and regex criteria without loading the encoder."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, ClassVar

import pytest
import yaml

from grader.checks.base import BaseChecker, CheckResult, CheckSpec
from grader.checks.text.checker import TextSpec
from grader.config import Settings
from grader.exams.loader import LoadedExam, load_exam
from grader.grading.core import CriterionResult, DirectRunner, QuestionResult, grade

ROOT = Path(__file__).resolve().parents[2]
RUBRIC = ROOT / "rubrics" / "dl-ws2324.yaml"
EXAMPLE = ROOT / "examples" / "seed_answers.json"
DEV = ROOT.parent / "shared" / "eval" / "seed_exam_dev.jsonl"
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
Machinery = tuple[LoadedExam, DirectRunner]


class NoCreditText(BaseChecker[TextSpec]):
    """Stands in for the text checker: validates the spec, gives nothing, is sure of it."""

    kind: ClassVar[str] = "text"
    spec_model: ClassVar[type[CheckSpec]] = TextSpec

    def check(self, spec: TextSpec, answer: str) -> CheckResult:
        return CheckResult(0.0)


@pytest.fixture(scope="module")
def raw() -> dict[str, Any]:
    data = yaml.safe_load(RUBRIC.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


@pytest.fixture(scope="module")
def precise() -> Machinery:
    """The rubric with every checker but `text` (which gives 0): no model is loaded."""
    from grader.services.runtime import build_registry

    registry, _ = build_registry(Settings(text_checks=False))
    if "math" not in registry:
        pytest.skip("the math checker is not available")
    registry.register(NoCreditText())
    return load_exam(RUBRIC.read_text(encoding="utf-8"), registry), DirectRunner(registry)


@pytest.fixture(scope="module")
def full() -> Machinery:
    from grader.services.runtime import build_registry

    registry, _ = build_registry(Settings(text_checks=True))
    for kind in ("math", "text"):
        if kind not in registry:
            pytest.skip(f"the {kind} checker is not available")
    return load_exam(RUBRIC.read_text(encoding="utf-8"), registry), DirectRunner(registry)


def _question(machinery: Machinery, qid: str, answer: str) -> QuestionResult:
    loaded, runner = machinery
    result = grade(loaded, {qid: answer}, runner)
    return next(q for q in result.questions if q.id == qid)


def _criterion(q: QuestionResult, cid: str) -> CriterionResult:
    return next(c for c in q.criteria if c.id == cid)


def _criteria(raw: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [(q["id"], c) for q in raw["questions"] for c in q["criteria"]]


# -- how the rubric is written ------------------------------------------------------------


def test_rubric_loads_with_the_exam_points(precise: Machinery) -> None:
    exam = precise[0].exam
    assert {q.id: q.points for q in exam.questions} == POINTS
    assert [q.id for q in exam.questions] == list(POINTS)
    assert exam.max_score == 45
    kinds = {c.kind for q in exam.questions for c in q.criteria}
    assert {"math", "text", "choice", "keywords"} <= kinds
    for q in exam.questions:
        assert q.model_answer.strip(), q.id


def test_every_criterion_says_what_was_met_and_missed(raw: dict[str, Any]) -> None:
    for qid, c in _criteria(raw):
        feedback = c.get("feedback") or {}
        assert feedback.get("met", "").strip(), (qid, c["id"])
        assert feedback.get("missed", "").strip(), (qid, c["id"])


def test_regex_is_a_minor_test(raw: dict[str, Any]) -> None:
    """Issue 11: regex only where a pattern is the natural way to say it, <= 15% of the
    points, no pattern over 200 characters."""
    regex_points = 0.0
    for _, c in _criteria(raw):
        for check in (c["check"], c.get("fallback") or {}):
            if check.get("kind") == "regex":
                assert len(check["pattern"]) <= 200, c["id"]
        if "regex" in (c["check"]["kind"], (c.get("fallback") or {}).get("kind")):
            regex_points += c["points"]
    assert regex_points <= 0.15 * 45


def test_text_criteria_carry_the_instructors_evidence(raw: dict[str, Any]) -> None:
    """Explanations are `text` criteria with exemplars and graded examples that span the
    scale (a full answer and a wrong one at least), and the prompt to spot restatements."""
    texts = [(qid, c) for qid, c in _criteria(raw) if c["check"]["kind"] == "text"]
    assert len(texts) >= 10
    for qid, c in texts:
        check = c["check"]
        assert check["exemplars"], (qid, c["id"])
        scores = [e["score"] for e in check["examples"]]
        assert len(scores) >= 3 and max(scores) == 1 and min(scores) == 0, (qid, c["id"])
        assert check["question"].strip() and check["description"].strip(), (qid, c["id"])


def test_numbers_are_not_judged_by_meaning(raw: dict[str, Any]) -> None:
    """A keywords label of MEANING_MIN_WORDS words or more is also met by meaning; a scorer
    of meaning cannot tell 10200 from 10000, so the groups of numbers keep short labels."""
    from grader.checks.keywords import MEANING_MIN_WORDS
    from grader.checks.text.words import words

    numeric = {("q1a", "count-a"), ("q1a", "count-b"), ("q1a", "how-much"), ("q1b", "bound")}
    numeric |= {("q3b", "times-d")}
    for qid, c in _criteria(raw):
        if (qid, c["id"]) not in numeric:
            continue
        for check in (c["check"], c.get("fallback") or {}):
            for group in check.get("groups", []):
                assert len(words(group["label"])) < MEANING_MIN_WORDS, (qid, c["id"])


def _sentences(text: str) -> list[str]:
    return [s.strip() for s in re.split(r"(?<=[.!?])\s+|\n", text) if len(s.strip()) >= 40]


def test_no_dev_answer_is_in_the_rubric() -> None:
    """The rubric's exemplars and examples are the instructor's own, never a dev answer."""
    if not DEV.exists():
        pytest.skip("../shared/eval/seed_exam_dev.jsonl is not available")
    rubric = " ".join(RUBRIC.read_text(encoding="utf-8").split()).casefold()
    for line in DEV.read_text(encoding="utf-8").splitlines():
        answer = json.loads(line)["answer"]
        for sentence in _sentences(answer):
            assert " ".join(sentence.split()).casefold() not in rubric, sentence


# -- the precise criteria (math, keywords, choice, regex) ---------------------------------


def test_model_answers_meet_every_precise_criterion(precise: Machinery) -> None:
    loaded, runner = precise
    sheet = {q.id: q.model_answer for q in loaded.exam.questions}
    result = grade(loaded, sheet, runner)
    kinds = {(q.id, c.id): c.kind for q in loaded.exam.questions for c in q.criteria}
    for q in result.questions:
        for c in q.criteria:
            if kinds[q.id, c.id] != "text":
                assert c.score == c.max_score, (q.id, c.id, c.feedback)


def test_empty_sheet_scores_zero(precise: Machinery) -> None:
    loaded, runner = precise
    result = grade(loaded, {qid: "  " for qid in POINTS}, runner)
    assert result.score == 0
    assert all(q.status == "unanswered" for q in result.questions)
    assert not result.needs_review


def test_q1a_weights_only_and_a_wrong_ratio(precise: Machinery) -> None:
    q = _question(
        precise,
        "q1a",
        "Weights only: A has 100D + 100K + 10000, B has 100D + 100K + 2100, "
        "so A has more, about 4 times as many.",
    )
    assert _criterion(q, "count-a").score == 0.5 and _criterion(q, "count-b").score == 0.5
    assert "bias" in _criterion(q, "count-a").feedback
    assert _criterion(q, "which").score == 1
    assert _criterion(q, "how-much").score == 0
    assert q.score == 2


def test_q1a_prose_numbers(precise: Machinery) -> None:
    q = _question(
        precise,
        "q1a",
        "The first network has ten thousand two hundred plus 100D plus 101K "
        "parameters, the second two thousand three hundred and twenty plus the same "
        "terms, so the first has seven thousand eight hundred eighty more.",
    )
    assert q.score == 4


def test_q1a_unsimplified_counts_with_biases(precise: Machinery) -> None:
    q = _question(
        precise,
        "q1a",
        "$P_A = 100(D+1) + 101 \\cdot 100 + 101K$, "
        "$P_B = 100(D+1) + 101 \\cdot 10 + 11 \\cdot 10 + 11 \\cdot 100 + 101K$; "
        "the first network has more.",
    )
    assert _criterion(q, "count-a").score == 1 and _criterion(q, "count-b").score == 1


def test_q1a_the_wrong_network(precise: Machinery) -> None:
    q = _question(precise, "q1a", "Network B has more parameters because it is deeper.")
    assert q.score == 0


def test_q2b_missing_w1_is_a_recognised_mistake(precise: Machinery) -> None:
    q = _question(
        precise,
        "q2b",
        "E = 1/N sum_n (w1 ln(x_n + w2) - t_n)^2, "
        "dE/dw2 = 2/N sum_n (w1 ln(x_n + w2) - t_n) / (x_n + w2), "
        "w2 <- w2 - eta * dE/dw2",
    )
    gradient = _criterion(q, "gradient")
    assert 0 < gradient.score < gradient.max_score and "w1" in gradient.feedback
    assert _criterion(q, "loss").score == 1 and _criterion(q, "update").score == 1.5


def test_q2b_gradient_ascent_loses_the_update(precise: Machinery) -> None:
    q = _question(
        precise,
        "q2b",
        "E = sum_n (w1 ln(x_n+w2) - t_n)^2, "
        "w2 <- w2 + eta * 2 sum_n (w1 ln(x_n+w2) - t_n) * w1/(x_n+w2)",
    )
    assert _criterion(q, "update").score == 0
    assert "ascent" in _criterion(q, "update").feedback
    assert _criterion(q, "gradient").score >= 1.5  # the sign error is the update's


@pytest.mark.parametrize(
    "update",
    [
        "w2 <- w2 - eta * dE/dw2",
        "w2_new = w2_old - η ∂E/∂w2",
        r"$w_2^{(t+1)} = w_2^{(t)} - \eta \frac{\partial E}{\partial w_2}$",
        "w2 -= lr * grad",
        # the residual written t - y: a plus sign is descent here (the math fallback)
        "w2 := w2 + eta * sum_n (t_n - w1 ln(x_n+w2)) * w1/(x_n+w2)",
    ],
)
def test_q2b_update_rules_written_many_ways(precise: Machinery, update: str) -> None:
    assert _criterion(_question(precise, "q2b", update), "update").score == 1.5


def test_q2b_loss_shown_by_its_gradient(precise: Machinery) -> None:
    """An instructor credits the MSE when its correct gradient is used, even unwritten."""
    q = _question(
        precise,
        "q2b",
        "grad = 2 * np.mean((w1 * np.log(x + w2) - t) * w1 / (x + w2))\nw2 = w2 - lr * grad",
    )
    assert q.score == 6


def test_q2b_only_the_inner_derivative(precise: Machinery) -> None:
    q = _question(precise, "q2b", "dy/dw2 = w1/(x+w2), so w2 <- w2 - eta * w1/(x+w2)")
    assert _criterion(q, "loss").score == 0
    assert "residual" in _criterion(q, "gradient").feedback
    assert q.score <= 0.5 * 6


def test_q3b_quadratic_in_the_wrong_variable(precise: Machinery) -> None:
    q = _question(
        precise, "q3b", "The cost is quadratic in D, O(D^2), so it needs a lot of memory."
    )
    assert _criterion(q, "quadratic").score == 0
    assert _criterion(q, "memory-time").score == 1


def test_q5_gaussian_noise_gets_no_formula_credit(precise: Machinery) -> None:
    q = _question(
        precise,
        "q5",
        "With Gaussian noise the negative log-likelihood is M ln(2b) + 1/b Σ_i (t_i − y(x_i, w))², "
        "so we minimise the squared error.",
    )
    nll = _criterion(q, "nll")
    assert nll.score == 0 and "squared" in nll.feedback
    assert _criterion(q, "conclusion").score == 0


def test_q5_one_sample_only(precise: Machinery) -> None:
    q = _question(
        precise, "q5", "For one sample -ln p = ln(2b) + |t - y(x, w)|/b, which we minimise."
    )
    nll = _criterion(q, "nll")
    assert nll.score == 0.5 * nll.max_score and "sum" in nll.feedback


def test_example_sheet_precise_criteria(precise: Machinery) -> None:
    """The README tour sheet: weights-only counts and a ratio in q1a, 1/x_n in q2b."""
    loaded, runner = precise
    sheet = json.loads(EXAMPLE.read_text(encoding="utf-8"))
    assert set(sheet["answers"]) == set(POINTS)
    result = grade(loaded, sheet["answers"], runner)
    q1a = next(q for q in result.questions if q.id == "q1a")
    assert q1a.score == 2  # half of each count, the choice, no "how much"
    q2b = next(q for q in result.questions if q.id == "q2b")
    gradient = _criterion(q2b, "gradient")
    assert 0 < gradient.score < gradient.max_score and "1/(x + w2)" in gradient.feedback


# -- with the text model ------------------------------------------------------------------


@pytest.mark.slow  # loads the encoder and encodes every text criterion's exemplars
def test_model_answers_and_the_tour_sheet(full: Machinery) -> None:
    loaded, runner = full
    model = grade(loaded, {q.id: q.model_answer for q in loaded.exam.questions}, runner)
    assert model.score >= 0.8 * model.max_score
    for q in model.questions:
        assert q.score >= 0.6 * q.max_score, q.id
    sheet = json.loads(EXAMPLE.read_text(encoding="utf-8"))["answers"]
    tour = grade(loaded, sheet, runner)
    assert 0.4 * tour.max_score <= tour.score < model.score


def test_eval_exam_prints_the_contract_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], precise: Machinery
) -> None:
    from grader.evaluation import exam_eval

    cases = tmp_path / "cases.jsonl"
    rows = [
        {"id": "a", "qid": "q1a", "answer": "Network B has more, it is deeper.", "gold": 0.0},
        {"id": "b", "qid": "q1a", "answer": "", "gold": 0.0},
    ]
    cases.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    assert exam_eval.main([str(RUBRIC), str(cases)]) == 0
    last = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert {"n", "mae", "spearman", "within_0_25", "flagged", "by_qid"} <= set(last)
    assert last["n"] == 2 and last["within_0_25"] == 1.0
    assert set(last["by_qid"]["q1a"]) >= {"n", "mae", "within_0_25", "flagged"}
