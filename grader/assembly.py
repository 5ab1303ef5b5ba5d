"""Assembles the grading machinery of one process from settings: the checker registry (with
the text encoder when text checks are on) and the runner that calls the checkers (the
sandbox's). Used by services.runtime (API, worker) and by the offline batch and
evaluation commands, so it sits below the services and the batches."""

from __future__ import annotations

from typing import Any

from grader.checks import simple_registry
from grader.checks.registry import CheckerRegistry
from grader.config import Settings
from grader.grading import CheckRunner


def build_registry(settings: Settings) -> tuple[CheckerRegistry, Any]:
    """All checkers. The text encoder is created lazily: the model loads on first use."""
    # Imported here, as the text checkers below: importing this module loads no sympy.
    from grader.checks.math.checker import register_math_checkers

    registry = simple_registry()
    encoder = None
    register_math_checkers(registry)
    if settings.text_checks:
        # Offline without touching os.environ: the encoder and the scorer load their files
        # with local_files_only=True (a missing file fails, nothing is downloaded).
        # Imported here: a process without text checks never loads the encoder's modules.
        from grader.checks.text.checker import register_text_checkers
        from grader.embed import load_encoder
        from grader.embed.scorer import load_scorer

        encoder = load_encoder(
            settings.model_path or None,
            quantize=settings.embed_quantize,
            threads=settings.embed_threads or None,
        )
        register_text_checkers(registry, encoder, load_scorer())
    return registry, encoder


def build_runner(settings: Settings, registry: CheckerRegistry) -> CheckRunner:
    from grader.sandbox import SandboxRunner

    return SandboxRunner(
        registry,
        timeout_s=settings.math_timeout,
        memory_mb=settings.math_memory_mb,
        answer_cpu_s=settings.answer_cpu_seconds,
    )
