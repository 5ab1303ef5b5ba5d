"""Parts of the fault campaign (test_campaign.py) that an operator's faults act on: a private
PostgreSQL cluster we may restart, a webhook receiver we may stall, the service's pool
processes we may kill."""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import subprocess
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from tests.integration.test_broker_faults import _port


def postgres_bin(name: str) -> str | None:
    """A PostgreSQL server binary (initdb, pg_ctl): on PATH, else Debian's versioned dir."""
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return candidates[-1] if candidates else None


class PrivatePostgres:
    """A throw-away cluster on a free port (trust auth, TCP on 127.0.0.1 only, no fsync: a
    killed server recovers from its WAL; only an OS crash would need the fsync). The server
    refuses to run as root, so as root it runs as the `postgres` user in a directory that
    user owns (pytest's tmp_path is private to root)."""

    def __init__(self) -> None:
        initdb, pg_ctl = postgres_bin("initdb"), postgres_bin("pg_ctl")
        assert initdb and pg_ctl
        self.initdb, self.pg_ctl = initdb, pg_ctl
        self.port = _port()
        self.root = Path(tempfile.mkdtemp(prefix="grader-chaos-pg-"))
        self.data = self.root / "data"
        self.log = self.root / "server.log"
        self.as_owner: list[str] = []
        if os.geteuid() == 0:
            owner = pwd.getpwnam("postgres")
            os.chown(self.root, owner.pw_uid, owner.pw_gid)
            self.as_owner = ["runuser", "-u", "postgres", "--"]
        self._run(self.initdb, "-D", str(self.data), "-U", "postgres", "--auth=trust",
                  "-E", "UTF8", "--no-sync")  # fmt: skip

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    @property
    def libpq_url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *argv: str) -> None:
        out = subprocess.run(  # noqa: S603 - fixed argv
            [*self.as_owner, *argv], capture_output=True, text=True, timeout=120, check=False
        )
        if out.returncode != 0:
            raise RuntimeError(f"{argv[0]} failed: {out.stdout}\n{out.stderr}\n{self.tail()}")

    def tail(self) -> str:
        return self.log.read_text()[-2000:] if self.log.exists() else ""

    def start(self) -> None:
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.root} -c fsync=off "
            "-c full_page_writes=off -c max_connections=100"
        )
        self._run(self.pg_ctl, "-D", str(self.data), "-l", str(self.log), "-o", options,
                  "-w", "-t", "60", "start")  # fmt: skip

    def stop(self, mode: str = "immediate") -> None:
        """`immediate`: the postmaster and its backends quit at once, like a crash; every
        client connection breaks and the next start replays the WAL."""
        self._run(self.pg_ctl, "-D", str(self.data), "-m", mode, "-w", "-t", "60", "stop")

    def destroy(self) -> None:
        if (self.data / "postmaster.pid").exists():
            with contextlib.suppress(RuntimeError):
                self.stop()
        shutil.rmtree(self.root, ignore_errors=True)


@dataclass
class StallingReceiver:
    """A webhook receiver on 127.0.0.1 that verifies every delivery (Standard Webhooks, with
    the `standardwebhooks` package), records each one's `webhook-id`, and processes each id
    once (an LMS dedups by id: the scheme is at-least-once). While `stall()` holds, every
    request is read and recorded and then hangs until the stall ends, past the sender's
    timeout for the early ones (which it then retries)."""

    secret: str = ""
    port: int = 0
    deliveries: list[str] = field(default_factory=list)  # webhook-id of every verified request
    unverified: int = 0  # complete requests whose signature did not verify
    truncated: int = 0  # requests cut off by the sender's death
    errors: list[str] = field(default_factory=list)  # why the unverified ones failed
    processed: dict[str, str] = field(default_factory=dict)  # webhook-id -> event type, once
    hung: int = 0  # requests that arrived during a stall
    lock: threading.Lock = field(default_factory=threading.Lock)
    flowing: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        self.flowing.set()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length)
                if len(body) < length:  # the sender died mid-request (a killed pool process)
                    with receiver.lock:
                        receiver.truncated += 1
                    return
                status = receiver.receive(body, {k.lower(): v for k, v in self.headers.items()})
                receiver.flowing.wait(timeout=120)
                try:
                    self.send_response(status)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                except OSError:
                    pass  # the sender gave up waiting

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = int(self.server.server_address[1])
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/lms/hooks"

    def receive(self, body: bytes, headers: dict[str, str]) -> int:
        try:
            event = Webhook(self.secret).verify(body, headers)
        except WebhookVerificationError as exc:
            with self.lock:
                self.unverified += 1
                self.errors.append(f"{exc} ({len(body)} bytes)")
            return 400
        msg_id = headers["webhook-id"]
        with self.lock:
            self.deliveries.append(msg_id)
            self.processed.setdefault(msg_id, str(event["type"]))
            if not self.flowing.is_set():
                self.hung += 1
        return 204

    def stall(self) -> None:
        self.flowing.clear()

    def resume(self) -> None:
        self.flowing.set()

    def duplicates(self) -> int:
        """Deliveries of an id beyond its first (retries after a timeout or a lost answer)."""
        with self.lock:
            return sum(n - 1 for n in Counter(self.deliveries).values())

    def close(self) -> None:
        self.resume()
        self.server.shutdown()
        self.server.server_close()


def _has_pipes(pid: int) -> bool:
    """A prefork pool process keeps its pipes to the worker; the embedded beat closes every
    inherited descriptor when it starts (celery.beat's `_Process.run`), so it has none."""
    try:
        fds = os.listdir(f"/proc/{pid}/fd")
    except OSError:
        return True  # gone: not the beat
    for fd in fds:
        try:
            if os.readlink(f"/proc/{pid}/fd/{fd}").startswith("pipe:"):
                return True
        except OSError:
            continue
    return False


def worker_processes(serve_pid: int) -> dict[str, list[int]]:
    """The child processes of `grader serve`'s two workers: the prefork pool processes of
    the grading worker (started with --no-beat) and of the webhook worker, and the webhook
    worker's embedded beat (a child like its pool processes, with the same command line).
    Not the math sandbox's `multiprocessing` helpers."""
    out = subprocess.run(
        ["ps", "-eo", "pid=,ppid=,args="], capture_output=True, text=True, check=True
    )
    rows = [line.split(None, 2) for line in out.stdout.splitlines() if line.strip()]
    rows = [r for r in rows if len(r) == 3]
    found: dict[str, list[int]] = {"grading": [], "webhooks": [], "beat": []}
    for pid, ppid, args in rows:
        if int(ppid) != serve_pid or " worker " not in f" {args} ":
            continue
        for p, pp, a in rows:
            if int(pp) != int(pid) or "multiprocessing" in a:
                continue
            if "--no-beat" in args:
                found["grading"].append(int(p))
            else:
                found["webhooks" if _has_pipes(int(p)) else "beat"].append(int(p))
    return found


def wait_until(predicate: Callable[[], object], timeout: float, every: float = 0.3) -> bool:
    """Poll a callable until it is true or `timeout` passes; errors count as not yet."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if predicate():
                return True
        except Exception:  # noqa: BLE001 - a service mid-fault answers with errors
            pass
        time.sleep(every)
    return False
