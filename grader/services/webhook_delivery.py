"""Delivering outbox messages: claim one, attempt it (`grader.webhooks.http_attempt`), log the
attempt, schedule the next.

The database holds the schedule (`next_attempt_at`), not the queue: a periodic `dispatch`
publishes the ids of due messages, and `deliver_message` claims one with a compare-and-swap
so duplicate tasks do nothing. No transaction is open while the HTTP request runs.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, delete, or_, select, update

from grader.services.webhook_endpoints import disable
from grader.services.webhook_options import WebhookOptions
from grader.store import Database
from grader.store.models import utcnow
from grader.store.times import aware
from grader.store.webhooks import WebhookAttempt, WebhookEndpoint, WebhookMessage
from grader.webhooks.events import encode_event
from grader.webhooks.http_attempt import DeliveryOutcome, deliver
from grader.webhooks.retries import next_attempt_delay
from grader.webhooks.signing import build_headers

log = logging.getLogger(__name__)

Sender = Callable[..., DeliveryOutcome]  # grader.webhooks.http_attempt.deliver's signature


@dataclass(frozen=True)
class Sent:
    message_id: str
    status: str  # delivered | pending (retry scheduled) | failed | skipped (not claimable)
    outcome: DeliveryOutcome | None = None
    next_attempt_at: datetime | None = None


def _claim(db: Database, message_id: str, options: WebhookOptions, now: datetime) -> bool:
    with db.session() as session:
        result = session.execute(
            update(WebhookMessage)
            .where(
                WebhookMessage.id == message_id,
                WebhookMessage.status == "pending",
                or_(
                    WebhookMessage.next_attempt_at.is_(None), WebhookMessage.next_attempt_at <= now
                ),
                or_(WebhookMessage.lease_until.is_(None), WebhookMessage.lease_until < now),
            )
            .values(lease_until=now + options.lease, dispatched_at=None)
            .execution_options(synchronize_session=False)
        )
        return getattr(result, "rowcount", 0) == 1


def _short(error: str | None) -> str | None:
    """Fits the 300-character columns (PostgreSQL enforces the length) and has no NUL."""
    return error.replace("\x00", "")[:300] if error else None


def _secrets(ep: WebhookEndpoint, now: datetime) -> list[str]:
    live = [ep.secret]
    expires = aware(ep.previous_secret_expires_at)
    if ep.previous_secret and expires is not None and expires > now:
        live.append(ep.previous_secret)  # rotation: both signatures until the grace ends
    return live


def deliver_message(
    db: Database,
    message_id: str,
    options: WebhookOptions,
    *,
    rng: random.Random | None = None,
    send: Sender = deliver,
    now: Callable[[], datetime] = utcnow,
) -> Sent:
    """One attempt at one message, if it is due and nobody else is sending it."""
    started = now()
    if not _claim(db, message_id, options, started):
        return Sent(message_id, "skipped")
    with db.session() as session:
        msg = session.get(WebhookMessage, message_id)
        ep = session.get(WebhookEndpoint, msg.endpoint_id) if msg is not None else None
        if msg is None or ep is None:
            return Sent(message_id, "skipped")
        if not ep.enabled:
            msg.status, msg.lease_until = "failed", None
            msg.last_error = f"endpoint disabled: {ep.disabled_reason or ''}"[:300]
            return Sent(message_id, "failed")
        url, secrets_ = ep.url, _secrets(ep, started)
        body = encode_event(msg.payload)
    headers = build_headers(secrets_, message_id, body, timestamp=int(started.timestamp()))
    outcome = send(
        url,
        body,
        headers,
        allow=options.allow,
        resolver=options.resolver,
        timeouts=options.timeouts,
        max_bytes=options.max_bytes,
    )
    return _record(db, message_id, outcome, options, rng or random.Random(), started, now())


def _record(
    db: Database,
    message_id: str,
    outcome: DeliveryOutcome,
    options: WebhookOptions,
    rng: random.Random,
    started: datetime,
    finished: datetime,
) -> Sent:
    with db.session() as session:
        msg = session.get(WebhookMessage, message_id)
        ep = session.get(WebhookEndpoint, msg.endpoint_id) if msg is not None else None
        if msg is None or ep is None:
            return Sent(message_id, "skipped", outcome)  # deleted while we were sending
        msg.attempts += 1
        manual = msg.schedule_base > 0 and msg.attempts == msg.schedule_base + 1
        session.add(
            WebhookAttempt(
                message_id=msg.id,
                endpoint_id=ep.id,
                attempt=msg.attempts,
                trigger="manual" if manual else "schedule",
                started_at=started,
                status_code=outcome.status,
                ok=outcome.ok,
                error=_short(outcome.error),
                duration_ms=int(outcome.elapsed * 1000),
                response_excerpt=outcome.body_excerpt,
            )
        )
        msg.lease_until = None
        msg.last_status, msg.last_error = outcome.status, _short(outcome.error)
        if outcome.ok:
            msg.status, msg.delivered_at, msg.next_attempt_at = "delivered", finished, None
            ep.failing_since = None
            return Sent(message_id, "delivered", outcome)
        failing_since = aware(ep.failing_since) or started
        ep.failing_since = failing_since
        if outcome.gone:
            disable(ep, "the receiver answered 410 Gone")
        elif finished - failing_since > options.disable_after:
            disable(
                ep,
                f"failing since {failing_since.isoformat()} (more than "
                f"{options.disable_after.days} days)",
            )
        if not ep.enabled:
            # The owner is told through the endpoint's state; messages stay replayable.
            log.warning("webhook endpoint %s disabled: %s", ep.id, ep.disabled_reason)
            msg.status, msg.next_attempt_at = "failed", None
            return Sent(message_id, "failed", outcome)
        delay = next_attempt_delay(
            msg.attempts - msg.schedule_base, outcome.retry_after, rng, options.schedule
        )
        if delay is None:
            msg.status, msg.next_attempt_at = "failed", None
            return Sent(message_id, "failed", outcome)
        msg.next_attempt_at = finished + timedelta(seconds=delay)
        return Sent(message_id, "pending", outcome, msg.next_attempt_at)


def due_messages(db: Database, options: WebhookOptions, limit: int = 200) -> list[str]:
    """Ids of due messages not already published recently; marks them as published."""
    now = utcnow()
    with db.session() as session:
        ids = list(
            session.scalars(
                select(WebhookMessage.id)
                .where(
                    WebhookMessage.status == "pending",
                    or_(
                        WebhookMessage.next_attempt_at.is_(None),
                        WebhookMessage.next_attempt_at <= now,
                    ),
                    or_(WebhookMessage.lease_until.is_(None), WebhookMessage.lease_until < now),
                    or_(
                        WebhookMessage.dispatched_at.is_(None),
                        WebhookMessage.dispatched_at < now - options.redispatch_after,
                    ),
                )
                .order_by(WebhookMessage.next_attempt_at)
                .limit(limit)
            )
        )
        if ids:
            session.execute(
                update(WebhookMessage)
                .where(and_(WebhookMessage.id.in_(ids)))
                .values(dispatched_at=now)
                .execution_options(synchronize_session=False)
            )
    return ids


def dispatch(db: Database, options: WebhookOptions, publish: Callable[[str], None]) -> int:
    """Publish every due message (the periodic task). A failed publish is retried later."""
    ids = due_messages(db, options)
    published = 0
    for message_id in ids:
        try:
            publish(message_id)
            published += 1
        except Exception:  # noqa: BLE001 - redispatched after options.redispatch_after
            log.warning("publishing webhook message %s failed", message_id, exc_info=True)
    return published


def purge(db: Database, older_than: timedelta = timedelta(days=30)) -> int:
    """Forget settled messages (and their log) older than `older_than`; pending ones stay.
    Until then a failed message can be redelivered by hand."""
    cutoff = utcnow() - older_than
    with db.session() as session:
        old = select(WebhookMessage.id).where(
            WebhookMessage.status.in_(("delivered", "failed")), WebhookMessage.created_at < cutoff
        )
        ids = list(session.scalars(old.limit(5000)))
        if ids:
            session.execute(delete(WebhookAttempt).where(WebhookAttempt.message_id.in_(ids)))
            session.execute(delete(WebhookMessage).where(WebhookMessage.id.in_(ids)))
    return len(ids)
