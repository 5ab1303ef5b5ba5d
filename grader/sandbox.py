"""SandboxRunner: run sandboxed checkers in a pool of warm child processes.

Each child has an address-space limit (RLIMIT_AS), a per-call CPU limit (ITIMER_PROF
inside the child) and the parent enforces a hard wall-clock limit by killing the child.
A killed, crashed or timed-out check returns `needs_review` with the reason — never
"wrong" — and the pool replaces the child by itself.

Every check of one answer, in the pool or in this process, draws on one CPU budget for that
answer (`answer_cpu_s`): in the pool it caps the child's CPU timer; in this process a
SIGPROF timer interrupts the checker (main thread only; elsewhere the time is still
charged). Once an answer has spent its budget its remaining checks are `needs_review`
without running, so no answer costs a worker much more than the budget, whatever the rubric.

Children are started with the 'forkserver' method (or 'spawn' where that is missing),
which is safe inside a Celery prefork worker and a gunicorn/Flask process: no child
inherits the parent's threads, locks or open connections.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing as mp
import os
import queue
import threading
import time
from collections.abc import Iterator, Sequence
from multiprocessing.connection import Connection
from multiprocessing.process import (  # type: ignore[attr-defined]  # not in the stubs
    AuthenticationString,
)
from typing import Any

from grader.checks.base import CheckResult, CheckSpec, Status
from grader.checks.registry import CheckerRegistry
from grader.grading.core import DirectRunner

log = logging.getLogger(__name__)

REVIEW_FEEDBACK = "This part could not be checked automatically; a grader will review it."


def _forget_parents_forkserver() -> None:
    """After a plain fork (Celery's prefork pool forking its workers), the child inherits a
    handle on the parent's fork server, whose children it cannot wait for. Forget it, so
    the child starts its own on first use."""
    try:
        from multiprocessing import forkserver
    except ImportError:  # pragma: no cover - platform without fork server
        return
    server = getattr(forkserver, "_forkserver", None)
    if server is not None and getattr(server, "_forkserver_pid", None) is not None:
        server._forkserver_address = None
        server._forkserver_alive_fd = None
        server._forkserver_pid = None
        server._lock = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_parents_forkserver)


_REASONS = {
    "cpu_time_limit": "the check ran out of CPU time",
    "answer_cpu_budget": "the answer used up its CPU budget on earlier checks",
    "timeout": "the check timed out",
    "memory_limit": "the check ran out of memory",
    "too_complex": "the answer is nested too deeply to check",
    "worker_died": "the checking process died",
    "sandbox_busy": "no checking process was free",
}


def _review(reason: str) -> CheckResult:
    return CheckResult(
        0.0,
        feedback=REVIEW_FEEDBACK,
        confidence=0.0,
        status=Status.NEEDS_REVIEW,
        details={
            "error": reason,
            "review_reason": _REASONS.get(reason, f"the check failed: {reason}"),
        },
    )


def _process_cpu(pid: int | None) -> float | None:
    """User + system CPU seconds of a live process (Linux /proc); None where unknown."""
    if pid is None:
        return None
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


class _CpuLimit(BaseException):
    """Raised by the SIGPROF handler. A BaseException, so a checker's own `except Exception`
    cannot swallow it and run on."""


def _child_main(conn: Connection, registry: CheckerRegistry, memory_mb: int, cpu_s: float) -> None:
    """Loop: receive (kind, spec, answer, cpu limit), send (CheckResult, CPU seconds used).
    Runs in the child."""
    import resource
    import signal

    if memory_mb > 0:
        limit = memory_mb * 1024 * 1024
        # a platform without RLIMIT_AS still gets the CPU and wall-clock limits
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

    def on_cpu(signum: int, frame: Any) -> None:
        raise _CpuLimit

    signal.signal(signal.SIGPROF, on_cpu)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when we stop
    while True:
        try:
            msg = conn.recv()
        except (EOFError, OSError):
            return
        if msg is None:
            return
        kind, spec, answer, limit = msg
        started = time.process_time()
        signal.setitimer(signal.ITIMER_PROF, max(0.001, min(cpu_s, limit)))
        result: Any
        try:
            # the timer is disarmed inside the handlers' reach: a signal that lands while
            # the check returns is still caught, never kills the child
            try:
                result = registry.get(kind).check(spec, answer)
            finally:
                signal.setitimer(signal.ITIMER_PROF, 0)
        except _CpuLimit:
            result = _review("cpu_time_limit")
        except MemoryError:
            result = _review("memory_limit")
        except RecursionError:
            result = _review("too_complex")
        except Exception as exc:  # noqa: BLE001 - reported to the parent, never raised
            result = _review(type(exc).__name__)
        used = time.process_time() - started
        try:
            conn.send((result, used))
        except MemoryError:
            conn.send((_review("memory_limit"), used))


@contextlib.contextmanager
def _allow_children() -> Iterator[None]:
    """A Celery prefork worker is a daemonic process, and multiprocessing refuses to start
    children from one. Our children are daemonic themselves (they die with the worker) and
    are killed on close, so lift the flag just for the start. Its auth key is billiard's
    type, which the stdlib will not pickle for the fork server: swap in a stdlib one."""
    config = getattr(mp.current_process(), "_config", None)
    if not isinstance(config, dict):
        yield
        return
    daemonic = bool(config.get("daemon"))
    key = config.get("authkey")
    # billiard's AuthenticationString cannot be pickled by the stdlib for the fork server
    foreign_key = key is not None and type(key) is not AuthenticationString
    if daemonic:
        config["daemon"] = False
    if foreign_key and key is not None:
        config["authkey"] = AuthenticationString(bytes(key))
    try:
        yield
    finally:
        if daemonic:
            config["daemon"] = True
        if foreign_key:
            config["authkey"] = key


class _Worker:
    def __init__(self, ctx: Any, registry: CheckerRegistry, memory_mb: int, cpu_s: float) -> None:
        self.conn, child = ctx.Pipe()
        self.proc = ctx.Process(
            target=_child_main, args=(child, registry, memory_mb, cpu_s), daemon=True
        )
        self.proc.authkey = os.urandom(32)  # not the (possibly billiard) parent's key
        with _allow_children():
            self.proc.start()
        child.close()

    def kill(self) -> None:
        try:
            self.proc.kill()
            self.proc.join(timeout=2)
        except (OSError, ValueError):  # pragma: no cover - already gone
            pass
        self.conn.close()

    def stop(self) -> None:
        try:
            self.conn.send(None)
            self.proc.join(timeout=1)
        except (OSError, ValueError, BrokenPipeError):
            pass
        if self.proc.is_alive():
            self.kill()


class SandboxRunner:
    """CheckRunner: sandboxed checkers (class attribute `sandboxed = True`) run in the pool,
    the others in-process like DirectRunner."""

    def __init__(
        self,
        registry: CheckerRegistry,
        *,
        processes: int = 2,
        timeout_s: float = 2.0,
        memory_mb: int = 1024,
        cpu_s: float | None = None,
        answer_cpu_s: float = 0.0,
        start_method: str | None = None,
    ) -> None:
        self.registry = registry
        # 0: no per-answer budget (each sandboxed check still has its own limits)
        self.answer_cpu_s = answer_cpu_s
        self._answer: str | None = None
        self._spent = 0.0
        self.direct = DirectRunner(registry)
        self.processes = max(1, processes)
        self.timeout_s = timeout_s
        self.memory_mb = memory_mb
        self.cpu_s = cpu_s if cpu_s is not None else timeout_s
        methods = mp.get_all_start_methods()
        method = start_method or ("forkserver" if "forkserver" in methods else "spawn")
        self.ctx = mp.get_context(method)
        if method == "forkserver":
            # the fork server imports the math stack once; each child forks from it warm
            self.ctx.set_forkserver_preload(
                ["grader.checks.math.checker", "grader.sandbox", "grader.sandbox_warm"]
            )
        self._idle: queue.Queue[_Worker] = queue.Queue()
        self._all: list[_Worker] = []
        self._lock = threading.Lock()
        self._started = False
        self._sandboxed: CheckerRegistry | None = None
        self.restarts = 0

    # -- pool management ---------------------------------------------------------------
    def start(self) -> None:
        with self._lock:
            if self._started:
                return
            for _ in range(self.processes):
                self._spawn()
            self._started = True

    def _child_registry(self) -> CheckerRegistry:
        """Only the sandboxed checkers travel to the children: a text checker holding a
        loaded model must not be pickled into every math worker."""
        if self._sandboxed is None:
            reg = CheckerRegistry()
            for checker in self.registry:
                if getattr(type(checker), "sandboxed", False):
                    reg.register(checker)
            self._sandboxed = reg
        return self._sandboxed

    def _spawn(self) -> None:
        w = _Worker(self.ctx, self._child_registry(), self.memory_mb, self.cpu_s)
        self._all.append(w)
        self._idle.put(w)

    def _replace(self, w: _Worker) -> None:
        w.kill()
        with self._lock:
            if w in self._all:
                self._all.remove(w)
            self.restarts += 1
            self._spawn()

    def close(self) -> None:
        with self._lock:
            for w in self._all:
                w.stop()
            self._all.clear()
            self._idle = queue.Queue()
            self._started = False

    def __enter__(self) -> SandboxRunner:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- CheckRunner ---------------------------------------------------------------------
    def _remaining(self, answer: str) -> float:
        """CPU seconds this answer may still use. The core checks one answer's criteria one
        after another with the same string object, so a new object starts a new budget."""
        if answer is not self._answer:
            self._answer, self._spent = answer, 0.0
        if self.answer_cpu_s <= 0:
            return float("inf")
        return self.answer_cpu_s - self._spent

    def run(self, kind: str, spec: CheckSpec, answer: str) -> CheckResult:
        checker = self.registry.get(kind)
        remaining = self._remaining(answer)
        if remaining <= 0:
            return _review("answer_cpu_budget")
        if not getattr(type(checker), "sandboxed", False):
            started = time.process_time()
            result = self._run_here(kind, spec, answer, remaining)
            used = time.process_time() - started
            if result.details.get("error") == "cpu_time_limit":
                used = max(used, remaining)  # the timer fires a hair early or late
            self._spent += used
            return result
        self.start()
        try:
            w = self._idle.get(timeout=self.timeout_s * 4)
        except queue.Empty:
            return _review("sandbox_busy")
        deadline = time.monotonic() + self.timeout_s
        try:
            limit = min(self.cpu_s, remaining)
            w.conn.send((kind, spec, answer, limit))
            cpu_before = _process_cpu(w.proc.pid)
            if not w.conn.poll(max(0.0, deadline - time.monotonic())):
                log.warning("sandboxed check %s timed out; killing the child", kind)
                # charge the CPU the child used, not the wall time a loaded machine took
                cpu_after = _process_cpu(w.proc.pid)
                if cpu_before is None or cpu_after is None:
                    self._spent += limit
                else:
                    self._spent += cpu_after - cpu_before
                self._replace(w)
                return _review("timeout")
            result, used = w.conn.recv()
        except (EOFError, OSError, BrokenPipeError) as exc:
            log.warning("sandbox child died during %s: %s", kind, exc)
            self._replace(w)
            return _review("worker_died")
        if result.details.get("error") == "cpu_time_limit":
            used = max(used, limit)
        self._spent += used
        self._idle.put(w)
        assert isinstance(result, CheckResult)
        return result

    def _run_here(self, kind: str, spec: CheckSpec, answer: str, budget: float) -> CheckResult:
        """An in-process check, interrupted by SIGPROF once it has used `budget` CPU seconds
        (when we are on the main thread and may own that signal; else only charged)."""
        if budget == float("inf") or threading.current_thread() is not threading.main_thread():
            return self.direct.run(kind, spec, answer)
        import signal

        def on_cpu(signum: int, frame: Any) -> None:
            raise _CpuLimit

        previous = signal.signal(signal.SIGPROF, on_cpu)
        try:
            signal.setitimer(signal.ITIMER_PROF, max(0.001, budget))
            try:
                return self.direct.run(kind, spec, answer)
            finally:
                signal.setitimer(signal.ITIMER_PROF, 0)
        except _CpuLimit:
            log.warning("in-process check %s ran out of CPU time", kind)
            return _review("cpu_time_limit")
        finally:
            signal.signal(signal.SIGPROF, previous)

    def warm(self, kind: str, items: Sequence[tuple[CheckSpec, str]]) -> None:
        checker = self.registry.get(kind)
        if not getattr(type(checker), "sandboxed", False):
            self.direct.warm(kind, items)
        else:
            self.start()
