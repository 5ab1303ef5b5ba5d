"""Idempotency-Key for POSTs: a retried request gets the original response, never a second
submission.

A key is reserved by inserting its row (unique per API key and key): of several concurrent
requests exactly one inserts, the others wait for its response. The response is stored in
the same transaction as the submission it describes, so a reserved row without a response
means no submission was committed; such a row left behind by a crashed process is taken over
once it is old enough.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from grader.services.errors import Conflict, FieldError, Invalid
from grader.store import Database
from grader.store.models import IdempotencyKey, utcnow

HEADER = "Idempotency-Key"
_KEY = re.compile(r"^[\x21-\x7e]{1,200}$")  # printable ASCII, as the IETF draft's examples
WAIT_SECONDS = 5.0  # a concurrent duplicate waits this long for the first one's response
STALE_AFTER = timedelta(minutes=2)  # far above any submit's duration


@dataclass(frozen=True)
class Replay:
    status: int
    body: dict[str, Any]


@dataclass(frozen=True)
class Reservation:
    row_id: int


def fingerprint(target: str, body: Any) -> str:
    """What the key promises to stand for: the same key with another request is an error."""
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(f"{target}\n{canonical}".encode()).hexdigest()


def _insert(db: Database, api_key_id: str, key: str, digest: str) -> Reservation | None:
    try:
        with db.session() as session:
            row = IdempotencyKey(api_key_id=api_key_id, key=key, request_hash=digest)
            session.add(row)
            session.flush()
            return Reservation(row.id)
    except IntegrityError:
        return None  # somebody holds the key


def reserve(
    db: Database, api_key_id: str, key: str, digest: str, *, wait: float = WAIT_SECONDS
) -> Reservation | Replay:
    """Reserve `key` for this request, or get the response of the request that holds it."""
    if not _KEY.match(key):
        raise Invalid(
            "the Idempotency-Key header is not valid",
            [FieldError(HEADER, "1 to 200 printable ASCII characters")],
        )
    deadline = time.monotonic() + wait
    delay = 0.01
    while True:
        reservation = _insert(db, api_key_id, key, digest)
        if reservation is not None:
            return reservation
        with db.session() as session:
            row = session.scalar(
                select(IdempotencyKey).where(
                    IdempotencyKey.api_key_id == api_key_id, IdempotencyKey.key == key
                )
            )
            if row is not None:
                if row.request_hash != digest:
                    raise Invalid(
                        "this Idempotency-Key was used with a different request",
                        [FieldError(HEADER, "use a new key for a new request")],
                    )
                if row.response_status is not None:
                    return Replay(row.response_status, dict(row.response_body or {}))
                created = row.created_at
                if created.tzinfo is None:
                    created = created.replace(tzinfo=utcnow().tzinfo)
                if utcnow() - created > STALE_AFTER:
                    _drop(session, row.id)  # abandoned: no submission was committed with it
                    continue
        if time.monotonic() >= deadline:
            raise Conflict("a request with this Idempotency-Key is still being processed")
        time.sleep(delay)
        delay = min(delay * 2, 0.2)


def _drop(session: Session, row_id: int) -> None:
    session.execute(
        delete(IdempotencyKey).where(
            IdempotencyKey.id == row_id, IdempotencyKey.response_status.is_(None)
        )
    )


def completer(
    reservation: Reservation, status: int, body: Callable[[str], dict[str, Any]]
) -> Callable[[Session, str], None]:
    """A callback for the transaction that creates the resource: stores the response in it."""

    def complete(session: Session, resource_id: str) -> None:
        session.execute(
            update(IdempotencyKey)
            .where(
                IdempotencyKey.id == reservation.row_id, IdempotencyKey.response_status.is_(None)
            )
            .values(response_status=status, response_body=body(resource_id))
            .execution_options(synchronize_session=False)
        )

    return complete


def release(db: Database, reservation: Reservation) -> None:
    """The request failed without creating anything: a retry may use the key again."""
    with db.session() as session:
        _drop(session, reservation.row_id)
