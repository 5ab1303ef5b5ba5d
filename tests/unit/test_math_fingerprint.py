"""Value fingerprints: a filter that may only rule out comparisons the full check rejects."""

from __future__ import annotations

from grader.mathlang import read
from grader.mathlang.fingerprint import Fingerprinter, maybe_equal, maybe_ratio


def _fp(ref: str, positive: tuple[str, ...] = ()) -> Fingerprinter:
    return Fingerprinter([read(ref)], positive)


def test_equal_forms_may_match_and_different_ones_do_not() -> None:
    fp = _fp("(x+1)^2")
    ref = fp.vector(read("(x+1)^2"))
    assert maybe_equal(fp.vector(read("x^2 + 2x + 1")), ref)
    assert not maybe_equal(fp.vector(read("x^2 + 1")), ref)


def test_indexed_sums_use_the_same_data_points() -> None:
    fp = _fp("sum_n (w ln(x_n + v) - t_n)", positive=("x", "v", "w"))
    ref = fp.vector(read("sum_n (w ln(x_n + v) - t_n)"))
    assert maybe_equal(fp.vector(read("sum_i (w ln(x_i + v) - t_i)")), ref)
    assert not maybe_equal(fp.vector(read("sum_n (w ln(x_n + v) + t_n)")), ref)


def test_a_branch_cut_is_unknown_not_different() -> None:
    # log(a) + log(b) = log(ab) only where a, b > 0: no point may count against it
    fp = _fp("log(a*b)")
    assert maybe_equal(fp.vector(read("log(a) + log(b)")), fp.vector(read("log(a*b)")))


def test_values_do_not_depend_on_what_was_evaluated_before() -> None:
    first, second = _fp("x + y"), _fp("x + y")
    second.vector(read("z + q + x"))
    assert first.vector(read("z*y")) == second.vector(read("z*y"))


def test_ratio_of_equation_sides() -> None:
    fp = _fp("y - 2x - 1")
    ref = fp.vector(read("y - 2x - 1"))
    assert maybe_ratio(fp.vector(read("2y - 4x - 2")), ref)
    assert not maybe_ratio(fp.vector(read("y - 2x + 1")), ref)


def test_unevaluable_expression_is_unknown() -> None:
    fp = _fp("x")
    assert maybe_equal(fp.vector(read("1/(x - x)")), fp.vector(read("x")))
