"""Assembles the grading machinery of one process from settings: the checker registry (with
the text encoder when text checks are on) and the runner that calls the checkers (sandboxed
when it can be). Used by services.runtime (API, worker) and by the offline batch and
evaluation commands, so it sits below the services and the batches."""

from __future__ import annotations

import logging
import os
from typing import Any

from grader.checks import simple_registry
from grader.checks.registry import CheckerRegistry
from grader.config import Settings
from grader.grading import CheckRunner, DirectRunner

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
            encoder = load_encoder(
                settings.model_path or None,
                quantize=settings.embed_quantize,
                threads=settings.embed_threads or None,
            )
            from grader.embed.scorer import load_scorer

            register_text_checkers(registry, encoder, load_scorer())
    return registry, encoder


def build_runner(settings: Settings, registry: CheckerRegistry) -> CheckRunner:
    try:
        from grader.sandbox import SandboxRunner
    except ImportError:  # pragma: no cover
        return DirectRunner(registry)
    return SandboxRunner(
        registry,
        timeout_s=settings.math_timeout,
        memory_mb=settings.math_memory_mb,
        answer_cpu_s=settings.answer_cpu_seconds,
    )
