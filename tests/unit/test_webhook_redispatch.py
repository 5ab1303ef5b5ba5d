"""A published webhook delivery that never ran (a broker restarted without persistence loses
the queued ones) is published again within about a lease, not after a fixed 5 minutes
(found by the fault campaign, tests/chaos/test_campaign.py)."""

from __future__ import annotations

from datetime import timedelta

from grader.config import Settings
from grader.services.webhook_options import WebhookOptions


def test_redispatch_after_one_lease_by_default() -> None:
    opts = WebhookOptions.from_settings(Settings(data_dir="/tmp/unused"))
    assert opts.redispatch_after == opts.lease  # 3 x 15 s + 30 s
    assert opts.redispatch_after < timedelta(minutes=5)


def test_never_sooner_than_the_grading_redrive() -> None:
    opts = WebhookOptions.from_settings(Settings(data_dir="/tmp/unused", redrive_after=600))
    assert opts.redispatch_after == timedelta(seconds=600)


def test_an_explicit_value_wins() -> None:
    opts = WebhookOptions.from_settings(
        Settings(data_dir="/tmp/unused"), redispatch_after=timedelta(seconds=7)
    )
    assert opts.redispatch_after == timedelta(seconds=7)
