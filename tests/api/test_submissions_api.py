from __future__ import annotations

import json

from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from grader.services.grading import grade_submissions
from grader.services.runtime import Runtime
from tests.conftest import Tokens

JSON = {"Content-Type": "application/json"}


def post(
    client: FlaskClient,
    tokens: Tokens,
    who: str,
    body: object,
    exam: str = "demo",
    **headers: str,
) -> TestResponse:
    return client.post(
        f"/api/v1/exams/{exam}/submissions",
        data=json.dumps(body),
        headers=tokens.headers(who, **JSON, **headers),
    )


def grade_all(runtime: Runtime, ids: list[str]) -> dict[str, str]:
    return grade_submissions(runtime, ids)


def test_submit_then_grade_then_read(
    client: FlaskClient, tokens: Tokens, runtime: Runtime, demo_exam: str
) -> None:
    r = post(
        client,
        tokens,
        "student",
        {"answers": {"q1": "ReLU", "q2": "network A, because of the biases"}},
    )
    assert r.status_code == 202
    sid = r.get_json()["id"]
    assert r.get_json()["status"] == "queued"
    assert r.headers["Location"] == f"/api/v1/submissions/{sid}"
    queued = client.get(f"/api/v1/submissions/{sid}", headers=tokens.headers("student")).get_json()
    assert queued["status"] == "queued" and queued["student_id"] == "s1"
    assert grade_all(runtime, [sid]) == {sid: "graded"}
    assert grade_all(runtime, [sid]) == {sid: "skipped"}  # a second delivery is a no-op
    body = client.get(f"/api/v1/submissions/{sid}", headers=tokens.headers("student")).get_json()
    assert body["status"] == "graded" and body["score"] == 5 and body["max_score"] == 5
    q2 = body["questions"][1]
    assert {c["id"] for c in q2["criteria"]} == {"picks-a", "says-bias"}
    for c in q2["criteria"]:
        assert set(c) >= {"id", "score", "max_score", "feedback", "evidence"}


def test_prefer_wait_times_out_to_202(client: FlaskClient, tokens: Tokens, demo_exam: str) -> None:
    r = post(client, tokens, "student", {"answers": {"q1": "relu"}}, Prefer="wait=1")
    assert r.status_code == 202 and r.headers["Preference-Applied"] == "wait=1"


def test_students_only_see_their_own(
    client: FlaskClient, tokens: Tokens, runtime: Runtime, demo_exam: str
) -> None:
    mine = post(client, tokens, "student", {"answers": {"q1": "relu"}}).get_json()["id"]
    theirs = post(client, tokens, "student2", {"answers": {"q1": "relu"}}).get_json()["id"]
    assert (
        client.get(f"/api/v1/submissions/{theirs}", headers=tokens.headers("student")).status_code
        == 404
    )
    listed = client.get("/api/v1/submissions", headers=tokens.headers("student")).get_json()[
        "items"
    ]
    assert [s["id"] for s in listed] == [mine]
    r = post(client, tokens, "student", {"student_id": "s2", "answers": {"q1": "relu"}})
    assert r.status_code == 403
    assert (
        len(
            client.get("/api/v1/submissions", headers=tokens.headers("instructor")).get_json()[
                "items"
            ]
        )
        == 2
    )
    assert (
        client.get("/api/v1/submissions", headers=tokens.headers("instructor2")).get_json()["items"]
        == []
    )


def test_lms_needs_a_grant(
    client: FlaskClient, tokens: Tokens, runtime: Runtime, demo_exam: str
) -> None:
    from grader.services.auth import create_token

    body = {"student_id": "s9", "answers": {"q1": "relu"}}
    assert post(client, tokens, "lms", body).status_code == 404
    _, granted = create_token(runtime.db, "lms", exams=["demo"])
    r = client.post(
        "/api/v1/exams/demo/submissions",
        data=json.dumps(body),
        headers={"Authorization": f"Bearer {granted}", **JSON},
    )
    assert r.status_code == 202
    sid = r.get_json()["id"]
    got = client.get(f"/api/v1/submissions/{sid}", headers={"Authorization": f"Bearer {granted}"})
    assert got.status_code == 200
    assert post(client, tokens, "lms", {"answers": {"q1": "x"}}).status_code == 404


def test_bad_submissions(client: FlaskClient, tokens: Tokens, demo_exam: str) -> None:
    cases: list[tuple[dict[str, object], int, str]] = [
        ({"answers": {"q1": "x"}, "score": 5}, 422, "score"),
        ({"answers": {"q1": "x"}, "role": "admin"}, 422, "role"),
        ({"answers": {"q9": "x"}}, 422, "answers.q9"),
        ({"answers": {"q1": 5}}, 422, "answers.q1"),
        ({"answers": "q1"}, 422, "answers"),
        ({}, 422, "answers"),
        ({"answers": {"q1": "1" * 5000}}, 422, "answers.q1"),
        ({"answers": {"q1": "x" * 9000}}, 413, "answers.q1"),
    ]
    for body, status, field in cases:
        r = post(client, tokens, "admin", {"student_id": "s1", **body})
        assert r.status_code == status, (body, r.get_json())
        assert any(e["field"].startswith(field) for e in r.get_json()["errors"]), r.get_json()
    assert (
        post(client, tokens, "admin", {"student_id": "s1", "answers": {}}, exam="nope").status_code
        == 404
    )
    r = client.post(
        "/api/v1/exams/demo/submissions", data="{bad", headers=tokens.headers("admin", **JSON)
    )
    assert r.status_code == 400 and r.content_type == "application/problem+json"
    r = client.post("/api/v1/exams/demo/submissions", data="{}", headers=tokens.headers("admin"))
    assert r.status_code == 415
    r = client.post(
        "/api/v1/exams/demo/submissions", data="[1, 2]", headers=tokens.headers("admin", **JSON)
    )
    assert r.status_code == 422


def test_hostile_characters_are_stored_and_graded(
    client: FlaskClient, tokens: Tokens, runtime: Runtime, demo_exam: str
) -> None:
    raw = '{"student_id": "s1", "answers": {"q1": "re\\u0000lu \\ud800 \\u202e x\\u200b", "q2": "\\u0445"}}'
    r = client.post(
        "/api/v1/exams/demo/submissions", data=raw, headers=tokens.headers("admin", **JSON)
    )
    assert r.status_code == 202, r.get_json()
    sid = r.get_json()["id"]
    assert grade_all(runtime, [sid]) == {sid: "graded"}
    body = client.get(f"/api/v1/submissions/{sid}", headers=tokens.headers("admin")).get_json()
    assert body["status"] == "graded"


def test_no_internals_in_errors(client: FlaskClient, tokens: Tokens) -> None:
    r = client.get("/api/v1/submissions/" + "x" * 5000, headers=tokens.headers("admin"))
    assert r.status_code == 404
    text = r.get_data(as_text=True)
    assert "Traceback" not in text and "SELECT" not in text


def test_review_reasons_are_for_the_instructor_only(
    client: FlaskClient, tokens: Tokens, runtime: Runtime, demo_exam: str
) -> None:
    from grader.store.models import Submission

    sid = post(client, tokens, "student", {"answers": {"q1": "relu"}}).get_json()["id"]
    grade_all(runtime, [sid])
    with runtime.db.session() as s:
        row = s.get(Submission, sid)
        assert row is not None
        result = json.loads(json.dumps(row.result))
        result["questions"][0].update(
            needs_review=True, review_reasons=["answer is a list of terms"]
        )
        row.result = result
    seen = {
        who: client.get(f"/api/v1/submissions/{sid}", headers=tokens.headers(who)).get_json()
        for who in ("student", "instructor")
    }
    assert seen["instructor"]["questions"][0]["review_reasons"] == ["answer is a list of terms"]
    assert seen["student"]["questions"][0]["review_reasons"] == []
    assert (
        seen["student"]["questions"][0]["needs_review"] is True
    )  # the student knows a person will look
    listed = client.get("/api/v1/submissions", headers=tokens.headers("student")).get_json()[
        "items"
    ]
    assert listed[0]["questions"][0]["review_reasons"] == []
