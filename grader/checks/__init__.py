"""Checkers: one module per kind, collected in a registry object."""

from __future__ import annotations

from grader.checks.base import CheckResult, CheckSpec, Status
from grader.checks.registry import CheckerRegistry, UnknownChecker
from grader.checks.simple import ChoiceChecker, ExactChecker, KeywordsChecker, RegexChecker

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
