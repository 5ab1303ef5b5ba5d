"""Calculus answer tests: Diff, Int, Antidiff, AddConst, and SubstEquiv (renaming)."""

from __future__ import annotations

import itertools
from fractions import Fraction

from grader.checks.math.answertests.equivalence import equiv_nodes, kind_of
from grader.checks.math.answertests.verdict import (
    PASS,
    AnswerTest,
    Invalid,
    Verdict,
    fail,
    on_trees,
    parse_options,
    parse_side,
)
from grader.mathlang.calculus import NotDifferentiable, diff, free_symbols
from grader.mathlang.calculus import rename as _rename
from grader.mathlang.equiv import Undecided, compare_values
from grader.mathlang.errors import EvalError
from grader.mathlang.numeric import Point, evaluate
from grader.mathlang.tree import Node, children

KEYWORDS = {"NOCONST", "FORMAL", "NONSTRICT"}


def _var_options(opts: list[Node] | None, *, allow: set[str]) -> tuple[list[str], set[str]]:
    """Variables and keywords of an option list; anything else is an unusable option."""
    if not opts:
        raise Invalid("this test needs the variable as its option")
    names: list[str] = []
    keys: set[str] = set()
    for o in opts:
        if o[0] != "sym":
            raise Invalid("the test option must be a variable")
        if o[1] in KEYWORDS:
            if o[1] not in allow:
                raise Invalid(f"the option {o[1]} is not supported by this test")
            keys.add(o[1])
        else:
            names.append(o[1])
    if not names:
        raise Invalid("this test needs the variable as its option")
    return names, keys


def _first_var(opts: list[Node] | None, *, allow: set[str]) -> tuple[str, set[str], list[str]]:
    if opts and len(opts) > 1 and any(o[0] != "sym" for o in opts[1:]):
        names, keys = _var_options(opts[:1], allow=allow)
        return names[0], keys, names
    names, keys = _var_options(opts, allow=allow)
    return names[0], keys, names


def _d(n: Node, var: str) -> Node:
    try:
        return diff(n, var)
    except NotDifferentiable as exc:
        raise Invalid(str(exc)) from None


def _same(a: Node, b: Node) -> bool:
    try:
        return compare_values(a, b, prefer_real=True)
    except Undecided:
        return False


def _diff(s: Node, t: Node, opts: list[Node] | None) -> Verdict:
    x, _, _ = _first_var(opts, allow=set())
    if kind_of(s) != "expression" or kind_of(t) != "expression":
        return fail("Your answer should be an expression, not an equation.")
    if equiv_nodes(s, t):
        return PASS
    if x in free_symbols(s) and _same(_d(s, x), t):
        return fail("It looks like you have integrated instead of differentiated.")
    return fail()


def _x_independent(n: Node, x: str) -> bool:
    """n has the same value whatever x is: compare n with a copy where x is a new symbol."""
    return _same(n, _rename(n, {x: x + "#other"}))


def _nonzero_somewhere(n: Node, c: str) -> bool:
    """dK/dc does not vanish at c = 0 or at random points (c^2, c^3 fail; c, ln|c| pass)."""
    for k, cv in enumerate((0.0, 1.3, -0.8)):
        pt = Point(77 + k)
        pt.values[c] = cv
        try:
            v = evaluate(n, pt, "float")
        except EvalError:
            continue
        if abs(v) < 1e-12:
            return False
    return True


def _antidiff(s: Node, t: Node, opts: list[Node] | None) -> Verdict:
    x, _, _ = _first_var(opts, allow=set())
    if kind_of(s) != "expression" or kind_of(t) != "expression":
        return fail("Your answer should be an expression, not an equation.")
    if _same(_d(s, x), _d(t, x)):
        return PASS
    return fail()


def _teacher_constants(t: Node, x: str) -> set[str]:
    out = set()
    for c in free_symbols(t) - {x}:
        if _x_independent(_d(t, c), x):
            out.add(c)
    return out


def _int(s: Node, t: Node, opts: list[Node] | None) -> Verdict:
    x, keys, names = _first_var(opts, allow={"NOCONST", "FORMAL"})
    if kind_of(s) != "expression" or kind_of(t) != "expression":
        return fail("Your answer should be an expression, not an equation.")
    ds = _d(s, x)
    if not _same(ds, _d(t, x)):
        if x in free_symbols(s) and _same(s, _d(t, x)):
            return fail("It looks like you have differentiated instead of integrated.")
        return fail()
    t_params = free_symbols(t) - _teacher_constants(t, x) - {x}
    extra = sorted(free_symbols(s) - t_params - {x} - set(names))
    if "FORMAL" in keys and not extra:
        pass  # a formal check accepts an antiderivative without its constant
    elif "NOCONST" in keys:
        if extra:
            return fail("Your answer has a constant that is not needed.")
    else:
        if not extra:
            return fail("You need to add a constant of integration.")
        if len(extra) > 1:
            return fail("Your answer has more than one constant of integration.")
        c = extra[0]
        dc = _d(s, c)
        if not _x_independent(dc, x) or not _nonzero_somewhere(dc, c):
            return fail("Your constant of integration cannot take every value.")
    if "FORMAL" not in keys:
        s_abs, s_plain = _logs(s)
        t_abs, _ = _logs(t)
        if (t_abs and s_plain) or (s_abs and s_plain):
            return fail("Check the logarithms: an antiderivative of 1/x is ln|x|.")
    return PASS


def _logs(n: Node) -> tuple[int, int]:
    """How many logarithms take |.| of their argument, and how many do not."""
    with_abs = plain = 0
    stack = [n]
    while stack:
        node = stack.pop()
        if node[0] == "call" and node[1] == "log":
            arg = node[2][0]
            factors = arg[1] if arg[0] == "mul" else (arg,)
            # ln|x| and ln(k·|x|): the constant of integration may sit inside the log
            if any(f[0] == "call" and f[1] == "abs" for f in factors):
                with_abs += 1
            elif free_symbols(arg):
                plain += 1
        stack.extend(children(node))
    return with_abs, plain


def _add_const(s: Node, t: Node, opts: list[Node] | None) -> Verdict:
    names, keys = _var_options(opts, allow={"NONSTRICT"})
    x = names[0]
    cands = sorted(free_symbols(s) - set(names))
    if not cands:
        return fail("You need to add a constant.")
    if len(cands) > 1:
        return fail("Your answer has more than one constant: " + ", ".join(cands))
    c = cands[0]
    dc = _d(s, c)
    if "NONSTRICT" in keys:
        ok = _x_independent(dc, x) and not _same(dc, ("num", _ZERO, "0"))
    else:
        ok = _same(dc, ("num", _ONE, "1"))
    return PASS if ok else fail("The constant must be added to your answer.")


def subst_equiv_raw(student: str, teacher: str, options: str) -> Verdict:
    if options.strip() and not options.strip().startswith("["):
        raise Invalid("give the fixed variables as a list, e.g. [x]")
    opts = parse_options(options)
    return _subst_equiv(parse_side(student, "student's"), parse_side(teacher, "teacher's"), opts)


def _subst_equiv(s: Node, t: Node, opts: list[Node] | None) -> Verdict:
    fixed: set[str] = set()
    if opts is not None:
        for o in opts:
            if o[0] != "sym":
                raise Invalid("the fixed variables must be names")
            fixed.add(o[1])
    sv, tv = sorted(free_symbols(s) - fixed), sorted(free_symbols(t) - fixed)
    if len(sv) != len(tv) or len(sv) > 7:
        return fail()
    for perm in itertools.permutations(tv):
        mapping = dict(zip(sv, perm, strict=True))
        try:
            if equiv_nodes(_rename(s, mapping), t):
                return (
                    PASS
                    if not mapping or all(k == v for k, v in mapping.items())
                    else (Verdict("pass", "", "ATSubstEquiv_Subst " + str(mapping)))
                )
        except (Undecided, EvalError):
            continue
    return fail()


_ONE = Fraction(1)
_ZERO = Fraction(0)

TESTS: dict[str, AnswerTest] = {
    "Diff": on_trees(_diff),
    "Int": on_trees(_int),
    "Antidiff": on_trees(_antidiff),
    "AddConst": on_trees(_add_const),
    "SubstEquiv": subst_equiv_raw,
}
