"""`grader grade` and `grader stats` on files (no server), and CLI errors without tracebacks."""

from __future__ import annotations

import json

from grader.cli import main
from tests.conftest import DEMO_RUBRIC


def test_grade_then_stats_offline(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("GRADER_DATA_DIR", str(tmp_path / "var"))
    rubric = tmp_path / "demo.yaml"
    rubric.write_text(DEMO_RUBRIC)
    answers = tmp_path / "answers.jsonl"
    answers.write_text(
        "\n".join(
            json.dumps(
                {
                    "student_id": f"s{i}",
                    "answers": {"q1": "relu" if i % 2 else "tanh", "q2": "network A, biases"},
                }
            )
            for i in range(6)
        )
    )
    out = tmp_path / "results.jsonl"
    code = main(
        [
            "grade",
            str(rubric),
            str(answers),
            "--out",
            str(out),
            "--workers",
            "1",
            "--no-text",
            "--no-progress",
        ]
    )
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert code == 0 and summary["graded"] == 6 and summary["mean_score"] == 4.0
    report = tmp_path / "report.html"
    assert main(["stats", str(out), "--html-out", str(report)]) == 0
    captured = capsys.readouterr()
    last = json.loads(captured.out.strip().splitlines()[-1])
    assert last["n"] == 6 and last["total"]["mean"] == 4.0
    assert "facility" in captured.err and report.read_text().startswith("<!DOCTYPE html>")
    # the README's form: `grader stats ... --html > report.html` is the page alone on stdout
    assert main(["stats", str(out), "--html"]) == 0
    captured = capsys.readouterr()
    assert captured.out.startswith("<!DOCTYPE html>") and captured.out.rstrip().endswith("</html>")
    assert "facility" in captured.err


def test_grade_reports_bad_files_without_a_traceback(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("GRADER_DATA_DIR", str(tmp_path / "var"))
    rubric = tmp_path / "demo.yaml"
    rubric.write_text(DEMO_RUBRIC)
    bad = tmp_path / "bad.csv"
    bad.write_text("student_id,q1,q7\ns1,a,b\n")
    out = tmp_path / "r.jsonl"
    assert main(["grade", str(rubric), str(bad), "--out", str(out), "--no-text"]) == 2
    assert "q7" in capsys.readouterr().err and not out.exists()
    assert (
        main(["grade", str(rubric), str(tmp_path / "missing.csv"), "--out", str(out), "--no-text"])
        == 2
    )
    assert "error:" in capsys.readouterr().err


def test_batch_commands_need_a_token_and_a_reachable_service(monkeypatch, capsys, tmp_path):
    monkeypatch.delenv("GRADER_TOKEN", raising=False)
    sheet = tmp_path / "a.csv"
    sheet.write_text("student_id,q1\ns1,relu\n")
    assert main(["batch", "upload", str(sheet), "--exam", "demo"]) == 2
    assert "token" in capsys.readouterr().err
    code = main(["batch", "status", "abc", "--token", "t", "--url", "http://127.0.0.1:9"])
    assert code == 2 and "cannot reach" in capsys.readouterr().err
    assert main(["batch", "status", "abc", "--token", "t", "--url", "file:///etc/passwd"]) == 2
