"""Rubric regex patterns run on RE2: linear time, Python's meaning for the idioms we keep."""

from __future__ import annotations

import re

import pytest
from pydantic import ValidationError

from grader.checks.regex import RegexChecker, RegexSpec, compile_pattern

CHECK = RegexChecker()


def _python_agrees(pattern: str, text: str, flags: int = re.IGNORECASE) -> bool:
    found = compile_pattern(pattern).search(text) is not None
    return found == (re.search(pattern, text, flags) is not None)


@pytest.mark.parametrize(
    "pattern",
    [
        r"(?<=a)b",  # lookbehind
        r"(a)\1",  # backreference
        r"x(?=y)z",  # a lookahead in the middle of the match
        r"(?>a+)b",  # atomic group
    ],
)
def test_constructs_re2_lacks_are_refused_at_load_with_the_reason(pattern: str) -> None:
    with pytest.raises(ValidationError, match="cannot run on RE2"):
        RegexSpec(pattern=pattern)


def test_catastrophic_pattern_loads_and_answers_in_linear_time() -> None:
    spec = RegexSpec(pattern=r"^(a+)+$")
    # under Python's backtracking engine this answer takes longer than the age of the universe
    assert CHECK.check(spec, "a" * 5_000 + "!").fraction == 0.0
    assert CHECK.check(spec, "a" * 5_000).fraction == 1.0


@pytest.mark.parametrize(
    ("text", "met"),
    [
        ("A and B", True),
        ("only A here", False),
        ("A and B, but also C", False),
        ("B\nthen\nA", True),
    ],
)
def test_leading_lookaheads_mean_contains_and_does_not_contain(text: str, met: bool) -> None:
    pattern = r"^(?=[\s\S]*\bA\b)(?![\s\S]*\bC\b)[\s\S]*\bB\b"
    assert CHECK.check(RegexSpec(pattern=pattern), text).fraction == float(met)
    assert _python_agrees(pattern, text)


def test_leading_lookaheads_with_multiline_are_refused() -> None:
    with pytest.raises(ValidationError, match="MULTILINE"):
        RegexSpec(pattern=r"^(?=.*a)b", flags=["MULTILINE"])


@pytest.mark.parametrize(
    ("pattern", "text"),
    [
        (r"L\s*2(?![\d.,])", "O(L2)"),
        (r"L\s*2(?![\d.,])", "O(L2.5)"),
        (r"L\s*2(?![\d.,])", "L2"),
        (r"(x|L2(?!\d))|y", "L23"),
        (r"loss(?=\s+function)", "the loss function"),
        (r"loss(?=\s+function)", "the loss"),
    ],
)
def test_a_lookahead_ending_the_match_keeps_its_meaning(pattern: str, text: str) -> None:
    assert _python_agrees(pattern, text)


@pytest.mark.parametrize(
    ("pattern", "text"),
    [
        (r"\w+ve\b", "naïve"),
        (r"^\w+$", "Übergang"),
        (r"\d", "٣"),  # an Arabic-Indic digit is a digit to Python
        (r"a\sb", "a\u2003b"),  # an em space
        (r"a{,2}b", "aab"),  # Python reads {,n} as {0,n}
        (r"end\Z", "the end"),
        (r"[\w-]+", "-"),
    ],
)
def test_classes_and_quantifiers_mean_what_they_mean_in_python(pattern: str, text: str) -> None:
    assert compile_pattern(pattern).search(text) is not None
    assert _python_agrees(pattern, text)


def test_flags_map_to_re2() -> None:
    assert CHECK.check(RegexSpec(pattern="abc", flags=[]), "ABC").fraction == 0.0
    assert CHECK.check(RegexSpec(pattern="abc"), "ABC").fraction == 1.0
    assert CHECK.check(RegexSpec(pattern="a.c", flags=["DOTALL"]), "a\nc").fraction == 1.0
    assert CHECK.check(RegexSpec(pattern="a.c", flags=[]), "a\nc").fraction == 0.0
    assert CHECK.check(RegexSpec(pattern="^b$", flags=["MULTILINE"]), "a\nb\nc").fraction == 1.0


def test_answer_is_matched_after_nfkc() -> None:
    spec = RegexSpec(pattern=r"\bcm\b")
    assert CHECK.check(spec, "10 \u339d").fraction == 1.0  # the one-character "㎝"
