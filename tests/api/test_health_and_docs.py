from __future__ import annotations


def test_health_and_readiness(client) -> None:  # type: ignore[no-untyped-def]
    assert client.get("/healthz").get_json() == {"alive": True}
    ready = client.get("/readyz")
    body = ready.get_json()
    assert ready.status_code == 200 and body["database"] and body["broker"]
    assert body["queue"]["queued"] == 0


def test_openapi_is_generated_from_the_schemas(client) -> None:  # type: ignore[no-untyped-def]
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


def test_unknown_route_is_problem_json(client) -> None:  # type: ignore[no-untyped-def]
    r = client.get("/api/v1/nothing")
    assert r.status_code == 404 and r.content_type == "application/problem+json"
