"""Webhook endpoints: register, list, enable/disable, rotate the secret, delete; the delivery
log of an endpoint and redelivery of one message. The other webhook services: `webhook_outbox`
writes the messages, `webhook_delivery` sends them, `webhook_options` is what both depend on.

Endpoints are managed by instructors and admins; another key's endpoint is invisible (404).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from grader.services.auth import Actor
from grader.services.errors import FieldError, Forbidden, Invalid, NotFound, parse_body
from grader.services.webhook_options import WebhookOptions
from grader.store import Database
from grader.store.models import utcnow
from grader.store.times import iso
from grader.store.webhooks import WebhookAttempt, WebhookEndpoint, WebhookMessage
from grader.webhooks.events import EventType
from grader.webhooks.signing import generate_secret
from grader.webhooks.ssrf import ResolutionError, UnsafeURLError, resolve_target

MAX_ENDPOINTS_PER_OWNER = 20


class EndpointIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str = Field(min_length=1, max_length=2048)
    events: list[EventType] = Field(min_length=1, max_length=len(EventType))
    description: str = Field(default="", max_length=200)


def endpoint_view(ep: WebhookEndpoint, *, secret: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": ep.id,
        "url": ep.url,
        "events": list(ep.events),
        "description": ep.description,
        "enabled": ep.enabled,
        "disabled_reason": ep.disabled_reason,
        "failing_since": iso(ep.failing_since),
        "rotating_until": iso(ep.previous_secret_expires_at) if ep.previous_secret else None,
        "created_at": iso(ep.created_at),
    }
    if secret is not None:
        out["secret"] = secret  # shown once: at creation and at rotation
    return out


def message_view(msg: WebhookMessage) -> dict[str, Any]:
    return {
        "id": msg.id,
        "event_type": msg.event_type,
        "status": msg.status,
        "attempts": msg.attempts,
        "next_attempt_at": iso(msg.next_attempt_at) if msg.status == "pending" else None,
        "last_status": msg.last_status,
        "last_error": msg.last_error,
        "created_at": iso(msg.created_at),
        "delivered_at": iso(msg.delivered_at),
        "payload": msg.payload,
    }


def attempt_view(att: WebhookAttempt) -> dict[str, Any]:
    return {
        "message_id": att.message_id,
        "attempt": att.attempt,
        "trigger": att.trigger,
        "started_at": iso(att.started_at),
        "ok": att.ok,
        "status_code": att.status_code,
        "error": att.error,
        "duration_ms": att.duration_ms,
        "response": att.response_excerpt,
    }


def check_url(url: str, options: WebhookOptions) -> None:
    try:
        resolve_target(url, allow=options.allow, resolver=options.resolver)
    except ResolutionError as exc:
        raise Invalid("the webhook URL does not resolve", [FieldError("url", exc.reason)]) from None
    except UnsafeURLError as exc:
        raise Invalid("the webhook URL is not allowed", [FieldError("url", exc.reason)]) from None


def _require_author(actor: Actor) -> None:
    if not actor.can_author:
        raise Forbidden("webhooks are managed by instructors and admins")


def _owned(session: Session, actor: Actor, endpoint_id: str) -> WebhookEndpoint:
    _require_author(actor)
    ep = session.get(WebhookEndpoint, endpoint_id)
    if ep is None or not (actor.is_admin or ep.owner_key_id == actor.key_id):
        raise NotFound(f"no webhook endpoint {endpoint_id!r}")
    return ep


def create_endpoint(
    db: Database, actor: Actor, body: Any, options: WebhookOptions
) -> dict[str, Any]:
    _require_author(actor)
    data = parse_body(EndpointIn, body, "the webhook endpoint")
    check_url(data.url, options)
    secret = generate_secret()
    with db.session() as session:
        count = len(
            list(
                session.scalars(
                    select(WebhookEndpoint.id).where(WebhookEndpoint.owner_key_id == actor.key_id)
                )
            )
        )
        if count >= MAX_ENDPOINTS_PER_OWNER:
            raise Invalid(f"at most {MAX_ENDPOINTS_PER_OWNER} webhook endpoints per key")
        ep = WebhookEndpoint(
            owner_key_id=actor.key_id,
            url=data.url,
            events=sorted({e.value for e in data.events}),
            description=data.description,
            secret=secret,
        )
        session.add(ep)
        session.flush()
        return endpoint_view(ep, secret=secret)


def list_endpoints(db: Database, actor: Actor) -> list[dict[str, Any]]:
    _require_author(actor)
    query = select(WebhookEndpoint).order_by(WebhookEndpoint.created_at)
    if not actor.is_admin:
        query = query.where(WebhookEndpoint.owner_key_id == actor.key_id)
    with db.session() as session:
        return [endpoint_view(ep) for ep in session.scalars(query)]


def get_endpoint(db: Database, actor: Actor, endpoint_id: str) -> dict[str, Any]:
    with db.session() as session:
        return endpoint_view(_owned(session, actor, endpoint_id))


def set_enabled(
    db: Database, actor: Actor, endpoint_id: str, enabled: bool, options: WebhookOptions
) -> dict[str, Any]:
    with db.session() as session:
        ep = _owned(session, actor, endpoint_id)
        if enabled and not ep.enabled:
            check_url(ep.url, options)  # the allow-list or DNS may have changed meanwhile
            ep.enabled, ep.disabled_reason, ep.disabled_at, ep.failing_since = (
                True,
                None,
                None,
                None,
            )
        elif not enabled and ep.enabled:
            disable(ep, "disabled by its owner")
        ep.updated_at = utcnow()
        return endpoint_view(ep)


def disable(ep: WebhookEndpoint, reason: str) -> None:
    ep.enabled = False
    ep.disabled_reason = reason[:200]
    ep.disabled_at = ep.updated_at = utcnow()


def rotate_secret(
    db: Database, actor: Actor, endpoint_id: str, options: WebhookOptions
) -> dict[str, Any]:
    """A new secret signs from now on; the old one also signs until the grace period ends,
    so the receiver can switch without rejecting anything in between."""
    secret = generate_secret()
    with db.session() as session:
        ep = _owned(session, actor, endpoint_id)
        ep.previous_secret = ep.secret
        ep.previous_secret_expires_at = utcnow() + options.rotation_grace
        ep.secret = secret
        ep.updated_at = utcnow()
        return endpoint_view(ep, secret=secret)


def delete_endpoint(db: Database, actor: Actor, endpoint_id: str) -> None:
    with db.session() as session:
        ep = _owned(session, actor, endpoint_id)
        session.execute(delete(WebhookAttempt).where(WebhookAttempt.endpoint_id == ep.id))
        session.execute(delete(WebhookMessage).where(WebhookMessage.endpoint_id == ep.id))
        session.delete(ep)


def list_messages(
    db: Database, actor: Actor, endpoint_id: str, limit: int = 100
) -> list[dict[str, Any]]:
    with db.session() as session:
        ep = _owned(session, actor, endpoint_id)
        rows = session.scalars(
            select(WebhookMessage)
            .where(WebhookMessage.endpoint_id == ep.id)
            .order_by(WebhookMessage.created_at.desc())
            .limit(limit)
        )
        return [message_view(m) for m in rows]


def list_attempts(
    db: Database, actor: Actor, endpoint_id: str, limit: int = 100, message_id: str | None = None
) -> list[dict[str, Any]]:
    """The delivery log of an endpoint, newest first."""
    with db.session() as session:
        ep = _owned(session, actor, endpoint_id)
        query = select(WebhookAttempt).where(WebhookAttempt.endpoint_id == ep.id)
        if message_id:
            query = query.where(WebhookAttempt.message_id == message_id)
        rows = session.scalars(query.order_by(WebhookAttempt.id.desc()).limit(limit))
        return [attempt_view(a) for a in rows]


def redeliver(db: Database, actor: Actor, endpoint_id: str, message_id: str) -> dict[str, Any]:
    """Queue a message again, whatever its state, with a fresh schedule."""
    with db.session() as session:
        ep = _owned(session, actor, endpoint_id)
        msg = session.get(WebhookMessage, message_id)
        if msg is None or msg.endpoint_id != ep.id:
            raise NotFound(f"no message {message_id!r} for this endpoint")
        if not ep.enabled:
            raise Invalid("the endpoint is disabled; enable it first")
        msg.status, msg.next_attempt_at, msg.dispatched_at = "pending", utcnow(), None
        msg.schedule_base = msg.attempts
        return message_view(msg)
