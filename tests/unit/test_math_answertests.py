"""STACK-style answer tests: one or two cases per test, pass/fail/invalid by the maths."""

from __future__ import annotations

import pytest

from grader.checks.math.answertests.table import answer_test

CASES = [
    ("AlgEquiv", "(x+1)^2", "x^2+2*x+1", "", "pass"),
    ("AlgEquiv", "(x+1)^2", "x^2+1", "", "fail"),
    ("AlgEquiv", "2*y=2-2*x", "x+y=1", "", "pass"),
    ("AlgEquiv", "x^2=1", "x=1", "", "fail"),
    ("AlgEquiv", "{3,1,2}", "{1,2,3}", "", "pass"),
    ("AlgEquiv", "[1,2]", "[2,1]", "", "fail"),
    ("AlgEquiv", "x>1", "1<x", "", "pass"),
    ("AlgEquiv", "1/0", "1", "", "invalid"),
    ("AlgEquiv", "%e^(%i*%pi)", "-1", "", "pass"),
    ("AlgEquiv", "diff(x^3,x)", "3*x^2", "", "pass"),
    ("AlgEquiv", "x>1 and x<3", "x<3 and 1<x", "", "pass"),
    ("AlgEquiv", "x=1 or x=2", "x=2 or x=1", "", "pass"),
    ("AlgEquiv", "x=1 or x=2", "x=1", "", "fail"),
    ("CasEqual", "x+1", "1+x", "", "fail"),
    ("EqualComAss", "x*(y+z)", "(z+y)*x", "", "pass"),
    ("EqualComAss", "2/6", "1/3", "", "fail"),
    ("SubstEquiv", "p^2+q", "a^2+b", "", "pass"),
    ("SameType", "x=2", "y=3", "", "pass"),
    ("NumRelative", "102", "100", "0.05", "pass"),
    ("NumAbsolute", "1.2", "1", "0.1", "fail"),
    ("NumSigFigs", "2.72", "e", "3", "pass"),
    ("NumSigFigs", "2.7", "e", "3", "fail"),
    ("SigFigsStrict", "2.70", "", "3", "pass"),
    ("NumDecPlaces", "2.718", "e", "3", "pass"),
    ("GT", "4", "pi", "", "pass"),
    ("GTE", "3", "pi", "", "fail"),
    ("Units", "2.5*km", "2500*m", "2", "pass"),
    ("UnitsStrict", "2.5*km", "2500*m", "2", "fail"),
    ("UnitsRelative", "10.4*N", "10*kg*m/s^2", "0.05", "pass"),
    ("UnitsAbsolute", "5*s", "5*m", "0.1", "fail"),
    ("Diff", "cos(x)", "cos(x)", "x", "pass"),
    ("Int", "sin(x)+c", "sin(x)", "x", "pass"),
    ("Int", "sin(x)", "sin(x)", "x", "fail"),
    ("Antidiff", "sin(x)+7", "sin(x)", "x", "pass"),
    ("AddConst", "sin(x)+k", "sin(x)", "x", "pass"),
    ("FacForm", "(x-2)*(x+2)", "x^2-4", "x", "pass"),
    ("FacForm", "x^2-4", "x^2-4", "x", "fail"),
    ("Expanded", "x^2+2*x", "0", "", "pass"),
    ("Expanded", "x*(x+2)", "0", "", "fail"),
    ("PartFrac", "1/(x-1)+1/(x+1)", "2*x/(x^2-1)", "x", "pass"),
    ("SingleFrac", "(x+1)/x", "1+1/x", "", "pass"),
    ("SingleFrac", "1+1/x", "1+1/x", "", "fail"),
    ("LowestTerms", "4/6", "0", "", "fail"),
    ("CompSquare", "(x-3)^2+1", "x^2-6*x+10", "x", "pass"),
    ("Extract", "So the answer is $\\boxed{\\frac{1}{2}}$.", "0.5", "", "pass"),
    (
        "Extract",
        "The roots are $x = 1 \\pm \\sqrt{2}$",
        "$\\{1-\\sqrt{2}, 1+\\sqrt{2}\\}$",
        "",
        "pass",
    ),
    ("Extract", "It costs 1,250.50 dollars", "1250.5", "", "pass"),
    ("Sets", "{1,2}", "{2,1}", "", "pass"),
    ("StringSloppy", "Hello World", "helloworld", "", "pass"),
    ("NoSuchTest", "1", "1", "", "invalid"),
]


@pytest.mark.parametrize(("test", "student", "teacher", "options", "expected"), CASES)
def test_answer_test(test: str, student: str, teacher: str, options: str, expected: str) -> None:
    assert answer_test(test, student, teacher, options).result == expected
