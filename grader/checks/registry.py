"""The checker registry: an object (fresh per test), not a module-level dict."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from grader.checks.base import CheckSpec


class UnknownChecker(KeyError):
    """A rubric names a checker kind that is not registered (or disabled)."""


class CheckerRegistry:
    def __init__(self) -> None:
        self._checkers: dict[str, Any] = {}
        self._disabled: dict[str, str] = {}

    def register(self, checker: Any) -> None:
        """Keep `checker` only if it is enabled (its optional dependencies are importable)."""
        kind: str = checker.kind
        enabled = getattr(checker, "enabled", None)
        if callable(enabled) and not enabled():
            self._disabled[kind] = "its dependencies are not installed"
            return
        if kind in self._checkers:
            raise ValueError(f"checker kind {kind!r} registered twice")
        self._checkers[kind] = checker

    def get(self, kind: str) -> Any:
        try:
            return self._checkers[kind]
        except KeyError:
            why = self._disabled.get(kind)
            known = ", ".join(sorted(self._checkers))
            msg = f"unknown checker kind {kind!r}" + (f" ({why})" if why else "")
            raise UnknownChecker(f"{msg}; known kinds: {known}") from None

    def parse_spec(self, kind: str, raw: Mapping[str, Any]) -> CheckSpec:
        """Validate the fields of a `check:` block with the checker's own spec model."""
        spec_model: type[CheckSpec] = self.get(kind).spec_model
        return spec_model.model_validate(dict(raw))

    def kinds(self) -> list[str]:
        return sorted(self._checkers)

    def __contains__(self, kind: object) -> bool:
        return kind in self._checkers

    def __iter__(self) -> Iterator[Any]:
        return iter(self._checkers.values())
