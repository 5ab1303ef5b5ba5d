from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient


def test_health_and_readiness(client: FlaskClient) -> None:
    assert client.get("/healthz").get_json() == {"alive": True}
    ready = client.get("/readyz")
    body = ready.get_json()
    assert ready.status_code == 200 and body["database"] and body["broker"]
    assert body["queue"]["queued"] == 0


def test_openapi_is_generated_from_the_schemas(client: FlaskClient) -> None:
    doc = client.get("/api/v1/openapi.json").get_json()
    assert doc["openapi"] == "3.1.0"
    post = doc["paths"]["/api/v1/exams/{exam_id}/submissions"]["post"]
    schema = post["requestBody"]["content"]["application/json"]["schema"]
    assert schema == {"$ref": "#/components/schemas/SubmissionIn"}
    assert "answers" in doc["components"]["schemas"]["SubmissionIn"]["properties"]
    assert doc["components"]["schemas"]["SubmissionIn"].get("additionalProperties") is False
    assert "202" in post["responses"] and "422" in post["responses"]
    page = client.get("/api/docs")
    assert page.status_code == 200 and b"/api/v1/exams/{exam_id}/submissions" in page.data


def test_unknown_route_is_problem_json(client: FlaskClient) -> None:
    r = client.get("/api/v1/nothing")
    assert r.status_code == 404 and r.content_type == "application/problem+json"


def test_method_not_allowed_names_the_allowed_methods(client: FlaskClient) -> None:
    r = client.delete("/api/v1/submissions")
    assert r.status_code == 405 and r.content_type == "application/problem+json"
    assert r.get_json()["status"] == 405
    allowed = {m.strip() for m in r.headers["Allow"].split(",")}
    assert {"GET", "HEAD", "OPTIONS"} <= allowed and "DELETE" not in allowed
    r = client.get("/api/v1/math/validate")
    assert r.status_code == 405 and "POST" in r.headers["Allow"]


def test_every_api_405_carries_allow(app: Flask, client: FlaskClient) -> None:
    rules = [rule for rule in app.url_map.iter_rules() if rule.rule.startswith("/api/v1/")]
    assert rules
    for rule in rules:
        built = rule.build({arg: "x" for arg in rule.arguments}, append_unknown=False)
        assert built is not None
        url = built[1]
        methods = {
            m for r in app.url_map.iter_rules() if r.rule == rule.rule for m in r.methods or ()
        }
        missing = sorted({"GET", "POST", "PUT", "PATCH", "DELETE"} - methods)
        if not missing:
            continue
        r = client.open(url, method=missing[0])
        assert r.status_code == 405, (url, missing[0], r.status_code)
        assert r.content_type == "application/problem+json", url
        assert {m.strip() for m in r.headers["Allow"].split(",")} == methods, url


def test_a_page_405_is_a_page_that_carries_allow(client: FlaskClient) -> None:
    r = client.delete("/ui/login")
    assert r.status_code == 405 and r.mimetype == "text/html"
    assert {m.strip() for m in r.headers["Allow"].split(",")} == {"GET", "HEAD", "OPTIONS", "POST"}
    assert "<h1>405 Method Not Allowed</h1>" in r.get_data(as_text=True)
    assert r.headers["Content-Security-Policy"].startswith("default-src 'none'")
    missing = client.get("/ui/no-such-page")
    assert missing.status_code == 404 and missing.mimetype == "text/html"
    assert "<h1>404 Not Found</h1>" in missing.get_data(as_text=True)
    # /uix is not under /ui: problem JSON like any other unknown path
    assert client.get("/uix").content_type == "application/problem+json"
