"""HTTPS to a pinned address: we connect to the checked IP, but TLS verifies the certificate
against the URL's host name (and sends it as SNI). A loopback TLS receiver with a throwaway
certificate made by the openssl command; skipped where openssl is missing."""

from __future__ import annotations

import shutil
import ssl
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from grader.webhooks.http_attempt import Timeouts, deliver
from grader.webhooks.ssrf import AllowList

FAST = Timeouts(connect=1.0, read=1.0, total=3.0)
NAME = "hooks.lms.test"


@pytest.fixture(scope="module")
def cert(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed")
    d = tmp_path_factory.mktemp("tls")
    key, crt = d / "key.pem", d / "cert.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-keyout",
            str(key),
            "-out",
            str(crt),
            "-days",
            "1",
            "-subj",
            f"/CN={NAME}",
            "-addext",
            f"subjectAltName=DNS:{NAME}",
        ],
        check=True,
        capture_output=True,
        timeout=30,
    )
    return crt, key


@pytest.fixture
def tls_receiver(cert: tuple[Path, Path]) -> Iterator[dict[str, Any]]:
    crt, key = cert
    seen: dict[str, Any] = {"sni": [], "hosts": []}
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(str(crt), str(key))
    ctx.sni_callback = lambda sock, name, _ctx: seen["sni"].append(name)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802  # http.server's naming
            self.rfile.read(int(self.headers.get("Content-Length", "0")))
            seen["hosts"].append(self.headers["Host"])
            self.send_response(204)
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            pass

    class Server(ThreadingHTTPServer):
        daemon_threads = True

        def handle_error(self, request: Any, client_address: Any) -> None:
            pass  # failed handshakes are what some tests expect

    server = Server(("127.0.0.1", 0), Handler)
    server.socket = ctx.wrap_socket(server.socket, server_side=True)
    seen["port"] = server.server_address[1]
    threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True).start()
    yield seen
    server.shutdown()
    server.server_close()


def client_context(crt: Path) -> ssl.SSLContext:
    ctx = ssl.create_default_context(cafile=str(crt))
    return ctx


def test_https_to_pinned_ip_verifies_the_name(
    tls_receiver: dict[str, Any], cert: tuple[Path, Path]
) -> None:
    port = tls_receiver["port"]
    outcome = deliver(
        f"https://{NAME}:{port}/hooks",
        b"{}",
        {},
        allow=AllowList.parse(NAME),
        resolver=lambda h, p: ["127.0.0.1"],
        timeouts=FAST,
        ssl_context=client_context(cert[0]),
    )
    assert outcome.ok, outcome.error
    assert outcome.address == "127.0.0.1"
    assert tls_receiver["sni"] == [NAME]
    assert tls_receiver["hosts"] == [f"{NAME}:{port}"]


def test_https_certificate_for_another_name_is_refused(
    tls_receiver: dict[str, Any], cert: tuple[Path, Path]
) -> None:
    port = tls_receiver["port"]
    outcome = deliver(
        f"https://other.lms.test:{port}/hooks",
        b"{}",
        {},
        allow=AllowList.parse("other.lms.test"),
        resolver=lambda h, p: ["127.0.0.1"],
        timeouts=FAST,
        ssl_context=client_context(cert[0]),
    )
    assert not outcome.ok and outcome.status is None
    assert "other.lms.test" in (outcome.error or "")  # the name, not the IP, was checked
    assert tls_receiver["hosts"] == []


def test_https_untrusted_certificate_is_refused(tls_receiver: dict[str, Any]) -> None:
    port = tls_receiver["port"]
    outcome = deliver(
        f"https://{NAME}:{port}/hooks",
        b"{}",
        {},
        allow=AllowList.parse(NAME),
        resolver=lambda h, p: ["127.0.0.1"],
        timeouts=FAST,
    )  # system trust store: our throwaway CA is not in it
    assert not outcome.ok and outcome.status is None
    assert "certificate" in (outcome.error or "").lower()
    assert tls_receiver["hosts"] == []
