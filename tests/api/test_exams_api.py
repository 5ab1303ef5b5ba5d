from __future__ import annotations

import json

import yaml
from flask.testing import FlaskClient

from tests.conftest import Tokens

YAML = {"Content-Type": "application/yaml"}


def test_create_read_and_version(client: FlaskClient, tokens: Tokens, demo_rubric: str) -> None:
    r = client.post("/api/v1/exams", data=demo_rubric, headers=tokens.headers("instructor", **YAML))
    assert r.status_code == 201 and r.get_json() == {"id": "demo", "version": 1, "warnings": []}
    assert r.headers["Location"] == "/api/v1/exams/demo"
    again = client.post(
        "/api/v1/exams", data=demo_rubric, headers=tokens.headers("instructor", **YAML)
    )
    assert again.status_code == 409
    as_json = json.dumps(yaml.safe_load(demo_rubric.replace("Demo exam", "Demo v2")))
    r = client.put(
        "/api/v1/exams/demo",
        data=as_json,
        headers=tokens.headers("instructor", **{"Content-Type": "application/json"}),
    )
    assert r.status_code == 200 and r.get_json()["version"] == 2
    owner = client.get("/api/v1/exams/demo", headers=tokens.headers("instructor")).get_json()
    assert owner["title"] == "Demo v2" and owner["versions"] == [1, 2]
    assert "criteria" in owner["exam"]["questions"][0]
    v1 = client.get("/api/v1/exams/demo?version=1", headers=tokens.headers("instructor")).get_json()
    assert v1["title"] == "Demo exam"


def test_students_see_questions_not_the_rubric(
    client: FlaskClient, tokens: Tokens, demo_exam: str
) -> None:
    body = client.get(f"/api/v1/exams/{demo_exam}", headers=tokens.headers("student")).get_json()
    assert [q["id"] for q in body["exam"]["questions"]] == ["q1", "q2"]
    assert all("criteria" not in q for q in body["exam"]["questions"])


def test_other_instructors_cannot_see_or_edit(
    client: FlaskClient, tokens: Tokens, demo_exam: str, demo_rubric: str
) -> None:
    assert (
        client.get("/api/v1/exams/demo", headers=tokens.headers("instructor2")).status_code == 404
    )
    r = client.put(
        "/api/v1/exams/demo", data=demo_rubric, headers=tokens.headers("instructor2", **YAML)
    )
    assert r.status_code == 404
    assert client.get("/api/v1/exams/demo", headers=tokens.headers("lms")).status_code == 404


def test_rubric_errors_are_problem_details_with_lines(
    client: FlaskClient, tokens: Tokens, demo_rubric: str
) -> None:
    broken = demo_rubric.replace("    points: 3\n", "    points: 4\n").replace("id: q2", "id: q1")
    r = client.post("/api/v1/exams", data=broken, headers=tokens.headers("admin", **YAML))
    assert r.status_code == 422 and r.content_type == "application/problem+json"
    body = r.get_json()
    assert body["status"] == 422 and body["title"] == "Invalid request"
    assert any(
        e["field"] == "questions.1" and "add up to 3" in e["message"] for e in body["errors"]
    )
    assert all("line" in e for e in body["errors"])
    # nothing half-written
    assert client.get("/api/v1/exams/demo", headers=tokens.headers("admin")).status_code == 404


def test_malformed_bodies(client: FlaskClient, tokens: Tokens) -> None:
    h = tokens.headers("admin", **YAML)
    r = client.post("/api/v1/exams", data="id: [", headers=h)
    assert r.status_code == 422 and "line" in r.get_json()["errors"][0]
    r = client.post(
        "/api/v1/exams",
        data="{not json",
        headers=tokens.headers("admin", **{"Content-Type": "application/json"}),
    )
    assert r.status_code == 422 and "malformed JSON" in r.get_json()["detail"]
    r = client.post(
        "/api/v1/exams", data="x", headers=tokens.headers("admin", **{"Content-Type": "text/plain"})
    )
    assert r.status_code == 415
    r = client.post("/api/v1/exams", data=b"\xff\xfe", headers=h)
    assert r.status_code == 422
    r = client.post("/api/v1/exams", data="a: " + "x" * 3_000_000, headers=h)
    assert r.status_code == 413 and r.content_type == "application/problem+json"


def test_roles(client: FlaskClient, tokens: Tokens, demo_rubric: str) -> None:
    for who in ("student", "lms"):
        r = client.post("/api/v1/exams", data=demo_rubric, headers=tokens.headers(who, **YAML))
        assert r.status_code == 403
    assert client.post("/api/v1/exams", data=demo_rubric, headers=YAML).status_code == 401


SELF_FAILING = """\
id: selftest
title: A rubric whose model answer fails its own criterion
questions:
  - id: q1
    points: 2
    model_answer: "B, because the heap is shared."
    criteria:
      - id: pick
        points: 2
        check:
          kind: choice
          correct: C
          options: [{id: A}, {id: B}, {id: C}]
"""


def test_upload_returns_the_self_test_warnings(client: FlaskClient, tokens: Tokens) -> None:
    r = client.post(
        "/api/v1/exams", data=SELF_FAILING, headers=tokens.headers("instructor", **YAML)
    )
    assert r.status_code == 201
    body = r.get_json()
    assert body["id"] == "selftest" and body["version"] == 1
    (warning,) = body["warnings"]
    assert warning["line"] == 6  # the model_answer line
    assert "q1: the model answer scores 0 of 2" in warning["message"]
    assert "You chose B" in warning["message"]
    fixed = SELF_FAILING.replace('"B, because', '"C, because')
    r = client.put(
        "/api/v1/exams/selftest", data=fixed, headers=tokens.headers("instructor", **YAML)
    )
    assert r.status_code == 200 and r.get_json()["warnings"] == []
