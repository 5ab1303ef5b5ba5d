"""SandboxRunner: run sandboxed checkers in a pool of warm child processes.

Each child has an address-space limit (RLIMIT_AS), a per-call CPU limit (ITIMER_PROF
inside the child) and the parent enforces a hard wall-clock limit by killing the child.
A killed, crashed or timed-out check returns `needs_review` with the reason — never
"wrong" — and the pool replaces the child by itself.

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


def _review(reason: str) -> CheckResult:
    return CheckResult(
        0.0,
        feedback=REVIEW_FEEDBACK,
        confidence=0.0,
        status=Status.NEEDS_REVIEW,
        details={"error": reason},
    )


class _CpuLimit(Exception):
    pass


def _child_main(conn: Connection, registry: CheckerRegistry, memory_mb: int, cpu_s: float) -> None:
    """Loop: receive (kind, spec, answer), send a CheckResult. Runs in the child."""
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
        kind, spec, answer = msg
        signal.setitimer(signal.ITIMER_PROF, cpu_s)
        try:
            result: Any = registry.get(kind).check(spec, answer)
        except _CpuLimit:
            result = _review("cpu_time_limit")
        except MemoryError:
            result = _review("memory_limit")
        except RecursionError:
            result = _review("too_complex")
        except Exception as exc:  # noqa: BLE001 - reported to the parent, never raised
            result = _review(type(exc).__name__)
        finally:
            signal.setitimer(signal.ITIMER_PROF, 0)
        try:
            conn.send(result)
        except MemoryError:
            conn.send(_review("memory_limit"))


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
        start_method: str | None = None,
    ) -> None:
        self.registry = registry
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
            self.ctx.set_forkserver_preload(["grader.checks.math", "grader.sandbox"])
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
    def run(self, kind: str, spec: CheckSpec, answer: str) -> CheckResult:
        checker = self.registry.get(kind)
        if not getattr(type(checker), "sandboxed", False):
            return self.direct.run(kind, spec, answer)
        self.start()
        try:
            w = self._idle.get(timeout=self.timeout_s * 4)
        except queue.Empty:
            return _review("sandbox_busy")
        deadline = time.monotonic() + self.timeout_s
        try:
            w.conn.send((kind, spec, answer))
            if not w.conn.poll(max(0.0, deadline - time.monotonic())):
                log.warning("sandboxed check %s timed out; killing the child", kind)
                self._replace(w)
                return _review("timeout")
            result: CheckResult = w.conn.recv()
        except (EOFError, OSError, BrokenPipeError) as exc:
            log.warning("sandbox child died during %s: %s", kind, exc)
            self._replace(w)
            return _review("worker_died")
        self._idle.put(w)
        return result

    def warm(self, kind: str, items: Sequence[tuple[CheckSpec, str]]) -> None:
        checker = self.registry.get(kind)
        if not getattr(type(checker), "sandboxed", False):
            self.direct.warm(kind, items)
        else:
            self.start()
