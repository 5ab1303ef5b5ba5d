"""Results as CSV and gradebook CSVs (Canvas, Moodle), safe against formula injection.

A `Sheet` is one submission with its typed result, read from a record as the results
endpoint serves it::

    {"submission_id": "...", "student_id": "s1", "status": "graded",
     "result": <SubmissionResult dict, overrides already applied> | None}

Spreadsheets run a cell that starts with = + - @ (or a tab / carriage return before one) as a
formula (OWASP "CSV injection"). Every *text* cell starting with one of those gets a leading
`'`, which Excel, LibreOffice and Google Sheets show as text. Numbers are written by us from
Python numbers, never from student text, so a real negative score stays numeric.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from grader.grading.core import SubmissionResult

GradebookForm = Literal["canvas", "moodle"]
Cell = str | int | float | bool | None

# ASCII triggers from OWASP, plus their full-width forms, which some spreadsheet locales
# fold to ASCII before parsing.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20")


def format_number(value: float | int) -> str:
    """A plain decimal with at most 4 places, no exponent ('1e-05' is not a number to Excel)."""
    if isinstance(value, float) and not math.isfinite(value):
        return ""
    text = f"{float(value):.4f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def safe_cell(value: Cell) -> str:
    """One cell as text a spreadsheet will not execute."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return format_number(value)
    text = str(value)
    if text.startswith(FORMULA_TRIGGERS):
        return "'" + text
    return text


def write_csv(rows: Iterable[Sequence[Cell]]) -> str:
    """Rows -> CSV text (RFC 4180 quoting, CRLF line ends), every cell through `safe_cell`."""
    buf = io.StringIO()
    writer = csv.writer(buf, quoting=csv.QUOTE_MINIMAL, lineterminator="\r\n")
    for row in rows:
        writer.writerow([safe_cell(v) for v in row])
    return buf.getvalue()


@dataclass(frozen=True)
class Sheet:
    """One submission as exported: who wrote it, its state, and its result (overrides
    applied; None until graded)."""

    student_id: str | None
    submission_id: str | None
    status: str | None
    result: SubmissionResult | None

    @staticmethod
    def from_record(record: Mapping[str, Any]) -> Sheet:
        """A sheet from a record as the results endpoint serves it (see above)."""
        data = record.get("result")
        return Sheet(
            student_id=record.get("student_id"),
            submission_id=record.get("submission_id"),
            status=record.get("status"),
            result=SubmissionResult.from_dict(data) if data else None,
        )


def question_ids_of(sheets: Iterable[Sheet]) -> list[str]:
    """Question ids in rubric order, taken from the first graded sheet."""
    for sheet in sheets:
        if sheet.result is not None:
            return [q.id for q in sheet.result.questions]
    return []


def _question_scores(result: SubmissionResult | None) -> dict[str, float]:
    if result is None:
        return {}
    return {q.id: float(q.score) for q in result.questions}


def results_rows(
    sheets: Iterable[Sheet], question_ids: Sequence[str], *, criteria: bool = False
) -> list[list[Cell]]:
    """The full results table: one row per submission, scores per question (and criterion)."""
    sheets = list(sheets)
    header: list[Cell] = [
        "student_id",
        "submission_id",
        "status",
        "score",
        "max_score",
        "needs_review",
    ]
    crit_ids: list[tuple[str, str]] = []
    if criteria:
        first = next((s.result for s in sheets if s.result is not None), None)
        if first is not None:
            crit_ids = [(q.id, c.id) for q in first.questions for c in q.criteria]
    header += list(question_ids) + [f"{q}.{c}" for q, c in crit_ids]
    rows: list[list[Cell]] = [header]
    for sheet in sheets:
        result = sheet.result
        scores = _question_scores(result)
        row: list[Cell] = [
            sheet.student_id,
            sheet.submission_id,
            sheet.status,
            result.score if result else None,
            result.max_score if result else None,
            result.needs_review if result else None,
        ]
        row += [scores.get(q) for q in question_ids]
        if crit_ids:
            by_crit = {
                (q.id, c.id): float(c.score)
                for q in (result.questions if result else [])
                for c in q.criteria
            }
            row += [by_crit.get(k) for k in crit_ids]
        rows.append(row)
    return rows


def feedback_text(result: SubmissionResult | None, max_chars: int = 2000) -> str:
    """One cell of feedback: the questions not fully earned, with their criteria's feedback."""
    if result is None:
        return ""
    parts = []
    for question in result.questions:
        if float(question.score) >= float(question.max_score) - 1e-9:
            continue
        notes = [
            c.feedback
            for c in question.criteria
            if c.feedback and float(c.score) < float(c.max_score) - 1e-9
        ]
        head = (
            f"{question.id} ({format_number(question.score)}/{format_number(question.max_score)})"
        )
        parts.append(head + (": " + " ".join(notes) if notes else ""))
    text = "; ".join(parts)
    return text if len(text) <= max_chars else text[: max_chars - 1] + "…"


def gradebook_rows(
    sheets: Iterable[Sheet],
    question_ids: Sequence[str],
    form: GradebookForm = "canvas",
    *,
    feedback: bool | None = None,
) -> list[list[Cell]]:
    """A gradebook an LMS imports: student id, one column per question, total (, feedback).

    canvas: `Student ID`, questions, `Total` (feedback only if asked for);
    moodle: `ID number`, questions, `Total`, `Feedback` (Moodle's import maps a feedback
    column to the grade item's feedback). Submissions not graded yet get empty cells, so an
    import does not overwrite a grade with 0."""
    if form not in ("canvas", "moodle"):
        raise ValueError(f"unknown gradebook form {form!r}; use canvas or moodle")
    with_feedback = (form == "moodle") if feedback is None else feedback
    id_column = "Student ID" if form == "canvas" else "ID number"
    header: list[Cell] = [id_column, *question_ids, "Total"]
    if with_feedback:
        header.append("Feedback")
    rows: list[list[Cell]] = [header]
    for sheet in sheets:
        result = sheet.result if sheet.status in (None, "graded") else None
        scores = _question_scores(result)
        row: list[Cell] = [sheet.student_id]
        row += [scores.get(q) for q in question_ids]
        row.append(result.score if result else None)
        if with_feedback:
            row.append(feedback_text(result))
        rows.append(row)
    return rows


def results_csv(sheets: Iterable[Sheet], *, criteria: bool = False) -> str:
    sheets = list(sheets)
    return write_csv(results_rows(sheets, question_ids_of(sheets), criteria=criteria))


def gradebook_csv(
    sheets: Iterable[Sheet], form: GradebookForm = "canvas", *, feedback: bool | None = None
) -> str:
    sheets = list(sheets)
    return write_csv(gradebook_rows(sheets, question_ids_of(sheets), form, feedback=feedback))
