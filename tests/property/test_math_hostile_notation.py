"""Hostile input for every notation the reader accepts: implicit products and split names,
accents (x̄, \\bar), primes, √, commas in numbers, item labels, implication arrows, units
(kΩ, µs), argument lists. Each gives a verdict or a clear rejection, within a time bound,
under an algebraic, a units and a numeric criterion."""

from __future__ import annotations

import time

import pytest

from grader.checks.base import Status
from grader.checks.math.checker import MathChecker, MathSpec

pytestmark = pytest.mark.slow  # ~3 s: 60 inputs of up to 12,000 characters

LIMIT_S = 2.0  # generous: the sandbox's hard limit is what protects production

SPECS = {
    "algebra": {"expected": "2*p*q*(1-q) + xbar - mu0", "variables": ["xbar", "mu0"]},
    "units": {"expected": "2*kOhm", "test": "UnitsRelative", "options": "0.01"},
    "number": {"expected": "3.5", "test": "NumAbsolute", "options": "0.01"},
}

HOSTILE = {
    "long split name": "pq" * 4000,
    "split name after a number": "2" + "pq" * 1999,
    "many split names": "2pq " * 2000,
    "combining accents": "x̄" * 4000,
    "accent commands": r"\bar{x}" * 1100,
    "nested accents": r"\bar{" * 2000 + "x" + "}" * 2000,
    "accent without a base": r"\bar{}\hat\overline" * 400,
    "primes": "f" + "'" * 7990 + "(x)",
    "root signs": "√" * 7999 + "2",
    "roots of a huge power": "√" * 100 + "2^99999999999",
    "split name under powers": "2te^{" * 50 + "x" + "}" * 50,
    "huge exponent on e": "2te^{99999999999999}",
    "decimal commas": "1,5" * 2600,
    "thousands groups": "1,500," * 1300,
    "item labels": "(a) " * 2000,
    "implication arrows": r"x = 1 \Rightarrow " * 470,
    "unicode arrows": "x = 1 ⇒ " * 1000,
    "unit chain": "1 " + "kΩ·" * 2600 + "kΩ",
    "micro chain": "2 " + "µs/" * 2600 + "s",
    "ohm signs": "2 " + "Ω" * 7990,
    "name before brackets": "q(" * 3000 + "1" + ")" * 3000,
    "argument lists": "E(1," * 1900 + "2" + ")" * 1900,
    "vulgar fractions": "1½" * 4000,
    "times x chains": "3 x 10^8 x " * 800,
    "log bases": "log_2 " * 1600 + "8",
    "ln numbers": "ln2" * 2666,
    "choose in words": "n choose k " * 700,
    "spaced thousands": "1 000 " * 1600,
    "everything at once": ("x̄ − μ₀ = 2q(1−q) ⇒ 3,5 kΩ; " * 300)[:8000],
}


@pytest.mark.parametrize("spec_name", sorted(SPECS))
@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_notation_is_bounded(name: str, spec_name: str) -> None:
    spec = MathSpec.model_validate(SPECS[spec_name])
    start = time.perf_counter()
    result = MathChecker().check(spec, HOSTILE[name])
    assert time.perf_counter() - start < LIMIT_S, name
    assert 0.0 <= result.fraction <= 1.0
    if result.status is not Status.OK:  # a rejection says why
        assert result.feedback or result.details.get("reason")


def test_a_correct_value_inside_hostile_padding_is_still_found() -> None:
    spec = MathSpec.model_validate(SPECS["number"])
    assert MathChecker().check(spec, HOSTILE["everything at once"]).fraction == 1.0
