"""A `grader serve` supervisor killed with SIGKILL (a container runtime past its grace, an
operator's kill -9) takes its children with it: they run in sessions of their own, so without
the kernel's parent-death signal they ran on as orphans (seen: APIs and workers left behind)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

pytestmark = pytest.mark.timeout(30)

SUPERVISOR = """
import sys, time
from grader.supervisor import Child
child = Child("sleeper", [sys.executable, "-c", "import time; time.sleep(60)"], env={})
child.start()
print(child.proc.pid, flush=True)
time.sleep(60)
"""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as fh:  # a zombie waiting for init to reap it is gone too
        return fh.read().split(")")[-1].split()[0] != "Z"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="parent-death signal is Linux's")
def test_children_die_with_a_killed_supervisor() -> None:
    sup = subprocess.Popen([sys.executable, "-c", SUPERVISOR], stdout=subprocess.PIPE, text=True)
    try:
        assert sup.stdout is not None
        child_pid = int(sup.stdout.readline())
        assert _alive(child_pid)
        sup.send_signal(signal.SIGKILL)
        sup.wait(timeout=5)
        deadline = time.monotonic() + 5
        while _alive(child_pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not _alive(child_pid), "the child outlived its supervisor"
    finally:
        sup.kill()
