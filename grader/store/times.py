"""The one way a stored time is read and written out.

SQLite hands back naive datetimes (they were stored as UTC); PostgreSQL hands back aware ones
in the session's zone. Every timestamp the API and the pages serve is UTC, ISO 8601 with an
offset (`2026-11-25T21:00:00.123456+00:00`). Webhook payloads have their own format (seconds,
`Z`), set by the Standard Webhooks scheme in `grader.webhooks.events`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import overload


@overload
def aware(when: datetime) -> datetime: ...
@overload
def aware(when: None) -> None: ...
def aware(when: datetime | None) -> datetime | None:
    """`when` with its zone: a naive datetime from the database is UTC."""
    if when is not None and when.tzinfo is None:
        return when.replace(tzinfo=UTC)
    return when


@overload
def iso(when: datetime) -> str: ...
@overload
def iso(when: None) -> None: ...
def iso(when: datetime | None) -> str | None:
    """UTC, ISO 8601 with an offset; None stays None."""
    if when is None:
        return None
    return aware(when).astimezone(UTC).isoformat()
