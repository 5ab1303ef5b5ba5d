"""One attempt to deliver a webhook message: a pinned, bounded HTTP POST.

`deliver` checks the URL again (see `ssrf`), connects to the checked address itself (the
name goes only into the Host header and TLS SNI, so a DNS answer that changes between
check and connect cannot redirect us), never follows redirects, bounds connect, read and
total time, and reads at most `max_bytes` of the response. It never raises for anything
the receiver or the network does: the outcome says what happened, the caller decides.
"""

from __future__ import annotations

import contextlib
import re
import socket
import ssl
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass

from urllib3 import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.exceptions import ConnectTimeoutError, HTTPError
from urllib3.response import BaseHTTPResponse
from urllib3.util import Timeout

from grader.webhooks.retries import parse_retry_after
from grader.webhooks.ssrf import (
    AllowList,
    IPAddress,
    ResolutionError,
    Resolver,
    Target,
    UnsafeURLError,
    resolve_target,
    system_resolver,
)

USER_AGENT = "exam-grader-webhooks/1"
DEFAULT_MAX_BYTES = 64 * 1024
_MAX_ADDRESSES = 3  # addresses tried per attempt when connecting fails
_EXCERPT_CHARS = 1024  # what the delivery log keeps of a response body
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


@dataclass(frozen=True)
class Timeouts:
    connect: float = 5.0
    read: float = 10.0  # per socket read
    total: float = 30.0  # wall clock for the whole attempt: a trickling receiver is cut off


@dataclass(frozen=True)
class DeliveryOutcome:
    """What one attempt found. `ok` is a 2xx; 3xx (never followed) counts as a failure."""

    ok: bool
    status: int | None = None
    error: str | None = None
    retry_after: float | None = None  # seconds, from the response's Retry-After
    gone: bool = False  # 410: the receiver asks us to stop; disable the endpoint
    refused: bool = False  # the URL failed the SSRF check at send time
    address: str | None = None  # the IP actually connected to
    body_excerpt: str = ""
    truncated: bool = False  # the response was longer than max_bytes
    elapsed: float = 0.0


class _Watchdog:
    """Shuts the socket down when the attempt's total time is up, which unblocks any read.
    Read timeouts alone do not bound an attempt: one byte every few seconds never trips them."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sock: socket.socket | None = None
        self.fired = False

    def attach(self, sock: socket.socket | None) -> None:
        with self._lock:
            self._sock = sock
            if self.fired:
                self._shutdown()

    def fire(self) -> None:
        with self._lock:
            self.fired = True
            self._shutdown()

    def _shutdown(self) -> None:
        if self._sock is not None:
            with contextlib.suppress(OSError):  # already closed: nothing left to unblock
                self._sock.shutdown(socket.SHUT_RDWR)


class _WatchedHTTPConnection(HTTPConnection):
    watchdog: _Watchdog | None = None

    def connect(self) -> None:
        super().connect()
        if self.watchdog is not None:
            self.watchdog.attach(self.sock)


class _WatchedHTTPSConnection(HTTPSConnection):
    watchdog: _Watchdog | None = None

    def connect(self) -> None:
        super().connect()
        if self.watchdog is not None:
            self.watchdog.attach(self.sock)


class _HTTPPool(HTTPConnectionPool):
    ConnectionCls = _WatchedHTTPConnection
    watchdog: _Watchdog | None = None

    def _new_conn(self) -> _WatchedHTTPConnection:
        conn = super()._new_conn()
        assert isinstance(conn, _WatchedHTTPConnection)  # our ConnectionCls
        conn.watchdog = self.watchdog
        return conn


class _HTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _WatchedHTTPSConnection
    watchdog: _Watchdog | None = None

    def _new_conn(self) -> _WatchedHTTPSConnection:
        conn = super()._new_conn()
        assert isinstance(conn, _WatchedHTTPSConnection)  # our ConnectionCls
        conn.watchdog = self.watchdog
        return conn


class _ConnectFailed(Exception):
    pass


def _pool(
    target: Target, ip: IPAddress, timeouts: Timeouts, ssl_context: ssl.SSLContext | None
) -> _HTTPPool | _HTTPSPool:
    timeout = Timeout(connect=timeouts.connect, read=timeouts.read)
    pool: _HTTPPool | _HTTPSPool
    if target.scheme == "https":
        # Connect to the pinned IP but verify the certificate against the name we checked.
        pool = _HTTPSPool(
            str(ip),
            target.port,
            timeout=timeout,
            retries=False,
            cert_reqs="CERT_REQUIRED",
            assert_hostname=target.host,
            server_hostname=target.host,
            ssl_context=ssl_context,
        )
    else:
        pool = _HTTPPool(str(ip), target.port, timeout=timeout, retries=False)
    return pool


def _printable(text: str) -> str:
    """Storable anywhere: PostgreSQL text refuses NUL, and logs should not carry escapes."""
    return _CONTROL.sub("\ufffd", text)


def _read_capped(resp: BaseHTTPResponse, max_bytes: int) -> tuple[bytes, bool]:
    chunks: list[bytes] = []
    got = 0
    while got <= max_bytes:
        # read1 returns after one socket read, so the watchdog's shutdown ends the loop
        chunk = resp.read1(min(16384, max_bytes + 1 - got), decode_content=False)
        if not chunk:
            break
        chunks.append(chunk)
        got += len(chunk)
    data = b"".join(chunks)
    return data[:max_bytes], got > max_bytes


def _attempt(
    target: Target,
    ip: IPAddress,
    body: bytes,
    headers: Mapping[str, str],
    timeouts: Timeouts,
    max_bytes: int,
    ssl_context: ssl.SSLContext | None,
    now: float,
) -> DeliveryOutcome:
    started = time.monotonic()
    watchdog = _Watchdog()
    pool = _pool(target, ip, timeouts, ssl_context)
    pool.watchdog = watchdog
    timer = threading.Timer(timeouts.total, watchdog.fire)
    timer.daemon = True
    timer.start()
    send_headers = {k: v for k, v in headers.items() if k.lower() != "host"}
    send_headers.setdefault("user-agent", USER_AGENT)
    send_headers["Host"] = target.host_header
    resp: BaseHTTPResponse | None = None
    try:
        try:
            resp = pool.urlopen(
                "POST",
                target.path,
                body=body,
                headers=send_headers,
                redirect=False,
                retries=False,
                assert_same_host=False,
                preload_content=False,
                decode_content=False,
            )
        except ConnectTimeoutError as exc:  # includes NewConnectionError (refused, unreachable)
            raise _ConnectFailed(f"connect to {ip} failed: {type(exc).__name__}") from exc
        status = resp.status
        retry_after = parse_retry_after(resp.headers.get("retry-after"), now)
        data, truncated = _read_capped(resp, max_bytes)
        if watchdog.fired:
            raise TimeoutError("total time exceeded")
        return DeliveryOutcome(
            ok=200 <= status < 300,
            status=status,
            error=None if 200 <= status < 300 else f"HTTP {status}",
            retry_after=retry_after,
            gone=status == 410,
            address=str(ip),
            body_excerpt=_printable(data[:_EXCERPT_CHARS].decode("utf-8", "replace")),
            truncated=truncated,
            elapsed=time.monotonic() - started,
        )
    except (HTTPError, OSError, ssl.SSLError) as exc:
        reason = "timed out" if watchdog.fired else f"{type(exc).__name__}: {exc}"[:300]
        return DeliveryOutcome(
            ok=False,
            status=resp.status if resp is not None else None,
            error=reason,
            address=str(ip),
            elapsed=time.monotonic() - started,
        )
    finally:
        timer.cancel()
        if resp is not None:
            resp.close()  # not released to a pool: an unread remainder must not be reused
        pool.close()


def deliver(
    url: str,
    body: bytes,
    headers: Mapping[str, str],
    *,
    allow: AllowList,
    resolver: Resolver = system_resolver,
    timeouts: Timeouts = Timeouts(),  # noqa: B008  # frozen dataclass, safe as a default
    max_bytes: int = DEFAULT_MAX_BYTES,
    ssl_context: ssl.SSLContext | None = None,
    now: float | None = None,
) -> DeliveryOutcome:
    """POST `body` to `url` once, after checking the URL again; never raises for I/O."""
    clock = time.time() if now is None else now
    try:
        target = resolve_target(url, allow=allow, resolver=resolver)
    except ResolutionError as exc:
        return DeliveryOutcome(ok=False, error=exc.reason)
    except UnsafeURLError as exc:
        return DeliveryOutcome(ok=False, error=exc.reason, refused=True)
    last_error = "no address to connect to"
    for ip in target.addresses[:_MAX_ADDRESSES]:
        try:
            return _attempt(target, ip, body, headers, timeouts, max_bytes, ssl_context, clock)
        except _ConnectFailed as exc:
            last_error = str(exc)
    return DeliveryOutcome(ok=False, error=last_error)
