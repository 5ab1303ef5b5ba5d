"""Value fingerprints: an expression evaluated once at a few fixed points, as a quick filter.

Deciding equivalence (grader.mathlang.equiv) costs dozens of evaluations per comparison. A
criterion compares every candidate of an answer with ~30 targets (the expected form, its
alternatives and accepted factors, the mistakes), so the checker first evaluates each
expression once at a few shared float points and compares the value vectors. Only a
comparison whose vectors may agree is confirmed by the full check; one that differs at a
cleanly evaluated point is skipped. A point is clean for a value when no log/root left the
real domain there, no sum cancelled away float digits, and the value is finite — anything
else counts as "don't know", never as "different", so the filter can only skip
comparisons the full check would also reject.

Values are drawn per symbol name from the point's seed (not in order of first use), so a
fingerprint does not depend on which answers were seen before.
"""

from __future__ import annotations

import cmath
import random
import threading
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any

from grader.mathlang.errors import MathError
from grader.mathlang.numeric import Evaluator, Point
from grader.mathlang.tree import Node

POINTS = 4
TRIES = 24
REL_TOL = 1e-6  # far above float rounding on a clean evaluation, far below real differences


class _NamedPoint(Point):
    """A float point whose value for a name depends only on the seed and the name."""

    def draw(self, name: str) -> Any:
        saved = self.rng
        self.rng = random.Random(f"{self.seed}:{name}")
        try:
            return super().draw(name)
        finally:
            self.rng = saved


@dataclass(frozen=True, slots=True)
class Sample:
    value: complex
    clean: bool
    scale: float


Vector = tuple[Sample | None, ...]


class Fingerprinter:
    """Shared evaluation points for one criterion (chosen where its references are real)."""

    def __init__(
        self, references: Sequence[Node], positive: Collection[str] = (), seed: int = 4242
    ) -> None:
        self.positive = frozenset(positive)
        self._lock = threading.Lock()  # points hold evaluation state (bound sum indexes)
        chosen: list[_NamedPoint] = []
        spare: list[_NamedPoint] = []
        for k in range(TRIES):
            pt = _NamedPoint(seed + 7919 * k, self.positive)
            samples = [self._at(pt, ref) for ref in references]
            if all(s is not None and s.clean for s in samples):
                chosen.append(pt)
            elif all(s is not None for s in samples):
                spare.append(pt)
            if len(chosen) >= POINTS:
                break
        self.points = (chosen + spare)[:POINTS]

    def _at(self, pt: Point, node: Node) -> Sample | None:
        pt.branch, pt.loss, pt.scale, pt.bound = 0, False, 0.0, {}
        try:
            v = complex(Evaluator("float", pt).ev(node))
        except (MathError, ArithmeticError, ValueError, RecursionError, TypeError):
            return None
        finite = cmath.isfinite(v)
        return Sample(v, finite and pt.branch == 0 and not pt.loss, float(pt.scale))

    def vector(self, node: Node) -> Vector:
        with self._lock:
            return tuple(self._at(pt, node) for pt in self.points)


def _pairs(a: Vector, b: Vector) -> list[tuple[Sample, Sample]]:
    return [(x, y) for x, y in zip(a, b, strict=True) if x and y and x.clean and y.clean]


def maybe_equal(a: Vector, b: Vector) -> bool:
    """False only if the values differ clearly at a point where both are clean."""
    for x, y in _pairs(a, b):
        size = max(abs(x.value), abs(y.value), x.scale, y.scale)
        if abs(x.value - y.value) > REL_TOL * size:
            return False
    return True


def maybe_ratio(a: Vector, b: Vector) -> bool:
    """False only if a/b clearly is not one constant (or one side is zero, the other not)."""
    ratio: complex | None = None
    for x, y in _pairs(a, b):
        x_zero = abs(x.value) <= REL_TOL * x.scale if x.scale else x.value == 0
        y_zero = abs(y.value) <= REL_TOL * y.scale if y.scale else y.value == 0
        if x_zero or y_zero:
            if x.value == 0 and y.value != 0 and not y_zero:
                return False
            if y.value == 0 and x.value != 0 and not x_zero:
                return False
            continue
        r = x.value / y.value
        if ratio is None:
            ratio = r
        elif abs(r - ratio) > REL_TOL * max(abs(r), abs(ratio)):
            return False
    return True
