"""Builds the grading machinery of one process (API or worker) from settings, once."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from typing import Any

from grader.checks import simple_registry
from grader.checks.registry import CheckerRegistry
from grader.config import Settings
from grader.grading import CheckRunner, DirectRunner
from grader.services.exams import ExamCache
from grader.store import Database

log = logging.getLogger(__name__)


def build_registry(settings: Settings) -> tuple[CheckerRegistry, Any]:
    """All checkers. The text encoder is created lazily: the model loads on first use."""
    registry = simple_registry()
    encoder = None
    try:
        from grader.checks.math import register_math_checkers
    except ImportError:  # pragma: no cover - the math checkers are part of the package
        log.warning("math checkers unavailable")
    else:
        register_math_checkers(registry)
    if settings.text_checks:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        try:
            from grader.checks.text import register_text_checkers
            from grader.embed import load_encoder
        except ImportError:  # pragma: no cover
            log.warning("text checkers unavailable")
        else:
            encoder = load_encoder(settings.model_path or None)
            register_text_checkers(registry, encoder)
    return registry, encoder


def build_runner(settings: Settings, registry: CheckerRegistry) -> CheckRunner:
    try:
        from grader.sandbox import SandboxRunner
    except ImportError:  # pragma: no cover
        return DirectRunner(registry)
    return SandboxRunner(
        registry, timeout_s=settings.math_timeout, memory_mb=settings.math_memory_mb
    )


@dataclass
class Runtime:
    settings: Settings
    db: Database
    registry: CheckerRegistry
    exams: ExamCache
    encoder: Any = None
    _runner: CheckRunner | None = field(default=None, repr=False)

    @classmethod
    def create(cls, settings: Settings) -> Runtime:
        settings.validate()
        settings.ensure_data_dir()
        db = Database(settings.database_url)
        registry, encoder = build_registry(settings)
        return cls(settings, db, registry, ExamCache(registry), encoder)

    @property
    def runner(self) -> CheckRunner:
        # Created on first use so the API process never starts sandbox children it won't use.
        if self._runner is None:
            self._runner = build_runner(self.settings, self.registry)
        return self._runner
