"""Numeric evaluation of our AST: exact (Fraction), fast (complex float) and precise (mpmath).

Equivalence is decided by evaluating both sides at the same random points. Exact rational
arithmetic decides polynomial and rational expressions with no rounding at all; complex
floats decide the rest quickly; when floats lose digits (cancellation, long literals) the
same points are re-evaluated with mpmath at 50 digits.
"""

from __future__ import annotations

import cmath
import math
import random
import zlib
from collections.abc import Callable, Collection
from fractions import Fraction
from typing import Any

import mpmath

from grader.mathlang.errors import EvalError
from grader.mathlang.tree import Node

DATA_POINTS = 3  # indexed sums run over this many synthetic data points
MAX_EXACT_EXP = 100_000
MAX_EXACT_BITS = 600_000
MAX_FACT = 170


class NotExact(Exception):
    """The expression leaves the rationals (pi, sqrt, sin...): use floats."""


class Point:
    """Values of the free symbols at one evaluation point, created lazily and shared by
    both sides of a comparison so the same name gets the same value."""

    def __init__(self, seed: int, positive: Collection[str] = (), exact: bool = False) -> None:
        self.rng = random.Random(seed)
        self.seed = seed
        self.positive = positive
        self.exact = exact
        self.values: dict[str, Any] = {}
        self.bound: dict[str, Any] = {}
        self.branch = 0  # how often a log/root left the real domain
        self.loss = False  # cancellation lost float digits
        self.scale = 0.0

    def value(self, name: str) -> Any:
        v = self.values.get(name)
        if v is None:
            v = self.draw(name)
            self.values[name] = v
        return v

    def draw(self, name: str) -> Any:
        base = name.split("#")[0].split("_")[0]
        pos = name in self.positive or base in self.positive or name == "inf#"
        if self.exact:
            num = self.rng.randint(1, 29)
            if not pos and self.rng.random() < 0.5:
                num = -num
            return Fraction(num, self.rng.choice([1, 2, 3, 5, 7, 11]))
        mag = self.rng.uniform(0.35, 2.7)
        if pos:
            return mag
        return mag if self.rng.random() < 0.5 else -mag

    def data(self, base: str, k: int) -> Any:
        return self.value(f"{base}#{k}")


def _det(name: str) -> list[float]:
    rng = random.Random(zlib.crc32(name.encode()))
    return [rng.uniform(0.5, 1.5) for _ in range(6)]


# -- function tables ----------------------------------------------------------------------
def _acot(z: Any) -> Any:
    return cmath.atan(1 / z)


C_FUNCS: dict[str, Callable[..., Any]] = {
    "sin": cmath.sin,
    "cos": cmath.cos,
    "tan": cmath.tan,
    "cot": lambda z: 1 / cmath.tan(z),
    "sec": lambda z: 1 / cmath.cos(z),
    "csc": lambda z: 1 / cmath.sin(z),
    "asin": cmath.asin,
    "acos": cmath.acos,
    "atan": cmath.atan,
    "acot": _acot,
    "asec": lambda z: cmath.acos(1 / z),
    "acsc": lambda z: cmath.asin(1 / z),
    "sinh": cmath.sinh,
    "cosh": cmath.cosh,
    "tanh": cmath.tanh,
    "coth": lambda z: 1 / cmath.tanh(z),
    "sech": lambda z: 1 / cmath.cosh(z),
    "csch": lambda z: 1 / cmath.sinh(z),
    "asinh": cmath.asinh,
    "acosh": cmath.acosh,
    "atanh": cmath.atanh,
    "acoth": lambda z: cmath.atanh(1 / z),
    "exp": cmath.exp,
    "log10": cmath.log10,
}
M_FUNCS: dict[str, Callable[..., Any]] = {
    "sin": mpmath.sin,
    "cos": mpmath.cos,
    "tan": mpmath.tan,
    "cot": mpmath.cot,
    "sec": mpmath.sec,
    "csc": mpmath.csc,
    "asin": mpmath.asin,
    "acos": mpmath.acos,
    "atan": mpmath.atan,
    "acot": lambda z: mpmath.atan(1 / z),
    "asec": lambda z: mpmath.acos(1 / z),
    "acsc": lambda z: mpmath.asin(1 / z),
    "sinh": mpmath.sinh,
    "cosh": mpmath.cosh,
    "tanh": mpmath.tanh,
    "coth": mpmath.coth,
    "sech": mpmath.sech,
    "csch": mpmath.csch,
    "asinh": mpmath.asinh,
    "acosh": mpmath.acosh,
    "atanh": mpmath.atanh,
    "acoth": lambda z: mpmath.atanh(1 / z),
    "exp": mpmath.exp,
    "log10": lambda z: mpmath.log(z, 10),
}


class Evaluator:
    """mode: 'exact' (Fraction), 'float' (complex), 'mp' (mpmath mpc)."""

    def __init__(self, mode: str, point: Point) -> None:
        self.mode = mode
        self.p = point
        self.funcs = M_FUNCS if mode == "mp" else C_FUNCS

    # numbers ------------------------------------------------------------------------
    def num(self, v: Fraction) -> Any:
        if self.mode == "exact":
            return v
        if self.mode == "mp":
            return mpmath.mpf(v.numerator) / v.denominator
        return complex(v.numerator / v.denominator) if v.denominator != 1 else complex(v.numerator)

    def conv(self, v: Any) -> Any:
        if self.mode == "exact":
            if not isinstance(v, Fraction):
                raise NotExact
            return v
        if self.mode == "mp":
            return mpmath.mpmathify(v)
        return complex(v)

    def const(self, name: str) -> Any:
        if name == "inf":
            return self.conv(self.p.value("inf#") * 1000)
        if self.mode == "exact":
            raise NotExact
        if self.mode == "mp":
            return {"pi": mpmath.pi, "e": mpmath.e, "i": mpmath.mpc(0, 1)}[name] + 0
        return {"pi": complex(math.pi), "e": complex(math.e), "i": 1j}[name]

    def isreal_neg(self, z: Any) -> bool:
        if self.mode == "exact":
            return bool(z < 0)
        return bool(abs(z.imag) <= 1e-12 * (abs(z.real) + 1e-300) and z.real < 0)

    # walk ---------------------------------------------------------------------------
    def ev(self, n: Node) -> Any:
        op = n[0]
        if op == "num":
            return self.num(n[1])
        if op == "sym":
            name = n[1]
            if name in self.p.bound:
                return self.conv(self.p.bound[name])
            return self.conv(self.p.value(name))
        if op == "const":
            return self.const(n[1])
        if op == "add":
            vals = [self.ev(t) for t in n[1]]
            total = vals[0]
            for v in vals[1:]:
                total = total + v
            if self.mode != "exact":
                big = max(abs(v) for v in vals)
                self.p.scale = max(self.p.scale, float(big))
                if big and abs(total) < big * 1e-6:
                    self.p.loss = True
            return total
        if op == "neg":
            # 0 - v, not -v: a negated real must keep +0.0 as its imaginary part, or
            # sqrt(-1) lands on the other side of the branch cut (-1j)
            return self.num(Fraction(0)) - self.ev(n[1])
        if op == "pos":
            return self.ev(n[1])
        if op == "mul":
            acc = self.ev(n[1][0])
            for f in n[1][1:]:
                if f[0] == "inv":  # a true division rounds once: 51/1000 is the double 0.051
                    d = self.ev(f[1])
                    if d == 0:
                        raise EvalError("division by zero")
                    acc = acc / d
                else:
                    acc = acc * self.ev(f)
            return acc
        if op == "inv":
            d = self.ev(n[1])
            if d == 0:
                raise EvalError("division by zero")
            return 1 / d
        if op == "pow":
            return self.power(self.ev(n[1]), n[2])
        if op == "fact":
            return self.gamma(self.ev(n[1]) + 1)
        if op == "call":
            return self.call(n[1], n[2])
        if op == "idx":
            sub = n[2]
            if sub[0] == "sym" and sub[1] in self.p.bound:
                k = self.p.bound[sub[1]]
                return self.conv(self.p.data(n[1], int(k)))
            return self.uninterpreted("idx:" + n[1], (sub,))
        if op in ("sum", "prod"):
            return self.bigop(n)
        if op == "deriv":
            return self.conv(self.p.value("d:" + repr(n)))
        raise EvalError(f"cannot evaluate {op}")

    def power(self, base: Any, exp_node: Node) -> Any:
        e = self.ev(exp_node)
        if self.mode == "exact":
            if not isinstance(e, Fraction) or e.denominator != 1 or abs(e) > MAX_EXACT_EXP:
                raise NotExact
            bits = abs(base.numerator).bit_length() + base.denominator.bit_length()
            if bits * abs(e) > MAX_EXACT_BITS:
                raise NotExact  # a huge rational power: gcds would take minutes; use floats
            if base == 0 and e < 0:
                raise EvalError("division by zero")
            return base ** int(e)
        if base == 0:
            if e.real < 0:
                raise EvalError("division by zero")
            return base * 0 if e != 0 else base * 0 + 1
        ie = e.real
        if e.imag == 0 and ie == int(ie) and abs(ie) <= 10_000:
            try:
                return base ** int(ie)
            except OverflowError:
                raise EvalError("overflow") from None
        if self.isreal_neg(base):
            self.p.branch += 1
        try:
            return base**e
        except (OverflowError, ValueError):
            raise EvalError("overflow") from None

    def gamma(self, z: Any) -> Any:
        if self.mode == "exact":
            if z.denominator == 1 and 0 < z <= MAX_FACT + 1:
                return Fraction(math.factorial(int(z) - 1))
            raise NotExact
        if self.mode == "mp":
            return mpmath.gamma(z)
        if abs(z.imag) < 1e-12:
            try:
                return complex(math.gamma(z.real))
            except (ValueError, OverflowError):
                raise EvalError("gamma pole") from None
        return complex(mpmath.gamma(z))

    def call(self, fname: str, args: tuple[Node, ...]) -> Any:
        if fname == "f:diff" and len(args) in (2, 3) and args[1][0] == "sym":
            return self.ev(_derivative(args))
        if fname.startswith("f:"):
            return self.uninterpreted(fname, args)
        vals = [self.ev(a) for a in args]
        x = vals[0]
        if fname == "abs":
            return self.conv(abs(x))
        if fname == "sign":
            if x == 0:
                return x
            return x / self.conv(abs(x))
        if self.mode == "exact":
            if fname == "binomial" and len(vals) == 2:
                n, k = vals
                if n.denominator == 1 and k.denominator == 1 and 0 <= k <= n <= 1000:
                    return Fraction(math.comb(int(n), int(k)))
            if fname == "sqrt" and x >= 0:
                r = _exact_sqrt(x)
                if r is not None:
                    return r
            raise NotExact
        if fname == "sqrt":
            if self.isreal_neg(x):
                self.p.branch += 1
            return mpmath.sqrt(x) if self.mode == "mp" else cmath.sqrt(x)
        if fname in ("log", "lg", "log10"):
            if x == 0:
                raise EvalError("log(0)")
            if self.isreal_neg(x):
                self.p.branch += 1
            lx = mpmath.log(x) if self.mode == "mp" else cmath.log(x)
            if fname == "lg" and len(vals) == 2:
                lb = mpmath.log(vals[1]) if self.mode == "mp" else cmath.log(vals[1])
                if lb == 0:
                    raise EvalError("log base 1")
                return lx / lb
            if fname == "log10" or fname == "lg":
                return lx / (mpmath.log(10) if self.mode == "mp" else math.log(10))
            return lx
        if fname == "root":
            k = vals[1] if len(vals) > 1 else self.conv(2)
            if self.isreal_neg(x):
                self.p.branch += 1
            return x ** (1 / k)
        if fname in ("factorial",):
            return self.gamma(x + 1)
        if fname == "binomial" and len(vals) == 2:
            n, k = vals
            return self.gamma(n + 1) / (self.gamma(k + 1) * self.gamma(n - k + 1))
        if fname in ("max", "min"):
            pick = max if fname == "max" else min
            return pick(vals, key=lambda v: v.real)
        if fname in ("floor", "ceiling"):
            f = math.floor if fname == "floor" else math.ceil
            return self.conv(f(float(x.real)))
        fn = self.funcs.get(fname)
        if fn is None:
            return self.uninterpreted("f:" + fname, args)
        try:
            return fn(x)
        except (ZeroDivisionError, ValueError, OverflowError):
            raise EvalError(f"{fname} undefined") from None

    def uninterpreted(self, fname: str, args: tuple[Node, ...]) -> Any:
        if self.mode == "exact":
            raise NotExact
        vals = [self.ev(a) for a in args]
        c = _det(fname + f"/{len(vals)}")
        total = self.conv(c[0])
        sin = mpmath.sin if self.mode == "mp" else cmath.sin
        for j, v in enumerate(vals):
            total = total + c[1 + j % 4] * sin(c[(2 + j) % 6] * v + c[5])
        return total

    def bigop(self, n: Node) -> Any:
        _, var, lo, hi, body = n
        rng: range | None = None
        if lo is not None and hi is not None:
            try:
                a, b = Evaluator("float", self.p).ev(lo), Evaluator("float", self.p).ev(hi)
                whole = a.imag == 0 and b.imag == 0 and a.real == int(a.real)
                if whole and b.real == int(b.real) and 0 <= b.real - a.real <= 60:
                    rng = range(int(a.real), int(b.real) + 1)
            except EvalError:
                rng = None
        if rng is None:
            rng = range(1, DATA_POINTS + 1)
        old = self.p.bound.get(var)
        acc = self.conv(0 if n[0] == "sum" else 1)
        try:
            for k in rng:
                self.p.bound[var] = Fraction(k) if self.mode == "exact" else k
                v = self.ev(body)
                acc = acc + v if n[0] == "sum" else acc * v
        finally:
            if old is None:
                self.p.bound.pop(var, None)
            else:
                self.p.bound[var] = old
        return acc


def _derivative(args: tuple[Node, ...]) -> Node:
    """diff(f, x) or diff(f, x, n) as written in a CAS, differentiated on our AST."""
    from grader.mathlang.calculus import NotDifferentiable, diff

    times = 1
    if len(args) == 3:
        k = args[2]
        if k[0] != "num" or k[1].denominator != 1 or not 0 <= k[1] <= 5:
            raise EvalError("diff order must be a small whole number")
        times = int(k[1])
    node = args[0]
    try:
        for _ in range(times):
            node = diff(node, args[1][1])
    except NotDifferentiable as exc:
        raise EvalError(str(exc)) from None
    return node


def _exact_sqrt(x: Fraction) -> Fraction | None:
    a, b = math.isqrt(x.numerator), math.isqrt(x.denominator)
    if a * a == x.numerator and b * b == x.denominator:
        return Fraction(a, b)
    return None


def evaluate(node: Node, point: Point, mode: str) -> Any:
    """Evaluate at `point`; raises EvalError (pole, overflow) or NotExact (exact mode)."""
    try:
        if mode == "mp":
            with mpmath.workdps(50):
                return Evaluator(mode, point).ev(node)
        return Evaluator(mode, point).ev(node)
    except (ZeroDivisionError, OverflowError) as exc:
        raise EvalError(str(exc)) from None
    except RecursionError:
        raise EvalError("too deep") from None
