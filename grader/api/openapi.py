"""OpenAPI 3.1 built from the same pydantic models and query parameters the handlers use."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar, cast

from pydantic import BaseModel

from grader.api.params import Param, bind, openapi_parameters

F = TypeVar("F", bound=Callable[..., Any])


@dataclass
class Operation:
    method: str
    path: str
    summary: str
    body: type[BaseModel] | None = None
    body_types: tuple[str, ...] = ("application/json",)
    response: type[BaseModel] | None = None
    status: int = 200
    roles: tuple[str, ...] = ()
    auth: bool = True
    errors: tuple[int, ...] = ()
    query: tuple[Param, ...] = ()  # the only query parameters the handler may read


@dataclass
class ApiSpec:
    title: str
    version: str
    operations: list[Operation] = field(default_factory=list)

    def operation(self, method: str, path: str, summary: str, **kwargs: Any) -> Callable[[F], F]:
        """Document the handler and let it read exactly the query parameters documented."""

        def decorate(fn: F) -> F:
            op = Operation(method.lower(), path, summary, **kwargs)
            self.operations.append(op)

            @functools.wraps(fn)
            def handler(*args: Any, **kw: Any) -> Any:
                bind(op.query)
                return fn(*args, **kw)

            return cast(F, handler)

        return decorate

    def document(self) -> dict[str, Any]:
        schemas: dict[str, Any] = {}
        paths: dict[str, dict[str, Any]] = {}

        def ref(model: type[BaseModel]) -> dict[str, str]:
            schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
            for name, sub in schema.pop("$defs", {}).items():
                schemas[name] = sub
            schemas[model.__name__] = schema
            return {"$ref": f"#/components/schemas/{model.__name__}"}

        for op in self.operations:
            entry: dict[str, Any] = {"summary": op.summary, "responses": {}}
            if op.roles:
                entry["description"] = "Roles: " + ", ".join(op.roles)
            if op.body is not None:
                schema = ref(op.body)
                entry["requestBody"] = {
                    "required": True,
                    "content": {t: {"schema": schema} for t in op.body_types},
                }
            ok: dict[str, Any] = {"description": "Success"}
            if op.response is not None:
                ok["content"] = {"application/json": {"schema": ref(op.response)}}
            entry["responses"][str(op.status)] = ok
            invalid_query = (422,) if op.query and 422 not in op.errors else ()
            for code in (*op.errors, *invalid_query, *((401, 403) if op.auth else ())):
                entry["responses"][str(code)] = {
                    "description": "Problem details (RFC 9457)",
                    "content": {
                        "application/problem+json": {
                            "schema": {"$ref": "#/components/schemas/Problem"}
                        }
                    },
                }
            entry["security"] = [{"bearer": []}] if op.auth else []
            params = [
                {"name": part[1:-1], "in": "path", "required": True, "schema": {"type": "string"}}
                for part in op.path.split("/")
                if part.startswith("{")
            ]
            params.extend(openapi_parameters(op.query))
            if params:
                entry["parameters"] = params
            paths.setdefault(op.path, {})[op.method] = entry
        schemas["Problem"] = {
            "type": "object",
            "properties": {
                "type": {"type": "string"},
                "title": {"type": "string"},
                "status": {"type": "integer"},
                "detail": {"type": "string"},
                "errors": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {
                            "field": {"type": "string"},
                            "message": {"type": "string"},
                            "line": {"type": "integer"},
                        },
                    },
                },
            },
            "required": ["title", "status"],
        }
        return {
            "openapi": "3.1.0",
            "info": {"title": self.title, "version": self.version},
            "paths": paths,
            "components": {
                "schemas": schemas,
                "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            },
        }


def docs_page(document: dict[str, Any]) -> str:
    """A self-contained page (no CDN: the service runs offline) listing every operation."""
    from html import escape

    rows = []
    for path, methods in sorted(document["paths"].items()):
        for method, op in methods.items():
            codes = ", ".join(sorted(op["responses"]))
            who = escape(op.get("description", ""))
            rows.append(
                f"<tr><td><code>{escape(method.upper())}</code></td><td><code>{escape(path)}"
                f"</code></td><td>{escape(op['summary'])}</td><td>{who}"
                f"</td><td>{escape(codes)}</td></tr>"
            )
    return (
        "<!doctype html><html><head><meta charset='utf-8'><title>"
        + escape(document["info"]["title"])
        + " API</title><style>body{font-family:sans-serif;margin:2em}td,th{padding:4px 10px;"
        "border-bottom:1px solid #ddd;text-align:left}</style></head><body><h1>"
        + escape(document["info"]["title"])
        + "</h1><p>Machine-readable: <a href='/api/v1/openapi.json'>/api/v1/openapi.json</a>"
        " (OpenAPI 3.1). Authenticate with <code>Authorization: Bearer &lt;token&gt;</code>."
        "</p><table><tr><th>Method</th><th>Path</th><th>Summary</th><th>Who</th>"
        "<th>Responses</th></tr>" + "".join(rows) + "</table></body></html>"
    )
