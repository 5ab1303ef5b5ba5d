"""Equivalence of two ASTs by evaluation at shared random points (exact -> float -> mpmath)."""

from __future__ import annotations

from collections.abc import Callable, Collection
from typing import Any

import mpmath

from grader.mathlang.errors import EvalError
from grader.mathlang.numeric import NotExact, Point, evaluate
from grader.mathlang.tree import Node

FLOAT_TOL = 1e-11
MP_TOL = mpmath.mpf("1e-28")


class Undecided(Exception):
    """No evaluation point worked (every point hit a pole or overflowed)."""


def _close(a: Any, b: Any, tol: Any, scale: Any = 0) -> bool:
    diff = abs(a - b)
    size = max(abs(a), abs(b))
    return bool(diff <= tol * size or diff <= tol * scale * 1e-3)


def _long_literal(node: Node) -> bool:
    stack = [node]
    while stack:
        n = stack.pop()
        if n[0] == "num":
            if sum(c.isdigit() for c in n[2].lstrip("0.")) >= 10:
                return True
            continue
        for k in n[1:]:
            if isinstance(k, tuple):
                if k and isinstance(k[0], str):
                    stack.append(k)
                else:
                    stack.extend(x for x in k if isinstance(x, tuple))
    return False


def compare_values(
    left: Node,
    right: Node,
    *,
    relation: Callable[[list[tuple[Any, Any]], Any, Any], bool] | None = None,
    positive: Collection[str] = (),
    prefer_real: bool = False,
    points: int = 5,
    seed: int = 12345,
) -> bool:
    """True if `relation` holds on the values of left/right at the sample points.

    The default relation is equality at every point. A custom relation gets the list of
    (left, right) pairs, the tolerance and the scale, and decides (e.g. a constant ratio).
    """
    rel = relation or _all_equal
    # exact rational arithmetic first: no rounding at all
    try:
        pairs = []
        for k in range(points):
            pt = Point(seed + 7919 * k, positive, exact=True)
            try:
                pairs.append((evaluate(left, pt, "exact"), evaluate(right, pt, "exact")))
            except EvalError:
                continue
        if len(pairs) >= 2:
            return rel(pairs, 0, 0)
    except NotExact:
        pass
    pts: list[Point] = []
    fpairs: list[tuple[Any, Any]] = []
    loss = _long_literal(left) or _long_literal(right)
    scale = 0.0
    tries = 0
    fallback: list[tuple[Point, Any, Any]] = []
    while len(fpairs) < points and tries < points * 4:
        pt = Point(seed + 104729 * tries, positive)
        tries += 1
        try:
            a, b = evaluate(left, pt, "float"), evaluate(right, pt, "float")
        except EvalError:
            continue
        if not (_finite(a) and _finite(b)):
            loss = True
            fallback.append((pt, a, b))
            continue
        if prefer_real and pt.branch and tries < points * 3:
            fallback.append((pt, a, b))
            continue
        loss = loss or pt.loss
        scale = max(scale, pt.scale)
        pts.append(pt)
        fpairs.append((a, b))
    if len(fpairs) < 2:
        for pt, _a, _b in fallback[: points - len(fpairs)]:
            pts.append(pt)
        if not pts:
            raise Undecided("no point could be evaluated")
        loss = True
    if not loss:
        return rel(fpairs, FLOAT_TOL, scale)
    mpairs: list[tuple[Any, Any]] = []
    mscale = mpmath.mpf(0)
    for pt in pts:
        pt.scale = 0.0
        try:
            with mpmath.workdps(50):
                a, b = evaluate(left, pt, "mp"), evaluate(right, pt, "mp")
        except EvalError:
            continue
        mscale = max(mscale, mpmath.mpf(pt.scale))
        mpairs.append((a, b))
    if not mpairs:
        raise Undecided("no point could be evaluated")
    with mpmath.workdps(50):
        return rel(mpairs, MP_TOL, mscale)


def _finite(z: Any) -> bool:
    try:
        return bool(mpmath.isfinite(z.real) and mpmath.isfinite(z.imag))
    except AttributeError:
        return True


def _all_equal(pairs: list[tuple[Any, Any]], tol: Any, scale: Any) -> bool:
    if tol == 0:
        return all(a == b for a, b in pairs)
    return all(_close(a, b, tol, scale) for a, b in pairs)


def constant_ratio(pairs: list[tuple[Any, Any]], tol: Any, scale: Any) -> bool:
    """left = c * right for one non-zero constant c (equations up to a factor)."""
    ratio = None
    for a, b in pairs:
        a_zero = a == 0 if tol == 0 else abs(a) <= (tol * scale * 1e-3 if scale else 0)
        b_zero = b == 0 if tol == 0 else abs(b) <= (tol * scale * 1e-3 if scale else 0)
        if a_zero or b_zero:
            if a_zero != b_zero:
                return False
            continue
        r = a / b
        if ratio is None:
            ratio = r
        elif not (r == ratio if tol == 0 else _close(r, ratio, tol * 100)):
            return False
    return True
