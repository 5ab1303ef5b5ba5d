"""Numeric answer tests: NumRelative, NumAbsolute, NumSigFigs, SigFigsStrict, NumDecPlaces,
GT, GTE and the Units* family. Significant figures are read from the literal as typed."""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any

from grader.checks.math.answertests.equivalence import is_constant, kind_of
from grader.checks.math.answertests.verdict import (
    PASS,
    AnswerTest,
    Invalid,
    Verdict,
    fail,
    parse_options,
    parse_side,
)
from grader.checks.math.units import CELSIUS_OFFSET, unit_info, unit_name
from grader.mathlang import MathError, read
from grader.mathlang.errors import EvalError, Undefined
from grader.mathlang.numeric import Evaluator, NotExact, Point
from grader.mathlang.tree import Node, children


def value(n: Node) -> Any:
    """Exact Fraction if possible, else a complex float; -inf/inf as floats."""
    try:
        return Evaluator("exact", Point(1, exact=True)).ev(n)
    except NotExact:
        pass
    except (EvalError, ZeroDivisionError) as exc:
        raise Invalid(f"the number cannot be evaluated: {exc}") from None
    if _has_inf(n):
        return _inf_value(n)
    try:
        z = Evaluator("float", Point(1)).ev(n)
    except (EvalError, ZeroDivisionError, OverflowError) as exc:
        raise Invalid(f"the number cannot be evaluated: {exc}") from None
    return z.real if abs(z.imag) <= 1e-12 * max(1.0, abs(z.real)) else z


def _has_inf(n: Node) -> bool:
    return n == ("const", "inf") or (n[0] in ("neg", "pos") and _has_inf(n[1]))


def _inf_value(n: Node) -> float:
    return -math.inf if n[0] == "neg" else math.inf


def _real(v: Any) -> Fraction | float:
    if isinstance(v, complex):
        raise Invalid("the number must be real")
    return v


def sigfig_range(literal: str) -> tuple[int, int, int]:
    """(min, max) significant figures of a literal as typed, and its decimal places."""
    mant = literal.lower().split("e")[0]
    places = len(mant.split(".")[1]) if "." in mant else 0
    digits = mant.replace(".", "")
    stripped = digits.lstrip("0")
    if not stripped:  # zero: 0 -> 1, 0.00 -> 2, .0 -> 1
        n = max(1, places)
        return n, n, places
    if "." in mant:
        return len(stripped), len(stripped), places
    core = stripped.rstrip("0")
    return len(core), len(stripped), places


def first_literal(n: Node) -> str | None:
    """The mantissa literal: the first number not part of a power of ten."""
    stack = [n]
    while stack:
        node = stack.pop()
        op = node[0]
        if op == "num":
            return str(node[2])
        if op == "pow" and node[1][0] == "num" and node[1][1] == 10:
            continue
        stack.extend(reversed(children(node)))
    return None


def _int_option(o: Node) -> int:
    if o[0] == "neg" and o[1][0] == "num" and o[1][1].denominator == 1:
        return -int(o[1][1])
    if o[0] == "num" and o[1].denominator == 1:
        return int(o[1])
    raise Invalid("the option must be a whole number")


def _number_side(text: str, who: str) -> Node:
    node = parse_side(text, who)
    return node


def _student_number(text: str) -> tuple[Node, Any] | Verdict:
    s = _number_side(text, "student's")
    if not is_constant(s):
        return fail("Your answer should be a number.")
    return s, _real(value(s))


def _tolerance_check(s: Any, t: Any, tol: Any, relative: bool) -> bool:
    if isinstance(s, float) and math.isinf(s) or isinstance(t, float) and math.isinf(t):
        return bool(s == t)
    bound = tol * abs(t) if relative else tol
    return bool(abs(s - t) <= bound)


def _num_tol(relative: bool) -> Any:
    def run(student: str, teacher: str, options: str) -> Verdict:
        tol: Any = Fraction(1, 20)
        if options.strip():
            try:
                o = read(options)
            except Undefined as exc:
                raise Invalid(f"the tolerance cannot be used: {exc}") from None
            except MathError:
                return fail("The tolerance option cannot be read.")
            if not is_constant(o):
                raise Invalid("the tolerance must be a number")
            tol = _real(value(o))
        t = parse_side(teacher, "teacher's")
        got = _student_number(student)
        if isinstance(got, Verdict):
            return got
        if not is_constant(t):
            return fail("The teacher's answer is not a number.")
        return PASS if _tolerance_check(got[1], _real(value(t)), tol, relative) else fail()

    return run


def _sigfig_options(options: str) -> tuple[int, int]:
    opts = parse_options(options)
    if not opts:
        raise Invalid("the number of significant figures is missing")
    n = _int_option(opts[0])
    m = _int_option(opts[1]) if len(opts) > 1 else n
    if n <= 0 or len(opts) > 2:
        raise Invalid("the number of significant figures must be positive")
    return n, m


def _sigfig_close(s: Any, t: Any, m: int, strict: bool) -> bool:
    if t == 0:
        return bool(s == 0)
    exp10 = math.floor(math.log10(abs(float(t))))
    if isinstance(t, Fraction):  # exact floor(log10) for exact teachers
        while Fraction(10) ** exp10 > abs(t):
            exp10 -= 1
        while Fraction(10) ** (exp10 + 1) <= abs(t):
            exp10 += 1
    unit = Fraction(10) ** (exp10 - m + 1)
    tol = unit / 2
    if not isinstance(t, Fraction) or not isinstance(s, Fraction):
        return bool(abs(float(s) - float(t)) <= float(tol) * (1 + 1e-12))
    diff = abs(s - t)
    if diff != tol:
        return bool(diff < tol)
    # exactly half a unit away: only the teacher's value rounded half away from zero counts
    q = abs(t) / unit
    rounded = (math.floor(q) + (1 if q - math.floor(q) >= Fraction(1, 2) else 0)) * unit
    return bool(s == (rounded if t > 0 else -rounded))


def _num_sigfigs(student: str, teacher: str, options: str) -> Verdict:
    n, m = _sigfig_options(options)
    t = parse_side(teacher, "teacher's") if m != 0 else None
    got = _student_number(student)
    if isinstance(got, Verdict):
        return got
    s_node, s = got
    lit = first_literal(s_node)
    lo, hi, _ = sigfig_range(lit or "0")
    if m == -1:
        if hi < n:
            return fail(f"Your answer should have at least {n} significant figures.")
    elif not lo <= n <= hi:
        return fail(f"Your answer should be written with {n} significant figures.")
    if m == 0 or t is None:
        return PASS
    if not is_constant(t):
        raise Invalid("the teacher's answer must be a number")
    tv = _real(value(t))
    digits = n if m == -1 else m
    return PASS if _sigfig_close(s, tv, digits, strict=m == -1) else fail()


def _sigfigs_strict(student: str, teacher: str, options: str) -> Verdict:
    opts = parse_options(options)
    if not opts or len(opts) != 1:
        raise Invalid("the number of significant figures is missing")
    n = _int_option(opts[0])
    if n <= 0:
        raise Invalid("the number of significant figures must be positive")
    s = parse_side(student, "student's")
    lit = first_literal(s)
    if lit is None:
        return fail("Your answer should be a number.")
    lo, _, _ = sigfig_range(lit)
    return PASS if lo == n else fail(f"Your answer should have exactly {n} significant figures.")


def _num_dec_places(student: str, teacher: str, options: str) -> Verdict:
    opts = parse_options(options)
    if not opts:
        raise Invalid("the number of decimal places is missing")
    n = _int_option(opts[0])
    if n <= 0:
        raise Invalid("the number of decimal places must be positive")
    t = parse_side(teacher, "teacher's")
    got = _student_number(student)
    if isinstance(got, Verdict):
        return got
    if not is_constant(t):
        raise Invalid("the teacher's answer must be a number")
    s_node, s = got
    _, _, places = sigfig_range(first_literal(s_node) or "0")
    if places != n:
        return fail(f"Your answer should be written with {n} decimal places.")
    tv = _real(value(t))
    return PASS if abs(Fraction(s) - Fraction(tv)) <= Fraction(1, 2 * 10**n) else fail()


def _compare(strict: bool) -> Any:
    def run(student: str, teacher: str, options: str) -> Verdict:
        s, t = parse_side(student, "student's"), parse_side(teacher, "teacher's")
        if not is_constant(s) or not is_constant(t):
            return fail("Both answers must be numbers.")
        sv, tv = _real(value(s)), _real(value(t))
        ok = sv > tv if strict else sv >= tv
        return PASS if ok else fail()

    return run


# -- units -------------------------------------------------------------------------------
Quantity = tuple[Any, dict[str, int]]


def _quantity(n: Node) -> Quantity:
    op = n[0]
    if op == "num":
        return n[1], {}
    if op == "sym":
        name = unit_name(n[1].replace("_", ""))
        if unit_info(name) is None:
            raise Invalid(f"'{n[1]}' is not a unit")
        return Fraction(1), {name: 1}
    if op in ("neg", "pos"):
        v, u = _quantity(n[1])
        return (-v if op == "neg" else v), u
    if op == "mul":
        val: Any = Fraction(1)
        units: dict[str, int] = {}
        for f in _join_unit_letters(n[1]):
            v, u = _quantity(f)
            val = val * v
            for k, p in u.items():
                units[k] = units.get(k, 0) + p
        return val, {k: p for k, p in units.items() if p}
    if op == "inv":
        v, u = _quantity(n[1])
        if v == 0:
            raise Invalid("division by zero")
        return 1 / v, {k: -p for k, p in u.items()}
    if op == "pow":
        v, u = _quantity(n[1])
        if not is_constant(n[2]):
            raise Invalid("an exponent must be a number")
        e = value(n[2])
        if u and (not isinstance(e, Fraction) or e.denominator != 1):
            raise Invalid("units can only be raised to whole powers")
        ev = int(e) if isinstance(e, Fraction) and e.denominator == 1 else e
        return v**ev, {k: p * int(e) for k, p in u.items()}
    if is_constant(n):
        return value(n), {}
    raise Invalid("write the answer as a number times units, e.g. 9.81*m/s^2")


def _join_unit_letters(factors: tuple[Node, ...]) -> list[Node]:
    """kΩ and µs are read as k*Omega and mu*s (a Greek letter is a name of its own): the
    prefix joins the unit after it. Other neighbours (m*s, N*m) stay products."""
    out: list[Node] = []
    for f in factors:
        prev = out[-1] if out else None
        if (
            prev is not None
            and prev[0] == "sym"
            and f[0] == "sym"
            and (f[1] == "Omega" or prev[1] == "mu")
            and unit_info(prev[1] + f[1]) is not None
        ):
            out[-1] = ("sym", unit_name(prev[1] + f[1]))
            continue
        out.append(f)
    return out


def _si(q: Quantity) -> tuple[Any, tuple[int, ...]]:
    val, units = q
    dim = [0] * 7
    if list(units.items()) in ([("C", 1)], [("degC", 1)]):
        return val + CELSIUS_OFFSET, (0, 0, 0, 0, 1, 0, 0)
    for name, p in units.items():
        info = unit_info(name)
        assert info is not None
        factor, d = info
        val = val * factor**p
        for i, x in enumerate(d):
            dim[i] += x * p
    return val, tuple(dim)


def _units_test(kind: str, strict: bool) -> Any:
    def run(student: str, teacher: str, options: str) -> Verdict:
        t_node = parse_side(teacher, "teacher's")
        opts = parse_options(options)
        t_q = _quantity(t_node)
        if not t_q[1]:
            raise Invalid("the teacher's answer has no units")
        s_node = parse_side(student, "student's")
        if kind_of(s_node) != "expression":
            return fail("Your answer should be a number with units.")
        try:
            s_q = _quantity(s_node)
        except Invalid as exc:
            return fail(str(exc))
        if not s_q[1]:
            return fail("Your answer must have units.")
        if first_literal(s_node) is None:
            return fail("Your answer must have a number as well as units.")
        (sv, sd), (tv, td) = _si(s_q), _si(t_q)
        if sd != td:
            return fail("Your units are not compatible with the expected units.")
        if strict and s_q[1] != t_q[1]:
            return fail("Please give your answer in the expected units.")
        # compare in the teacher's units
        t_factor = _si((Fraction(1), t_q[1]))[0] if t_q[1] not in ({"C": 1}, {"degC": 1}) else 1
        s_in_t = (sv - (tv - t_q[0] * t_factor)) / t_factor if t_factor else sv
        if kind == "sigfigs":
            if not opts:
                raise Invalid("the number of significant figures is missing")
            n = _int_option(opts[0])
            m = _int_option(opts[1]) if len(opts) > 1 else n
            lo, hi, _ = sigfig_range(first_literal(s_node) or "0")
            if not lo <= n <= hi:
                return fail(f"Your answer should be written with {n} significant figures.")
            return PASS if _sigfig_close(s_in_t, t_q[0], m, strict=False) else fail()
        tol: Any = Fraction(1, 20)
        if opts:
            o = opts[0]
            if not is_constant(o):
                try:
                    oq = _quantity(o)
                except Invalid:
                    raise Invalid("the tolerance must be a number") from None
                if oq[1] != t_q[1]:
                    return fail("The tolerance is not in the units of the answer.")
                tol = oq[0]
            else:
                tol = _real(value(o))
        tval = t_q[0]
        return PASS if _tolerance_check(s_in_t, tval, tol, kind == "relative") else fail()

    return run


TESTS: dict[str, AnswerTest] = {
    "NumRelative": _num_tol(True),
    "NumAbsolute": _num_tol(False),
    "NumSigFigs": _num_sigfigs,
    "SigFigsStrict": _sigfigs_strict,
    "NumDecPlaces": _num_dec_places,
    "GT": _compare(True),
    "GTE": _compare(False),
    "Units": _units_test("sigfigs", False),
    "UnitsStrict": _units_test("sigfigs", True),
    "UnitsRelative": _units_test("relative", False),
    "UnitsAbsolute": _units_test("absolute", False),
    "UnitsStrictRelative": _units_test("relative", True),
    "UnitsStrictAbsolute": _units_test("absolute", True),
}
