"""One verdict whatever the notation: generated expressions rendered in ASCII, LaTeX, Unicode
and inside prose (and quantities with their units spelled several ways) must all get the
verdict their ASCII form gets, and that verdict must be the mathematical truth."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from grader.checks.math.answertests.table import answer_test
from grader.checks.math.checker import MathChecker, MathSpec

pytestmark = pytest.mark.slow  # ~7 s: 180 generated answers in 4-5 notations each

SUPER = str.maketrans("0123456789-", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻")


@dataclass(frozen=True)
class Sym:
    ascii: str
    latex: str
    uni: str


SYMBOLS = [
    Sym("x", "x", "x"),
    Sym("q", "q", "q"),
    Sym("t", "t", "t"),
    Sym("xbar", r"\bar{x}", "x̄"),
    Sym("mu0", r"\mu_0", "μ₀"),
    Sym("sigma", r"\sigma", "σ"),
]

Expr = tuple[object, ...]


def _part(e: Expr, i: int) -> Expr:
    """The sub-expression at position i of a compound expression."""
    part = e[i]
    assert isinstance(part, tuple)
    return part


def exprs() -> st.SearchStrategy[Expr]:
    leaf = st.one_of(
        st.sampled_from(SYMBOLS).map(lambda s: ("sym", s)),
        st.integers(1, 9).map(lambda n: ("num", n)),
    )

    def grow(kids: st.SearchStrategy[Expr]) -> st.SearchStrategy[Expr]:
        return st.one_of(
            st.tuples(st.sampled_from(["add", "sub", "mul", "div"]), kids, kids),
            st.tuples(st.just("pow"), kids, st.integers(2, 3)),
            st.tuples(st.just("sqrt"), kids),
            st.tuples(st.just("coef"), st.integers(2, 9), st.sampled_from(SYMBOLS)),
        )

    return st.recursive(leaf, grow, max_leaves=6)


def render(e: Expr, style: str) -> str:
    """`style` is ascii, latex or unicode; every compound part is bracketed."""
    op = e[0]
    if op == "sym":
        s = e[1]
        assert isinstance(s, Sym)
        return {"ascii": s.ascii, "latex": s.latex, "unicode": s.uni}[style]
    if op == "num":
        return str(e[1])
    if op == "coef":  # a number before a letter: an implicit product in LaTeX and Unicode
        sym = render(("sym", e[2]), style)
        return f"({e[1]}*{sym})" if style == "ascii" else f"({e[1]}{sym})"
    if op == "sqrt":
        inner = render(_part(e, 1), style)
        return {"ascii": f"sqrt({inner})", "latex": rf"\sqrt{{{inner}}}", "unicode": f"√({inner})"}[
            style
        ]
    if op == "pow":
        base = render(_part(e, 1), style)
        n = e[2]
        if style == "latex":
            return rf"\left({base}\right)^{{{n}}}"
        if style == "unicode":
            return f"({base}){str(n).translate(SUPER)}"
        return f"({base})^{n}"
    a = render(_part(e, 1), style)
    b = render(_part(e, 2), style)
    if op == "div" and style == "latex":
        return rf"\frac{{{a}}}{{{b}}}"
    sign = {
        "add": {"ascii": "+", "latex": "+", "unicode": "+"},
        "sub": {"ascii": "-", "latex": "-", "unicode": "−"},
        "mul": {"ascii": "*", "latex": r"\cdot", "unicode": "·"},
        "div": {"ascii": "/", "latex": "/", "unicode": "/"},
    }[str(op)][style]
    return f"({a} {sign} {b})"


def notations(e: Expr) -> dict[str, str]:
    latex, uni = render(e, "latex"), render(e, "unicode")
    return {
        "ascii": render(e, "ascii"),
        "latex": f"${latex}$",
        "unicode": uni,
        "prose-latex": f"Putting it together we get $r = {latex}$ as the result.",
        "prose-unicode": f"So the answer is r = {uni}.",
    }


def spec_for(expected: str) -> MathSpec:
    return MathSpec.model_validate(
        {"expected": expected, "variables": ["xbar", "mu0"], "positive": ["sigma"]}
    )


def settings_(n: int) -> settings:
    return settings(
        max_examples=n,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        derandomize=True,
        database=None,
    )


@settings_(120)
@given(exprs(), st.booleans())
def test_one_verdict_for_every_notation(e: Expr, same: bool) -> None:
    expected = render(e, "ascii")
    # x/(x - x) is undefined everywhere: no verdict to agree on
    assume(answer_test("AlgEquiv", expected, expected).passed)
    answer = e if same else ("add", e, ("num", 1))  # a different value everywhere
    spec = spec_for(expected)
    checker = MathChecker()
    verdicts = {
        name: checker.check(spec, text).fraction for name, text in notations(answer).items()
    }
    truth = 1.0 if same else 0.0
    assert set(verdicts.values()) == {truth}, (expected, verdicts)


UNITS = [
    # (expected unit, ways a student writes a value in it: (text, factor to the expected unit))
    ("m/s", [("{v} m/s", 1), ("{v} m·s⁻¹", 1), (r"${v}\,\mathrm{{m/s}}$", 1), ("{k} km/s", 1000)]),
    (
        "kOhm",
        [
            ("{v} kΩ", 1),
            ("{v} kohm", 1),
            ("{o} Ω", Fraction(1, 1000)),
            ("{o} ohm", Fraction(1, 1000)),
        ],
    ),
    ("ns", [("{v} ns", 1), ("{u} µs", 1000), ("{u} us", 1000), (r"${v}\ \mathrm{{ns}}$", 1)]),
    ("g", [("{v} g", 1), ("{k} kg", 1000), ("{v} grams", 1)]),
]


@settings_(60)
@given(
    st.integers(1, 999),
    st.sampled_from(UNITS),
    st.booleans(),
)
def test_one_verdict_for_every_spelling_of_a_unit(
    n: int, unit: tuple[str, list[tuple[str, int]]], same: bool
) -> None:
    name, spellings = unit
    value = Fraction(n, 10)
    spec = MathSpec.model_validate(
        {"expected": f"{value}*{name}", "test": "UnitsRelative", "options": "0.001"}
    )
    shown = value if same else value * 2
    checker = MathChecker()
    verdicts = {}
    for template, factor in spellings:
        amount = shown / Fraction(factor)
        text = (
            "The result is "
            + template.format(v=float(shown), k=float(amount), o=float(amount), u=float(amount))
            + "."
        )
        verdicts[text] = checker.check(spec, text).fraction
    assert set(verdicts.values()) == {1.0 if same else 0.0}, verdicts


@pytest.mark.parametrize("answer", ["0.5 g", "0,5 g", "m = 0.5 g", r"$m = 0.5\,\mathrm{g}$"])
def test_a_plain_number_test_is_not_confused_by_a_unit(answer: str) -> None:
    spec = MathSpec.model_validate({"expected": "0.5", "test": "NumAbsolute", "options": "0.01"})
    assert MathChecker().check(spec, answer).fraction == 1.0
