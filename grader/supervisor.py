"""`grader serve`'s supervisor: runs the API and the workers as process groups of their own,
replaces any that dies, re-drives stale work from here (not from a worker it may have to
rescue) and stops everything within the shutdown grace on SIGTERM.

Self-healing, in layers: Celery's prefork pool replaces a killed pool process; this
supervisor replaces a worker or API whose main process died; the re-drive loop republishes
sheets whose claim lapsed (the grading process renews it every third of the lease while it
works) or that were never published. The claim's compare-and-swap makes a duplicate
delivery a no-op, so nothing is graded twice.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import logging
import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from grader.config import Settings
from grader.services.submissions import Stall, work_stall

log = logging.getLogger(__name__)

RESTART_BACKOFF_MAX = 10.0  # seconds between restarts of a process that keeps dying
BOOT_ALLOWANCE = 90.0  # seconds a worker may take to start (the model loads) before it is wedged


_PR_SET_PDEATHSIG = 1
_LIBC = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True) if os.name == "posix" else None


def _die_with_supervisor(supervisor_pid: int) -> Callable[[], None]:
    """Run in the child between fork and exec (Linux): the kernel sends it SIGKILL when the
    supervisor dies, even by SIGKILL, so a killed `grader serve` leaves no API or worker
    running on without it. The libc handle is made before the fork; nothing here takes a lock."""

    def preexec() -> None:
        if _LIBC is not None and hasattr(_LIBC, "prctl"):
            _LIBC.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
        if os.getppid() != supervisor_pid:  # it died before the line above took effect
            os._exit(1)

    return preexec


@dataclass
class Child:
    """One supervised command, started in a session (process group) of its own so that a
    stop reaches its pool processes, sandbox children and fork servers too."""

    name: str
    argv: Sequence[str]
    env: dict[str, str]
    proc: subprocess.Popen[bytes] | None = None
    restarts: int = 0
    backoff: float = 0.5
    next_start: float = 0.0
    started_at: float = field(default=0.0)

    def start(self) -> None:
        self.proc = subprocess.Popen(  # noqa: S603 - fixed argv
            list(self.argv),
            env=self.env,
            start_new_session=True,
            preexec_fn=_die_with_supervisor(os.getpid()),  # only prctl: safe beside threads
        )
        self.started_at = time.monotonic()

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def signal_group(self, sig: int) -> None:
        if self.proc is None:
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, sig)

    def group_alive(self) -> bool:
        if self.proc is None:
            return False
        self.proc.poll()
        try:
            os.killpg(self.proc.pid, 0)
        except (ProcessLookupError, PermissionError):
            return False
        return True


class Supervisor:
    def __init__(
        self,
        children: list[Child],
        *,
        grace_s: float,
        background: Callable[[threading.Event], None] | None = None,
        on_stopped: Callable[[], None] | None = None,
    ) -> None:
        self.children = children
        self.grace_s = grace_s
        self.background = background
        self.on_stopped = on_stopped
        self.stopping = threading.Event()

    def _restart_if_dead(self, child: Child, now: float) -> None:
        if child.alive():
            if now - child.started_at > 60:
                child.backoff = 0.5  # it has run a while: the next death restarts at once
            return
        if child.next_start == 0.0:
            code = child.proc.returncode if child.proc else None
            print(f"grader: the {child.name} exited ({code}); restarting it", flush=True)
            child.signal_group(signal.SIGKILL)  # what it left behind (pool, sandbox children)
            child.next_start = now + child.backoff
            child.backoff = min(child.backoff * 2, RESTART_BACKOFF_MAX)
        if now >= child.next_start:
            child.next_start = 0.0
            child.restarts += 1
            child.start()

    def restart_wedged(self, name: str, last_progress_s: float | None) -> bool:
        """Kill a child's group so that the loop starts it again, unless it is still
        booting: it has taken no work since it started, less than BOOT_ALLOWANCE ago."""
        for child in self.children:
            if child.name == name and child.alive():
                uptime = time.monotonic() - child.started_at
                worked = last_progress_s is not None and last_progress_s < uptime
                if not worked and uptime < BOOT_ALLOWANCE:
                    return False
                print(f"grader: restarting the {name}", flush=True)
                child.signal_group(signal.SIGKILL)
                return True
        return False

    def stop(self) -> None:
        """SIGTERM every group; whatever still runs at the grace's end is killed."""
        for child in self.children:
            child.signal_group(signal.SIGTERM)
        deadline = time.monotonic() + self.grace_s
        while time.monotonic() < deadline and any(c.group_alive() for c in self.children):
            time.sleep(0.1)
        for child in self.children:
            if child.group_alive():
                log.warning("grader: the %s did not stop in time; killing it", child.name)
                child.signal_group(signal.SIGKILL)
        for child in self.children:
            if child.proc is not None:
                with contextlib.suppress(subprocess.TimeoutExpired):
                    child.proc.wait(timeout=1)

    def run(self) -> int:
        def on_signal(_sig: int, _frame: object) -> None:
            self.stopping.set()

        signal.signal(signal.SIGINT, on_signal)
        signal.signal(signal.SIGTERM, on_signal)
        for child in self.children:
            child.start()
        worker: threading.Thread | None = None
        if self.background is not None:
            worker = threading.Thread(
                target=self.background, args=(self.stopping,), name="grader-redrive", daemon=True
            )
            worker.start()
        while not self.stopping.wait(0.2):
            now = time.monotonic()
            for child in self.children:
                self._restart_if_dead(child, now)
        self.stop()
        if worker is not None:
            worker.join(timeout=2)
        if self.on_stopped is not None:
            try:
                self.on_stopped()
            except Exception:  # noqa: BLE001 - the next start's re-drive repairs it anyway
                log.exception("grader: releasing unfinished work failed")
        return 0


def redrive_loop(
    settings: Settings, publisher: Any, on_stall: Callable[[Stall], bool] | None = None
) -> Callable[[threading.Event], None]:
    """Every GRADER_REDRIVE_INTERVAL: republish stale `queued` rows and rows whose claim
    lapsed. The first pass republishes every queued row at once (a restart after a stop).
    When work waits and no worker has taken or renewed any for a lease (a wedged worker:
    alive, consuming nothing), `on_stall` restarts it and the next pass republishes all."""
    from grader.services.grading import redrive
    from grader.store import Database

    # A worker at work renews its claims every third of a lease: none for three quarters
    # of a lease is two renewals missed.
    wedged_after = settings.claim_lease_seconds * 0.75

    def loop(stopping: threading.Event) -> None:
        db = Database(settings.database_url)
        everything = replace(settings, redrive_after=0.0)
        current = everything
        while not stopping.is_set():
            try:
                found = redrive(db, current, publisher)
                if found["found"]:
                    log.info("re-drive: %s", found)
                current = settings
                stall = work_stall(db)
                if on_stall is not None and stall.stalled(wedged_after):
                    print(
                        f"grader: {stall.waiting} sheet(s) waiting {stall.oldest_waiting_s:.0f} s "
                        f"and no worker took any for {stall.last_progress_s or 0:.0f} s",
                        flush=True,
                    )
                    if on_stall(stall):  # restarted: its messages may be lost, send all again
                        redrive(db, everything, publisher)
            except Exception:  # noqa: BLE001 - database or broker down: try again next time
                log.warning("re-drive failed; retrying in %.0f s", settings.redrive_interval)
            stopping.wait(settings.redrive_interval)

    return loop
