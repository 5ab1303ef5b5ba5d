"""Webhook endpoints: thin handlers over grader.services.webhook_endpoints (instructors and
admins)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, current_app, jsonify
from pydantic import BaseModel

from grader.api.context import actor, json_body, runtime
from grader.api.params import IntParam, TextParam
from grader.api.spec import api_spec
from grader.services import webhook_endpoints as service
from grader.services.webhook_options import WebhookOptions

bp = Blueprint("webhooks", __name__, url_prefix="/api/v1/webhooks")

ROLES = ("admin", "instructor")
EXTENSION = "grader.webhooks"  # app.extensions key: WebhookOptions (tests inject a resolver)


class WebhookEndpointOut(BaseModel):
    id: str
    url: str
    events: list[str]
    description: str
    enabled: bool
    disabled_reason: str | None
    failing_since: str | None
    rotating_until: str | None
    created_at: str | None
    secret: str | None = None  # only in the answers to create and rotate


class WebhookEndpointList(BaseModel):
    items: list[WebhookEndpointOut]


class WebhookLog(BaseModel):
    items: list[dict[str, Any]]


def options() -> WebhookOptions:
    opts: WebhookOptions | None = current_app.extensions.get(EXTENSION)
    if opts is None:
        opts = WebhookOptions.from_settings(runtime().settings)
        current_app.extensions[EXTENSION] = opts
    return opts


LIMIT = IntParam("limit", 100, minimum=1, maximum=500, description="items")
MESSAGE_ID = TextParam("message_id", description="only this message's attempts")


@bp.post("")
@api_spec.operation(
    "POST",
    "/api/v1/webhooks",
    "Register an endpoint {url, events}; the answer holds its signing secret, shown once",
    body=service.EndpointIn,
    response=WebhookEndpointOut,
    status=201,
    roles=ROLES,
    errors=(400, 415, 422, 429),
)
def create_endpoint() -> tuple[Response, int, dict[str, str]]:
    who = actor(*ROLES)
    out = service.create_endpoint(runtime().db, who, json_body(), options())
    return jsonify(out), 201, {"Location": f"/api/v1/webhooks/{out['id']}"}


@bp.get("")
@api_spec.operation(
    "GET",
    "/api/v1/webhooks",
    "List the caller's endpoints (admins: all)",
    response=WebhookEndpointList,
    roles=ROLES,
)
def list_endpoints() -> Response:
    return jsonify({"items": service.list_endpoints(runtime().db, actor(*ROLES))})


@bp.get("/<endpoint_id>")
@api_spec.operation(
    "GET",
    "/api/v1/webhooks/{endpoint_id}",
    "One endpoint",
    response=WebhookEndpointOut,
    roles=ROLES,
    errors=(404,),
)
def get_endpoint(endpoint_id: str) -> Response:
    return jsonify(service.get_endpoint(runtime().db, actor(*ROLES), endpoint_id))


@bp.post("/<endpoint_id>/disable")
@api_spec.operation(
    "POST",
    "/api/v1/webhooks/{endpoint_id}/disable",
    "Stop sending to an endpoint",
    response=WebhookEndpointOut,
    roles=ROLES,
    errors=(404,),
)
def disable_endpoint(endpoint_id: str) -> Response:
    who = actor(*ROLES)
    return jsonify(service.set_enabled(runtime().db, who, endpoint_id, False, options()))


@bp.post("/<endpoint_id>/enable")
@api_spec.operation(
    "POST",
    "/api/v1/webhooks/{endpoint_id}/enable",
    "Send to an endpoint again (its URL is checked again)",
    response=WebhookEndpointOut,
    roles=ROLES,
    errors=(404, 422),
)
def enable_endpoint(endpoint_id: str) -> Response:
    who = actor(*ROLES)
    return jsonify(service.set_enabled(runtime().db, who, endpoint_id, True, options()))


@bp.post("/<endpoint_id>/rotate-secret")
@api_spec.operation(
    "POST",
    "/api/v1/webhooks/{endpoint_id}/rotate-secret",
    "New signing secret (shown once); the old one also signs for 24 hours",
    response=WebhookEndpointOut,
    roles=ROLES,
    errors=(404,),
)
def rotate_secret(endpoint_id: str) -> Response:
    who = actor(*ROLES)
    return jsonify(service.rotate_secret(runtime().db, who, endpoint_id, options()))


@bp.delete("/<endpoint_id>")
@api_spec.operation(
    "DELETE",
    "/api/v1/webhooks/{endpoint_id}",
    "Delete an endpoint, its messages and log",
    status=204,
    roles=ROLES,
    errors=(404,),
)
def delete_endpoint(endpoint_id: str) -> tuple[str, int]:
    service.delete_endpoint(runtime().db, actor(*ROLES), endpoint_id)
    return "", 204


@bp.get("/<endpoint_id>/messages")
@api_spec.operation(
    "GET",
    "/api/v1/webhooks/{endpoint_id}/messages",
    "Messages queued for an endpoint",
    response=WebhookLog,
    roles=ROLES,
    errors=(404,),
    query=(LIMIT,),
)
def list_messages(endpoint_id: str) -> Response:
    items = service.list_messages(runtime().db, actor(*ROLES), endpoint_id, LIMIT.value())
    return jsonify({"items": items})


@bp.get("/<endpoint_id>/attempts")
@api_spec.operation(
    "GET",
    "/api/v1/webhooks/{endpoint_id}/attempts",
    "The delivery log: every attempt, newest first (?message_id= to filter)",
    response=WebhookLog,
    roles=ROLES,
    errors=(404,),
    query=(LIMIT, MESSAGE_ID),
)
def list_attempts(endpoint_id: str) -> Response:
    items = service.list_attempts(
        runtime().db, actor(*ROLES), endpoint_id, LIMIT.value(), MESSAGE_ID.read()
    )
    return jsonify({"items": items})


@bp.post("/<endpoint_id>/messages/<message_id>/redeliver")
@api_spec.operation(
    "POST",
    "/api/v1/webhooks/{endpoint_id}/messages/{message_id}/redeliver",
    "Send a message again, with a fresh retry schedule",
    status=202,
    roles=ROLES,
    errors=(404, 422),
)
def redeliver(endpoint_id: str, message_id: str) -> tuple[Response, int]:
    out = service.redeliver(runtime().db, actor(*ROLES), endpoint_id, message_id)
    return jsonify(out), 202
