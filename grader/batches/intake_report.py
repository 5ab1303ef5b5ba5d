"""What the readers of an upload share: its limits, the sheet rows read so far and the report
of every problem found (file, row, column, message).

`intake` (CSV, JSON Lines) and `archive` (the ZIP around them) both add to one `Report`; it
sits below both so neither imports the other's caller.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class IntakeLimits:
    max_bytes: int = 20 * 2**20  # the upload, and any one file inside a ZIP
    max_rows: int = 10_000
    max_cell_bytes: int = 64 * 2**10
    max_student_id_chars: int = 128
    max_zip_entries: int = 100
    max_uncompressed_bytes: int = 64 * 2**20  # counted while decompressing
    max_ratio: float = 200.0
    ratio_floor_bytes: int = 2**20  # below this a high ratio says nothing (repetitive text)
    max_errors: int = 200


@dataclass(frozen=True)
class SheetRow:
    """One student's answer sheet: question id -> answer text (unanswered ones left out)."""

    source: str
    row: int
    student_id: str
    answers: dict[str, str]


@dataclass(frozen=True)
class IntakeError:
    message: str
    source: str | None = None
    row: int | None = None
    column: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "file": self.source,
            "row": self.row,
            "column": self.column,
            "message": self.message,
        }

    def __str__(self) -> str:
        where = [
            p
            for p in (
                self.source,
                self.row and f"row {self.row}",
                self.column and f"column {self.column!r}",
            )
            if p
        ]
        return (", ".join(str(p) for p in where) + ": " if where else "") + self.message


class IntakeStopped(Exception):
    """Parsing cannot usefully go on (too many rows or errors)."""


@dataclass
class Report:
    limits: IntakeLimits
    errors: list[IntakeError] = field(default_factory=list)
    rows: list[SheetRow] = field(default_factory=list)
    first_seen: dict[str, tuple[str, int]] = field(default_factory=dict)
    seen_rows: int = 0

    def add(
        self,
        message: str,
        source: str | None = None,
        row: int | None = None,
        column: str | None = None,
    ) -> None:
        self.errors.append(IntakeError(message, source, row, column))
        if len(self.errors) >= self.limits.max_errors:
            self.errors.append(IntakeError(f"stopped after {self.limits.max_errors} problems"))
            raise IntakeStopped
