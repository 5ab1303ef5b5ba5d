"""Query parameters: declared once, read validated, documented in OpenAPI from the same object.

A parameter that is present but wrong (not a number, out of range, not one of the choices,
too long) is a 422 naming it, never a silent default and never a 500 from the database
(`?offset=9223372036854775808` overflowed SQLite's integer before).

An operation lists its parameters in `api_spec.operation(query=...)`; the document is built
from that tuple, all of them are validated before the handler runs, and the handler may read
only what it lists: reading another parameter raises `UndeclaredParameter` (a programming
error), so nothing is read that the document omits.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from flask import request

from grader.services.errors import FieldError, Invalid

# Every integer a query may carry is stored in or compared with a 32-bit column somewhere
# (PostgreSQL `integer`); larger values cannot name anything, so they are refused.
INT32_MAX = 2**31 - 1
_INTEGER = re.compile(r"[+-]?[0-9]{1,12}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


# Where the running operation's declared parameters are kept: the WSGI environ is the one
# place that is per request even when tests hold an app context across requests.
_DECLARED = "grader.query_parameters"


class UndeclaredParameter(RuntimeError):
    """A handler read a query parameter that its operation does not declare."""


def bind(params: tuple[Param, ...]) -> None:
    """Called by the operation's wrapper before its handler runs (grader.api.openapi).

    Every declared parameter is validated here, also one the handler reads only in some
    cases (`criteria` only with `format=csv`): a documented parameter is never ignored."""
    request.environ[_DECLARED] = params
    for param in params:
        param.read()


def _raw(param: Param) -> str | None:
    declared: tuple[Param, ...] = request.environ.get(_DECLARED, ())
    if not any(p is param for p in declared):
        raise UndeclaredParameter(
            f"query parameter {param.name!r} is read but not declared in this operation's "
            "api_spec.operation(query=...), so the OpenAPI document would not list it"
        )
    return request.args.get(param.name)


def _invalid(name: str, message: str) -> Invalid:
    return Invalid(f"query parameter {name}: {message}", [FieldError(f"query.{name}", message)])


@dataclass(frozen=True)
class IntParam:
    name: str
    default: int | None
    minimum: int = 0
    maximum: int = INT32_MAX
    description: str = ""

    def read(self) -> int | None:
        raw = _raw(self)
        if raw is None or raw == "":
            return self.default
        if not _INTEGER.fullmatch(raw):
            raise _invalid(self.name, f"expected an integer from {self.minimum} to {self.maximum}")
        value = int(raw)
        if not self.minimum <= value <= self.maximum:
            raise _invalid(self.name, f"must be from {self.minimum} to {self.maximum}")
        return value

    def value(self) -> int:
        """`read()` for a parameter with a default."""
        value = self.read()
        assert value is not None, f"{self.name} has no default"
        return value

    def schema(self) -> dict[str, Any]:
        schema: dict[str, Any] = {
            "type": "integer",
            "minimum": self.minimum,
            "maximum": self.maximum,
        }
        if self.default is not None:
            schema["default"] = self.default
        return schema


@dataclass(frozen=True)
class ChoiceParam:
    name: str
    choices: tuple[str, ...]
    default: str | None = None
    description: str = ""

    def read(self) -> str | None:
        raw = _raw(self)
        if raw is None or raw == "":
            return self.default
        if raw not in self.choices:
            raise _invalid(self.name, f"must be one of {', '.join(self.choices)}")
        return raw

    def schema(self) -> dict[str, Any]:
        schema: dict[str, Any] = {"type": "string", "enum": list(self.choices)}
        if self.default is not None:
            schema["default"] = self.default
        return schema


@dataclass(frozen=True)
class FlagParam:
    name: str
    description: str = ""
    default: bool | None = False  # None: the service decides when it is absent

    _TRUE = ("1", "true", "yes", "on")
    _FALSE = ("0", "false", "no", "off", "")

    def read(self) -> bool | None:
        raw = _raw(self)
        if raw is None:
            return self.default
        if raw.lower() in self._TRUE:
            return True
        if raw.lower() in self._FALSE:
            return False
        raise _invalid(self.name, "must be true or false (1/0, yes/no)")

    def schema(self) -> dict[str, Any]:
        schema: dict[str, Any] = {"type": "boolean"}
        if self.default is not None:
            schema["default"] = self.default
        return schema


@dataclass(frozen=True)
class TextParam:
    """An identifier or name: bounded length, no control characters."""

    name: str
    max_length: int = 128  # as student ids (the longest identifier the API stores)
    description: str = ""

    def read(self) -> str | None:
        raw = _raw(self)
        if raw is None or raw == "":
            return None
        if len(raw) > self.max_length:
            raise _invalid(self.name, f"at most {self.max_length} characters")
        if _CONTROL.search(raw):
            raise _invalid(self.name, "no control characters")
        return raw

    def schema(self) -> dict[str, Any]:
        return {"type": "string", "maxLength": self.max_length}


Param = IntParam | ChoiceParam | FlagParam | TextParam


def openapi_parameters(params: tuple[Param, ...]) -> list[dict[str, Any]]:
    return [
        {
            "name": p.name,
            "in": "query",
            "required": False,
            "description": p.description,
            "schema": p.schema(),
        }
        for p in params
    ]


# Shared by several endpoints.
OFFSET = IntParam("offset", 0, description="items to skip")
VERSION = IntParam("version", None, minimum=1, description="an earlier version of the exam")
