"""The reader of what students write: implicit products, decorated and indexed names,
primes, LaTeX and Unicode spellings, item labels, implication arrows."""

from __future__ import annotations

import pytest

from grader.checks.math.checker import MathChecker, MathSpec
from grader.mathlang import read
from grader.mathlang.extract import candidates
from grader.mathlang.reading import AnswerReader
from grader.mathlang.unparse import to_text


def reader(*rubric: str, variables: tuple[str, ...] = ()) -> AnswerReader:
    return AnswerReader(list(variables), {}, infer_from=list(rubric))


@pytest.mark.parametrize(
    ("rubric", "text", "read_as"),
    [
        (("2*q*(1-q)",), "2q(1 − q)", "2*q*(1 - q)"),
        (("2*q*(1-q)", "2*p*q"), "2pq", "2*p*q"),
        (("h*(t+m) + (1-h)*(t+2*m)",), "h(t+m) + (1−h)(t+2m)", "h*(t + m) + (1 - h)*(t + 2*m)"),
        (("2*t*e^(-3*t)",), "2te^{-3t}", "2*t*e^(-3*t)"),
        (("2*x*e^(x^2)",), "2xe^{x^2}", "2*x*e^(x^2)"),
        (("xbar - mu0",), "x̄ − μ₀", "xbar - mu_0"),
        (("xbar - mu0",), r"\bar{x} - \mu_0", "xbar - mu_0"),
        (("xbar - mu0",), r"\overline{x} - mu0", "xbar - mu_0"),
        (("xbar - mu0",), "x_bar - mu_0", "xbar - mu_0"),
        (("phat*(1-phat)",), "p̂(1 − p̂)", "phat*(1 - phat)"),
        (("sqrt(n)",), "√25 + √n", "sqrt(25) + sqrt(n)"),
        (("x",), r"\dfrac{1}{4}\cdot\tfrac{3}{4}", "1/4*3/4"),
        (("x",), r"\left( x \right)\, \times 2", "x*2"),
        (("x",), "(a) x = 3", "x = 3"),
        (("x",), "1½ + ¾", "1 + 1/2 + 3/4"),
        (("x",), "3.0 x 10^8", "3.0*10^8"),
        (("x",), "2 x 3", "2*x*3"),
        (("x",), "log₂ 8", "log(8)/log(2)"),
        (("x",), r"\log_{10}(x)", "log(x)/log(10)"),
        (("x",), "ln2", "log(2)"),
        (("x",), "1 000 000 + 12\u2009000 + 3'000", "1000000 + 12000 + 3000"),
        (("x",), "1 000.5", "1000.5"),
    ],
)
def test_students_spellings(rubric: tuple[str, ...], text: str, read_as: str) -> None:
    assert to_text(reader(*rubric).parse(text)) == read_as


def test_a_name_before_a_bracket_multiplies_unless_it_is_a_function() -> None:
    r = reader()
    assert to_text(r.parse("q(1-q)")) == "q*(1 - q)"
    assert to_text(r.parse("sin(x)")) == "sin(x)"
    assert read("f(x)")[0] == "call"  # raw STACK syntax keeps Maxima's function calls
    declared = AnswerReader([], {}, functions=["f"])
    assert declared.parse("f(x)")[0] == "call"
    assert r.parse("E(w1, w2)")[0] == "call"  # an argument list is never a factor


def test_primes_name_derivatives() -> None:
    r = reader("x")
    assert to_text(r.parse("f'(x)")) == "f'(x)"
    assert r.parse("y''") == ("sym", "y''")


def test_a_decorated_name_is_not_split_into_letters() -> None:
    r = reader("x + b + a + r")
    assert r.parse("xbar") == ("sym", "xbar")


def test_implication_arrows_and_bracket_commas_cut_candidates() -> None:
    found = candidates(r"$P(yy) = \frac14$ $\Rightarrow P = \frac{1}{4}\cdot\frac{3}{4}$")
    assert r"P = \frac{1}{4}\cdot\frac{3}{4}" in found
    found = candidates("MSE: E(w1, w2) = (1/N) sum_n (w1 x_n - t_n)^2")
    assert "E(w1, w2) = (1/N) sum_n (w1 x_n - t_n)^2" in found


def _spec(**kw: object) -> MathSpec:
    return MathSpec.model_validate(kw)


def test_a_right_answer_is_not_lowered_by_a_mistake_written_on_the_way() -> None:
    spec = _spec(
        expected="2*q*(1-q)",
        mistakes=[{"expected": "2*p*q", "credit": 0.5, "feedback": "only in q"}],
    )
    result = MathChecker().check(spec, "$f(Aa) = 2pq = 2q(1-q)$")
    assert result.fraction == 1.0
    assert result.details["candidates"] == 2 and result.details["matched"] == 1
    only_mistake = MathChecker().check(spec, "f(Aa) = 2pq")
    assert only_mistake.fraction == 0.5 and only_mistake.feedback == "only in q"


def test_mistakes_work_with_numeric_and_units_tests() -> None:
    num = _spec(
        expected="0.095",
        test="NumAbsolute",
        options="0.002",
        mistakes=[{"expected": "0.1", "credit": 0.5, "feedback": "2q is the approximation"}],
    )
    got = MathChecker().check(num, "Carriers 2pq ≈ 2q = 0.1, so about 10%.")
    assert got.fraction == 0.5 and "approximation" in got.feedback
    assert MathChecker().check(num, "2pq = 0.095").fraction == 1.0
    units = _spec(
        expected="1.5*g",
        test="UnitsAbsolute",
        options="0.01",
        mistakes=[{"expected": "0.25*g", "credit": 0, "feedback": "divided by n"}],
    )
    got = MathChecker().check(units, "SE = 9/36 = 0.25 g")
    assert got.fraction == 0 and got.feedback == "divided by n"
    assert MathChecker().check(units, "SE = 1.5 g").fraction == 1.0


@pytest.mark.parametrize(
    ("expected", "answer"),
    [
        ("2.0*kOhm", "R = 2.0 kΩ"),
        ("2.0*kOhm", "R = 2000 ohm"),
        ("499.46*g", "the lower end is 0.49946 kg"),
        ("130*ns", "EAT = 0.13 µs"),
        ("12*m/s", "v = 43.2 km/h"),
    ],
)
def test_units_as_students_write_them(expected: str, answer: str) -> None:
    spec = _spec(expected=expected, test="UnitsRelative", options="0.01")
    assert MathChecker().check(spec, answer).fraction == 1.0


def test_a_separate_m_and_s_stay_metres_times_seconds() -> None:
    spec = _spec(expected="3*ms", test="UnitsStrictRelative", options="0.01")
    assert MathChecker().check(spec, "t = 3 m s").fraction == 0.0


@pytest.mark.parametrize(
    ("expected", "answer", "ambiguous"),
    [
        ("3.5", "Average = 14/5 = 3,5 ms", False),
        ("2000", "2,000 people", False),
        ("1234567", "1,234,567", False),
        ("1.5", "it is 1,500", True),
    ],
)
def test_commas_in_numbers_are_read_both_ways(expected: str, answer: str, ambiguous: bool) -> None:
    spec = _spec(expected=expected, test="NumAbsolute", options="0.001")
    got = MathChecker().check(spec, answer)
    assert got.fraction == 1.0
    assert bool(got.details.get("ambiguous")) is ambiguous
    assert "reading" in got.details


def test_a_list_with_spaces_is_not_a_decimal() -> None:
    spec = _spec(expected="1.2", test="NumAbsolute", options="0.001")
    assert MathChecker().check(spec, "the roots are 1, 2").fraction == 0.0


@pytest.mark.parametrize(
    ("student", "gold", "result"),
    [
        (r"The answer is $\boxed{7:32}$", "7/32", "pass"),
        ("The ratio is 7:32.", "7/32", "pass"),
        ("The ratio is 7:32.", "7/31", "fail"),
        ("the interval is (1, 3]", "(1,3]", "pass"),
        ("the interval is (1, 3]", "(1,3)", "fail"),
        ("The solution set is {1, 2, 3}", "{3,2,1}", "pass"),
        ("the point is (2, -1)", "(2,-1)", "pass"),
        ("the point is (2, -1)", "(-1,2)", "fail"),
        ("about 18.75 %", "0.1875", "pass"),
        ("It is 5 (see part (a, b))", "5", "pass"),
    ],
)
def test_extract_finds_structures_ratios_and_percent_in_prose(
    student: str, gold: str, result: str
) -> None:
    from grader.checks.math.answertests.table import answer_test

    assert answer_test("Extract", student, gold).result == result


@pytest.mark.parametrize(
    ("student", "result"),
    [
        ("ln(k*abs(x))", "pass"),
        ("ln(abs(x)*k)", "pass"),
        ("ln(k*x)", "fail"),
        ("ln(abs(x))", "fail"),
    ],
)
def test_int_takes_the_constant_inside_the_logarithm(student: str, result: str) -> None:
    from grader.checks.math.answertests.table import answer_test

    assert answer_test("Int", student, "ln(abs(x)) + c", "x").result == result


def test_feedback_on_a_number_is_about_the_quantity_asked_for() -> None:
    spec = _spec(expected="1.50", test="NumSigFigs", options="3")
    checker = MathChecker()
    near = checker.check(spec, "n = 36 and the SE is 1.5")
    assert near.fraction == 0 and "significant figures" in near.feedback
    assert near.evidence == "1.5"
    other = checker.check(spec, "P1 = 11, P2 = 3")  # numbers, but not this quantity
    assert other.fraction == 0 and "significant" not in other.feedback
    again = checker.check(spec, "P1 = 11, P2 = 3")  # no remark left over from a check before
    assert again.feedback == other.feedback


@pytest.mark.parametrize(
    ("spec", "answer"),
    [
        ({"expected": "3.5", "test": "NumAbsolute", "options": "0.05"}, "three and a half ms"),
        (
            {"expected": "(a - b)/(c/sqrt(n))", "variables": ["a", "b", "c", "n"]},
            "z = (a − b) divided by (c/sqrt(n))",
        ),
        ({"expected": "x^2 + 1", "variables": ["x"]}, "it is x squared + 1"),
    ],
)
def test_operators_and_fractions_in_words(spec: dict[str, object], answer: str) -> None:
    assert MathChecker().check(_spec(**spec), answer).fraction == 1.0


@pytest.mark.parametrize(
    ("answer", "credit"),
    [
        ("SE = 1.5 g", 1.0),
        ("SE = 0.0015 kg", 1.0),
        ("SE = 1.5", 0.5),
        ("SE = 9/6 = 1.5 (n = 36 bags)", 0.5),
        ("SE = 1.5 mg", 0.25),
        ("SE = 1.5 s", 0.0),
    ],
)
def test_missing_unit_and_wrong_prefix_get_their_own_credit(answer: str, credit: float) -> None:
    spec = _spec(
        expected="1.5*g",
        test="UnitsAbsolute",
        options="0.01",
        mistakes=[
            {"expected": "1.5", "credit": 0.5, "feedback": "Give the unit."},
            {"expected": "1.5*mg", "credit": 0.25, "feedback": "Wrong prefix."},
        ],
    )
    assert MathChecker().check(spec, answer).fraction == credit


# Answers as students of other subjects write them (chemistry, physics, probability,
# finance): each must get the verdict in the last column.
SPELLINGS = [
    (
        dict(expected="0.25*mol/L", test="UnitsRelative", options="0.01"),
        "c = n/V = 0.5 mol / 2 L = 0.25 mol/L",
        1,
    ),
    (
        dict(expected="0.25*mol/L", test="UnitsRelative", options="0.01"),
        "The concentration is 0.25 M.",
        1,
    ),
    (dict(expected="0.25*mol/L", test="UnitsRelative", options="0.01"), "c = 0.25 mol·L⁻¹", 1),
    (dict(expected="0.25*mol/L", test="UnitsRelative", options="0.01"), "c = 250 mmol/L", 1),
    (dict(expected="9.81*m/s^2", test="UnitsRelative", options="0.01"), "g ≈ 9.81 m/s²", 1),
    (
        dict(expected="9.81*m/s^2", test="UnitsRelative", options="0.01"),
        r"$g = 9.81\,\mathrm{m\,s^{-2}}$",
        1,
    ),
    (
        dict(expected="9.81*m/s^2", test="UnitsRelative", options="0.01"),
        r"$a = 9.81 \text{ m/s}^2$",
        1,
    ),
    (
        dict(expected="1500*J", test="UnitsRelative", options="0.01"),
        "W = F·d = 300 N × 5 m = 1500 J = 1.5 kJ",
        1,
    ),
    (dict(expected="1500*J", test="UnitsRelative", options="0.01"), "The work is 1.5 kJ", 1),
    (dict(expected="1500*J", test="UnitsRelative", options="0.01"), "The work is 1,500 J", 1),
    (dict(expected="25*degC", test="UnitsRelative", options="0.01"), "T = 25 °C", 1),
    (dict(expected="0.5", test="NumAbsolute", options="0.01"), "P(A) = 1/2", 1),
    (dict(expected="0.5", test="NumAbsolute", options="0.01"), "P(A) = 50%", 1),
    (dict(expected="0.5", test="NumAbsolute", options="0.01"), "The probability is one half.", 1),
    (dict(expected="0.5", test="NumAbsolute", options="0.01"), "P(A)=0.5", 1),
    (dict(expected="12", test="NumAbsolute", options="0.01"), "Profit = $12", 1),
    (dict(expected="12", test="NumAbsolute", options="0.01"), "Profit = 12 €", 1),
    (dict(expected="1200", test="NumAbsolute", options="0.5"), "revenue is $1,200.", 1),
    (dict(expected="0.0456", test="NumRelative", options="0.01"), "p = 4.56 × 10⁻²", 1),
    (dict(expected="0.0456", test="NumRelative", options="0.01"), "p = 4.56e-2", 1),
    (dict(expected="0.0456", test="NumRelative", options="0.01"), "p = 4,56 %", 1),
    (dict(expected="3", test="NumAbsolute", options="0.01"), "x = 3", 1),
    (dict(expected="3", test="NumAbsolute", options="0.01"), "x=3.", 1),
    (dict(expected="-3", test="NumAbsolute", options="0.01"), "x = −3", 1),
    (dict(expected="-3", test="NumAbsolute", options="0.01"), "the answer is minus three", 1),
    (dict(expected="lambda*exp(-lambda*t)"), "f(t) = λe^{−λt}", 1),
    (dict(expected="lambda*exp(-lambda*t)"), "f(t) = λ exp(−λt)", 1),
    (dict(expected="lambda*exp(-lambda*t)"), r"$f(t)=\lambda \mathrm{e}^{-\lambda t}$", 1),
    (dict(expected="sqrt(p*(1-p)/n)"), r"$SE = \sqrt{\dfrac{\hat p(1-\hat p)}{n}}$", 0),
    (dict(expected="sqrt(phat*(1-phat)/n)"), r"$SE = \sqrt{\dfrac{\hat p(1-\hat p)}{n}}$", 1),
    (dict(expected="sqrt(phat*(1-phat)/n)"), "SE = √(p̂(1−p̂)/n)", 1),
    (dict(expected="sqrt(phat*(1-phat)/n)"), "SE = sqrt(p_hat*(1-p_hat)/n)", 1),
    (dict(expected="m*g*h"), "E_p = mgh", 1),
    (dict(expected="m*g*h"), "Ep = m·g·h", 1),
    (dict(expected="1/2*m*v^2"), "E_k = ½mv²", 1),
    (dict(expected="1/2*m*v^2"), "KE = (1/2) m v^2", 1),
    (dict(expected="1/2*m*v^2"), r"$E_k=\frac12 mv^2$", 1),
    (dict(expected="1/2*m*v^2"), "KE = mv^2/2", 1),
    (dict(expected="1/2*m*v^2"), "KE = 0.5mv^2", 1),
    (dict(expected="2*pi*r"), "C = 2πr", 1),
    (dict(expected="2*pi*r"), "C = πd = 2πr", 1),
    (dict(expected="P*(1+r)^n"), "A = P(1 + r)^n", 1),
    (dict(expected="P*(1+r)^n"), "A = P(1+r)ⁿ", 1),
    (dict(expected="(a+b)^2", variables=["a", "b"]), "a² + 2ab + b²", 1),
    (dict(expected="x = 2"), "so x = 2", 1),
    (dict(expected="y = 2*x + 1"), "y = 2x + 1", 1),
    (dict(expected="y = 2*x + 1"), "the line is y=2x+1.", 1),
    (dict(expected="v0*t + a*t^2/2", variables=["v0"]), "s = v₀t + ½at²", 1),
    (dict(expected="v_0*t + a*t^2/2"), "s = v_0 t + at^2/2", 1),
    (dict(expected="n*(n+1)/2"), "S = n(n+1)/2", 1),
    (dict(expected="k*x"), "F = kx", 1),
    (dict(expected="F/A"), "σ = F/A", 1),
    (dict(expected="q*E"), "F = qE", 1),
]


@pytest.mark.parametrize(("spec", "answer", "credit"), SPELLINGS)
def test_answers_from_other_subjects(spec: dict[str, object], answer: str, credit: int) -> None:
    assert MathChecker().check(_spec(**spec), answer).fraction == credit


@pytest.mark.parametrize(
    ("expected", "answer", "ambiguous"),
    [
        ("1/(2*x)", "y = 1/2x", True),
        ("x/2", "y = 1/2x", False),
        ("sigma/(2*sqrt(n))", "σ/2√n", True),
        ("a/b*c", "a/b c", False),
    ],
)
def test_a_product_after_a_slash_is_read_both_ways(
    expected: str, answer: str, ambiguous: bool
) -> None:
    got = MathChecker().check(_spec(expected=expected), answer)
    assert got.fraction == 1.0
    assert bool(got.details.get("ambiguous")) is ambiguous
    assert ("review_reason" in got.details) is ambiguous


@pytest.mark.parametrize(
    ("answer", "credit", "feedback"),
    [
        ("x^3/3 + C", 1.0, ""),
        ("x³/3", 0.5, "Add the constant of integration."),
        ("x^3 + C", 0.0, "Divide by the new power."),
    ],
)
def test_calculus_mistakes_include_a_missing_constant(
    answer: str, credit: float, feedback: str
) -> None:
    spec = _spec(
        expected="x^3/3 + c",
        test="Int",
        options="x",
        mistakes=[
            {"expected": "x^3/3", "credit": 0.5, "feedback": "Add the constant of integration."},
            {"expected": "x^3", "credit": 0, "feedback": "Divide by the new power."},
        ],
    )
    got = MathChecker().check(spec, answer)
    assert got.fraction == credit and got.feedback == feedback


@pytest.mark.parametrize(
    ("answer", "credit"),
    [
        ("p = 1 - q, so the heterozygotes are 2pq", 1.0),
        ("so the heterozygotes are 2pq", 0.5),
        ("they are 2q(1 − q) of all", 1.0),
        ("I have 2 apples and q", 0.0),
    ],
)
def test_a_formula_glued_to_its_number_is_found_in_prose(answer: str, credit: float) -> None:
    spec = _spec(
        expected="2*q*(1-q)",
        mistakes=[{"expected": "2*p*q", "credit": 0.5, "feedback": "only in q"}],
    )
    assert MathChecker().check(spec, answer).fraction == credit


_NUM = {"expected": "0.05", "test": "NumAbsolute", "options": "0.001"}
_UNIT = {"expected": "130*ns", "test": "UnitsRelative", "options": "0.01"}
N, U = _NUM, _UNIT
# One value written the ways students write it, in prose, LaTeX and with units.
ONE_VALUE = [
    (N, "q=.05", 1),
    (N, "q = 5 × 10^-2", 1),
    (N, "q = 5·10⁻²", 1),
    (N, "q = 0.05 → 5%", 1),
    (N, "q = 1/20", 1),
    (N, "q ≈ 0,05", 1),
    (N, "q is five percent", 1),
    (N, "q = √(1/400) = 1/20", 1),
    (N, r"$q=\sqrt{\frac{1}{400}}=0.05$", 1),
    (N, "q = 0.5", 0),
    (N, "q² = 0.0025", 0),
    (N, "p-value = 0.05", 1),
    (U, "130ns", 1),
    (U, "130 nanoseconds", 1),
    (U, "1.3e2 ns", 1),
    (U, "1.3×10² ns", 1),
    (U, "0.13 μs", 1),
    (U, "EAT = 0.9·120 + 0.1·220 = 130 ns", 1),
    (U, "EAT = 130 ms", 0),
    (U, r"$130\,\text{ns}$", 1),
    (U, r"$130\ \mathrm{ns}$", 1),
    (U, "1.3 × 10^-7 s", 1),
    (U, "0,13 µs", 1),
    (U, "130 nsec", 1),
]


@pytest.mark.parametrize(("spec", "answer", "credit"), ONE_VALUE)
def test_one_value_many_spellings(spec: dict[str, object], answer: str, credit: int) -> None:
    assert MathChecker().check(_spec(**spec), answer).fraction == credit


@pytest.mark.parametrize(
    ("answer", "credit"),
    [
        ("z = (x̄ − μ₀)/(σ/√n)", 1.0),
        ("(x̄ − μ₀)/(σ/√n)", 1.0),
        ("T = (x̄ − μ₀)/(σ/√n)", 1.0),
        ("(x̄ − μ₀)/σ", 0.25),
        ("z = 1.5", 0.0),
    ],
)
def test_an_expected_definition_also_accepts_its_right_hand_side(
    answer: str, credit: float
) -> None:
    spec = _spec(
        expected="z = (xbar - mu0)/(sigma/sqrt(n))",
        mistakes=[{"expected": "z = (xbar - mu0)/sigma", "credit": 0.25, "feedback": "√n"}],
    )
    assert MathChecker().check(spec, answer).fraction == credit


def test_a_decimal_slip_is_named_without_credit() -> None:
    spec = _spec(expected="0.095", test="NumAbsolute", options="0.002")
    got = MathChecker().check(spec, "Carriers: 2 × 0.05 × 0.95 = 0.0095, so about 1%.")
    assert got.fraction == 0.0 and "factor of 10" in got.feedback and "0.0095" in got.feedback
    assert "factor" not in MathChecker().check(spec, "carriers = 0.5").feedback
