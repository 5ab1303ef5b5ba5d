"""Bodies built to crash a parser get a 4xx problem, never a 500 (BAD_INPUTS 7, 8, 44)."""

from __future__ import annotations

import pytest

JSON = {"Content-Type": "application/json"}
YAML = {"Content-Type": "application/yaml"}
DEEP = "[" * 100_000 + "]" * 100_000


@pytest.mark.parametrize(
    ("path", "body", "headers"),
    [
        ("/api/v1/exams/demo/submissions", DEEP, JSON),
        ("/api/v1/exams/demo/submissions", '{"answers": ' + DEEP + "}", JSON),
        ("/api/v1/exams/demo/submissions", '{"student_id": "s1", "answers": {"q1": 1' + "0" * 5000 + "}}", JSON),
        ("/api/v1/exams/demo/submissions", "NaN", JSON),
        ("/api/v1/exams", DEEP, JSON),
        ("/api/v1/exams", "a:\n  - " + "[" * 50_000, YAML),
        ("/api/v1/exams", "x: &a [*a]", YAML),
        ("/api/v1/math/validate", DEEP, JSON),
        ("/api/v1/math/validate", '{"expression": "' + "-" * 100_000 + 'x"}', JSON),
        ("/api/v1/webhooks", DEEP, JSON),
    ],
)
def test_parser_bombs_are_4xx(client, tokens, demo_exam, path, body, headers) -> None:  # type: ignore[no-untyped-def]
    r = client.post(path, data=body, headers=tokens.headers("admin", **headers))
    assert 400 <= r.status_code < 500, (r.status_code, r.get_data(as_text=True)[:300])
    assert r.content_type == "application/problem+json"
    assert "Traceback" not in r.get_data(as_text=True)


def test_malformed_json_says_so(client, tokens, demo_exam) -> None:  # type: ignore[no-untyped-def]
    r = client.post("/api/v1/exams/demo/submissions", data=DEEP, headers=tokens.headers("admin", **JSON))
    assert r.status_code == 400 and "not valid JSON" in r.get_json()["detail"]


@pytest.mark.parametrize(
    "answer",
    [
        "\ufdfa" * 500,  # 500 characters, 9,000 after NFKC
        "t" * 5600 + "\u3316" * 2400,  # exactly the limit, 15,200 after NFKC
    ],
)
def test_answer_limit_holds_after_normalisation(client, tokens, demo_exam, answer) -> None:  # type: ignore[no-untyped-def]
    body = {"student_id": "s1", "answers": {"q1": answer}}
    r = client.post("/api/v1/exams/demo/submissions", json=body, headers=tokens.headers("admin"))
    assert r.status_code == 413, r.get_json()
    assert "normalised" in r.get_json()["detail"]


def test_fullwidth_digits_count_as_digits(client, tokens, demo_exam) -> None:  # type: ignore[no-untyped-def]
    body = {"student_id": "s1", "answers": {"q1": "\uff11" * 1001}}
    r = client.post("/api/v1/exams/demo/submissions", json=body, headers=tokens.headers("admin"))
    assert r.status_code == 422 and r.get_json()["errors"][0]["field"] == "answers.q1"
