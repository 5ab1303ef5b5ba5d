"""When to try a webhook message again: the retry schedule and the receiver's Retry-After.

Pure: the caller passes the attempt number, the random source and the clock.
"""

from __future__ import annotations

import email.utils
import random
from dataclasses import dataclass
from datetime import UTC


@dataclass(frozen=True)
class RetrySchedule:
    """Delays after each failed attempt. The default is Standard Webhooks' schedule
    (immediately, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h, ...) stretched to just over
    three days, after which the message is given up (and can be redelivered by hand)."""

    delays: tuple[float, ...] = (5, 300, 1800, 7200, 18000) + (36000,) * 7
    jitter: float = 0.2  # each delay is scaled by a random factor in [1 - jitter, 1 + jitter]
    max_retry_after: float = 24 * 3600  # a receiver's Retry-After is honoured up to this

    @property
    def max_attempts(self) -> int:
        return 1 + len(self.delays)


DEFAULT_SCHEDULE = RetrySchedule()


def next_attempt_delay(
    attempt: int,
    retry_after: float | None,
    rng: random.Random,
    schedule: RetrySchedule = DEFAULT_SCHEDULE,
) -> float | None:
    """Seconds to wait after failed attempt number `attempt` (1 = the first), or None when
    the schedule is used up. Jitter spreads the retries of many messages to one receiver."""
    if attempt < 1:
        raise ValueError("attempts are numbered from 1")
    if attempt > len(schedule.delays):
        return None
    delay = schedule.delays[attempt - 1] * rng.uniform(1 - schedule.jitter, 1 + schedule.jitter)
    if retry_after is not None and retry_after > 0:
        delay = max(delay, min(retry_after, schedule.max_retry_after))
    return delay


def parse_retry_after(value: str | None, now: float) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or HTTP-date), None if unusable."""
    if not value:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():
        return float(int(value[:9]))  # bounded: a 1000-digit header is not a number we need
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, when.timestamp() - now)
