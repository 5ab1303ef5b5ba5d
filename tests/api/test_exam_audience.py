"""Exam audiences: a student key reaches only the exams open to it (roster or grant),
for reading prompts and for submitting; keys can expire."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from flask.testing import FlaskClient

from grader.services.auth import create_token, parse_duration
from grader.services.runtime import Runtime
from tests.conftest import Tokens

SHEET = {"answers": {"q1": "relu"}}


def _student(runtime: Runtime, student: str, **kw: Any) -> dict[str, str]:
    _, token = create_token(runtime.db, "student", student_id=student, **kw)
    return {"Authorization": f"Bearer {token}"}


def test_a_student_outside_the_audience_sees_no_exam(
    client: FlaskClient, runtime: Runtime, demo_exam: str
) -> None:
    outsider = _student(runtime, "zed")
    assert client.get("/api/v1/exams/demo", headers=outsider).status_code == 404
    r = client.post("/api/v1/exams/demo/submissions", json=SHEET, headers=outsider)
    assert r.status_code == 404 and r.get_json()["detail"] == "no exam 'demo'"


def test_the_roster_opens_the_exam_to_its_students(
    client: FlaskClient, tokens: Tokens, runtime: Runtime, demo_exam: str
) -> None:
    listed = _student(runtime, "s1")  # on the roster the fixture uploaded
    assert client.get("/api/v1/exams/demo", headers=listed).status_code == 200
    assert (
        client.post("/api/v1/exams/demo/submissions", json=SHEET, headers=listed).status_code == 202
    )
    h = tokens.headers("instructor")
    assert (
        client.put("/api/v1/exams/demo/roster", json={"student_ids": ["s2"]}, headers=h).status_code
        == 200
    )
    assert client.get("/api/v1/exams/demo/roster", headers=h).get_json()["student_ids"] == ["s2"]
    assert client.get("/api/v1/exams/demo", headers=listed).status_code == 404  # taken off
    other = tokens.headers("instructor2")
    assert (
        client.put("/api/v1/exams/demo/roster", json={"student_ids": []}, headers=other).status_code
        == 404
    )
    bad = client.put("/api/v1/exams/demo/roster", json={"student_ids": ["a b"]}, headers=h)
    assert bad.status_code == 422 and bad.get_json()["errors"][0]["field"] == "student_ids.0"


def test_a_granted_student_key_reaches_the_exam(
    client: FlaskClient, runtime: Runtime, demo_exam: str
) -> None:
    granted = _student(runtime, "guest", exams=["demo"])
    assert client.get("/api/v1/exams/demo", headers=granted).status_code == 200
    assert (
        client.post("/api/v1/exams/demo/submissions", json=SHEET, headers=granted).status_code
        == 202
    )


def test_expired_keys_are_refused(client: FlaskClient, runtime: Runtime, demo_exam: str) -> None:
    live = _student(runtime, "s1", expires_in=timedelta(hours=1))
    assert client.get("/api/v1/submissions", headers=live).status_code == 200
    dead = _student(runtime, "s1", expires_in=timedelta(seconds=-1))
    r = client.get("/api/v1/submissions", headers=dead)
    assert r.status_code == 401 and "expired" in r.get_json()["detail"]


@pytest.mark.parametrize(
    ("text", "seconds"), [("90d", 90 * 86400), ("12h", 43200), ("30m", 1800), ("45", 45)]
)
def test_durations(text: str, seconds: int) -> None:
    assert parse_duration(text) == timedelta(seconds=seconds)


@pytest.mark.parametrize("text", ["", "0d", "-1h", "1w", "1" * 20])
def test_bad_durations(text: str) -> None:
    from grader.services.errors import Invalid

    with pytest.raises(Invalid):
        parse_duration(text)
