"""`kind: math` — the criterion-level math checker.

A criterion names the expected expression or equation in our syntax (parsed at rubric
load), the answer test, the declared variables and their domains, where to look in a
free-text answer, constant-factor conventions it accepts, alternative correct forms, and
common mistakes with their own feedback and partial credit (like STACK's
potential-response trees).
"""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field, field_validator, model_validator

from grader.checks.base import BaseChecker, CheckResult, CheckSpec, Status
from grader.checks.math.answertests.equivalence import difference, equiv_nodes, kind_of
from grader.checks.math.answertests.table import answer_test, known_tests
from grader.checks.math.outcomes import (
    NUMERIC_TESTS,
    Note,
    about_this_quantity,
    alternatives,
    best,
    defined_by,
    has_unit,
    mistake_test,
    power_of_ten_slip,
    quantities,
    specificity,
    with_reading,
)
from grader.checks.registry import CheckerRegistry
from grader.mathlang import MathError
from grader.mathlang.calculus import free_symbols, substitute
from grader.mathlang.equiv import Undecided, compare_values, constant_ratio
from grader.mathlang.errors import EvalError
from grader.mathlang.extract import spoken_numbers
from grader.mathlang.fingerprint import Fingerprinter, Vector, maybe_equal, maybe_ratio
from grader.mathlang.reading import AnswerReader, expand_definitions, prepare
from grader.mathlang.tree import Node
from grader.mathlang.unparse import to_text

__all__ = ["MathChecker", "MathSpec", "Mistake", "register_math_checkers"]

MAX_ANSWER = 100_000
_RATES = ("eta", "alpha", "lr", "mu", "gamma")


class Mistake(CheckSpec):
    expected: str = Field(description="A wrong answer students give, in our syntax.")
    feedback: str
    credit: float = Field(default=0.0, ge=0.0, le=1.0)


class MathSpec(CheckSpec):
    expected: str = Field(description="The correct expression or equation, in our syntax.")
    test: str = "AlgEquiv"
    options: str | None = None
    variables: list[str] = Field(default_factory=list)
    functions: list[str] = Field(
        default_factory=list,
        description="Unknown functions, e.g. [y] for y(x_i, w): compared as the same opaque "
        "function on both sides.",
    )
    positive: list[str] = Field(default_factory=list, description="Symbols known to be > 0.")
    aliases: dict[str, str] = Field(
        default_factory=dict, description="Other names students use, e.g. {lr: eta}."
    )
    accept_factors: list[str] = Field(default_factory=list)
    factor_of: str | None = Field(
        default=None,
        description="Apply accept_factors to this symbol only (e.g. eta in w - eta*G).",
    )
    alternatives: list[str] = Field(
        default_factory=list, description="Other forms that are fully correct."
    )
    find: Literal["whole", "any", "last", "rhs_of"] = "any"
    target: str | None = None
    mistakes: list[Mistake] = Field(default_factory=list)
    feedback: str = ""
    decimal_comma: bool = False
    hints: bool = True

    @field_validator("test")
    @classmethod
    def _known_test(cls, value: str) -> str:
        if value not in known_tests():
            raise ValueError(f"unknown answer test {value!r}; known: {', '.join(known_tests())}")
        return value

    @model_validator(mode="after")
    def _parsable(self) -> MathSpec:
        reader = AnswerReader(self.variables, self.aliases, functions=self.functions)
        for label, text in (
            [("expected", self.expected)]
            + [(f"alternatives[{i}]", a) for i, a in enumerate(self.alternatives)]
            + [(f"mistakes[{i}].expected", m.expected) for i, m in enumerate(self.mistakes)]
            + [(f"accept_factors[{i}]", f) for i, f in enumerate(self.accept_factors)]
        ):
            try:
                reader.parse(text)
            except MathError as exc:
                raise ValueError(f"{label} {text!r} is not valid math: {exc}") from None
        if self.find == "rhs_of" and not self.target:
            raise ValueError("find: rhs_of needs a target (e.g. '∂E/∂w2')")
        return self


def _lhs_key(n: Node) -> str:
    if n[0] == "deriv":
        return f"d{_lhs_key(n[1])}/d{_lhs_key(n[2])}"
    if n[0] in ("sym", "idx"):
        return str(n[1])
    return repr(n)


class _Compiled:
    """A spec's parsed expressions and their value fingerprints, cached per spec content."""

    def __init__(self, spec: MathSpec) -> None:
        self.reader = AnswerReader(
            spec.variables,
            spec.aliases,
            decimal_comma=spec.decimal_comma,
            functions=spec.functions,
            # a Units test's expected value names units, not symbols of the question
            infer_from=[] if spec.test.startswith("Units") else _spec_texts(spec),
        )
        parse = self.reader.parse
        self.expected = parse(spec.expected)
        self.accepted = [self.expected] + [parse(a) for a in spec.alternatives]
        self.labels = ["expected"] + [f"alternatives[{i}]" for i in range(len(spec.alternatives))]
        # "z = (x̄ − μ0)/(σ/√n)" defines z: the right-hand side alone is the same answer
        for i, node in enumerate(list(self.accepted)):
            rhs = defined_by(node)
            if rhs is not None:
                self.accepted.append(rhs)
                self.labels.append(self.labels[i] + " (right-hand side)")
        self.wants_expression = any(kind_of(n) == "expression" for n in self.accepted)
        self.factors = [parse(f) for f in spec.accept_factors]
        self.mistakes = [(parse(m.expected), m) for m in spec.mistakes]
        self.mistakes += [
            (rhs, m) for node, m in list(self.mistakes) if (rhs := defined_by(node)) is not None
        ]
        self.target = _lhs_key(parse(spec.target)) if spec.target else None
        factor_of = parse(spec.factor_of) if spec.factor_of else ("sym", "")
        self.factor_of = str(factor_of[1])
        # names an answer may define for itself (p = 1 - q, then 2pq) are all but these
        self.protected = free_symbols(self.expected) | set(self.reader.declared)
        for node in self.accepted:
            self.protected |= free_symbols(node)
        # every comparison _judge may make, in its order: (target, outcome, factor text)
        self.table: list[tuple[Node, int | Mistake, str]] = []
        for i, target in enumerate(self.accepted):
            self.table.extend((n, i, t) for n, t in self._variants(spec, target))
        for mnode, m in self.mistakes:
            self.table.extend((n, m, t) for n, t in self._variants(spec, mnode))
        self.fp = Fingerprinter([_fp_node(n) for n in self.accepted], spec.positive)
        self.table_fp = [self.fp.vector(_fp_node(n)) for n, _, _ in self.table]
        self.neg_expected = ("neg", self.expected)
        self.neg_fp = self.fp.vector(_fp_node(self.neg_expected))

    def _variants(self, spec: MathSpec, target: Node) -> list[tuple[Node, str]]:
        out: list[tuple[Node, str]] = [(target, "")]
        for f, text in zip(self.factors, spec.accept_factors, strict=True):
            if spec.factor_of:
                # the factor scales one symbol (the learning rate in w - eta*G): in an
                # update rule only the gradient's constant convention may differ
                sym = self.factor_of
                out.append((substitute(target, {sym: ("mul", (f, ("sym", sym)))}), text))
            else:
                out.append((("mul", (f, target)), text))
        return out


def _spec_texts(spec: MathSpec) -> list[str]:
    """The rubric's expressions for one criterion: expected, alternatives, mistakes."""
    return [spec.expected, *spec.alternatives, *(m.expected for m in spec.mistakes)]


def _fp_node(n: Node) -> Node:
    """What equiv_nodes evaluates: an expression itself, an equation as lhs - rhs."""
    return difference(n) if kind_of(n) == "equation" else n


def _may_match(kind: str, a: Vector, b: Vector) -> bool:
    if kind == "expression":
        return maybe_equal(a, b)
    if kind == "equation":
        return maybe_ratio(a, b)
    return True  # lists, inequalities...: the full check decides


class MathChecker(BaseChecker[MathSpec]):
    kind: ClassVar[str] = "math"
    spec_model: ClassVar[type[CheckSpec]] = MathSpec
    sandboxed: ClassVar[bool] = True

    def __init__(self) -> None:
        self._cache: dict[str, _Compiled] = {}
        self._by_id: dict[int, tuple[MathSpec, _Compiled]] = {}
        # a candidate's fingerprint, reused by every comparison and hint of the same node
        self._memo: dict[Node, tuple[_Compiled, Vector]] = {}

    def _compiled(self, spec: MathSpec) -> _Compiled:
        same = self._by_id.get(id(spec))
        if same is not None and same[0] is spec:  # specs are not mutated after validation
            return same[1]
        # keyed by content: in a sandbox child every call brings a fresh (unpickled) spec
        key = spec.model_dump_json()
        hit = self._cache.get(key)
        if hit is None:
            if len(self._cache) > 256:
                self._cache.clear()
            hit = self._cache[key] = _Compiled(spec)
        if len(self._by_id) > 256:
            self._by_id.clear()
        self._by_id[id(spec)] = (spec, hit)  # holding the spec keeps its id from reuse
        return hit

    def check(self, spec: MathSpec, answer: str) -> CheckResult:
        if len(answer) > MAX_ANSWER:
            return CheckResult(
                0.0,
                feedback="The answer is too long to be read.",
                status=Status.INVALID,
                details={"reason": "too_long"},
            )
        comp = self._compiled(spec)
        defs = comp.reader.definitions(answer, comp.protected) if spec.find != "whole" else {}
        errors: list[str] = []
        readable: list[tuple[str, Node]] = []
        undecided = False
        numeric = spec.test.startswith(NUMERIC_TESTS) and spec.find != "whole"
        extra: list[str] = []
        if numeric:
            units = spec.test.startswith("Units")
            extra = quantities(answer, with_units=units)
            spoken = spoken_numbers(answer)  # "three and a half milliseconds"
            if spoken != answer:
                extra += [q for q in quantities(spoken, with_units=units) if q not in extra]
        # every rubric outcome the answer states (expected, alternatives, each mistake):
        # the best one is the grade, and several of them mean the answer offers choices
        found: dict[str, CheckResult] = {}
        # the most specific reason a candidate failed the test, and that candidate
        note = Note(units_written=any(has_unit(q) for q in extra))
        for text, parsed, reading in comp.reader.snippets(
            answer, whole=spec.find == "whole", extra=extra
        ):
            if isinstance(parsed, str):
                errors.append(parsed)
                continue
            if reading is not None and found:
                break  # other readings only matter when the first ones matched nothing
            node = comp.reader.finish(expand_definitions(parsed, defs) if defs else parsed)
            for sub in self._targets(spec, comp, node):
                readable.append((text, sub))
                try:
                    result = self._judge(spec, comp, sub, text, note)
                except (Undecided, EvalError, MathError):
                    undecided = True
                    continue
                if result is not None:
                    if reading is not None:
                        result = with_reading(result, reading)
                    key = str(result.details.get("mistake", "expected"))
                    found.setdefault(key, result)
            if spec.find == "last" and (readable or found):
                break
            # Full credit cannot be beaten, but the reading goes on: mistakes stated after
            # the right value make an answer that offers several (one right among guesses).
        if found:
            return best(found, offered=alternatives(answer, [text for text, _ in readable]))
        if readable:
            return self._miss(spec, comp, readable, undecided, note)
        reason = errors[0] if errors else "no expression was found"
        return CheckResult(
            0.0,
            feedback=spec.feedback or f"We could not read a mathematical expression: {reason}.",
            status=Status.NEEDS_REVIEW if any("too" in e for e in errors) else Status.INVALID,
            details={"reason": reason},
        )

    def _miss(
        self,
        spec: MathSpec,
        comp: _Compiled,
        readable: list[tuple[str, Node]],
        undecided: bool,
        note: Note,
    ) -> CheckResult:
        hint = note.feedback if spec.test != "AlgEquiv" else ""
        shown = note.candidate or readable[0]
        if not hint and spec.hints and spec.test.startswith(("Num", "GT")):
            slip = power_of_ten_slip(comp.expected, readable)
            if slip is not None:
                hint, shown = slip
        for _, sub in readable[:6] if spec.hints and spec.test == "AlgEquiv" else []:
            hint = self._hint(spec, comp, sub)
            if hint:
                break
        return CheckResult(
            0.0,
            feedback=hint,
            evidence=shown[0].strip()[:300],
            status=Status.NEEDS_REVIEW if undecided else Status.OK,
            confidence=0.5 if undecided else 1.0,
            details={"read_as": to_text(shown[1]), "expected": to_text(comp.expected)},
        )

    def _targets(self, spec: MathSpec, comp: _Compiled, node: Node) -> list[Node]:
        kind = kind_of(node)
        if spec.find == "rhs_of":
            if kind in ("equation", "assignment") and _lhs_key(node[1]) == comp.target:
                return [node[2]]
            return []
        out = [node]
        if node[0] == "chain" and all(op in ("=", "approx") for op in node[1]):
            # P = (D+1)*100 + ... = 100D + 101K + 10200: every member is a candidate
            out.extend(node[2][1:] if comp.wants_expression else [])
            out.append(("eq", node[2][0], node[2][-1]))
        if kind in ("equation", "assignment") and comp.wants_expression:
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

    def _fingerprint(self, comp: _Compiled, node: Node) -> tuple[str, Vector]:
        kind = kind_of(node)
        memo = self._memo
        hit = memo.get(node)
        if hit is None or hit[0] is not comp:
            vec = comp.fp.vector(_fp_node(node)) if kind in ("expression", "equation") else ()
            if len(memo) > 512:
                memo.clear()
            hit = memo[node] = (comp, vec)
        return kind, hit[1]

    def _judge(
        self, spec: MathSpec, comp: _Compiled, node: Node, text: str, note: Note
    ) -> CheckResult | None:
        evidence = text.strip()[:300]
        if spec.test != "AlgEquiv":
            return self._judge_test(spec, node, text, note)
        kind, vec = self._fingerprint(comp, node)
        for (target, outcome, factor), tvec in zip(comp.table, comp.table_fp, strict=True):
            # the vectors rule out most comparisons; the full check confirms the rest
            if kind_of(target) != kind or (vec and not _may_match(kind, vec, tvec)):
                continue
            if not self._equiv(spec, node, target):
                continue
            if isinstance(outcome, Mistake):
                return CheckResult(
                    outcome.credit,
                    feedback=outcome.feedback,
                    evidence=evidence,
                    details={
                        "matched": "mistake",
                        "mistake": outcome.expected,
                        "read_as": to_text(node),
                    },
                )
            details = {
                "matched": comp.labels[outcome],
                "read_as": to_text(node),
            }
            if factor:
                details["factor"] = factor
            return CheckResult(1.0, evidence=evidence, details=details)
        return None

    def _judge_test(self, spec: MathSpec, node: Node, text: str, note: Note) -> CheckResult | None:
        """Any other answer test, run against the expected answer, the alternatives and
        then each mistake (a value off by a known factor, a missing unit, a wrong prefix)."""
        # the found value as written (literals keep their digits for significant figures)
        student = to_text(node)
        options = spec.options or ""
        evidence = text.strip()[:300]
        for i, expected in enumerate([spec.expected, *spec.alternatives]):
            v = answer_test(spec.test, student, prepare(expected), options)
            if v.passed:
                details = {"read_as": student}
                if i:
                    details["matched"] = f"alternatives[{i - 1}]"
                return CheckResult(1.0, evidence=evidence, details=details)
            # keep the most specific reason: "3 significant figures" beats "a number"
            if (
                v.feedback
                and specificity(v.feedback) > specificity(note.feedback)
                and about_this_quantity(spec.test, student, expected)
            ):
                note.feedback, note.candidate = v.feedback, (text, node)
        for m in spec.mistakes:
            test = mistake_test(spec.test, m.expected)
            if test != spec.test and (free_symbols(node) or note.units_written):
                continue  # the missing-unit mistake is for answers that give no unit
            mine = prepare(m.expected)
            if answer_test(test, student, mine, options).passed or (
                # Int: the mistake "x^3/3" is the right antiderivative given without its
                # constant (or with ln x for ln|x|): the expected form failed, this one holds
                test == "Int" and answer_test("Antidiff", student, mine, options).passed
            ):
                return CheckResult(
                    m.credit,
                    feedback=m.feedback,
                    evidence=evidence,
                    details={"matched": "mistake", "mistake": m.expected, "read_as": student},
                )
        return None

    def _hint(self, spec: MathSpec, comp: _Compiled, node: Node) -> str:
        """Cheap, sure hints only: a sign error or a constant factor."""
        try:
            if kind_of(node) != "expression" or kind_of(comp.expected) != "expression":
                return ""
            _, vec = self._fingerprint(comp, node)
            if maybe_equal(vec, comp.neg_fp) and self._equiv(spec, node, comp.neg_expected):
                return "Check the sign of your answer."
            if maybe_ratio(vec, comp.table_fp[0]) and compare_values(
                node,
                comp.expected,
                relation=constant_ratio,
                positive=spec.positive,
                prefer_real=True,
            ):
                return "Your answer is off by a constant factor."
        except (Undecided, EvalError, MathError):
            return ""
        return ""


def register_math_checkers(registry: CheckerRegistry) -> None:
    registry.register(MathChecker())
