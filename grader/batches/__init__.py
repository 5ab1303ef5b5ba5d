"""The instructor workflow: batch intake, offline grading, exports, statistics, review, regrading.

Everything in this package is pure (no Flask, Celery or database): the services in
`grader.services` call it with plain data. Heavy modules (matplotlib in `report`, the process
pool in `offline`) are imported only by the modules that need them, never here.
"""

from grader.batches.intake import (
    IntakeError,
    IntakeLimits,
    IntakeRejected,
    IntakeResult,
    SheetRow,
    parse_upload,
)

__all__ = [
    "IntakeError",
    "IntakeLimits",
    "IntakeRejected",
    "IntakeResult",
    "SheetRow",
    "parse_upload",
]
