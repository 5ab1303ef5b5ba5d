"""`kind: math` — the criterion-level math checker, and `answer_test` for raw STACK tests.

A criterion names the expected expression or equation in our syntax (parsed at rubric
load), the answer test, the declared variables and their domains, where to look in a
free-text answer, constant-factor conventions it accepts, and common mistakes with their
own feedback and partial credit (like STACK's potential-response trees).
"""

from __future__ import annotations

import re
from typing import Any, ClassVar, Literal

from pydantic import Field, field_validator, model_validator

from grader.checks.answertests import (
    TESTS,
    Verdict,
    _load_tests,
    answer_test,
    equiv_nodes,
    kind_of,
)
from grader.checks.base import BaseChecker, CheckResult, CheckSpec, Status
from grader.checks.registry import CheckerRegistry
from grader.mathlang import MathError, read
from grader.mathlang.calculus import free_symbols
from grader.mathlang.equiv import Undecided, compare_values, constant_ratio
from grader.mathlang.errors import EvalError, TooLarge
from grader.mathlang.extract import candidates
from grader.mathlang.lexer import GREEK_NAMES
from grader.mathlang.parser import FUNCS

__all__ = ["MathChecker", "MathSpec", "Mistake", "Verdict", "answer_test", "register_math_checkers"]

Node = tuple[Any, ...]
MAX_ANSWER = 100_000
MAX_CANDIDATES = 40
_DERIV = re.compile(r"(?<![A-Za-z])[d∂]\s*([A-Za-z]\w*)\s*/\s*[d∂]\s*([A-Za-z][\w{}_₀-₉]*)")


class Mistake(CheckSpec):
    expected: str = Field(description="A wrong answer students give, in our syntax.")
    feedback: str
    credit: float = Field(default=0.0, ge=0.0, le=1.0)


class MathSpec(CheckSpec):
    expected: str = Field(description="The correct expression or equation, in our syntax.")
    test: str = "AlgEquiv"
    options: str | None = None
    variables: list[str] = Field(default_factory=list)
    positive: list[str] = Field(default_factory=list, description="Symbols known to be > 0.")
    accept_factors: list[str] = Field(default_factory=list)
    find: Literal["whole", "any", "last", "rhs_of"] = "any"
    target: str | None = None
    mistakes: list[Mistake] = Field(default_factory=list)
    feedback: str = ""
    decimal_comma: bool = False
    hints: bool = True

    @field_validator("test")
    @classmethod
    def _known_test(cls, value: str) -> str:
        _load_tests()
        from grader.checks.answertests import RAW_TESTS

        if value not in TESTS and value not in RAW_TESTS:
            raise ValueError(f"unknown answer test {value!r}")
        return value

    @model_validator(mode="after")
    def _parsable(self) -> MathSpec:
        for label, text in (
            [("expected", self.expected)]
            + [(f"mistakes[{i}].expected", m.expected) for i, m in enumerate(self.mistakes)]
            + [(f"accept_factors[{i}]", f) for i, f in enumerate(self.accept_factors)]
        ):
            try:
                read(_prepare(text), variables=self.variables)
            except MathError as exc:
                raise ValueError(f"{label} {text!r} is not valid math: {exc}") from None
        if self.find == "rhs_of" and not self.target:
            raise ValueError("find: rhs_of needs a target (e.g. '∂E/∂w2')")
        return self


def _prepare(text: str) -> str:
    """dE/dw2 and ∂E/∂w2 become one derivative label; code-style ** and np.* are read."""
    text = _DERIV.sub(lambda m: f"\\partial {m.group(1)}/\\partial {m.group(2)}", text)
    return re.sub(r"\b(?:np|math|torch)\.", "", text)


_RATES = ("eta", "alpha", "lr", "mu", "gamma")
_PROSE_KEEP = frozenset(FUNCS) | {"sum", "prod", "pi", "inf"} | GREEK_NAMES


def strip_prose(text: str, variables: list[str]) -> str:
    """Drop leading/trailing words ('the gradient is ...', '... for each n')."""
    keep = _PROSE_KEEP | {v.replace("_", "") for v in variables} | set(variables)
    words = text.split()

    def prose(w: str) -> bool:
        core = w.strip(",.:;!?")
        return core.isalpha() and len(core) >= 2 and core not in keep and (core.lower() not in keep)

    while words and prose(words[0]):
        words.pop(0)
    while words and prose(words[-1]):
        words.pop()
    return " ".join(words).strip(" :,.")


def _lhs_key(n: Node) -> str:
    if n[0] == "deriv":
        return f"d{_lhs_key(n[1])}/d{_lhs_key(n[2])}"
    if n[0] == "sym":
        return str(n[1])
    if n[0] == "idx":
        return str(n[1])
    return repr(n)


class _Compiled:
    """A spec's parsed expressions, cached per spec (specs are frozen and hashable)."""

    def __init__(self, spec: MathSpec) -> None:
        var = spec.variables
        self.expected = read(_prepare(spec.expected), variables=var)
        self.factors = [read(f, variables=var) for f in spec.accept_factors]
        self.mistakes = [(read(_prepare(m.expected), variables=var), m) for m in spec.mistakes]
        self.target = _lhs_key(read(_prepare(spec.target), variables=var)) if spec.target else None


class MathChecker(BaseChecker[MathSpec]):
    kind: ClassVar[str] = "math"
    spec_model: ClassVar[type[CheckSpec]] = MathSpec
    sandboxed: ClassVar[bool] = True

    def __init__(self) -> None:
        self._cache: dict[str, _Compiled] = {}

    def _compiled(self, spec: MathSpec) -> _Compiled:
        # keyed by content: in a sandbox child every call brings a fresh (unpickled) spec
        key = spec.model_dump_json()
        hit = self._cache.get(key)
        if hit is not None:
            return hit
        compiled = _Compiled(spec)
        if len(self._cache) > 256:
            self._cache.clear()
        self._cache[key] = compiled
        return compiled

    def check(self, spec: MathSpec, answer: str) -> CheckResult:
        if len(answer) > MAX_ANSWER:
            return CheckResult(
                0.0,
                feedback="The answer is too long to be read.",
                status=Status.INVALID,
                details={"reason": "too_long"},
            )
        comp = self._compiled(spec)
        if spec.find == "whole":
            texts = [answer]
        else:
            texts = []
            for c in candidates(answer)[:MAX_CANDIDATES]:
                stripped = strip_prose(c, spec.variables)
                texts.extend([stripped, c] if stripped and stripped != c else [c])
        if spec.find == "whole" and not texts[0].strip():
            texts = []
        errors: list[str] = []
        readable: list[tuple[str, Node]] = []
        undecided = False
        for text in texts:
            try:
                node = read(
                    _prepare(text), variables=spec.variables, decimal_comma=spec.decimal_comma
                )
            except (MathError, RecursionError) as exc:
                errors.append(str(exc))
                continue
            for sub in self._targets(spec, comp, node):
                readable.append((text, sub))
                try:
                    verdict = self._judge(spec, comp, sub, text)
                except (Undecided, EvalError):
                    undecided = True
                    continue
                if verdict is not None:
                    return verdict
            if spec.find == "last" and readable:
                break
        if readable:
            text, node = readable[0]
            hint = ""
            for _, sub in readable[:6] if spec.hints else []:
                hint = self._hint(spec, comp, sub)
                if hint:
                    break
            return CheckResult(
                0.0,
                feedback=hint,
                evidence=text.strip()[:300],
                status=Status.NEEDS_REVIEW if undecided else Status.OK,
                confidence=0.5 if undecided else 1.0,
            )
        reason = errors[0] if errors else "no expression was found"
        too_big = any("too" in e for e in errors)
        return CheckResult(
            0.0,
            feedback=spec.feedback or f"We could not read a mathematical expression: {reason}.",
            status=Status.NEEDS_REVIEW if too_big else Status.INVALID,
            confidence=1.0,
            details={"reason": reason},
        )

    def _targets(self, spec: MathSpec, comp: _Compiled, node: Node) -> list[Node]:
        kind = kind_of(node)
        if spec.find == "rhs_of":
            if kind in ("equation", "assignment") and _lhs_key(node[1]) == comp.target:
                return [node[2]]
            return []
        out = [node]
        if kind in ("equation", "assignment") and kind_of(comp.expected) == "expression":
            out.append(node[2])
            # an update rule w <- w - eta*G also states the gradient G = (w - rhs)/eta
            rhs_syms = free_symbols(node[2])
            for rate in _RATES:
                if rate in rhs_syms:
                    diff = ("add", (node[1], ("neg", node[2])))
                    out.append(("mul", (diff, ("inv", ("sym", rate)))))
        return out

    def _equiv(self, spec: MathSpec, a: Node, b: Node) -> bool:
        return equiv_nodes(a, b, prefer_real=True, positive=spec.positive)

    def _judge(self, spec: MathSpec, comp: _Compiled, node: Node, text: str) -> CheckResult | None:
        evidence = text.strip()[:300]
        if spec.test != "AlgEquiv":
            v = answer_test(spec.test, _prepare(text), _prepare(spec.expected), spec.options or "")
            if v.result == "pass":
                return CheckResult(1.0, evidence=evidence, feedback=v.feedback)
            return None
        if self._equiv(spec, node, comp.expected):
            return CheckResult(1.0, evidence=evidence, details={"matched": "expected"})
        for f in comp.factors:
            if self._equiv(spec, node, ("mul", (f, comp.expected))):
                return CheckResult(
                    1.0, evidence=evidence, details={"matched": "expected", "factor": repr(f)}
                )
        for mnode, m in comp.mistakes:
            scaled = [mnode] + [("mul", (f, mnode)) for f in comp.factors]
            if any(self._equiv(spec, node, x) for x in scaled):
                return CheckResult(
                    m.credit,
                    feedback=m.feedback,
                    evidence=evidence,
                    details={"matched": "mistake", "mistake": m.expected},
                )
        return None

    def _hint(self, spec: MathSpec, comp: _Compiled, node: Node) -> str:
        """Cheap, sure hints only: a sign error or a constant factor."""
        try:
            if kind_of(node) != "expression" or kind_of(comp.expected) != "expression":
                return ""
            if self._equiv(spec, node, ("neg", comp.expected)):
                return "Check the sign of your answer."
            if compare_values(
                node,
                comp.expected,
                relation=constant_ratio,
                positive=spec.positive,
                prefer_real=True,
            ):
                return "Your answer is off by a constant factor."
        except (Undecided, EvalError, MathError, TooLarge):
            return ""
        return ""


def register_math_checkers(registry: CheckerRegistry) -> None:
    registry.register(MathChecker())
