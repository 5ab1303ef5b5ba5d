"""The embedded broker: kombu's SQLAlchemy transport over SQLite, polled faster.

kombu's SQLAlchemy transport hands every transport option to `create_engine`, so its
polling interval (1 s) cannot be set by option; this subclass sets it. Registered as the
alias `grader-sqla` so that `sqla+sqlite:///...` URLs get it.
"""

from __future__ import annotations

from kombu.transport import TRANSPORT_ALIASES
from kombu.transport.sqlalchemy import Transport as SqlaTransport

ALIAS = "grader-sqla"


class Transport(SqlaTransport):
    polling_interval = 0.05


def embedded_url(url: str) -> str:
    TRANSPORT_ALIASES.setdefault(ALIAS, "workers.embedded:Transport")
    if url.startswith("sqla+"):
        return ALIAS + url[len("sqla") :]
    return url
