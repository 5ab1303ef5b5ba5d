"""BAD_INPUTS 1-8, 11, 12 at the single-expression endpoint: 422 with a reason, nothing run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from tests.conftest import Tokens

JSON = {"Content-Type": "application/json"}


def validate(client: FlaskClient, tokens: Tokens, expression: str, **extra: object) -> TestResponse:
    return client.post(
        "/api/v1/math/validate",
        data=json.dumps({"expression": expression, **extra}),
        headers=tokens.headers("student", **JSON),
    )


@pytest.mark.parametrize(
    ("expression", "kind"),
    [
        ("2x + 1", "expression"),
        ("x^2 = 4", "equation"),
        (r"\frac{1}{2} \cdot x", "expression"),
        ("w_2 <- w_2 - η·dE/dw_2", "assignment"),
        ("√x · π", "expression"),
    ],
)
def test_valid_expressions_are_read_back(
    client: FlaskClient, tokens: Tokens, expression: str, kind: str
) -> None:
    r = validate(client, tokens, expression, variables=["w_2"])
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    assert body["valid"] and body["kind"] == kind and body["canonical"]


@pytest.mark.parametrize(
    "expression",
    [
        "__import__('os').system('touch {sentinel}')",
        'eval("1")',
        "open('/etc/passwd')",
        "().__class__.__bases__[0].__subclasses__()",
        "x.__dict__",
        "Symbol.__init__",
        "lambda x: x",
        "[i for i in range(9**9)]",
        'f"{1}"',
        "'str'",
        "x;y",
        r"\input{/etc/passwd}",
    ],
)
def test_code_is_unsupported_syntax_and_never_runs(
    client: FlaskClient, tokens: Tokens, tmp_path: Path, expression: str
) -> None:
    sentinel = tmp_path / "sentinel"
    r = validate(client, tokens, expression.replace("{sentinel}", str(sentinel)))
    assert r.status_code == 422, r.get_json()
    assert r.content_type == "application/problem+json"
    assert not sentinel.exists()


@pytest.mark.parametrize(
    ("expression", "status", "reason"),
    [
        ("9**9**9**9", 422, "too large"),
        ("2^2^2^2^2^10", 422, "too large"),
        ("10^(10^10)", 422, "too large"),
        ("((9**9)**9999)**9999", 422, "too large"),
        ("factorial(10**10)", 422, "too large"),
        ("(10^10)!", 422, "too large"),
        ("(" * 10_000 + "x" + ")" * 10_000, 413, "at most 2000 characters"),  # the length limit
        ("1/0", 422, "undefined"),
    ],
)
def test_limits_and_undefined(
    client: FlaskClient, tokens: Tokens, expression: str, status: int, reason: str
) -> None:
    r = validate(client, tokens, expression)
    assert r.status_code == status, r.get_json()
    assert reason in r.get_json()["detail"]


def test_hostile_unicode_never_500(client: FlaskClient, tokens: Tokens) -> None:
    # Look-alike letters and digits, the minus sign and a zero-width space are read as the
    # student meant them; text-direction and control characters are refused with a reason.
    for expression in ["х + 1", "𝑥 + 1", "９ + x", "x − 1", "x\u200b+1"]:
        r = validate(client, tokens, expression)
        assert r.status_code == 200 and r.get_json()["valid"], (expression, r.get_json())
    for expression, reason in [("\u202ex+1", "text-direction"), ("x\x00+1", "control")]:
        r = validate(client, tokens, expression)
        assert r.status_code == 422 and reason in r.get_json()["detail"], (expression, r.get_json())


def test_body_shape(client: FlaskClient, tokens: Tokens) -> None:
    r = client.post(
        "/api/v1/math/validate",
        data=json.dumps({"expr": "x"}),
        headers=tokens.headers("student", **JSON),
    )
    assert r.status_code == 422
    assert client.post("/api/v1/math/validate", data="{}", headers=JSON).status_code == 401


def test_validate_reads_like_the_grader(client: FlaskClient, tokens: Tokens) -> None:
    r = validate(client, tokens, "2q(1 − q)", variables=[])
    assert r.status_code == 200 and r.get_json()["canonical"] == "2*q*(1 - q)"
    r = validate(client, tokens, r"\bar{x} - μ₀", variables=[])
    assert r.get_json()["canonical"] == "-mu_0 + xbar"  # sympy's order of the terms
    r = validate(client, tokens, "f(x+1)", functions=["f"])
    assert r.status_code == 200 and r.get_json()["canonical"] == "f(x + 1)"
    r = validate(client, tokens, "f(x+1)")
    assert r.get_json()["canonical"] == "f*(x + 1)"  # a product, left unexpanded
