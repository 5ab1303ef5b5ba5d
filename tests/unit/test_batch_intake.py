"""Batch intake: CSV, JSON Lines and ZIP parsing; the hostile uploads of BAD_INPUTS 41-42."""

from __future__ import annotations

import io
import json
import stat
import struct
import zipfile

import pytest

from grader.batches.intake import IntakeLimits, IntakeRejected, parse_upload

QIDS = {"q1", "q2"}


def _zip(entries: dict[str, bytes], compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression) as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
    return buf.getvalue()


def _rejected(data: bytes, filename: str | None = None, **limits: int | float) -> list[str]:
    with pytest.raises(IntakeRejected) as info:
        parse_upload(data, filename=filename, question_ids=QIDS, limits=IntakeLimits(**limits))
    return [str(e) for e in info.value.errors]


# --- well-formed input ---------------------------------------------------------------------


def test_csv_rows_and_unanswered_cells():
    data = b"student_id,q1,q2\ns1,42,\ns2, ,tanh does not saturate\n"
    result = parse_upload(data, filename="b.csv", question_ids=QIDS)
    assert result.format == "csv"
    assert [(r.row, r.student_id, r.answers) for r in result.rows] == [
        (2, "s1", {"q1": "42"}),
        (3, "s2", {"q2": "tanh does not saturate"}),
    ]


def test_csv_multiline_quoted_cell_and_semicolon_delimiter():
    data = b'student_id;q1\n"s1";"line one\nline two"\ns2;x\n'
    rows = parse_upload(data, question_ids=QIDS).rows
    assert rows[0].answers == {"q1": "line one\nline two"}
    assert rows[1].row == 3  # records, not physical lines


def test_bom_is_stripped():
    data = "\ufeffstudent_id,q1\ns1,ä\n".encode()
    rows = parse_upload(data, filename="b.csv", question_ids=QIDS).rows
    assert rows[0].student_id == "s1" and rows[0].answers == {"q1": "ä"}


def test_jsonl_rows_numbers_and_nulls():
    lines = [
        {"student_id": "s1", "answers": {"q1": 0.5, "q2": None}},
        {"student_id": 7, "answers": {"q2": "text"}},
    ]
    data = "\n".join(json.dumps(x) for x in lines).encode() + b"\n\n"
    result = parse_upload(data, filename="b.jsonl", question_ids=QIDS)
    assert result.format == "jsonl"
    assert [(r.student_id, r.answers) for r in result.rows] == [
        ("s1", {"q1": "0.5"}),
        ("7", {"q2": "text"}),
    ]


def test_format_sniffed_without_filename():
    assert parse_upload(b'{"student_id": "a", "answers": {}}\n').format == "jsonl"
    assert parse_upload(b"student_id,q1\na,1\n").format == "csv"


def test_zip_of_csv_and_jsonl_with_macos_junk_ignored():
    data = _zip(
        {
            "a.csv": b"student_id,q1\ns1,1\n",
            "dir/b.jsonl": b'{"student_id": "s2", "answers": {"q2": "x"}}\n',
            "__MACOSX/._a.csv": b"\x00\x05junk",
            "dir/": b"",
        }
    )
    result = parse_upload(data, filename="batch.zip", question_ids=QIDS)
    assert result.format == "zip"
    assert result.files == ["a.csv", "dir/b.jsonl"]
    assert [(r.source, r.student_id) for r in result.rows] == [
        ("a.csv", "s1"),
        ("dir/b.jsonl", "s2"),
    ]


# --- bad CSV / JSONL -------------------------------------------------------------------------


def test_unknown_columns_are_named():
    (msg,) = _rejected(b"student_id,q1,q9,bonus\ns1,1,2,3\n")
    assert "q9" in msg and "bonus" in msg and "row 1" in msg


def test_missing_student_id_and_duplicate_columns():
    errors = _rejected(b"name,q1,q1\nx,1,2\n")
    assert any("no student_id" in e for e in errors)
    assert any("duplicate columns: q1" in e for e in errors)


def test_duplicate_student_ids_report_both_rows():
    errors = _rejected(b"student_id,q1\ns1,a\ns2,b\ns1,c\n")
    assert errors == [
        "upload, row 4, column 'student_id': duplicate student_id 's1' (first on row 2)"
    ]


def test_duplicate_student_ids_across_zip_files():
    data = _zip({"a.csv": b"student_id,q1\ns1,a\n", "b.csv": b"student_id,q1\ns1,b\n"})
    (msg,) = _rejected(data)
    assert "b.csv" in msg and "first on row 2 of a.csv" in msg


def test_latin1_is_rejected_with_a_clear_message():
    (msg,) = _rejected("student_id,q1\ns1,Müller\n".encode("latin-1"), "b.csv")
    assert "not valid UTF-8" in msg and "line 2" in msg and "Latin-1" in msg


def test_utf16_is_rejected():
    (msg,) = _rejected("student_id,q1\ns1,x\n".encode("utf-16"), "b.csv")
    assert "UTF-16" in msg


def test_ten_megabyte_cell_is_rejected():
    data = b"student_id,q1\ns1," + b"x" * 10_000_000 + b"\ns2,ok\n"
    (msg,) = _rejected(data, "b.csv")
    assert "row 2" in msg and "larger than" in msg


def test_cell_over_the_limit_names_the_column():
    data = b"student_id,q1,q2\ns1,ok," + b"y" * 2_000 + b"\n"
    (msg,) = _rejected(data, "b.csv", max_cell_bytes=1_000)
    assert "row 2" in msg and "'q2'" in msg


def test_too_many_rows_stops_early():
    data = b"student_id,q1\n" + b"".join(b"s%d,1\n" % i for i in range(1_000))
    errors = _rejected(data, "b.csv", max_rows=100)
    assert errors == ["b.csv, row 102: more than 100 rows; split the batch"]


def test_upload_over_max_bytes():
    (msg,) = _rejected(b"student_id,q1\n" + b"s,1\n" * 100, "b.csv", max_bytes=100)
    assert "larger than 100 bytes" in msg


def test_ragged_rows_and_bad_ids_collected_together():
    data = b"student_id,q1\ns1,a,extra\n ,b\n\x07x,c\ns4,d\n"
    errors = _rejected(data)
    assert len(errors) == 3
    assert "2 cells" not in errors[0] and "3 cells" in errors[0]
    assert "empty" in errors[1] and "control" in errors[2]


def test_jsonl_errors_per_line():
    data = b"\n".join(
        [
            b'{"student_id": "s1", "answers": {"q1": "a"}}',
            b"{not json",
            b'{"student_id": "s2", "answers": {"q7": "a"}}',
            b'{"student_id": "s3", "answers": {"q1": ["list"]}}',
            b'{"student_id": "s4", "grade": 1}',
            b'{"student_id": "s5", "answers": {"q1": "\\u0000"}}',
            b'{"student_id": "s6", "answers": {"q1": "\\ud800"}}',
            b"[" * 100_000,
        ]
    )
    errors = _rejected(data, "b.jsonl")
    assert [e.split(":")[0] for e in errors] == [
        "b.jsonl, row 2",
        "b.jsonl, row 3, column 'q7'",
        "b.jsonl, row 4, column 'q1'",
        "b.jsonl, row 5",
        "b.jsonl, row 6, column 'q1'",
        "b.jsonl, row 7, column 'q1'",
        "b.jsonl, row 8",
    ]


def test_nul_bytes_in_a_csv_are_refused():
    (msg,) = _rejected(b"student_id,q1\ns1,a\x00b\n", "b.csv")
    assert "NUL" in msg


def test_empty_upload():
    assert _rejected(b"") == ["upload: the file is empty"]
    assert _rejected(b"student_id,q1\n") == ["upload: no answer sheets found"]


def test_error_report_is_capped():
    data = b"student_id,q1\n" + b",x\n" * 500
    errors = _rejected(data, max_errors=10)
    assert len(errors) == 11 and errors[-1] == "stopped after 10 problems"


# --- hostile ZIPs ----------------------------------------------------------------------------


def test_traversal_and_absolute_names_rejected_without_reading():
    data = _zip({"../../x.csv": b"student_id,q1\n", "/etc/y.csv": b"", "ok.csv": b"a"})
    errors = _rejected(data)
    assert errors[0].startswith("../../x.csv: ") and "leaves the archive" in errors[0]
    assert errors[1].startswith("/etc/y.csv: ") and "absolute" in errors[1]
    assert len(errors) == 2


def test_windows_style_paths_rejected():
    errors = _rejected(_zip({"..\\..\\x.csv": b"", "C:\\x.csv": b""}))
    assert "leaves the archive" in errors[0] and "absolute" in errors[1]


def test_symlink_entry_rejected():
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("ok.csv", b"student_id,q1\ns1,a\n")
        link = zipfile.ZipInfo("link.csv")
        link.create_system = 3
        link.external_attr = (stat.S_IFLNK | 0o777) << 16
        zf.writestr(link, b"/etc/passwd")
    (msg,) = _rejected(buf.getvalue())
    assert msg.startswith("link.csv: ") and "symbolic link" in msg


def test_nested_zip_rejected_by_name_and_by_content():
    inner = _zip({"a.csv": b"student_id,q1\ns1,a\n"})
    (by_name,) = _rejected(_zip({"inner.zip": inner}))
    assert "nested" in by_name
    (by_magic,) = _rejected(_zip({"sneaky.csv": inner}))
    assert "nested" in by_magic and by_magic.startswith("sneaky.csv")


def test_too_many_entries_refused_before_parsing_the_directory():
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as zf:
        for i in range(2_000):
            zf.writestr(f"{i}.csv", b"")
    (msg,) = _rejected(buf.getvalue(), max_zip_entries=100)
    assert msg == "upload: the archive has 2000 entries; at most 100 are allowed"


def test_high_compression_ratio_rejected():
    bomb = _zip({"zeros.csv": b"student_id,q1\n" + b"0" * 5_000_000})
    (msg,) = _rejected(bomb, max_bytes=20_000_000, ratio_floor_bytes=1_000_000, max_ratio=100)
    assert "compression ratio" in msg


def test_total_uncompressed_size_counted_while_decompressing():
    rows = b"".join(b"s%07d,%d\n" % (i, i * 7919 % 1000) for i in range(60_000))
    data = _zip({f"p{i}.csv": b"student_id,q1\n" + rows for i in range(3)})
    (msg,) = _rejected(data, max_uncompressed_bytes=2_000_000, max_rows=10**6)
    assert "expands to more than 2000000 bytes" in msg


def _lie_about_size(data: bytes, declared: int) -> bytes:
    """Patch the uncompressed size in the local header and the central directory."""
    raw = bytearray(data)
    struct.pack_into("<I", raw, 22, declared)  # local file header
    cd = raw.find(b"PK\x01\x02")
    struct.pack_into("<I", raw, cd + 24, declared)  # central directory entry
    return bytes(raw)


def test_lying_declared_size_stops_at_the_declared_size():
    honest = _zip({"a.csv": b"student_id,q1\n" + b"s,1\n" * 500_000})
    (msg,) = _rejected(_lie_about_size(honest, 1_000))
    assert msg.startswith("a.csv: ") and "corrupt" in msg


def test_unsupported_entries_and_garbage():
    (msg,) = _rejected(_zip({"notes.txt": b"hello"}))
    assert "unsupported file type" in msg
    assert _rejected(b"PK\x03\x04garbage") == ["upload: not a valid ZIP archive"]
    assert _rejected(_zip({})) == ["upload: the archive holds no .csv or .jsonl file"]


def test_latin1_inside_zip_names_the_file():
    (msg,) = _rejected(_zip({"a.csv": "student_id,q1\ns1,é\n".encode("latin-1")}))
    assert msg.startswith("a.csv: not valid UTF-8")
