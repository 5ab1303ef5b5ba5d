"""Bodies built to crash a parser get a 4xx problem, never a 500 (BAD_INPUTS 7, 8, 44).

Each gets the one status its endpoint promises: a JSON body that cannot be read is 400, a
readable body of the wrong shape is 422, a rubric that cannot be read is 422 like any other
rubric error (with its line), a value over its length limit is 413."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from tests.conftest import Tokens

JSON = {"Content-Type": "application/json"}
YAML = {"Content-Type": "application/yaml"}
DEEP = "[" * 100_000 + "]" * 100_000


@pytest.mark.parametrize(
    ("path", "body", "headers", "status"),
    [
        ("/api/v1/exams/demo/submissions", DEEP, JSON, 400),
        ("/api/v1/exams/demo/submissions", '{"answers": ' + DEEP + "}", JSON, 400),
        (
            "/api/v1/exams/demo/submissions",
            '{"student_id": "s1", "answers": {"q1": 1' + "0" * 5000 + "}}",
            JSON,
            400,
        ),
        ("/api/v1/exams/demo/submissions", "NaN", JSON, 422),  # read as a number, not an object
        ("/api/v1/exams", DEEP, JSON, 422),
        ("/api/v1/exams", "a:\n  - " + "[" * 50_000, YAML, 422),
        ("/api/v1/exams", "x: &a [*a]", YAML, 422),
        ("/api/v1/math/validate", DEEP, JSON, 400),
        ("/api/v1/math/validate", '{"expression": "' + "-" * 100_000 + 'x"}', JSON, 413),
        ("/api/v1/webhooks", DEEP, JSON, 400),
    ],
)
def test_parser_bombs_are_4xx(
    client: FlaskClient,
    tokens: Tokens,
    demo_exam: str,
    path: str,
    body: str,
    headers: dict[str, str],
    status: int,
) -> None:
    r = client.post(path, data=body, headers=tokens.headers("admin", **headers))
    assert r.status_code == status, (r.status_code, r.get_data(as_text=True)[:300])
    assert r.content_type == "application/problem+json"
    assert "Traceback" not in r.get_data(as_text=True)


def test_malformed_json_says_so(client: FlaskClient, tokens: Tokens, demo_exam: str) -> None:
    r = client.post(
        "/api/v1/exams/demo/submissions", data=DEEP, headers=tokens.headers("admin", **JSON)
    )
    assert r.status_code == 400 and "not valid JSON" in r.get_json()["detail"]


# Every operation whose body is a JSON request (not a rubric or batch file, whose errors are
# 422 with their lines): (method, path asked, path in the OpenAPI document).
JSON_REQUESTS = [
    ("PUT", "/api/v1/exams/demo/roster", "/api/v1/exams/{exam_id}/roster"),
    ("POST", "/api/v1/exams/demo/submissions", "/api/v1/exams/{exam_id}/submissions"),
    ("POST", "/api/v1/submissions/s/overrides", "/api/v1/submissions/{submission_id}/overrides"),
    ("POST", "/api/v1/exams/demo/overrides", "/api/v1/exams/{exam_id}/overrides"),
    ("POST", "/api/v1/batches/b/regrade", "/api/v1/batches/{batch_id}/regrade"),
    (
        "POST",
        "/api/v1/exams/demo/questions/q1/examples",
        "/api/v1/exams/{exam_id}/questions/{question_id}/examples",
    ),
    ("POST", "/api/v1/exams/demo/regrade", "/api/v1/exams/{exam_id}/regrade"),
    ("POST", "/api/v1/math/validate", "/api/v1/math/validate"),
    ("POST", "/api/v1/webhooks", "/api/v1/webhooks"),
]


@pytest.mark.parametrize(("method", "path", "documented"), JSON_REQUESTS)
def test_an_unreadable_json_request_is_400_and_documented(
    client: FlaskClient, tokens: Tokens, demo_exam: str, method: str, path: str, documented: str
) -> None:
    h = tokens.headers("instructor")
    r = client.open(path, method=method, data='{"answers": ', headers={**h, **JSON})
    assert r.status_code == 400, r.get_json()
    assert "not valid JSON" in r.get_json()["detail"]
    r = client.open(path, method=method, data="answers: {}", headers={**h, **YAML})
    assert r.status_code == 415, r.get_json()
    responses = client.get("/api/v1/openapi.json").get_json()["paths"][documented]
    assert {"400", "415"} <= set(responses[method.lower()]["responses"])


@pytest.mark.parametrize(
    "answer",
    [
        "\ufdfa" * 500,  # 500 characters, 9,000 after NFKC
        "t" * 5600 + "\u3316" * 2400,  # exactly the limit, 15,200 after NFKC
    ],
)
def test_answer_limit_holds_after_normalisation(
    client: FlaskClient, tokens: Tokens, demo_exam: str, answer: str
) -> None:
    body = {"student_id": "s1", "answers": {"q1": answer}}
    r = client.post("/api/v1/exams/demo/submissions", json=body, headers=tokens.headers("admin"))
    assert r.status_code == 413, r.get_json()
    assert "normalised" in r.get_json()["detail"]


def test_fullwidth_digits_count_as_digits(
    client: FlaskClient, tokens: Tokens, demo_exam: str
) -> None:
    body = {"student_id": "s1", "answers": {"q1": "\uff11" * 1001}}
    r = client.post("/api/v1/exams/demo/submissions", json=body, headers=tokens.headers("admin"))
    assert r.status_code == 422 and r.get_json()["errors"][0]["field"] == "answers.q1"


def _chunked(client: FlaskClient, path: str, body: bytes, headers: dict[str, str]) -> TestResponse:
    """A request without Content-Length, as a chunked upload reaches the app."""
    import io

    env = {"wsgi.input": io.BytesIO(body), "wsgi.input_terminated": True}
    return client.post(
        path, headers={**headers, "Transfer-Encoding": "chunked"}, environ_overrides=env
    )


@pytest.mark.parametrize(
    "path", ["/api/v1/exams/demo/submissions", "/api/v1/exams", "/api/v1/webhooks"]
)
def test_chunked_body_over_the_limit_is_413(
    client: FlaskClient, tokens: Tokens, demo_exam: str, path: str
) -> None:
    body = b'{"student_id": "s1", "answers": {"q1": "' + b"a" * 2_100_000 + b'"}}'
    r = _chunked(client, path, body, tokens.headers("admin", **JSON))
    assert r.status_code == 413, r.get_data(as_text=True)[:200]


def test_chunked_body_within_the_limit_is_read_whole(
    client: FlaskClient, tokens: Tokens, demo_exam: str
) -> None:
    body = b'{"student_id": "s1", "answers": {"q1": "relu"}}'
    r = _chunked(client, "/api/v1/exams/demo/submissions", body, tokens.headers("admin", **JSON))
    assert r.status_code == 202, r.get_json()


def test_chunked_batch_upload_may_be_larger_than_a_submission(
    client: FlaskClient, tokens: Tokens, demo_exam: str
) -> None:
    rows = "".join(f"s{i},{'relu ' * 100},network a\n" for i in range(5000))
    body = ("student_id,q1,q2\n" + rows).encode()
    assert len(body) > 2_000_000
    r = _chunked(
        client,
        "/api/v1/exams/demo/batches",
        body,
        tokens.headers("instructor", **{"Content-Type": "text/csv"}),
    )
    assert r.status_code == 202, r.get_data(as_text=True)[:200]


@pytest.mark.parametrize("content_type", ["application/yaml", "application/json"])
def test_rubric_with_a_4301_digit_integer_is_422_naming_the_field(
    client: FlaskClient, tokens: Tokens, demo_rubric: str, content_type: str
) -> None:
    huge = "1" * 4301
    if content_type == "application/json":
        import json

        import yaml

        data = yaml.safe_load(demo_rubric)
        text = json.dumps(data).replace('"points": 2,', f'"points": {huge},', 1)
    else:
        text = demo_rubric.replace("points: 2\n", f"points: {huge}\n", 1)
    assert huge in text
    r = client.post(
        "/api/v1/exams",
        data=text,
        headers=tokens.headers("instructor", **{"Content-Type": content_type}),
    )
    assert r.status_code == 422, r.get_data(as_text=True)[:300]
    assert r.get_json()["errors"][0]["field"] == "questions.0.points"
