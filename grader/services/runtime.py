"""Builds the grading machinery of one process (API or worker) from settings, once."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# build_registry and build_runner live below the services (grader.assembly) so that the
# offline batch commands can use them; they stay importable from here.
from grader.assembly import build_registry, build_runner
from grader.checks.base import CheckSpec
from grader.checks.registry import CheckerRegistry
from grader.config import Settings
from grader.exams.loader import LoadedExam
from grader.grading import CheckRunner
from grader.services.exams import ExamCache, current_versions
from grader.store import Database

__all__ = ["Runtime", "build_registry", "build_runner"]


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
        runtime = cls(settings, db, registry, ExamCache(registry), encoder)
        runtime.exams.on_load = runtime.prepare_exam
        return runtime

    def warm(self, recent_exams: int = 20) -> None:
        """Do the slow first-use work now (sandbox processes, the embedding model, the
        exemplars of the exams in use), so the first student after a worker starts gets
        feedback as fast as the others."""
        start = getattr(self.runner, "start", None)
        if callable(start):
            start()
        if self.encoder is not None:
            self.encoder.encode(["warm up"])
        for exam_id, version in current_versions(self.db, recent_exams):
            self.prepare_exam(self.exams.get(self.db, exam_id, version))

    def prepare_exam(self, loaded: LoadedExam) -> None:
        """Let in-process batch checkers prepare each criterion (text: encode its exemplars
        once per exam version). Sandboxed checkers prepare nothing worth keeping."""
        by_kind: dict[str, list[tuple[CheckSpec, str]]] = {}
        for question in loaded.exam.questions:
            for criterion in question.criteria:
                checker = self.registry.get(criterion.kind)
                if hasattr(checker, "warm") and not getattr(type(checker), "sandboxed", False):
                    by_kind.setdefault(criterion.kind, []).append(
                        (loaded.spec(question.id, criterion.id), "")
                    )
        for kind, items in by_kind.items():
            self.runner.warm(kind, items)

    @property
    def runner(self) -> CheckRunner:
        # Created on first use so the API process never starts sandbox children it won't use.
        if self._runner is None:
            self._runner = build_runner(self.settings, self.registry)
        return self._runner
