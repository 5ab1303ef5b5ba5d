"""Delivery attempts against a real HTTP receiver on 127.0.0.1 (a thread), and the schedule.

Only loopback traffic: the receiver is admitted by the allow-list, and every blocked target
is refused before a connection is opened.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, TypedDict

import pytest
from standardwebhooks.webhooks import Webhook

from grader.webhooks import events, signing
from grader.webhooks.http_attempt import Timeouts, deliver
from grader.webhooks.retries import (
    DEFAULT_SCHEDULE,
    RetrySchedule,
    next_attempt_delay,
    parse_retry_after,
)
from grader.webhooks.ssrf import AllowList

LOOPBACK = AllowList.parse("127.0.0.1")
FAST = Timeouts(connect=1.0, read=1.0, total=2.0)

Action = Callable[[BaseHTTPRequestHandler], None]


class Received(TypedDict):
    headers: dict[str, str]
    event: Any  # the payload the verifier read back; None without a verifier


@dataclass
class Receiver:
    port: int
    actions: list[Action] = field(default_factory=list)
    requests: list[Received] = field(default_factory=list)
    verifier: Webhook | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks"


def reply(status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> Action:
    def act(h: BaseHTTPRequestHandler) -> None:
        h.send_response(status)
        for k, v in (headers or {}).items():
            h.send_header(k, v)
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        h.wfile.write(body)

    return act


def stream(total: int, chunk: int, pause: float) -> Action:
    def act(h: BaseHTTPRequestHandler) -> None:
        h.send_response(200)
        h.send_header("Content-Length", str(total))
        h.end_headers()
        sent = 0
        try:
            while sent < total:
                h.wfile.write(b"x" * chunk)
                h.wfile.flush()
                sent += chunk
                if pause:
                    time.sleep(pause)
        except OSError:
            pass  # the client hung up, as it should

    return act


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver(port=0)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802  # http.server's naming
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            verified = None
            if state.verifier is not None:
                verified = state.verifier.verify(body, dict(self.headers.items()))
            state.requests.append({"headers": dict(self.headers.items()), "event": verified})
            action = state.actions.pop(0) if state.actions else reply(204)
            action(self)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    state.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()


def signed(secret: str) -> tuple[bytes, dict[str, str]]:
    from datetime import UTC, datetime

    payload = events.submission_graded(
        submission_id="sub_1",
        exam_id="dl-ws2324",
        student_id="s1",
        score=7.5,
        max_score=10,
        needs_review=False,
        graded_at=datetime.now(UTC),
        base_url="http://grader.test",
    )
    body = events.encode_event(payload)
    return body, signing.build_headers([secret], "msg_test", body)


def test_500_three_times_then_accepted_once_with_retries(receiver: Receiver) -> None:
    secret = signing.generate_secret()
    receiver.verifier = Webhook(secret)
    receiver.actions = [reply(500), reply(500), reply(500), reply(200, b"ok")]
    body, _ = signed(secret)
    schedule = RetrySchedule(delays=(0.01, 0.01, 0.01, 0.01), jitter=0.5)
    rng = random.Random(7)
    log = []
    attempt = 1
    while True:
        headers = signing.build_headers([secret], "msg_retry", body)  # fresh timestamp per try
        outcome = deliver(receiver.url, body, headers, allow=LOOPBACK, timeouts=FAST)
        log.append(outcome)
        if outcome.ok:
            break
        delay = next_attempt_delay(attempt, outcome.retry_after, rng, schedule)
        assert delay is not None and 0.005 <= delay <= 0.015
        time.sleep(delay)
        attempt += 1
    assert [o.status for o in log] == [500, 500, 500, 200]
    assert all(o.address == "127.0.0.1" for o in log)
    assert log[-1].body_excerpt == "ok"
    assert len(receiver.requests) == 4
    assert {r["headers"]["webhook-id"] for r in receiver.requests} == {"msg_retry"}
    assert receiver.requests[-1]["event"]["data"]["score"] == 7.5


def test_redirect_is_not_followed(receiver: Receiver) -> None:
    receiver.actions = [reply(302, headers={"Location": "http://169.254.169.254/latest/"})]
    outcome = deliver(receiver.url, b"{}", {}, allow=LOOPBACK, timeouts=FAST)
    assert not outcome.ok and outcome.status == 302 and not outcome.gone
    assert len(receiver.requests) == 1


def test_410_means_gone(receiver: Receiver) -> None:
    receiver.actions = [reply(410)]
    outcome = deliver(receiver.url, b"{}", {}, allow=LOOPBACK, timeouts=FAST)
    assert outcome.gone and not outcome.ok and outcome.status == 410


def test_429_retry_after_is_honoured(receiver: Receiver) -> None:
    receiver.actions = [reply(429, headers={"Retry-After": "120"})]
    outcome = deliver(receiver.url, b"{}", {}, allow=LOOPBACK, timeouts=FAST)
    assert outcome.status == 429 and outcome.retry_after == 120
    delay = next_attempt_delay(1, outcome.retry_after, random.Random(1))
    assert delay == 120  # the schedule says ~5 s; the receiver asked for more


def test_huge_body_is_capped(receiver: Receiver) -> None:
    receiver.actions = [stream(total=50 * 1024 * 1024, chunk=64 * 1024, pause=0)]
    outcome = deliver(receiver.url, b"{}", {}, allow=LOOPBACK, timeouts=FAST, max_bytes=16 * 1024)
    assert outcome.ok and outcome.truncated
    assert len(outcome.body_excerpt) <= 1024


def test_trickling_body_is_cut_off_by_the_total_timeout(receiver: Receiver) -> None:
    receiver.actions = [stream(total=1000, chunk=1, pause=0.1)]  # never trips the read timeout
    timeouts = Timeouts(connect=1.0, read=0.5, total=1.0)
    started = time.monotonic()
    outcome = deliver(receiver.url, b"{}", {}, allow=LOOPBACK, timeouts=timeouts)
    assert not outcome.ok and outcome.error == "timed out"
    assert time.monotonic() - started < 3.0


def test_silent_receiver_hits_the_read_timeout(receiver: Receiver) -> None:
    receiver.actions = [lambda h: time.sleep(1.5)]
    timeouts = Timeouts(connect=1.0, read=0.3, total=5.0)
    outcome = deliver(receiver.url, b"{}", {}, allow=LOOPBACK, timeouts=timeouts)
    assert not outcome.ok and outcome.status is None and outcome.error
    assert outcome.elapsed < 1.5


def test_pinned_address_with_name_in_host_header(receiver: Receiver) -> None:
    seen: list[str] = []

    def resolver(host: str, port: int) -> Sequence[str]:
        seen.append(host)
        return ["127.0.0.1"]

    url = f"http://hooks.lms.test:{receiver.port}/x?y=1"
    outcome = deliver(
        url,
        b"{}",
        {"Host": "evil"},
        allow=AllowList.parse("hooks.lms.test"),
        resolver=resolver,
        timeouts=FAST,
    )
    assert outcome.ok and seen == ["hooks.lms.test"]
    assert receiver.requests[0]["headers"]["Host"] == f"hooks.lms.test:{receiver.port}"


def test_rebinding_to_loopback_is_refused_at_send(receiver: Receiver) -> None:
    outcome = deliver(
        f"http://rebind.test:{receiver.port}/",
        b"{}",
        {},
        allow=AllowList(),
        resolver=lambda h, p: ["127.0.0.1"],
        timeouts=FAST,
    )
    assert outcome.refused and not outcome.ok
    assert receiver.requests == []


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/",
        "http://[::ffff:7f00:1]:1/",
        "gopher://127.0.0.1/",
        "http://0x7f.1/",
    ],
)
def test_blocked_targets_are_refused_without_connecting(url: str) -> None:
    outcome = deliver(url, b"{}", {}, allow=AllowList(), resolver=lambda h, p: [], timeouts=FAST)
    assert outcome.refused and outcome.address is None


def test_connection_refused_is_a_failure_not_an_exception() -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # bound, not listening: connections are refused
        outcome = deliver(f"http://127.0.0.1:{port}/", b"{}", {}, allow=LOOPBACK, timeouts=FAST)
    assert not outcome.ok and not outcome.refused and "connect" in (outcome.error or "")


def test_default_schedule_spans_about_three_days() -> None:
    rng = random.Random(0)
    total, attempt = 0.0, 1
    while (delay := next_attempt_delay(attempt, None, rng)) is not None:
        total += delay
        attempt += 1
    assert attempt == DEFAULT_SCHEDULE.max_attempts
    assert 3 * 86400 <= total <= 4 * 86400
    assert DEFAULT_SCHEDULE.delays[:7] == (5, 300, 1800, 7200, 18000, 36000, 36000)


def test_jitter_stays_within_bounds_and_varies() -> None:
    rng = random.Random(3)
    delays = [next_attempt_delay(3, None, rng) for _ in range(200)]
    assert all(d is not None and 1440 <= d <= 2160 for d in delays)
    assert len(set(delays)) > 100


def test_retry_after_is_capped_and_attempts_numbered_from_one() -> None:
    sched = RetrySchedule(delays=(1.0,), jitter=0.0, max_retry_after=60)
    assert next_attempt_delay(1, 10**9, random.Random(), sched) == 60
    assert next_attempt_delay(2, None, random.Random(), sched) is None
    with pytest.raises(ValueError):
        next_attempt_delay(0, None, random.Random(), sched)


def test_parse_retry_after_forms() -> None:
    now = 1_700_000_000.0
    assert parse_retry_after("30", now) == 30
    assert parse_retry_after("Tue, 14 Nov 2023 22:14:20 GMT", now) == 60.0
    assert parse_retry_after("Mon, 01 Jan 2001 00:00:00 GMT", now) == 0.0
    assert parse_retry_after("soon", now) is None
    assert parse_retry_after(None, now) is None
    assert parse_retry_after("9" * 1000, now) == 999999999.0


def test_response_excerpt_is_storable(receiver: Receiver) -> None:
    receiver.actions = [reply(200, b"ok\x00\x1b[31m\xff\xfe")]
    outcome = deliver(receiver.url, b"{}", {}, allow=LOOPBACK, timeouts=FAST)
    assert outcome.ok and "\x00" not in outcome.body_excerpt and "\x1b" not in outcome.body_excerpt
    assert outcome.body_excerpt.startswith("ok")
