"""Standard Webhooks signatures (https://www.standardwebhooks.com/).

A message is signed as ``v1,`` + base64(HMAC-SHA256(key, f"{id}.{timestamp}.{body}")), where
the key is the base64 part of a ``whsec_...`` secret. During a secret rotation the
``webhook-signature`` header carries one ``v1,`` signature per live secret, separated by
spaces; a receiver accepts the message if any of them verifies.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
import time
from collections.abc import Mapping, Sequence

SECRET_PREFIX = "whsec_"  # noqa: S105  # a format prefix, not a secret
# The spec asks for 24..64 random bytes; 32 matches the HMAC-SHA256 block strength.
SECRET_BYTES = 32
# Receivers reject timestamps further than this from their clock (replay window).
TOLERANCE_SECONDS = 5 * 60
_MAX_SIGNATURES = 10  # a header with more is malformed; bounding it bounds the work

HEADER_ID = "webhook-id"
HEADER_TIMESTAMP = "webhook-timestamp"
HEADER_SIGNATURE = "webhook-signature"


class WebhookVerificationError(Exception):
    """The message is not authentic (bad or missing headers, stale timestamp, no match)."""


def generate_secret(nbytes: int = SECRET_BYTES) -> str:
    """A fresh endpoint secret, ``whsec_`` + base64 of `nbytes` random bytes."""
    if not 24 <= nbytes <= 64:
        raise ValueError("a webhook secret has 24 to 64 bytes")
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(nbytes)).decode("ascii")


def new_message_id() -> str:
    """A unique message id; it stays the same across retries of one message."""
    return "msg_" + secrets.token_urlsafe(18)


def decode_secret(secret: str) -> bytes:
    """The HMAC key bytes of a ``whsec_...`` secret (the prefix is optional)."""
    raw = secret.removeprefix(SECRET_PREFIX)
    try:
        key = base64.b64decode(raw + "=" * (-len(raw) % 4), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError("webhook secret is not valid base64") from exc
    if not key:
        raise ValueError("webhook secret is empty")
    return key


def _mac(key: bytes, msg_id: str, timestamp: int, body: bytes) -> bytes:
    signed = msg_id.encode("utf-8") + b"." + str(timestamp).encode("ascii") + b"." + body
    return hmac.new(key, signed, hashlib.sha256).digest()


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """One ``v1,<base64>`` signature of the message under `secret`."""
    digest = _mac(decode_secret(secret), msg_id, timestamp, body)
    return "v1," + base64.b64encode(digest).decode("ascii")


def signature_header(secrets_: Sequence[str], msg_id: str, timestamp: int, body: bytes) -> str:
    """The ``webhook-signature`` value: one signature per live secret (rotation sends two)."""
    if not secrets_:
        raise ValueError("at least one secret is needed to sign")
    return " ".join(sign(s, msg_id, timestamp, body) for s in secrets_)


def build_headers(
    secrets_: Sequence[str], msg_id: str, body: bytes, *, timestamp: int | None = None
) -> dict[str, str]:
    """The headers of one delivery attempt. The timestamp is the attempt's, not the event's:
    a retry three days later must still fall inside the receiver's 5-minute window."""
    ts = int(time.time()) if timestamp is None else timestamp
    return {
        HEADER_ID: msg_id,
        HEADER_TIMESTAMP: str(ts),
        HEADER_SIGNATURE: signature_header(secrets_, msg_id, ts, body),
        "content-type": "application/json",
    }


def _parse_timestamp(value: str, now: float, tolerance: int) -> int:
    if not value.isascii() or not value.isdigit() or len(value) > 12:
        raise WebhookVerificationError("invalid webhook-timestamp")
    ts = int(value)
    if ts < now - tolerance:
        raise WebhookVerificationError("message timestamp too old")
    if ts > now + tolerance:
        raise WebhookVerificationError("message timestamp too new")
    return ts


def _candidate_signatures(header: str) -> list[bytes]:
    out: list[bytes] = []
    for part in header.split(" ")[:_MAX_SIGNATURES]:
        version, sep, value = part.partition(",")
        if not sep or version != "v1":
            continue  # unknown versions are skipped, not fatal (forward compatibility)
        try:
            out.append(base64.b64decode(value, validate=True))
        except (binascii.Error, ValueError):
            continue
    return out


def verify(
    secrets_: str | Sequence[str],
    body: bytes,
    headers: Mapping[str, str],
    *,
    now: float | None = None,
    tolerance: int = TOLERANCE_SECONDS,
) -> None:
    """Raise WebhookVerificationError unless one ``v1,`` signature matches one secret.

    `secrets_` may hold several secrets so a receiver can accept both during its own rotation.
    """
    lowered = {k.lower(): v for k, v in headers.items()}
    msg_id = lowered.get(HEADER_ID)
    ts_value = lowered.get(HEADER_TIMESTAMP)
    sig_value = lowered.get(HEADER_SIGNATURE)
    if not (msg_id and ts_value and sig_value):
        raise WebhookVerificationError("missing webhook headers")
    ts = _parse_timestamp(ts_value, time.time() if now is None else now, tolerance)
    candidates = _candidate_signatures(sig_value)
    keys = [secrets_] if isinstance(secrets_, str) else list(secrets_)
    for secret in keys:
        expected = _mac(decode_secret(secret), msg_id, ts, body)
        # compare_digest: the time taken does not reveal how many leading bytes matched
        if any(hmac.compare_digest(expected, c) for c in candidates):
            return
    raise WebhookVerificationError("no matching signature")
