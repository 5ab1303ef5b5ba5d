"""Checkers: one module (or package) per kind, collected in a registry object.

`base` holds the checker contract (spec, result, status), `registry` the `CheckerRegistry`,
`textutil` the plain-text helpers of the word-level kinds; each kind (`exact`, `regex`,
`keywords`, `choice/`, `math/`, `text`) imports those and never another kind's checker (the
`checks` contract in pyproject.toml)."""

from __future__ import annotations

from grader.checks.base import CheckResult, CheckSpec, Status
from grader.checks.choice.checker import ChoiceChecker
from grader.checks.exact import ExactChecker
from grader.checks.keywords import KeywordsChecker
from grader.checks.regex import RegexChecker
from grader.checks.registry import CheckerRegistry, UnknownChecker

__all__ = [
    "CheckResult",
    "CheckSpec",
    "CheckerRegistry",
    "Status",
    "UnknownChecker",
    "simple_registry",
]


def simple_registry() -> CheckerRegistry:
    """A registry with the dependency-free checkers only (exact, regex, keywords, choice)."""
    registry = CheckerRegistry()
    for checker in (ExactChecker(), RegexChecker(), KeywordsChecker(), ChoiceChecker()):
        registry.register(checker)
    return registry
