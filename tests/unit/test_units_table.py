"""The units' own table does not grow with the pint lookups a process has made, so what
counts as a common unit (and so whether '36 bags' in prose is a quantity) does not depend on
which answers a worker graded before."""

from __future__ import annotations

from grader.checks.math.units import common_unit, unit_info


def test_a_pint_unit_stays_outside_the_common_table() -> None:
    assert not common_unit("bag")
    assert unit_info("bag") is not None  # pint knows it (a bag of cement)
    assert not common_unit("bag")
    assert common_unit("kJ") and unit_info("kJ") is not None
