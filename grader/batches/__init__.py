"""The instructor workflow: batch intake, offline grading, exports, statistics, review, regrading.

Everything in this package is free of Flask, Celery and the database: the services in
`grader.services` call it with plain data. `offline` grades files with a local process pool and
`cli` talks to a running service over HTTP; heavy modules (matplotlib in `report`) are imported
only by the modules that need them, never here.
"""

from grader.batches.intake import IntakeRejected, IntakeResult, parse_upload
from grader.batches.intake_report import IntakeError, IntakeLimits, SheetRow

__all__ = [
    "IntakeError",
    "IntakeLimits",
    "IntakeRejected",
    "IntakeResult",
    "SheetRow",
    "parse_upload",
]
