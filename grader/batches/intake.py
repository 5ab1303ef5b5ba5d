"""Parse an uploaded batch (CSV, JSON Lines, or a ZIP of those) into answer sheets.

Everything is validated before anything is created: the caller gets every sheet or a report
of every problem (file, row, column, message), never half a batch. Limits are parameters so
the API, the CLI and the tests can choose their own.

Row numbers: in a CSV the header is row 1 and rows count records (what a spreadsheet shows,
even when a cell spans several lines); in JSON Lines the row is the line number.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import unicodedata
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from grader.batches import archive
from grader.batches.intake_report import (
    IntakeError,
    IntakeLimits,
    IntakeStopped,
    Report,
    SheetRow,
)

STUDENT_ID = "student_id"
JSONL_KEYS = frozenset({STUDENT_ID, "answers"})
_DELIMITERS = (",", ";", "\t")


class IntakeRejected(ValueError):
    """Every problem found; `rows` are the sheets that were fine (so a caller can add its own
    checks of them to the same report)."""

    def __init__(self, errors: list[IntakeError], rows: list[SheetRow] | None = None) -> None:
        super().__init__(f"{len(errors)} problem(s): " + "; ".join(str(e) for e in errors[:5]))
        self.errors = errors
        self.rows = rows or []


@dataclass(frozen=True)
class IntakeResult:
    format: str  # csv | jsonl | zip
    rows: list[SheetRow]
    files: list[str]


def detect_format(data: bytes, filename: str | None) -> str:
    if archive.looks_like_zip(data):
        return "zip"
    name = (filename or "").lower()
    if name.endswith((".jsonl", ".ndjson")):
        return "jsonl"
    if name.endswith(".csv"):
        return "csv"
    head = data.removeprefix(codecs.BOM_UTF8).lstrip()[:1]
    return "jsonl" if head == b"{" else "csv"


def decode_text(data: bytes, source: str, report: Report) -> str | None:
    """Strict UTF-8, a UTF-8 byte-order mark stripped; anything else is refused with a reason."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        report.add("the file is UTF-16/UTF-32 text; save it as UTF-8", source)
        return None
    data = data.removeprefix(codecs.BOM_UTF8)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        report.add(
            f"not valid UTF-8 (byte {exc.start}, line {line}); save the file as UTF-8 "
            "(Latin-1 / Windows-1252 files are not accepted)",
            source,
        )
        return None
    if "\x00" in text:
        report.add("the file contains NUL bytes: it is not a text file", source)
        return None
    return text


def _bad_text(value: str) -> str | None:
    if "\x00" in value:
        return "contains a NUL character"
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return "contains invalid Unicode (a lone surrogate)"
    return None


def _student_id(raw: str, limits: IntakeLimits) -> tuple[str, str | None]:
    sid = raw.strip()
    if not sid:
        return sid, "student_id is empty"
    if len(sid) > limits.max_student_id_chars:
        return sid, f"student_id is longer than {limits.max_student_id_chars} characters"
    if any(unicodedata.category(ch) in ("Cc", "Cf", "Cs") for ch in sid):
        return sid, "student_id contains control or invisible characters"
    return sid, None


def _add_sheet(
    report: Report, source: str, row: int, raw_id: str, answers: Mapping[str, str]
) -> None:
    """Validate one sheet's cells; keep it only if all are fine."""
    limits = report.limits
    ok = True
    sid, why = _student_id(raw_id, limits)
    if why is not None:
        report.add(why, source, row, STUDENT_ID)
        ok = False
    kept: dict[str, str] = {}
    for qid, text in answers.items():
        if (
            len(text) > limits.max_cell_bytes
            or len(text.encode("utf-8", "surrogatepass")) > limits.max_cell_bytes
        ):
            report.add(f"the answer is larger than {limits.max_cell_bytes} bytes", source, row, qid)
            ok = False
        elif (why := _bad_text(text)) is not None:
            report.add(f"the answer {why}", source, row, qid)
            ok = False
        elif text.strip():
            kept[qid] = text
    if ok and sid in report.first_seen:
        first_source, first_row = report.first_seen[sid]
        where = f"row {first_row}" + ("" if first_source == source else f" of {first_source}")
        report.add(f"duplicate student_id {sid!r} (first on {where})", source, row, STUDENT_ID)
        ok = False
    if sid and why is None:
        report.first_seen.setdefault(sid, (source, row))
    if ok:
        report.rows.append(SheetRow(source, row, sid, kept))


def _count_row(report: Report, source: str, row: int) -> None:
    """Count every data row (kept or not) and stop early instead of reading 1 M rows."""
    report.seen_rows += 1
    if report.seen_rows > report.limits.max_rows:
        report.add(f"more than {report.limits.max_rows} rows; split the batch", source, row)
        raise IntakeStopped


def _check_header(
    columns: list[str], question_ids: Collection[str] | None, source: str, report: Report
) -> bool:
    ok = True
    lowered = [c.lower() for c in columns]
    if STUDENT_ID not in lowered:
        report.add("the header has no student_id column", source, 1)
        ok = False
    dupes = sorted({c for c in lowered if c and lowered.count(c) > 1})
    if dupes:
        report.add("duplicate columns: " + ", ".join(dupes), source, 1)
        ok = False
    if any(not c for c in columns):
        report.add("a column has no name", source, 1)
        ok = False
    if question_ids is not None:
        unknown = [c for c in columns if c and c.lower() != STUDENT_ID and c not in question_ids]
        if unknown:
            report.add(
                "unknown columns (not question ids of this exam): "
                + ", ".join(unknown)
                + "; known: "
                + ", ".join(sorted(question_ids)),
                source,
                1,
            )
            ok = False
    return ok


def parse_csv(text: str, source: str, question_ids: Collection[str] | None, report: Report) -> None:
    first_line = text.split("\n", 1)[0]
    delimiter = max(_DELIMITERS, key=first_line.count)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    row = 1
    try:
        header = next(reader, None)
        if header is None:
            report.add("the file is empty", source)
            return
        columns = [h.strip() for h in header]
        if not _check_header(columns, question_ids, source, report):
            return
        for cells in reader:
            row += 1
            if not any(c.strip() for c in cells):
                continue  # blank line: spreadsheets add them at the end
            _count_row(report, source, row)
            if len(cells) != len(columns):
                report.add(
                    f"the row has {len(cells)} cells but the header has {len(columns)}", source, row
                )
                continue
            values = dict(zip(columns, cells, strict=True))
            sid_key = next(c for c in columns if c.lower() == STUDENT_ID)
            raw_id = values.pop(sid_key)
            _add_sheet(report, source, row, raw_id, values)
    except csv.Error as exc:
        message = str(exc)
        if "field larger than field limit" in message:
            message = f"a cell is larger than {report.limits.max_cell_bytes} bytes"
        report.add(f"unreadable CSV: {message}", source, row + 1)


def _answers_from_json(
    obj: Any, question_ids: Collection[str] | None, source: str, row: int, report: Report
) -> dict[str, str] | None:
    if not isinstance(obj, dict):
        report.add("answers must be an object {question_id: answer}", source, row, "answers")
        return None
    answers: dict[str, str] = {}
    for qid, value in obj.items():
        if question_ids is not None and qid not in question_ids:
            report.add("unknown question id (not in this exam)", source, row, qid)
            return None
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            report.add("an answer must be text or a number", source, row, qid)
            return None
        answers[qid] = value if isinstance(value, str) else json.dumps(value)
    return answers


def parse_jsonl(
    text: str, source: str, question_ids: Collection[str] | None, report: Report
) -> None:
    for row, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        _count_row(report, source, row)
        if len(line) > report.limits.max_bytes:
            report.add("the line is too long", source, row)
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            report.add(f"not valid JSON: {exc.msg} (column {exc.colno})", source, row)
            continue
        except (ValueError, RecursionError):
            report.add("not valid JSON (too deeply nested or a number too long)", source, row)
            continue
        if not isinstance(obj, dict):
            report.add(
                'each line must be an object {"student_id": ..., "answers": {...}}', source, row
            )
            continue
        extra = sorted(set(obj) - JSONL_KEYS)
        if extra:
            report.add("unknown keys: " + ", ".join(extra), source, row)
            continue
        raw_id = obj.get(STUDENT_ID)
        if isinstance(raw_id, int) and not isinstance(raw_id, bool):
            raw_id = str(raw_id)
        if not isinstance(raw_id, str):
            report.add("student_id must be a string", source, row, STUDENT_ID)
            continue
        answers = _answers_from_json(obj.get("answers", {}), question_ids, source, row, report)
        if answers is not None:
            _add_sheet(report, source, row, raw_id, answers)


def _parse_text_file(
    data: bytes, fmt: str, source: str, question_ids: Collection[str] | None, report: Report
) -> None:
    text = decode_text(data, source, report)
    if text is None:
        return
    if fmt == "jsonl":
        parse_jsonl(text, source, question_ids, report)
    else:
        parse_csv(text, source, question_ids, report)


def parse_upload(
    data: bytes,
    *,
    filename: str | None = None,
    question_ids: Collection[str] | None = None,
    limits: IntakeLimits | None = None,
) -> IntakeResult:
    """Every answer sheet of an upload, or `IntakeRejected` listing every problem found.

    `question_ids`: the exam's question ids; other columns or keys are errors (None: any)."""
    limits = limits or IntakeLimits()
    report = Report(limits)
    source = Path(filename).name if filename else "upload"
    fmt = detect_format(data, filename)
    files: list[str] = []
    try:
        if len(data) > limits.max_bytes:
            report.add(f"the upload is larger than {limits.max_bytes} bytes", source)
        elif fmt == "zip":
            for member in archive.read_members(data, limits, report, source):
                files.append(member.name)
                inner = "jsonl" if member.name.lower().endswith((".jsonl", ".ndjson")) else "csv"
                _parse_text_file(member.data, inner, member.name, question_ids, report)
        else:
            files.append(source)
            _parse_text_file(data, fmt, source, question_ids, report)
    except IntakeStopped:
        pass
    if not report.errors and not report.rows:
        report.add("no answer sheets found", source)
    if report.errors:
        raise IntakeRejected(report.errors, report.rows)
    return IntakeResult(fmt, report.rows, files)


def read_upload_file(
    path: str | Path,
    *,
    question_ids: Collection[str] | None = None,
    limits: IntakeLimits | None = None,
) -> IntakeResult:
    """`parse_upload` for a file on disk, refusing an oversized file before reading it."""
    limits = limits or IntakeLimits()
    path = Path(path)
    size = path.stat().st_size
    if size > limits.max_bytes:
        raise IntakeRejected(
            [IntakeError(f"the file is larger than {limits.max_bytes} bytes", path.name)]
        )
    return parse_upload(
        path.read_bytes(), filename=path.name, question_ids=question_ids, limits=limits
    )
