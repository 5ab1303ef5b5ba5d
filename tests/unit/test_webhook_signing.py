"""Our signer against the reference verifier (`standardwebhooks`), and our verifier's rules."""

from __future__ import annotations

import base64
import time
from datetime import UTC, datetime

import pytest
from standardwebhooks.webhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError as RefError

from grader.webhooks import signing
from grader.webhooks.signing import WebhookVerificationError

BODY = b'{"type":"submission.graded","data":{"score":3.5,"name":"J\xc3\xbcrgen"}}'


def test_generated_secret_has_prefix_and_key_bytes() -> None:
    secret = signing.generate_secret()
    assert secret.startswith("whsec_")
    assert len(signing.decode_secret(secret)) == 32
    assert signing.generate_secret() != secret
    with pytest.raises(ValueError):
        signing.generate_secret(8)


def test_reference_verifier_accepts_our_signature() -> None:
    secret = signing.generate_secret()
    headers = signing.build_headers([secret], "msg_1", BODY)
    assert Webhook(secret).verify(BODY, headers)["data"]["score"] == 3.5


def test_signature_matches_reference_signer_exactly() -> None:
    secret = signing.generate_secret()
    ts = 1_700_000_000
    ours = signing.sign(secret, "msg_x", ts, BODY)
    ref = Webhook(secret).sign("msg_x", datetime.fromtimestamp(ts, tz=UTC), BODY.decode())
    assert ours == ref


@pytest.mark.parametrize("change", ["body", "secret", "missing_header"])
def test_reference_verifier_rejects_tampering(change: str) -> None:
    secret = signing.generate_secret()
    headers = signing.build_headers([secret], "msg_1", BODY)
    body, verifier = BODY, Webhook(secret)
    if change == "body":
        body = BODY.replace(b"3.5", b"4.5")
    elif change == "secret":
        verifier = Webhook(signing.generate_secret())
    else:
        del headers["webhook-signature"]
    with pytest.raises(RefError):
        verifier.verify(body, headers)
    with pytest.raises(WebhookVerificationError):
        signing.verify(secret if change != "secret" else signing.generate_secret(), body, headers)


def test_rotation_sends_two_signatures_and_either_secret_verifies() -> None:
    old, new = signing.generate_secret(), signing.generate_secret()
    headers = signing.build_headers([new, old], "msg_r", BODY)
    assert len(headers["webhook-signature"].split(" ")) == 2
    for secret in (old, new):
        Webhook(secret).verify(BODY, headers)
        signing.verify(secret, BODY, headers)
    with pytest.raises(WebhookVerificationError):
        signing.verify(signing.generate_secret(), BODY, headers)


def test_verifier_accepts_any_of_several_secrets() -> None:
    a, b = signing.generate_secret(), signing.generate_secret()
    headers = signing.build_headers([b], "msg_s", BODY)
    signing.verify([a, b], BODY, headers)


@pytest.mark.parametrize("offset", [-361, 361])
def test_timestamp_more_than_five_minutes_off_is_rejected(offset: int) -> None:
    secret = signing.generate_secret()
    ts = int(time.time()) + offset
    headers = signing.build_headers([secret], "msg_t", BODY, timestamp=ts)
    with pytest.raises(WebhookVerificationError, match="too"):
        signing.verify(secret, BODY, headers)
    with pytest.raises(RefError):
        Webhook(secret).verify(BODY, headers)


def test_timestamp_within_window_is_accepted() -> None:
    secret = signing.generate_secret()
    headers = signing.build_headers([secret], "msg_t", BODY, timestamp=int(time.time()) - 240)
    signing.verify(secret, BODY, headers)


@pytest.mark.parametrize(
    "sig_header",
    ["v2,AAAA", "v1", "v1,not base64!!", "", "v1a,xyz v0,abc"],
)
def test_malformed_signature_headers_are_rejected(sig_header: str) -> None:
    secret = signing.generate_secret()
    headers = signing.build_headers([secret], "msg_m", BODY)
    headers["webhook-signature"] = sig_header
    with pytest.raises(WebhookVerificationError):
        signing.verify(secret, BODY, headers)


def test_unknown_versions_are_skipped_not_fatal() -> None:
    secret = signing.generate_secret()
    headers = signing.build_headers([secret], "msg_v", BODY)
    headers["webhook-signature"] = "v2,abcd " + headers["webhook-signature"]
    signing.verify(secret, BODY, headers)


@pytest.mark.parametrize("ts", ["12.5", "-5", "1e9", "abc", "１７０００"])
def test_non_integer_timestamps_are_rejected(ts: str) -> None:
    secret = signing.generate_secret()
    headers = signing.build_headers([secret], "msg_n", BODY)
    headers["webhook-timestamp"] = ts
    with pytest.raises(WebhookVerificationError):
        signing.verify(secret, BODY, headers)


def test_secret_without_prefix_and_unpadded_decodes() -> None:
    key = b"k" * 25
    raw = base64.b64encode(key).decode().rstrip("=")
    assert signing.decode_secret(raw) == key
    assert signing.decode_secret("whsec_" + raw) == key
    with pytest.raises(ValueError):
        signing.decode_secret("whsec_***")
    with pytest.raises(ValueError):
        signing.decode_secret("whsec_")


def test_message_ids_are_unique() -> None:
    ids = {signing.new_message_id() for _ in range(100)}
    assert len(ids) == 100 and all(i.startswith("msg_") for i in ids)
