"""Every query parameter is validated (422 naming it) and documented in OpenAPI."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient

from tests.conftest import Tokens


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/submissions?offset=9223372036854775808",
        "/api/v1/submissions?offset=-1",
        "/api/v1/submissions?limit=abc",
        "/api/v1/submissions?limit=0",
        "/api/v1/submissions?limit=" + "9" * 5000,
        "/api/v1/submissions?offset=%D9%A3",  # an Arabic-Indic digit: int() would take it
        "/api/v1/exams/demo?version=99999999999999999999999",
        "/api/v1/exams/demo?version=0",
        "/api/v1/exams/demo/stats?format=xml",
        "/api/v1/exams/demo/gradebook?form=x",
        "/api/v1/exams/demo/review?limit=1001",
        "/api/v1/exams/demo/review?group=maybe",
        "/api/v1/exams/demo/review?batch_id=" + "b" * 500,
        "/api/v1/submissions?exam_id=%00",
    ],
)
def test_bad_query_parameters_are_422_naming_the_parameter(
    client: FlaskClient, tokens: Tokens, demo_exam: str, url: str
) -> None:
    r = client.get(url, headers=tokens.headers("instructor"))
    assert r.status_code == 422, (r.status_code, r.get_data(as_text=True)[:300])
    body = r.get_json()
    name = url.split("?")[1].split("=")[0]
    assert body["errors"][0]["field"] == f"query.{name}"


def test_good_query_parameters_still_work(
    client: FlaskClient, tokens: Tokens, demo_exam: str
) -> None:
    h = tokens.headers("instructor")
    assert client.get("/api/v1/submissions?offset=0&limit=500", headers=h).status_code == 200
    assert client.get("/api/v1/exams/demo?version=1", headers=h).status_code == 200
    assert client.get("/api/v1/exams/demo?version=2147483647", headers=h).status_code == 404
    assert client.get("/api/v1/exams/demo/review?group=true&limit=5", headers=h).status_code == 200


def test_query_parameters_are_in_the_openapi_document(client: FlaskClient) -> None:
    doc = client.get("/api/v1/openapi.json").get_json()
    listing = doc["paths"]["/api/v1/submissions"]["get"]
    params = {p["name"]: p for p in listing["parameters"]}
    assert params["offset"]["schema"] == {
        "type": "integer",
        "minimum": 0,
        "maximum": 2**31 - 1,
        "default": 0,
    }
    assert params["limit"]["schema"]["maximum"] == 500
    assert "422" in listing["responses"]
    review = doc["paths"]["/api/v1/exams/{exam_id}/review"]["get"]
    assert {p["name"] for p in review["parameters"]} >= {"exam_id", "batch_id", "limit", "group"}
