"""Offline grading of a submissions file: same intake and grading code, local process pool."""

from __future__ import annotations

import json

import pytest

from grader.batches.intake import IntakeRejected
from grader.batches.offline import grade_file, read_results
from grader.exams import RubricInvalid

RUBRIC = """
id: tiny
title: Tiny exam
questions:
  - id: q1
    points: 2
    criteria:
      - id: more
        points: 2
        check:
          kind: choice
          options:
            - {id: A, phrases: ["network a", "the first"]}
            - {id: B, phrases: ["network b", "the second"]}
          correct: A
  - id: q2
    points: 1
    criteria:
      - id: saturation
        points: 1
        check: {kind: keywords, groups: [{any_of: [saturate, saturates, saturation]}]}
"""


@pytest.fixture
def files(tmp_path):
    rubric = tmp_path / "rubric.yaml"
    rubric.write_text(RUBRIC)
    subs = tmp_path / "answers.csv"
    lines = ["student_id,q1,q2"]
    for i in range(40):
        pick = "network A" if i % 2 else "network B"
        lines.append(f"s{i},{pick},{'sigmoid saturates' if i % 4 else 'no idea'}")
    subs.write_text("\n".join(lines) + "\n")
    return rubric, subs, tmp_path / "results.jsonl"


def test_grade_file_in_process(files):
    rubric, subs, out = files
    summary = grade_file(rubric, subs, out, workers=1, chunk_size=7, progress=False)
    assert (summary["n"], summary["graded"], summary["failed"], summary["exam"]) == (
        40,
        40,
        0,
        "tiny",
    )
    records = read_results(out)
    assert [r["student_id"] for r in records] == [f"s{i}" for i in range(40)]
    assert records[1]["row"] == 3 and records[1]["source"] == "answers.csv"
    scores = [r["result"]["score"] for r in records]
    assert scores[:4] == [0.0, 3.0, 1.0, 3.0]
    assert summary["mean_score"] == pytest.approx(sum(scores) / 40, abs=1e-4)
    assert not out.with_name("results.jsonl.part").exists()


def test_grade_file_with_a_process_pool_matches(files, tmp_path):
    rubric, subs, out = files
    pooled = tmp_path / "pooled.jsonl"
    grade_file(rubric, subs, out, workers=1, progress=False)
    summary = grade_file(rubric, subs, pooled, workers=2, chunk_size=10, progress=False)
    assert summary["workers"] == 2
    assert read_results(pooled) == read_results(out)


def test_bad_inputs_fail_before_writing(files, tmp_path):
    rubric, subs, out = files
    subs.write_text("student_id,q1,q7\ns1,a,b\n")
    with pytest.raises(IntakeRejected, match="q7"):
        grade_file(rubric, subs, out, progress=False)
    rubric.write_text("id: x\ntitle: t\nquestions: []\n")
    with pytest.raises(RubricInvalid):
        grade_file(rubric, subs, out, progress=False)
    assert not out.exists()


def test_results_lines_are_json_records(files):
    rubric, subs, out = files
    grade_file(rubric, subs, out, workers=1, progress=False)
    first = json.loads(out.read_text().splitlines()[0])
    assert set(first) == {"row", "source", "student_id", "status", "result"}
    assert first["result"]["questions"][0]["criteria"][0]["id"] == "more"


class CountingRunner:
    """DirectRunner that counts the checks it runs."""

    calls = 0

    def __init__(self, registry):
        from grader.grading import DirectRunner

        self.inner = DirectRunner(registry)

    def run(self, kind, spec, answer):
        CountingRunner.calls += 1
        return self.inner.run(kind, spec, answer)

    def warm(self, kind, items):
        self.inner.warm(kind, items)


def test_offline_grading_checks_a_repeated_answer_once(files):
    """`grader grade` shares the service's grade step (grader.grading.memo): a chunk checks
    each distinct answer of a criterion once. 40 sheets in one chunk hold 2 distinct q1
    answers and 2 distinct q2 answers: 4 checks (grade_many alone ran 80)."""
    rubric, subs, out = files
    CountingRunner.calls = 0
    summary = grade_file(
        rubric, subs, out, runner_factory=CountingRunner, workers=1, chunk_size=40, progress=False
    )
    assert summary["graded"] == 40
    assert CountingRunner.calls == 4
    plain = [r["result"] for r in read_results(out)]
    grade_file(rubric, subs, out, workers=1, chunk_size=7, progress=False)
    assert [r["result"] for r in read_results(out)] == plain
