"""A real HTTP receiver on 127.0.0.1 for webhook tests: verifies every delivery with the
`standardwebhooks` package, answers from a script, and processes each message id once."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from standardwebhooks.webhooks import Webhook, WebhookVerificationError


@dataclass
class Receiver:
    port: int = 0
    secrets: list[str] = field(default_factory=list)  # any of them may verify
    # Answers, in order, then 204: a status, or {"status", "headers", "sleep"} for more.
    statuses: list[int | dict[str, Any]] = field(default_factory=list)
    deliveries: list[dict[str, Any]] = field(default_factory=list)  # every request, verified
    processed: list[dict[str, Any]] = field(default_factory=list)  # accepted, once per id
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/lms/hooks"

    def handle(self, body: bytes, headers: dict[str, str]) -> dict[str, Any]:
        verified_by = None
        for i, secret in enumerate(self.secrets):
            try:
                event = Webhook(secret).verify(body, headers)
            except WebhookVerificationError:
                continue
            verified_by = i
            break
        with self.lock:
            self.deliveries.append({"headers": headers, "verified_by": verified_by})
            if verified_by is None:
                return {"status": 400}
            answer = self.statuses.pop(0) if self.statuses else 204
            reply = {"status": answer} if isinstance(answer, int) else answer
            seen = {p["webhook-id"] for p in self.processed}
            if 200 <= reply["status"] < 300 and headers["webhook-id"] not in seen:
                self.processed.append({"webhook-id": headers["webhook-id"], "event": event})
            return reply


@contextmanager
def running_receiver(secrets: list[str] | None = None) -> Iterator[Receiver]:
    state = Receiver(secrets=list(secrets or []))

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802  # http.server's naming
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            reply = state.handle(body, {k.lower(): v for k, v in self.headers.items()})
            time.sleep(reply.get("sleep", 0))
            try:
                self.send_response(reply["status"])
                for name, value in reply.get("headers", {}).items():
                    self.send_header(name, value)
                self.send_header("Content-Length", "0")
                self.end_headers()
            except OSError:
                pass  # the sender gave up waiting (a timeout test)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    state.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
