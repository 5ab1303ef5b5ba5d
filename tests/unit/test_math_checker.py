"""The seed exam's q2b gradient, written many ways, and its classic mistakes."""

from __future__ import annotations

import pytest

from grader.checks.base import Status
from grader.checks.math.checker import MathChecker, MathSpec
from grader.checks.registry import CheckerRegistry

GRADIENT = "(2/N) Σ_n (w1 ln(x_n+w2) − t_n) · w1/(x_n+w2)"
VARIABLES = ["w1", "w2", "x_n", "t_n", "N", "eta"]


@pytest.fixture()
def spec() -> MathSpec:
    return MathSpec(
        expected=GRADIENT,
        variables=VARIABLES,
        positive=["x", "w1", "w2", "N"],
        accept_factors=["1/N", "1/2", "1", "2", "N/2", "N"],
        find="any",
        mistakes=[
            {
                "expected": "(2/N) Σ_n (w1 ln(x_n+w2) − t_n) · 1/(x_n+w2)",
                "feedback": "The factor w1 from the derivative of y is missing.",
                "credit": 0.5,
            },
            {
                "expected": "(2/N) Σ_n (w1 ln(x_n+w2) − t_n) · w1",
                "feedback": "The inner derivative 1/(x+w2) of ln(x+w2) is missing.",
                "credit": 0.5,
            },
            {
                "expected": "(2/N) Σ_n (w1 ln(x_n+w2) − t_n) · w1/x_n",
                "feedback": "The derivative of ln(x+w2) is 1/(x+w2), not 1/x.",
                "credit": 0.5,
            },
        ],
    )


CORRECT = [
    "∂E/∂w2 = (2/N) Σ_n (w1 ln(x_n+w2) − t_n) · w1/(x_n+w2)",
    "dE/dw2 = 2/N * sum_n (w1*log(x_n+w2) - t_n) * w1/(x_n+w2)",
    "dE/dw_2 = (1/N) Σ_i (w1 ln(x_i+w2) − t_i) w1/(x_i+w2)",
    r"$\frac{\partial E}{\partial w_2} = \frac{2}{N}\sum_{n=1}^{N}"
    r"\left(w_1 \ln(x_n+w_2) - t_n\right)\cdot\frac{w_1}{x_n+w_2}$",
    r"\[ \frac{\partial E}{\partial w_2} = \frac{1}{N}\sum_{i=1}^{N} (w_1\ln(x_i+w_2)-t_i)"
    r"\frac{w_1}{x_i+w_2} \]",
    "The gradient is Σ_n (w1 ln(x_n+w2) − t_n) · w1/(x_n+w2)",
    "with E = ½ Σ (y − t)²: ∂E/∂w₂ = Σₙ (w₁ ln(xₙ+w₂) − tₙ) · w₁/(xₙ+w₂)",
    "dE/dw2 = (2/N) Σ_n w1 (w1 ln(x_n+w2) − t_n) / (x_n+w2)",
    "w2 <- w2 - η · (2/N) Σ_n (w1 ln(x_n+w2) − t_n) · w1/(x_n+w2)",
    "w2 := w2 - eta*sum_i (w1*ln(x_i+w2)-t_i)*w1/(x_i+w2)",
    "dE/dw2 = (2/N)*Σ_n (w1*ln(x_n + w2) - t_n)*w1*(x_n + w2)^(-1)",
    r"$\boxed{\frac{2}{N}\sum_n \frac{w_1 (w_1 \ln(x_n+w_2)-t_n)}{x_n+w_2}}$",
]


@pytest.mark.parametrize("answer", CORRECT)
def test_q2b_gradient_recognised(spec: MathSpec, answer: str) -> None:
    result = MathChecker().check(spec, answer)
    assert result.fraction == 1.0, (answer, result)
    assert result.evidence


@pytest.mark.parametrize(
    ("answer", "needle"),
    [
        ("dE/dw2 = (2/N) Σ_n (w1 ln(x_n+w2) − t_n) / (x_n+w2)", "w1"),
        ("dE/dw2 = (2/N) Σ_n (w1 ln(x_n+w2) − t_n) · w1", "inner derivative"),
        ("dE/dw2 = (2/N) Σ_n (w1 ln(x_n+w2) − t_n) · w1/x_n", "not 1/x"),
    ],
)
def test_q2b_mistakes_get_their_feedback(spec: MathSpec, answer: str, needle: str) -> None:
    result = MathChecker().check(spec, answer)
    assert result.fraction == 0.5
    assert needle in result.feedback


def test_sign_error_gets_a_hint(spec: MathSpec) -> None:
    result = MathChecker().check(spec, "dE/dw2 = (2/N) Σ_n (t_n − w1 ln(x_n+w2)) · w1/(x_n+w2)")
    assert result.fraction == 0.0
    assert "sign" in result.feedback


def test_unreadable_answer_is_invalid_not_wrong(spec: MathSpec) -> None:
    result = MathChecker().check(spec, "__import__('os').system('id')")
    assert result.status == Status.INVALID
    assert result.feedback


def test_rhs_of_target() -> None:
    spec = MathSpec(
        expected="w1/(x+w2)", variables=["w1", "w2", "x"], find="rhs_of", target="dy/dw2"
    )
    checker = MathChecker()
    assert checker.check(spec, "y = w1 ln(x+w2), so dy/dw2 = w1/(x+w2).").fraction == 1.0
    assert checker.check(spec, "dy/dw1 = w1/(x+w2)").fraction == 0.0


def test_invalid_teacher_expression_rejected_at_load() -> None:
    with pytest.raises(ValueError, match="not valid math"):
        MathSpec(expected="x +* (", variables=["x"])
    with pytest.raises(ValueError, match="unknown answer test"):
        MathSpec(expected="x", test="Nope")


def test_registered_and_sandboxed() -> None:
    from grader.checks.math.checker import register_math_checkers

    registry = CheckerRegistry()
    register_math_checkers(registry)
    checker = registry.get("math")
    assert type(checker).sandboxed is True
    spec = registry.parse_spec("math", {"expected": "x^2", "variables": ["x"], "find": "whole"})
    assert checker.check(spec, "x·x").fraction == 1.0


def test_numeric_test_through_criterion() -> None:
    spec = MathSpec(expected="9.81*m/s^2", test="Units", options="3", find="whole")
    assert MathChecker().check(spec, "9.81*m/s^2").fraction == 1.0


UPDATE = MathSpec(
    expected="w2 - eta*(2/N) Σ_n (w1 ln(x_n+w2) − t_n) · w1/(x_n+w2)",
    variables=VARIABLES,
    positive=["x", "w1", "w2", "N", "eta"],
    aliases={"lr": "eta", "alpha": "eta"},
    alternatives=["w2 - eta*2*(w1 ln(x_n+w2) − t_n) · w1/(x_n+w2)"],
    accept_factors=["1/N", "1/2", "1", "2", "N/2", "N"],
    factor_of="eta",
    mistakes=[
        {
            "expected": "w2 + eta*(2/N) Σ_n (w1 ln(x_n+w2) − t_n) · w1/(x_n+w2)",
            "feedback": "This is gradient ascent: the update must subtract the gradient.",
        }
    ],
)

CODE_ANSWER = """def update_w2(w1, w2, x, t, lr):
    y = w1 * np.log(x + w2)
    grad = 2 * np.mean((y - t) * w1 / (x + w2))   # dE/dw2
    return w2 - lr * grad"""


def test_code_with_definitions_and_array_mean(spec: MathSpec) -> None:
    checker = MathChecker()
    assert checker.check(spec, CODE_ANSWER).fraction == 1.0
    assert checker.check(UPDATE, CODE_ANSWER).fraction == 1.0
    ascent = checker.check(UPDATE, CODE_ANSWER.replace("w2 - lr", "w2 + lr"))
    assert ascent.fraction == 0.0 and "ascent" in ascent.feedback


def test_factor_of_learning_rate() -> None:
    answer = "w2 <- w2 - lr*(1/N) sum_i (w1 ln(x_i+w2)-t_i) w1/(x_i+w2)"
    assert MathChecker().check(UPDATE, answer).fraction == 1.0
    wrong = "w2 <- w2 - lr*(1/N) sum_i (w1 ln(x_i+w2)-t_i) w1/x_i"
    assert MathChecker().check(UPDATE, wrong).fraction == 0.0


def test_alternative_per_sample_update_and_alias() -> None:
    answer = "SGD: w2 <- w2 - alpha*2*(w1 ln(x_i+w2) - t_i)*w1/(x_i+w2)"
    result = MathChecker().check(UPDATE, answer)
    assert result.fraction == 1.0
    assert result.details["matched"] == "alternatives[0]"


def test_prose_around_formula_is_ignored(spec: MathSpec) -> None:
    answer = "so the gradient is grad = Σ_n (w1 ln(x_n+w2) − t_n) · w1/(x_n+w2) for all n"
    assert MathChecker().check(spec, answer).fraction == 1.0


RUBRIC = """
id: math-demo
title: Math criteria demo
questions:
  - id: q2b
    points: 2
    criteria:
      - id: gradient
        points: 1
        check:
          kind: math
          expected: "(2/N) Σ_n (w1 ln(x_n+w2) − t_n) · w1/(x_n+w2)"
          variables: [w1, w2, x_n, t_n, N, eta]
          positive: [x, w1, w2, N]
          accept_factors: ["1/N", "1/2", "1", "2"]
          alternatives: ["2 (w1 ln(x_n+w2) − t_n) · w1/(x_n+w2)"]
          mistakes:
            - expected: "(2/N) Σ_n (w1 ln(x_n+w2) − t_n) · w1"
              feedback: "The inner derivative 1/(x+w2) of ln(x+w2) is missing."
              credit: 0.5
      - id: update
        points: 1
        check:
          kind: math
          expected: "w2 - eta (2/N) Σ_n (w1 ln(x_n+w2) − t_n) · w1/(x_n+w2)"
          variables: [w1, w2, x_n, t_n, N, eta]
          positive: [x, w1, w2, N, eta]
          aliases: {lr: eta, alpha: eta}
          accept_factors: ["1/N", "1/2", "1", "2"]
          factor_of: eta
"""


def test_rubric_with_math_criteria_loads_and_grades() -> None:
    from grader.checks.math.checker import register_math_checkers
    from grader.exams.loader import load_exam
    from grader.grading.core import DirectRunner, grade

    registry = CheckerRegistry()
    register_math_checkers(registry)
    loaded = load_exam(RUBRIC, registry)
    answer = "∂E/∂w2 = (2/N) Σ_n (w1 ln(x_n+w2) − t_n) · w1/(x_n+w2), so w2 ← w2 − η ∂E/∂w2"
    result = grade(loaded, {"q2b": answer}, DirectRunner(registry))
    assert [c.score for c in result.questions[0].criteria] == [1.0, 1.0]
    bad = RUBRIC.replace('expected: "w2 - eta', 'expected: "w2 -* eta')
    with pytest.raises(Exception, match="not valid math"):
        load_exam(bad, registry)


def test_every_member_of_an_equality_chain_counts() -> None:
    spec = MathSpec(expected="100*D + 101*K + 2320", variables=["D", "K"])
    answer = (
        "$P_B = (D+1)\\cdot 100 + 101\\cdot 10 + 11\\cdot 10 + 11\\cdot 100 + 101\\cdot K"
        " = 100D + 101K + 2320$"
    )
    assert MathChecker().check(spec, answer).fraction == 1.0


@pytest.mark.parametrize(
    ("answer", "fraction", "needle"),
    [
        ("The speed is 12.3 m/s.", 1.0, ""),
        ("v = 12.3 m/s", 1.0, ""),
        ("v = 12.30 m/s", 0.0, "significant figures"),
        ("v = 12.3 km/h", 0.0, ""),
    ],
)
def test_numeric_criterion_in_free_text(answer: str, fraction: float, needle: str) -> None:
    spec = MathSpec(expected="12.3*m/s", test="Units", options="3")
    result = MathChecker().check(spec, answer)
    assert result.fraction == fraction
    assert needle in result.feedback


def test_number_in_prose() -> None:
    spec = MathSpec(expected="7880", test="NumAbsolute", options="0.5")
    assert MathChecker().check(spec, "A has 7880 more parameters than B").fraction == 1.0


def test_known_mistakes_after_the_right_value_are_counted() -> None:
    """Padding: the right value first, then the rubric's known mistakes. Full credit stays
    (the best verdict counts) but the answer is seen to offer several outcomes."""
    from grader.grading.review import guessed

    spec = MathSpec(
        expected="3.5",
        test="NumAbsolute",
        options="0.01",
        mistakes=[
            {"expected": v, "feedback": f"{v} is a known mistake."} for v in ("4.5", "8.25", "2.25")
        ],
    )
    padded = MathChecker().check(spec, "It is one of: 3.5; 4.5; 8.25; 2.25")
    assert padded.fraction == 1.0
    assert padded.details["candidates"] == 4 and padded.details["matched"] == 1
    assert guessed(padded.details)
    single = MathChecker().check(spec, "The average waiting time is 3.5 ms.")
    assert single.fraction == 1.0 and "candidates" not in single.details


@pytest.mark.parametrize(
    ("answer", "padded"),
    [
        # guesses the rubric does not list count too, when offered side by side
        ("It is one of: 0.0025; 2*(0.05); (0.05)/2; (0.05)+1; 0; 0.05", True),
        ("0.05 or 0.1 or 0.025", True),
        # a worked solution and values listed with commas or line by line are not guesses
        ("p = 0.05, so 2pq = 2*0.05*0.95 = 0.095", False),
        ("q² = 0.0025\nq = √0.0025 = 0.05", False),
        ("The frequencies are 0.05, 0.95 and 0.095; q = 0.05", False),
    ],
)
def test_values_offered_side_by_side_count_as_candidates(answer: str, padded: bool) -> None:
    from grader.grading.review import guessed

    spec = MathSpec(
        expected="0.05",
        test="NumAbsolute",
        options="0.001",
        find="any",
        mistakes=[{"expected": "0.0025", "feedback": "That is q², not q."}],
    )
    res = MathChecker().check(spec, answer)
    assert res.fraction == 1.0
    assert guessed(res.details) is padded
