"""What a worker's task asks of the services: one frozen payload per task family, and one
call that does the work with the process's `Runtime` (its settings, database, exams and
runner). A Celery task (`workers/tasks.py`, `workers/webhook_tasks.py`) turns the arguments
it received into a payload and makes that one call; the arguments on the wire stay ids.

The families: grading (`GradeSheets`: one sheet, or a batch's chunk), regrading
(`RegradeSheets`: a dry run's chunk), re-drive (no payload) and webhooks (`DeliverWebhook`;
dispatch and purge take none).
"""

from __future__ import annotations

import contextlib
import logging
import random
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from grader.services import chunks, grading, regrade_path, submissions, webhook_delivery
from grader.services.runtime import Runtime
from grader.services.submissions import Publisher
from grader.services.webhook_options import WebhookOptions

log = logging.getLogger(__name__)

WEBHOOK_RETENTION = timedelta(days=30)  # settled messages and their delivery log, kept this long


@dataclass(frozen=True)
class GradeSheets:
    """Sheets to grade. A chunk (a batch's sheets) is claimed and stored together, two
    commits for the whole chunk; otherwise each sheet is claimed and stored on its own."""

    submission_ids: tuple[str, ...]
    chunk: bool = False


@dataclass(frozen=True)
class RegradeSheets:
    """A dry run's chunk: these sheets graded under the run's exam version."""

    run_id: str
    submission_ids: tuple[str, ...]


@dataclass(frozen=True)
class DeliverWebhook:
    """One attempt at one outbox message."""

    message_id: str


@contextlib.contextmanager
def leases_kept(rt: Runtime, submission_ids: Sequence[str]) -> Iterator[None]:
    """Renew the claims on these rows every third of the lease while the work runs. If this
    process is killed the renewals stop, and the re-drive frees the rows within one lease
    (not the task's whole time limit)."""
    stop = threading.Event()
    period = rt.settings.claim_lease_seconds / 3
    ids = list(submission_ids)

    def renew() -> None:
        while not stop.wait(period):
            try:
                submissions.renew_leases(rt.db, rt.settings, ids)
            except Exception:  # noqa: BLE001 - a missed renewal only risks a duplicate claim
                log.warning("could not renew the claims of %d sheets", len(ids))

    thread = threading.Thread(target=renew, name="grader-lease", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=5)


def grade(rt: Runtime, work: GradeSheets) -> dict[str, str]:
    """Claim, grade and store the sheets, their claims renewed meanwhile; the outcome per id
    (graded, failed, or skipped: another delivery has it). The services build their own
    store hooks (webhook outbox rows, batch progress and completion) from the settings."""
    ids = list(work.submission_ids)
    with leases_kept(rt, ids):
        if work.chunk:
            return chunks.grade_chunk(rt, ids)
        return grading.grade_submissions(rt, ids)


def regrade(rt: Runtime, work: RegradeSheets) -> dict[str, Any]:
    return regrade_path.regrade_chunk(
        rt.db, rt.exams, rt.runner, work.run_id, list(work.submission_ids)
    )


def redrive(rt: Runtime, publisher: Publisher) -> dict[str, Any]:
    return grading.redrive(rt.db, rt.settings, publisher)


def deliver_webhook(rt: Runtime, work: DeliverWebhook, rng: random.Random) -> str:
    options = WebhookOptions.from_settings(rt.settings)
    return webhook_delivery.deliver_message(rt.db, work.message_id, options, rng=rng).status


def dispatch_webhooks(rt: Runtime, publish: Callable[[str], None]) -> int:
    """Hand every due outbox message to `publish` (which queues its delivery)."""
    return webhook_delivery.dispatch(rt.db, WebhookOptions.from_settings(rt.settings), publish)


def purge_webhooks(rt: Runtime) -> int:
    return webhook_delivery.purge(rt.db, WEBHOOK_RETENTION)
