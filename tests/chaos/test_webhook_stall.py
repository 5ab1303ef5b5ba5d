"""A webhook receiver that trickles one byte a second does not hold up grading in
`grader serve`: deliveries run in their own worker process and queue."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.chaos.test_serve_faults import Service

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(180)]


class Trickler:
    """Accepts connections and answers one byte a second, never finishing."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        self.stop = threading.Event()
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            except OSError:  # closed by the fixture
                return
            self.connections += 1
            threading.Thread(target=self._trickle, args=(conn,), daemon=True).start()

    def _trickle(self, conn: socket.socket) -> None:
        with conn:
            for byte in b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n" + b"x" * 100_000:
                if self.stop.wait(1.0):
                    return
                try:
                    conn.sendall(bytes([byte]))
                except OSError:
                    return


@pytest.fixture
def trickler() -> Iterator[Trickler]:
    t = Trickler()
    yield t
    t.stop.set()
    t.sock.close()


def test_a_trickling_receiver_does_not_delay_grades(tmp_path: Path, trickler: Trickler) -> None:
    service = Service(tmp_path, GRADER_WEBHOOK_ALLOW_HOSTS="127.0.0.1")
    try:
        url = f"http://127.0.0.1:{trickler.port}/hooks"
        body = json.dumps({"url": url, "events": ["submission.graded"]}).encode()
        status, out = service.call("POST", "/api/v1/webhooks", body)
        assert status == 201, out
        service.wait_graded(service.submit(1, "warm"), 90)
        deadline = time.monotonic() + 30  # deliveries are dispatched every few seconds
        while trickler.connections == 0 and time.monotonic() < deadline:
            time.sleep(0.5)
        assert trickler.connections > 0, "no delivery reached the receiver"
        ids = service.submit(20, "w")  # while deliveries hang on the receiver
        service.wait_graded(ids, 30)
        service.graded_once()
    finally:
        service.close()
