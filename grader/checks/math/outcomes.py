"""What a math criterion makes of the candidates it found: the numbers written in prose,
which rubric outcome a candidate meets under which test (mistakes for every test, the
missing unit), how a second reading is reported, and the best of several outcomes."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from fractions import Fraction

from grader.checks.base import CheckResult
from grader.checks.math.answertests.numeric import value
from grader.checks.math.answertests.table import answer_test
from grader.checks.math.answertests.verdict import Invalid
from grader.checks.math.units import common_unit
from grader.mathlang.calculus import free_symbols
from grader.mathlang.reading import Reading, prepare
from grader.mathlang.tree import Node
from grader.mathlang.unparse import to_text

NUMERIC_TESTS = ("Num", "Units", "SigFigs", "GT")
_QUANTITY = re.compile(
    r"(?<![\w.,])[-−]?(?:\d{1,3}(?:[ \u00a0\u2009\u202f']\d{3})+(?![\w.,])|\d+(?:[.,]\d+)?)"
    r"(?![.,]\d)(?:[eE][-+]?\d+)?(?:\s*(?:\*|·|×)\s*10\^[-+]?\d+)?"  # 3,5,7 is a list
)
_UNIT_TAIL = re.compile(
    r"\s*[A-Za-zμµΩ°][A-Za-zμµΩ0-9]*(?:\s*[/*·^]\s*[A-Za-zμµΩ0-9][A-Za-zμµΩ0-9^]*)*"
)


_PERCENT_TAIL = re.compile(r"\s*(?:%|percent\b|per cent\b)", re.I)


def specificity(feedback: str) -> int:
    if not feedback:
        return 0
    return (
        2
        if re.search(r"significant|decimal places|tolerance|expected units|compatible", feedback)
        else 1
    )


def quantities(answer: str, *, with_units: bool) -> list[str]:
    """Numbers written in prose ("A has 7880 more parameters"), last first; with units if
    the test needs them ("12.3 m/s")."""
    out = []
    for m in list(_QUANTITY.finditer(answer[:20_000]))[-20:]:
        text = m.group(0)
        if with_units:
            tail = _UNIT_TAIL.match(answer, m.end())
            text += tail.group(0) if tail else ""
        out.append(text.strip())
        if _PERCENT_TAIL.match(answer, m.end()):
            # "5 percent" is 0.05 when a fraction is expected, and 5 when a percentage is
            out.append(m.group(0).strip() + "%")
    return out[::-1]


def defined_by(node: Node) -> Node | None:
    """The right-hand side of an equation that defines its left side (EAT = …), else None."""
    if node[0] != "eq" or node[1][0] not in ("sym", "idx"):
        return None
    name = free_symbols(node[1])
    return None if name & free_symbols(node[2]) else node[2]


@dataclass
class Note:
    """Per check: the most specific reason a candidate failed, and that candidate."""

    feedback: str = ""
    candidate: tuple[str, Node] | None = None
    units_written: bool = False  # a number in the answer is followed by a known unit


_UNITLESS = {
    "Units": "NumSigFigs",
    "UnitsStrict": "NumSigFigs",
    "UnitsRelative": "NumRelative",
    "UnitsStrictRelative": "NumRelative",
    "UnitsAbsolute": "NumAbsolute",
    "UnitsStrictAbsolute": "NumAbsolute",
}


def has_unit(quantity: str) -> bool:
    """'1.5 mg', '12 m/s': a number followed by a unit we know (not '3 processes')."""
    words = re.findall(r"[A-Za-zΩµμ]+", quantity)
    return bool(words) and common_unit(words[0])


def mistake_test(test: str, mistake_expected: str) -> str:
    """A Units criterion's mistake written without a unit ("1.5") is the missing-unit
    mistake: the bare number is compared by the same test without units."""
    if test in _UNITLESS and not re.search(r"[A-Za-zΩµμ]", mistake_expected):
        return _UNITLESS[test]
    return test


def about_this_quantity(test: str, student: str, expected: str) -> bool:
    """Feedback on the form of a number ("3 significant figures") is about the quantity
    the criterion asks for only if the number is that quantity, within STACK's default
    relative tolerance (NumRelative without options); another number of the answer (a
    count, an intermediate step) gets no such remark."""
    if not test.startswith(NUMERIC_TESTS):
        return True
    loose = "UnitsRelative" if test.startswith("Units") else "NumRelative"
    return answer_test(loose, student, prepare(expected), "").passed


def with_reading(result: CheckResult, reading: Reading) -> CheckResult:
    """Say which reading gave the verdict; where two readings disagree (1,500: 1500 or
    1.5; 1/2x: x/2 or 1/(2x)) the instructor is told which one was graded."""
    details = dict(result.details, reading=reading.note)
    if reading.ambiguous:
        details["ambiguous"] = True
        details["review_reason"] = reading.note
    return replace(result, details=details)


_ALTERNATIVE_SPLIT = re.compile(r";|\bor\b")


def alternatives(answer: str, readable: list[str]) -> int:
    """How many values or formulas the answer offers side by side as alternatives: parts
    of it, cut at ';' and 'or', that are nothing but one candidate it read
    ("3.5; 4.5; 8.25" or "3.5 or 4.5"). Steps of a worked solution ("z = 3/2 = 1.5") and
    values listed with commas or line by line ("waiting times 0, 7, 9, 2") are not
    alternatives."""
    read = {" ".join(t.split()) for t in readable}
    parts = (" ".join(p.split()).strip(" .") for p in _ALTERNATIVE_SPLIT.split(answer))
    return len({p for p in parts if p in read})


def best(found: dict[str, CheckResult], offered: int = 0) -> CheckResult:
    """The best verdict among the outcomes the answer states. A right answer is not
    lowered by a known mistake written on the way to it (2pq = 2q(1-q)); how many
    outcomes were offered (rubric outcomes, or `offered` alternatives side by side) is left
    in `details` for the grading core to judge."""
    best = max(found.values(), key=lambda r: r.fraction)
    if len(found) == 1 and offered < 3:
        return best
    details = dict(best.details)
    details["candidates"] = max(len(found), offered)
    details["matched"] = int("expected" in found)
    return replace(best, details=details)


def power_of_ten_slip(
    expected: Node, readable: list[tuple[str, Node]]
) -> tuple[str, tuple[str, Node]] | None:
    """A number off by exactly 10, 100 or 1000 (either way) is a slip of the decimal point
    or of a unit: say so (no credit; a rubric gives credit with a mistake)."""
    try:
        want = value(expected)
    except (Invalid, ArithmeticError, ValueError, TypeError):
        return None  # no value, no hint
    if not isinstance(want, (int, float, Fraction)) or want == 0:
        return None
    for text, node in readable[:20]:
        if free_symbols(node) or node[0] not in ("num", "mul", "neg", "pos", "add", "pow"):
            continue
        try:
            got = value(node)
        except (Invalid, ArithmeticError, ValueError, TypeError):
            continue  # an unreadable candidate gives no hint
        if not isinstance(got, (int, float, Fraction)) or got == 0:
            continue
        ratio = Fraction(got) / Fraction(want)
        for k in (1, 2, 3):
            if ratio in (Fraction(10) ** k, Fraction(1, 10**k)):
                return (
                    f"Your value {to_text(node)} is off by a factor of {10**k}: "
                    "check the decimal point and the units.",
                    (text, node),
                )
    return None
