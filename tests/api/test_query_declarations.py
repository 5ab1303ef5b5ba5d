"""A handler reads only the query parameters its operation declares, and the OpenAPI document
lists exactly those: a parameter cannot be read without being documented.

Three checks: the source of grader/api reads the query string only through grader.api.params;
every parameter object a handler (or a helper of its module) reads is in its operation's
`query=` and in the served document; at run time, reading an undeclared one fails.
"""

from __future__ import annotations

import ast
import importlib
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from grader.api.params import (
    OFFSET,
    VERSION,
    ChoiceParam,
    FlagParam,
    IntParam,
    Param,
    TextParam,
    UndeclaredParameter,
    bind,
)
from grader.api.spec import api_spec
from tests.conftest import Tokens

API = Path(__file__).resolve().parents[2] / "grader" / "api"
QUERY_ATTRIBUTES = {"args", "values", "query_string"}


def _modules() -> list[tuple[str, ast.Module, Any]]:
    out = []
    for path in sorted(API.glob("*.py")):
        name = "grader.api." + path.stem if path.stem != "__init__" else "grader.api"
        out.append((path.name, ast.parse(path.read_text("utf-8")), importlib.import_module(name)))
    return out


def test_only_params_reads_the_query_string() -> None:
    found = []
    for filename, tree, _ in _modules():
        if filename == "params.py":
            continue
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Attribute)
                and node.attr in QUERY_ATTRIBUTES
                and isinstance(node.value, ast.Name)
                and node.value.id == "request"
            ):
                found.append(f"{filename}:{node.lineno} request.{node.attr}")
    assert not found, "read query parameters through grader.api.params: " + ", ".join(found)


def _operation_key(fn: ast.FunctionDef) -> tuple[str, str] | None:
    """(method, path) of an `@api_spec.operation("GET", "/api/...", ...)` decorator."""
    for deco in fn.decorator_list:
        if (
            isinstance(deco, ast.Call)
            and isinstance(deco.func, ast.Attribute)
            and deco.func.attr == "operation"
        ):
            method, path = deco.args[0], deco.args[1]
            assert isinstance(method, ast.Constant) and isinstance(path, ast.Constant)
            return str(method.value).lower(), str(path.value)
    return None


def _reads_by_operation() -> dict[tuple[str, str], set[int]]:
    """Each operation's parameter objects (by id) read in its handler or in the module's
    functions the handler calls, transitively."""
    result: dict[tuple[str, str], set[int]] = {}
    for _, tree, module in _modules():
        functions = {n.name: n for n in tree.body if isinstance(n, ast.FunctionDef)}
        reads: dict[str, set[int]] = {}
        calls: dict[str, set[str]] = {}
        for name, fn in functions.items():
            reads[name], calls[name] = set(), set()
            for node in ast.walk(fn):
                if not isinstance(node, ast.Call):
                    continue
                func = node.func
                if (
                    isinstance(func, ast.Attribute)
                    and func.attr in ("read", "value")
                    and isinstance(func.value, ast.Name)
                    and isinstance(getattr(module, func.value.id, None), Param)
                ):
                    reads[name].add(id(getattr(module, func.value.id)))
                elif isinstance(func, ast.Name) and func.id in functions:
                    calls[name].add(func.id)
        for name, fn in functions.items():
            key = _operation_key(fn)
            if key is None:
                continue
            seen, todo, params = set(), [name], set()
            while todo:
                current = todo.pop()
                if current not in seen:
                    seen.add(current)
                    params |= reads[current]
                    todo.extend(calls[current])
            result[key] = params
    return result


def test_every_parameter_a_handler_reads_is_declared_and_documented(client: FlaskClient) -> None:
    doc = client.get("/api/v1/openapi.json").get_json()
    operations = {(op.method, op.path): op for op in api_spec.operations}
    reads = _reads_by_operation()
    assert set(reads) == set(operations), "every operation's handler is found in the source"
    # The walk sees reads, in helpers too (not vacuous).
    assert id(VERSION) in reads[("get", "/api/v1/exams/{exam_id}")]
    assert id(OFFSET) in reads[("get", "/api/v1/submissions")]
    assert reads[("get", "/api/v1/exams/{exam_id}/gradebook")]  # read in _gradebook()
    by_id: dict[int, Param] = {id(p): p for op in operations.values() for p in op.query}
    for key, op in operations.items():
        declared = {id(p) for p in op.query}
        undeclared = reads[key] - declared
        assert not undeclared, (key, "reads undeclared parameters")
        documented = {
            p["name"]
            for p in doc["paths"][op.path][op.method].get("parameters", [])
            if p["in"] == "query"
        }
        assert documented == {by_id[i].name for i in declared}, key
        # A declared parameter the handler never reads would be documented for nothing.
        assert declared == reads[key], (key, "declares parameters it does not read")


def test_reading_an_undeclared_parameter_fails(app: Flask) -> None:
    with app.test_request_context("/api/v1/exams/demo?version=3&offset=2"):
        with pytest.raises(UndeclaredParameter, match="'version'"):
            VERSION.read()
        bind((VERSION,))
        assert VERSION.read() == 3
        with pytest.raises(UndeclaredParameter, match="'offset'"):
            OFFSET.read()


def _bad_value(param: Param) -> str:
    if isinstance(param, IntParam):
        return "abc"
    if isinstance(param, ChoiceParam):
        return "not-a-choice"
    if isinstance(param, FlagParam):
        return "maybe"
    assert isinstance(param, TextParam)
    return "a\x00b"


CASES = [(op.method, op.path, param) for op in api_spec.operations for param in op.query]


@pytest.mark.parametrize(
    ("method", "path", "param"),
    CASES,
    ids=[f"{m} {p} {q.name}" for m, p, q in CASES],
)
def test_every_declared_parameter_is_validated(
    client: FlaskClient, tokens: Tokens, demo_exam: str, method: str, path: str, param: Param
) -> None:
    """A bad value of any documented parameter is a 422 naming it, never a 500 or ignored."""
    url = path
    for name, value in {
        "exam_id": demo_exam,
        "batch_id": "b1",
        "endpoint_id": "e1",
        "submission_id": "s1",
    }.items():
        url = url.replace("{" + name + "}", value)
    assert "{" not in url, url
    r = client.open(
        url,
        method=method.upper(),
        query_string={param.name: _bad_value(param)},
        headers=tokens.headers("instructor"),
        data=b"student_id,q1\n" if method == "post" else None,
        content_type="text/csv" if method == "post" else None,
    )
    assert r.status_code == 422, (r.status_code, r.get_data(as_text=True)[:300])
    body = r.get_json()
    assert body["errors"][0]["field"] == f"query.{param.name}"
    assert body["detail"].startswith(f"query parameter {param.name}: ")


def test_limit_abc_is_a_422_that_says_what_is_expected(client: FlaskClient, tokens: Tokens) -> None:
    r = client.get("/api/v1/submissions?limit=abc", headers=tokens.headers("instructor"))
    assert r.status_code == 422 and r.content_type == "application/problem+json"
    assert r.get_json()["detail"] == "query parameter limit: expected an integer from 1 to 500"
