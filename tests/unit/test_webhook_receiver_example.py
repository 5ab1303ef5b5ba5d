"""examples/webhook_receiver.py accepts our messages and rejects forged or stale ones."""

from __future__ import annotations

import importlib.util
import time
from pathlib import Path
from types import ModuleType

import pytest
from flask import Flask

from grader.webhooks import signing

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "webhook_receiver.py"
BODY = b'{"data":{"score":3},"timestamp":"2026-11-25T21:00:00Z","type":"submission.graded"}'


def load_example() -> ModuleType:
    spec = importlib.util.spec_from_file_location("webhook_receiver_example", EXAMPLE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def secret() -> str:
    return signing.generate_secret()


@pytest.fixture
def app(secret: str) -> Flask:
    app: Flask = load_example().create_app(secret)
    return app


def post(app: Flask, body: bytes, headers: dict[str, str]) -> int:
    return app.test_client().post("/webhooks", data=body, headers=headers).status_code


def test_accepts_a_signed_message_once(app: Flask, secret: str) -> None:
    headers = signing.build_headers([secret], "msg_a", BODY)
    assert post(app, BODY, headers) == 204
    assert post(app, BODY, headers) == 204  # a retry: acknowledged, not processed again
    assert [e["data"]["score"] for e in app.config["RECEIVED"]] == [3]


def test_rejects_tampered_body(app: Flask, secret: str) -> None:
    headers = signing.build_headers([secret], "msg_b", BODY)
    assert post(app, BODY.replace(b"3", b"9"), headers) == 400


def test_rejects_wrong_secret(app: Flask) -> None:
    headers = signing.build_headers([signing.generate_secret()], "msg_c", BODY)
    assert post(app, BODY, headers) == 400


def test_rejects_timestamp_six_minutes_old(app: Flask, secret: str) -> None:
    headers = signing.build_headers([secret], "msg_d", BODY, timestamp=int(time.time()) - 360)
    assert post(app, BODY, headers) == 400


def test_accepts_during_rotation(app: Flask, secret: str) -> None:
    headers = signing.build_headers([signing.generate_secret(), secret], "msg_e", BODY)
    assert post(app, BODY, headers) == 204


def test_rejects_missing_headers(app: Flask) -> None:
    assert post(app, BODY, {"content-type": "application/json"}) == 400
    assert app.config["RECEIVED"] == []
