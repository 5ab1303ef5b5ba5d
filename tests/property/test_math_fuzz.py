"""Fuzzing the math language: every input gives a verdict or a clear rejection, fast.

11,500 generated inputs in total: random Unicode text (parse only), random printable
ASCII math-ish text, and random grammar-valid expressions compared by an answer test.
"""

from __future__ import annotations

import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from grader.checks.math.answertests.table import answer_test
from grader.mathlang import MathError, read

pytestmark = pytest.mark.slow  # ~20 s for 11,500 generated inputs

LIMIT_S = 2.0


def fast(n: int) -> settings:
    return settings(
        max_examples=n,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        derandomize=True,
        database=None,
    )


def _read_or_reject(text: str) -> None:
    start = time.perf_counter()
    try:
        read(text)
    except MathError as exc:
        assert str(exc)
    assert time.perf_counter() - start < LIMIT_S


@fast(4000)
@given(st.text(max_size=60))
def test_random_unicode_is_read_or_rejected(text: str) -> None:
    _read_or_reject(text)


MATHY = st.text(alphabet="0123456789xyzabn+-*/^()[]{}|!=<>.,_ eπ√²ΣηΔ∂\\fracsqrtln", max_size=40)


@fast(3000)
@given(MATHY)
def test_random_math_characters_are_read_or_rejected(text: str) -> None:
    _read_or_reject(text)


def _grammar() -> st.SearchStrategy[str]:
    leaves = st.one_of(
        st.sampled_from(["x", "y", "a", "pi", "e", "w2", "x_n"]),
        st.integers(min_value=0, max_value=99).map(str),
        st.floats(min_value=0, max_value=100, allow_nan=False).map(lambda f: f"{f:.3g}"),
    )

    def extend(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
        return st.one_of(
            st.tuples(inner, st.sampled_from(["+", "-", "*", "/", "^"]), inner).map(
                lambda t: f"({t[0]}{t[1]}{t[2]})"
            ),
            st.tuples(st.sampled_from(["sin", "cos", "ln", "exp", "sqrt", "abs"]), inner).map(
                lambda t: f"{t[0]}({t[1]})"
            ),
            inner.map(lambda s: f"-{s}"),
            inner.map(lambda s: f"({s})!"),
        )

    return st.recursive(leaves, extend, max_leaves=12)


@fast(2500)
@given(_grammar())
def test_grammar_valid_expressions_parse_or_are_rejected(text: str) -> None:
    _read_or_reject(text)


@fast(1000)
@given(_grammar(), _grammar())
def test_answer_tests_always_give_a_verdict(a: str, b: str) -> None:
    start = time.perf_counter()
    verdict = answer_test("AlgEquiv", a, b, "")
    assert verdict.result in ("pass", "fail", "invalid")
    assert time.perf_counter() - start < LIMIT_S


TESTS = [
    "Extract",
    "NumSigFigs",
    "Units",
    "Int",
    "FacForm",
    "PartFrac",
    "EqualComAss",
    "SubstEquiv",
    "LowestTerms",
    "CompSquare",
    "SingleFrac",
    "AddConst",
]
LATEXISH = st.text(alphabet="0123456789x+-*/^(){}[]$\\,. =boxedfracsqrtmkgN%", max_size=50)


@fast(1000)
@given(
    st.sampled_from(TESTS),
    LATEXISH | _grammar(),
    LATEXISH | _grammar(),
    st.sampled_from(["", "x", "3", "[3,2]", "0.1", "[x,NOCONST]"]),
)
def test_every_answer_test_gives_a_verdict(test: str, a: str, b: str, options: str) -> None:
    start = time.perf_counter()
    verdict = answer_test(test, a, b, options)
    assert verdict.result in ("pass", "fail", "invalid")
    assert time.perf_counter() - start < LIMIT_S
