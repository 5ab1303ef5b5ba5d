"""The safe math language: what students type is read; hostile input is rejected."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from grader.checks.math.answertests.table import answer_test
from grader.checks.math.checker import MathChecker, MathSpec
from grader.mathlang import MathError, TooLarge, read
from grader.mathlang.equiv import compare_values


def same(a: str, b: str, variables: tuple[str, ...] = ()) -> bool:
    return compare_values(read(a, variables=variables), read(b, variables=variables))


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("2x+1", "1+2*x"),
        ("x^2", "x**2"),
        ("2(x+1)", "2*x+2"),
        ("(a+b)(a-b)", "a^2-b^2"),
        ("x²+x³", "x^2+x^3"),
        ("√x", "sqrt(x)"),
        ("π", "pi"),
        ("a·b×c", "a*b*c"),
        ("x − 1", "x-1"),
        (r"\frac{1}{2}\sqrt{x}", "sqrt(x)/2"),
        (r"\dfrac{a}{b} \cdot \left( c \right)", "a*c/b"),
        (r"\ln(x) + \exp(x)", "log(x)+e^x"),
        ("1e-3", "1/1000"),
        ("5!", "120"),
        ("w_2", "w2"),
        ("w₂", "w2"),
        ("|x-1|", "abs(x-1)"),
        ("９", "9"),
        ("𝑥+1", "x+1"),
        ("х+1", "x+1"),  # Cyrillic х
        ("x\u200b+1", "x+1"),  # zero-width space
        ("$x^{2}$", "x^2"),
        (r"\[ x_{1} \]", "x_1"),
        ("sin^2 x + cos^2 x", "1"),
    ],
)
def test_reads_what_students_type(a: str, b: str) -> None:
    assert same(a, b)


def test_declared_variables_split_names() -> None:
    assert same("xy", "x*y", ("x", "y"))
    assert same("w1x", "w1*x", ("w1", "x"))
    assert read("xy")[0] == "sym"  # undeclared: one name, as in STACK


def test_reserved_sympy_names_are_plain_symbols() -> None:
    for name in ("N", "S", "E", "I", "Q", "O", "beta", "gamma", "lambda"):
        assert read(name) == ("sym", name)
    assert not same("E", "e") and not same("I", "i")


def test_indexed_sum_and_derivative_label() -> None:
    node = read("∂E/∂w2 = Σ_n (x_n - t_n)^2")
    assert node[0] == "eq" and node[1][0] == "deriv" and node[2][0] == "sum"
    assert same("Σ_n (x_n + t_n)", r"\sum_{i=1}^{N} x_i + \sum_{k} t_k")


def test_equations_and_update_rules() -> None:
    assert read("x = 1")[0] == "eq"
    for arrow in ("<-", ":=", "←"):
        assert read(f"w {arrow} w - eta*g")[0] == "assign"
    assert answer_test("AlgEquiv", "x+y=1", "y=1-x").result == "pass"
    assert answer_test("AlgEquiv", "2x+2y=2", "y=1-x").result == "pass"
    assert answer_test("AlgEquiv", "(x-2)^2=0", "x=2").result == "fail"


SENTINEL = Path("/tmp/grader_mathlang_sentinel")

BAD = [
    f"__import__('os').system('touch {SENTINEL}')",
    "__import__('os').system('id')",
    'eval("1")',
    "open('/etc/passwd')",
    "().__class__.__bases__[0].__subclasses__()",
    "x.__dict__",
    "Symbol.__init__",
    "lambda x: x",
    "[i for i in range(9**9)]",
    'f"{1}"',
    "'str'",
    "x;y",
    r"\input{/etc/passwd}",
    "9**9**9**9",
    "2^2^2^2^2^10",
    "10^(10^10)",
    "((9**9)**9999)**9999",
    "(2^1000)^(1000)^(1000)",
    "factorial(10**10)",
    "(10^10)!",
    "binomial(10^9, 10^8)",
    "(" * 10_000 + "x" + ")" * 10_000,
    "-" * 100_000 + "x",
    "x+" * 50_000 + "x",
    "1" * 10_000,
    "x\u202e+1",  # right-to-left override
    "x\x00+1",
    "x\ud800",  # lone surrogate
    "1/0",
    "0/0",
    "oo-oo",
    "zoo",
    "nan",
]


@pytest.mark.parametrize("text", BAD)
def test_hostile_input_is_rejected_quickly(text: str) -> None:
    start = time.perf_counter()
    with pytest.raises(MathError) as info:
        read(text)
    assert str(info.value)  # a message a student can read
    assert time.perf_counter() - start < 2.0
    assert not SENTINEL.exists()


# What the checker makes of each hostile answer (never credit): a number or a nesting past the
# limits goes to a human (it may be a real answer); the one piece of prose around a reading
# (`9**9`) is read and wrong; everything else cannot be read.
TOO_LARGE = {
    "9**9**9**9",
    "2^2^2^2^2^10",
    "10^(10^10)",
    "((9**9)**9999)**9999",
    "(2^1000)^(1000)^(1000)",
    "factorial(10**10)",
    "(10^10)!",
    "binomial(10^9, 10^8)",
    "(" * 10_000 + "x" + ")" * 10_000,
    "1" * 10_000,
}
READ_AND_WRONG = {"[i for i in range(9**9)]"}


@pytest.mark.parametrize("text", BAD + ["x" * 1_000_000])
def test_hostile_answers_never_crash_the_checker(text: str) -> None:
    spec = MathSpec(expected="x+1", variables=["x"], find="any")
    result = MathChecker().check(spec, text)
    assert result.fraction == 0.0
    expected = (
        "needs_review" if text in TOO_LARGE else "ok" if text in READ_AND_WRONG else "invalid"
    )
    assert result.status == expected, (text[:40], result.feedback)
    assert not SENTINEL.exists()


def test_too_large_says_why() -> None:
    with pytest.raises(TooLarge, match="too large"):
        read("9^9^9^9")
    with pytest.raises(TooLarge, match="nested too deeply"):
        read("(" * 500 + "1" + ")" * 500)


def test_undefined_is_invalid_in_answer_tests() -> None:
    for bad in ("1/0", "0^(-1)", "log(0)"):
        assert answer_test("AlgEquiv", bad, "1").result == "invalid"
    assert answer_test("AlgEquiv", "", "1").result == "invalid"


def test_decimal_comma_only_when_allowed() -> None:
    assert same("0.5", "1/2")
    assert read("1,5", decimal_comma=True) == read("1.5")
    assert read("1,5")[0] == "list"


@pytest.mark.parametrize(
    ("text", "result"),
    [
        ("(123456789/987654321)^50000", "invalid"),  # a number too large to work with
        ("(x-a)^59999", "fail"),  # read, and not x
        ("(987654321/7)^40000 - (7/3)^40000", "invalid"),
    ],
)
def test_big_rational_powers_stay_bounded(text: str, result: str) -> None:
    start = time.perf_counter()
    verdict = answer_test("AlgEquiv", text, "x", "")
    assert verdict.result == result, verdict
    assert time.perf_counter() - start < 2.0
