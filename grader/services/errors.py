"""Typed exceptions of the use cases; the API maps them to HTTP status in one place."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

M = TypeVar("M", bound=BaseModel)


@dataclass
class FieldError:
    field: str
    message: str
    line: int | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"field": self.field, "message": self.message}
        if self.line is not None:
            out["line"] = self.line
        return out


class ServiceError(Exception):
    status = 400
    title = "Bad request"

    def __init__(self, detail: str, errors: list[FieldError] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = errors or []


class Invalid(ServiceError):
    status = 422
    title = "Invalid request"


class Unauthorized(ServiceError):
    status = 401
    title = "Unauthorized"


class Forbidden(ServiceError):
    status = 403
    title = "Forbidden"


class NotFound(ServiceError):
    status = 404
    title = "Not found"


class Conflict(ServiceError):
    status = 409
    title = "Conflict"


class TooLarge(ServiceError):
    status = 413
    title = "Content too large"


class UnsupportedMediaType(ServiceError):
    status = 415
    title = "Unsupported media type"


class Unavailable(ServiceError):
    status = 503
    title = "Service unavailable"


def parse_body(model: type[M], body: Any, what: str) -> M:
    """Validate a JSON body with a pydantic model; 422 naming every bad field."""
    if not isinstance(body, dict):
        raise Invalid("the body must be a JSON object", [FieldError("(body)", "not an object")])
    try:
        return model.model_validate(body)
    except ValidationError as exc:
        errors = [
            FieldError(".".join(str(p) for p in e["loc"]) or "(body)", e["msg"])
            for e in exc.errors()
        ]
        raise Invalid(f"{what} is not valid", errors) from None
