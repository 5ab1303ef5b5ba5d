"""What the webhook services depend on (allowed hosts, resolver, retry schedule, timeouts,
leases), built from the settings once; tests replace single fields.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import Any

from grader.config import Settings
from grader.webhooks.http_attempt import DEFAULT_MAX_BYTES, Timeouts
from grader.webhooks.retries import DEFAULT_SCHEDULE, RetrySchedule
from grader.webhooks.ssrf import AllowList, Resolver, system_resolver


@dataclass(frozen=True)
class WebhookOptions:
    """Everything delivery depends on; built from settings, replaced piecemeal in tests."""

    allow: AllowList = field(default_factory=AllowList)
    resolver: Resolver = system_resolver
    schedule: RetrySchedule = DEFAULT_SCHEDULE
    timeouts: Timeouts = field(default_factory=Timeouts)
    max_bytes: int = DEFAULT_MAX_BYTES
    disable_after: timedelta = timedelta(days=3)
    rotation_grace: timedelta = timedelta(hours=24)
    redispatch_after: timedelta = timedelta(minutes=5)  # a published task that never ran
    base_url: str = ""  # absolute links in payloads; relative links when empty

    @classmethod
    def from_settings(cls, settings: Settings, **overrides: Any) -> WebhookOptions:
        # Up to three addresses per attempt must fit in the task's soft time limit.
        total = max(1.0, min(30.0, settings.task_soft_time_limit / 4))
        base = cls(
            allow=AllowList.parse(settings.webhook_allow_hosts),
            timeouts=Timeouts(connect=min(5.0, total / 3), read=min(10.0, total / 2), total=total),
            base_url=settings.public_url,
        )
        # A published delivery still unclaimed after this is published again (the claim makes
        # a duplicate a no-op): a broker restarted without persistence loses the queued ones.
        # As long as an attempt may hold a message, and no sooner than the grading re-drive
        # republishes a sheet. The fixed 5 minutes kept a batch's webhooks back that long after
        # a Redis restart (tests/chaos/test_campaign.py).
        redispatch = max(base.lease, timedelta(seconds=settings.redrive_after))
        return replace(base, **{"redispatch_after": redispatch, **overrides})

    @property
    def lease(self) -> timedelta:
        # Up to three addresses are tried, each bounded by the total timeout.
        return timedelta(seconds=3 * self.timeouts.total + 30)
