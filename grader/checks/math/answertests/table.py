"""The answer tests, in one table: name -> test. STACK-style answer tests on our own math
language, `answer_test(test, student, teacher, options)`.

Semantics follow STACK's documented answer tests (Authoring/Answer_Tests); equivalence is
decided numerically on our own AST. Each family module holds its tests as a dict; a new
test is a function in a family and one line in that family's dict.
"""

from __future__ import annotations

from collections.abc import Mapping

from grader.checks.math.answertests import algebra, calculus, extract, form, numeric
from grader.checks.math.answertests.verdict import AnswerTest, Invalid, Verdict, invalid
from grader.mathlang import MathError
from grader.mathlang.equiv import Undecided
from grader.mathlang.errors import EvalError


def _one_table(*families: Mapping[str, AnswerTest]) -> dict[str, AnswerTest]:
    table: dict[str, AnswerTest] = {}
    for family in families:
        for name, test in family.items():
            if name in table:
                raise ValueError(f"answer test {name!r} is defined twice")
            table[name] = test
    return table


ANSWER_TESTS: dict[str, AnswerTest] = _one_table(
    algebra.TESTS, calculus.TESTS, form.TESTS, numeric.TESTS, extract.TESTS
)


def known_tests() -> list[str]:
    return sorted(ANSWER_TESTS)


def answer_test(test: str, student: str, teacher: str, options: str | None = "") -> Verdict:
    """Run one STACK answer test. Never raises on bad input: returns `invalid` instead."""
    run = ANSWER_TESTS.get(test)
    if run is None:
        return invalid(f"unknown answer test {test!r}")
    try:
        return run(student, teacher, options or "")
    except Invalid as exc:
        return invalid(str(exc))
    except Undecided:
        return invalid("the expression could not be evaluated (undefined everywhere)")
    except (EvalError, MathError) as exc:
        return invalid(f"the answer cannot be used: {exc}")
    except RecursionError:
        return invalid("the expression is nested too deeply")
    except (ArithmeticError, ValueError) as exc:  # overflow in a corner of float arithmetic
        return invalid(f"the expression cannot be evaluated: {type(exc).__name__}")
