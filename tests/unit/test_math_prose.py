"""Formulas in prose, declared unknown functions, and Σ without a written index."""

from __future__ import annotations

from grader.checks.math.checker import MathChecker, MathSpec
from grader.mathlang import read
from grader.mathlang.extract import formula_runs

TOTAL = MathSpec(
    expected="100D + 101K + 10200",
    variables=["D", "K"],
    mistakes=[{"expected": "100D + 100K + 10000", "credit": 0.5, "feedback": "biases?"}],
)
NLL = MathSpec(
    expected="M ln(2b) + (1/b) sum_i |t_i - y(x_i, w)|",
    variables=["M", "b", "w", "x_i", "t_i"],
    functions=["y"],
    positive=["b", "M"],
    accept_factors=["-1"],
)


def test_formula_runs_inside_prose() -> None:
    keep = frozenset({"D", "K"})
    assert formula_runs("Network A has 100D+101K+10200 parameters", keep) == ["100D+101K+10200"]
    assert formula_runs("A: 100D + 101K + 10200.", keep) == ["100D + 101K + 10200"]
    assert formula_runs("about five times as many as B.", keep) == []
    assert formula_runs("(so 100D + 101K) and (x + 1)", keep) == ["100D + 101K", "(x + 1)"]
    assert formula_runs("y(x_i, w) + 1 in the text", frozenset({"y"})) == ["y(x_i, w) + 1"]


def test_total_written_in_prose_is_found() -> None:
    checker = MathChecker()
    assert checker.check(TOTAL, "Network A has 100D+101K+10200 parameters").fraction == 1.0
    assert checker.check(TOTAL, "A: 100D + 101K + 10200.").fraction == 1.0
    weights = checker.check(TOTAL, "A has 100D + 100K + 10000 weights.")
    assert weights.fraction == 0.5 and weights.feedback == "biases?"
    assert checker.check(TOTAL, "A has 100D + 101K + 2320 parameters.").fraction == 0.0


def test_declared_function_is_called_not_multiplied() -> None:
    node = read("y(x, w)", variables=["x", "w"], functions=["y"])
    assert node[0] == "call" and node[1] == "f:y"
    assert read("y(x, w)", variables=["x", "w", "y"])[0] != "call"


def test_sum_without_index_binds_the_one_index_used() -> None:
    node = read("Σ |t_i - x_i|", variables=["t_i", "x_i"])
    assert node[0] == "sum" and node[1] == "i"


def test_nll_with_unknown_function_is_decided() -> None:
    checker = MathChecker()
    right = checker.check(NLL, "-ln p = M ln(2b) + 1/b sum_i |t_i - y(x_i,w)|")
    assert right.fraction == 1.0 and right.status == "ok"
    loglik = checker.check(NLL, "ln L = M ln(1/(2b)) − Σ |t_i − y(x_i,w)|/b")
    assert loglik.fraction == 1.0
    squared = checker.check(NLL, "NLL = M ln(2b) + 1/b Σ_i (t_i - y(x_i, w))^2")
    assert squared.fraction == 0.0 and squared.status == "ok"
    other_args = checker.check(NLL, "NLL = M ln(2b) + 1/b Σ_i |t_i - y(x_i)|")
    assert other_args.fraction == 0.0


def test_numbers_in_words() -> None:
    from grader.mathlang.extract import spoken_numbers

    assert spoken_numbers("one hundred and one times K plus ten thousand two hundred") == (
        "101 * K + 10200"
    )
    assert spoken_numbers("twenty-one and a half") == "21.5"
    answer = (
        "A has one hundred times D plus one hundred and one times K plus ten thousand two hundred."
    )
    assert MathChecker().check(TOTAL, answer).fraction == 1.0
