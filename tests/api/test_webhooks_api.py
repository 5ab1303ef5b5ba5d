"""Webhook endpoint management over HTTP: roles, SSRF refusals, secrets, log, redelivery."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from grader.api.webhooks import EXTENSION
from grader.config import Settings
from grader.services.runtime import Runtime
from grader.services.webhook_options import WebhookOptions
from grader.webhooks.ssrf import AllowList
from tests.conftest import Tokens

JSON = {"Content-Type": "application/json"}
PUBLIC = "93.184.215.14"


def public_resolver(host: str, port: int) -> Sequence[str]:
    return [PUBLIC]  # never connected to: these tests send nothing


@pytest.fixture
def wh(app: Flask) -> Flask:
    app.extensions[EXTENSION] = WebhookOptions(allow=AllowList(), resolver=public_resolver)
    return app


def create(
    client: FlaskClient, tokens: Tokens, who: str = "instructor", **body: object
) -> TestResponse:
    body = {"url": "https://lms.example/hooks", "events": ["submission.graded"], **body}
    return client.post(
        "/api/v1/webhooks", data=json.dumps(body), headers=tokens.headers(who, **JSON)
    )


def test_create_shows_secret_once(wh: Flask, client: FlaskClient, tokens: Tokens) -> None:
    r = create(client, tokens)
    assert r.status_code == 201, r.get_json()
    body = r.get_json()
    assert body["secret"].startswith("whsec_") and body["enabled"] is True
    assert r.headers["Location"] == f"/api/v1/webhooks/{body['id']}"
    again = client.get(r.headers["Location"], headers=tokens.headers("instructor")).get_json()
    assert "secret" not in again and again["url"] == "https://lms.example/hooks"
    listed = client.get("/api/v1/webhooks", headers=tokens.headers("instructor")).get_json()
    assert [e["id"] for e in listed["items"]] == [body["id"]]
    assert all("secret" not in e for e in listed["items"])


@pytest.mark.parametrize("who", ["student", "lms"])
def test_students_and_lms_keys_cannot_register(
    wh: Flask, client: FlaskClient, tokens: Tokens, who: str
) -> None:
    assert create(client, tokens, who).status_code == 403
    assert client.get("/api/v1/webhooks", headers=tokens.headers(who)).status_code == 403


def test_other_owners_endpoints_are_invisible(
    wh: Flask, client: FlaskClient, tokens: Tokens
) -> None:
    ep = create(client, tokens).get_json()["id"]
    h2 = tokens.headers("instructor2")
    assert client.get(f"/api/v1/webhooks/{ep}", headers=h2).status_code == 404
    assert client.delete(f"/api/v1/webhooks/{ep}", headers=h2).status_code == 404
    assert client.post(f"/api/v1/webhooks/{ep}/rotate-secret", headers=h2).status_code == 404
    assert client.get("/api/v1/webhooks", headers=h2).get_json()["items"] == []
    admin = client.get("/api/v1/webhooks", headers=tokens.headers("admin")).get_json()
    assert [e["id"] for e in admin["items"]] == [ep]


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/",
        "http://[::ffff:7f00:1]/",
        "http://2130706433/",
        "http://0x7f.1/",
        "http://localhost./",
        "http://169.254.169.254/latest/meta-data/",
        "http://100.64.0.1/",
        "http://[fd00::1]/",
        "file:///etc/passwd",
        "gopher://lms.example/",
    ],
)
def test_internal_urls_are_refused_at_registration(
    wh: Flask, client: FlaskClient, tokens: Tokens, url: str
) -> None:
    r = create(client, tokens, url=url)
    assert r.status_code == 422
    assert r.get_json()["errors"][0]["field"] == "url"


def test_name_resolving_to_loopback_is_refused(
    app: Flask, client: FlaskClient, tokens: Tokens
) -> None:
    app.extensions[EXTENSION] = WebhookOptions(resolver=lambda h, p: ["127.0.0.1"])
    assert create(client, tokens, url="https://sneaky.example/").status_code == 422


@pytest.mark.parametrize(
    "body",
    [
        {"events": ["submission.exploded"]},
        {"events": []},
        {"role": "admin"},
        {"url": ""},
    ],
)
def test_invalid_bodies_are_422(
    wh: Flask, client: FlaskClient, tokens: Tokens, body: dict[str, Any]
) -> None:
    assert create(client, tokens, **body).status_code == 422


def test_disable_enable_rotate_delete(wh: Flask, client: FlaskClient, tokens: Tokens) -> None:
    created = create(client, tokens, events=["submission.graded", "grade.overridden"]).get_json()
    url, h = f"/api/v1/webhooks/{created['id']}", tokens.headers("instructor")
    off = client.post(url + "/disable", headers=h).get_json()
    assert off["enabled"] is False and off["disabled_reason"] == "disabled by its owner"
    on = client.post(url + "/enable", headers=h).get_json()
    assert on["enabled"] is True and on["disabled_reason"] is None
    rotated = client.post(url + "/rotate-secret", headers=h).get_json()
    assert rotated["secret"].startswith("whsec_") and rotated["secret"] != created["secret"]
    assert rotated["rotating_until"] is not None
    assert client.delete(url, headers=h).status_code == 204
    assert client.get(url, headers=h).status_code == 404


def test_log_and_redelivery_of_unknown_message(
    wh: Flask, client: FlaskClient, tokens: Tokens
) -> None:
    ep = create(client, tokens).get_json()["id"]
    h = tokens.headers("instructor")
    assert client.get(f"/api/v1/webhooks/{ep}/attempts", headers=h).get_json() == {"items": []}
    assert client.get(f"/api/v1/webhooks/{ep}/messages", headers=h).get_json() == {"items": []}
    r = client.post(f"/api/v1/webhooks/{ep}/messages/msg_nope/redeliver", headers=h)
    assert r.status_code == 404


def test_webhook_routes_are_in_the_openapi_document(client: FlaskClient) -> None:
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    assert "/api/v1/webhooks" in paths
    assert "/api/v1/webhooks/{endpoint_id}/messages/{message_id}/redeliver" in paths


def test_options_come_from_settings(settings: Settings) -> None:
    from dataclasses import replace

    s = replace(
        settings,
        webhook_allow_hosts="10.0.0.0/8, lms.local",
        public_url="https://g.example",
        task_soft_time_limit=60,
    )
    opts = WebhookOptions.from_settings(s)
    assert opts.allow == AllowList.parse("10.0.0.0/8,lms.local")
    assert opts.base_url == "https://g.example"
    assert 3 * opts.timeouts.total < s.task_soft_time_limit  # three addresses fit in the task


def test_purge_forgets_old_settled_messages_only(
    wh: Flask, client: FlaskClient, tokens: Tokens, runtime: Runtime
) -> None:
    from datetime import timedelta

    from grader.services.webhook_delivery import purge
    from grader.store.models import utcnow
    from grader.store.webhooks import WebhookAttempt, WebhookMessage

    ep = create(client, tokens).get_json()["id"]
    old = utcnow() - timedelta(days=40)
    with runtime.db.session() as s:
        for mid, status, created in [
            ("msg_old_done", "delivered", old),
            ("msg_old_failed", "failed", old),
            ("msg_old_pending", "pending", old),
            ("msg_new_done", "delivered", utcnow()),
        ]:
            s.add(
                WebhookMessage(
                    id=mid,
                    endpoint_id=ep,
                    event_type="submission.graded",
                    event_key=mid,
                    payload={},
                    status=status,
                    created_at=created,
                )
            )
        s.flush()
        s.add(WebhookAttempt(message_id="msg_old_done", endpoint_id=ep, attempt=1))
    assert purge(runtime.db) == 2
    with runtime.db.session() as s:
        left = sorted(m.id for m in s.query(WebhookMessage))
        assert left == ["msg_new_done", "msg_old_pending"]
        assert s.query(WebhookAttempt).count() == 0
