"""Load a rubric from YAML or JSON text, reporting every error with its line number."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml
from pydantic import ValidationError

from grader.checks.base import CheckSpec
from grader.checks.registry import CheckerRegistry, UnknownChecker
from grader.exams.numbers import find_huge_integer
from grader.exams.schema import Criterion, Exam

MAX_RUBRIC_BYTES = 2_000_000


@dataclass(frozen=True)
class RubricError:
    """One problem in a rubric file: where (a path of keys and indexes, and a line) and what."""

    loc: tuple[str | int, ...]
    message: str
    line: int | None = None

    @property
    def field(self) -> str:
        return ".".join(str(p) for p in self.loc)

    def __str__(self) -> str:
        where = f"line {self.line}: " if self.line else ""
        return f"{where}{self.field or '(document)'}: {self.message}"


class RubricInvalid(ValueError):
    def __init__(self, errors: list[RubricError]) -> None:
        super().__init__("; ".join(str(e) for e in errors))
        self.errors = errors


@dataclass(frozen=True)
class LoadedExam:
    """An exam with every criterion's spec validated by its checker."""

    exam: Exam
    specs: dict[tuple[str, str], CheckSpec]  # (question id, criterion id) -> spec
    fallbacks: dict[tuple[str, str], tuple[str, CheckSpec]] = field(default_factory=dict)
    # The YAML node tree when loaded from text (None from JSON or the database): line numbers
    # for what is found later, e.g. the rubric's self-test.
    node: yaml.Node | None = field(default=None, compare=False, repr=False)

    def spec(self, qid: str, cid: str) -> CheckSpec:
        return self.specs[(qid, cid)]

    def fallback(self, qid: str, cid: str) -> tuple[str, CheckSpec] | None:
        """(kind, spec) of the criterion's fallback check, if it has one."""
        return self.fallbacks.get((qid, cid))

    def line(self, *loc: str | int) -> int | None:
        """The line of a path of keys and indexes, e.g. ("questions", 0, "model_answer")."""
        return _line_of(self.node, loc) if self.node is not None else None


class _LineLoader(yaml.SafeLoader):
    """A safe loader that remembers the line of every mapping and sequence item."""


def _compose_lines(text: str) -> yaml.Node | None:
    return yaml.compose(text, Loader=_LineLoader)  # noqa: S506 - SafeLoader subclass


def _line_of(node: yaml.Node | None, loc: tuple[str | int, ...]) -> int | None:
    line = node.start_mark.line + 1 if node is not None else None
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            nxt = None
            for key, value in node.value:
                if isinstance(key, yaml.ScalarNode) and key.value == str(part):
                    nxt = value
                    line = key.start_mark.line + 1
                    break
            if nxt is None:
                return line
            node = nxt
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
            if part >= len(node.value):
                return line
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            return line
    return line


def parse_document(text: str) -> tuple[Any, yaml.Node | None]:
    """YAML (a superset of JSON) -> plain data plus the node tree for line numbers."""
    if len(text.encode("utf-8", "surrogatepass")) > MAX_RUBRIC_BYTES:
        raise RubricInvalid([RubricError((), f"rubric larger than {MAX_RUBRIC_BYTES} bytes")])
    try:
        data = yaml.load(text, Loader=yaml.SafeLoader)  # noqa: S506 - safe loader
        node = _compose_lines(text)
    except yaml.MarkedYAMLError as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark else None
        raise RubricInvalid([RubricError((), f"not valid YAML: {exc.problem}", line)]) from None
    except yaml.YAMLError as exc:
        raise RubricInvalid([RubricError((), f"not valid YAML: {exc}")]) from None
    except RecursionError:
        raise RubricInvalid([RubricError((), "the document is nested too deeply")]) from None
    except ValueError as exc:  # e.g. an integer longer than Python converts
        found = find_huge_integer(text)
        raise RubricInvalid([RubricError(*found) if found else RubricError((), str(exc))]) from None
    return data, node


def load_exam(text: str, registry: CheckerRegistry) -> LoadedExam:
    """Parse and validate a rubric; raise `RubricInvalid` listing every error found."""
    data, node = parse_document(text)
    if not isinstance(data, dict):
        raise RubricInvalid(
            [RubricError((), "a rubric must be a mapping with id, title, questions")]
        )
    return validate_exam(data, registry, node)


def load_exam_json(data: Any, registry: CheckerRegistry) -> LoadedExam:
    if not isinstance(data, dict):
        raise RubricInvalid(
            [RubricError((), "a rubric must be an object with id, title, questions")]
        )
    return validate_exam(data, registry, None)


def validate_exam(
    data: dict[str, Any], registry: CheckerRegistry, node: yaml.Node | None
) -> LoadedExam:
    try:
        exam = Exam.model_validate(data)
    except ValidationError as exc:
        errors = []
        for err in exc.errors():
            loc = tuple(
                p for p in err["loc"] if not (isinstance(p, str) and p.startswith("function-"))
            )
            errors.append(
                RubricError(loc, err["msg"].removeprefix("Value error, "), _line_of(node, loc))
            )
        raise RubricInvalid(errors) from None
    specs: dict[tuple[str, str], CheckSpec] = {}
    errors = []
    for qi, question in enumerate(exam.questions):
        for ci, criterion in enumerate(question.criteria):
            base: tuple[str | int, ...] = ("questions", qi, "criteria", ci, "check")
            try:
                fields = _with_question(registry, criterion, question.prompt)
                specs[(question.id, criterion.id)] = registry.parse_spec(criterion.kind, fields)
            except UnknownChecker as exc:
                loc = (*base, "kind")
                errors.append(RubricError(loc, str(exc.args[0]), _line_of(node, loc)))
            except _NoExamples as exc:
                loc = ("questions", qi, "criteria", ci, "examples")
                errors.append(RubricError(loc, str(exc), _line_of(node, loc)))
            except ValidationError as exc:
                for err in exc.errors():
                    loc = (*base, *err["loc"])
                    msg = err["msg"].removeprefix("Value error, ")
                    errors.append(RubricError(loc, msg, _line_of(node, loc)))
    fallbacks: dict[tuple[str, str], tuple[str, CheckSpec]] = {}
    for qi, question in enumerate(exam.questions):
        for ci, criterion in enumerate(question.criteria):
            if criterion.fallback is None:
                continue
            block = criterion.fallback
            base = ("questions", qi, "criteria", ci, "fallback")
            kind = str(block["kind"])
            try:
                fields = {k: v for k, v in block.items() if k != "kind"}
                fallbacks[(question.id, criterion.id)] = (kind, registry.parse_spec(kind, fields))
            except UnknownChecker as exc:
                loc = (*base, "kind")
                errors.append(RubricError(loc, str(exc.args[0]), _line_of(node, loc)))
            except ValidationError as exc:
                for err in exc.errors():
                    loc = (*base, *err["loc"])
                    msg = err["msg"].removeprefix("Value error, ")
                    errors.append(RubricError(loc, msg, _line_of(node, loc)))
    if errors:
        raise RubricInvalid(errors)
    return LoadedExam(exam, specs, fallbacks, node)


def _with_question(registry: CheckerRegistry, criterion: Criterion, prompt: str) -> dict[str, Any]:
    """The criterion's check fields, completed from its question where its checker's spec
    asks for that (`with_question`: e.g. choice options take their texts from the prompt)."""
    fields = _with_examples(registry, criterion)
    hook = getattr(registry.get(criterion.kind).spec_model, "with_question", None)
    return hook(fields, prompt) if callable(hook) and prompt else fields


def _with_examples(registry: CheckerRegistry, criterion: Criterion) -> dict[str, Any]:
    """A criterion's graded `examples:` go to checkers that calibrate on them (text)."""
    fields = criterion.spec_fields
    if not criterion.examples:
        return fields
    if "examples" not in registry.get(criterion.kind).spec_model.model_fields:
        raise _NoExamples(f"checker {criterion.kind!r} does not use graded examples")
    if "examples" not in fields:
        fields["examples"] = [e.model_dump() for e in criterion.examples]
    return fields


class _NoExamples(ValueError):
    pass
