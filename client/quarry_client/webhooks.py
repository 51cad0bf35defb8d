"""Verify Quarry webhooks (Standard Webhooks signatures) with the standard library alone."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Mapping, Sequence
from typing import Any

SECRET_PREFIX = "whsec_"
DEFAULT_TOLERANCE_S = 300


class WebhookVerificationError(ValueError):
    """The payload is not a genuine, fresh webhook from Quarry."""


def _secret_bytes(secret: str) -> bytes:
    encoded = secret[len(SECRET_PREFIX):] if secret.startswith(SECRET_PREFIX) else secret
    try:
        return base64.b64decode(encoded, validate=True)
    except ValueError as exc:
        raise WebhookVerificationError("webhook secret is not valid base64") from exc


def sign_webhook(secret: str, msg_id: str, timestamp: int, payload: bytes | str) -> str:
    """The `webhook-signature` value (`v1,<base64>`) for a message; handy in tests."""
    body = payload.decode() if isinstance(payload, bytes) else payload
    digest = hmac.new(_secret_bytes(secret), f"{msg_id}.{timestamp}.{body}".encode(), hashlib.sha256)
    return "v1," + base64.b64encode(digest.digest()).decode()


def verify_webhook(payload: bytes | str, headers: Mapping[str, str], secret: str | Sequence[str], *,
                   tolerance_s: int = DEFAULT_TOLERANCE_S, now: float | None = None) -> Any:
    """Check `webhook-id`/`-timestamp`/`-signature` and return the parsed JSON body.

    Raises `WebhookVerificationError` on a missing header, a timestamp outside
    `tolerance_s` (replays) or no matching `v1` signature (constant-time compare).
    Pass the raw request body, exactly as received. During a secret rotation pass both
    secrets (`[secret, previous_secret]`): either may have signed.
    """
    lowered = {name.lower(): value for name, value in headers.items()}
    msg_id, stamp, signatures = (lowered.get(f"webhook-{name}") for name in ("id", "timestamp", "signature"))
    if not (msg_id and stamp and signatures):
        raise WebhookVerificationError("missing webhook-id, webhook-timestamp or webhook-signature")
    try:
        timestamp = int(stamp)
    except ValueError as exc:
        raise WebhookVerificationError("invalid webhook-timestamp") from exc
    current = time.time() if now is None else now
    if abs(current - timestamp) > tolerance_s:
        raise WebhookVerificationError("webhook timestamp outside the tolerance window")
    secrets = [secret] if isinstance(secret, str) else [s for s in secret if s]
    expected = [sign_webhook(s, msg_id, timestamp, payload).split(",", 1)[1].encode() for s in secrets]
    for candidate in signatures.split():
        version, _, signature = candidate.partition(",")
        if version == "v1" and any(hmac.compare_digest(signature.encode(), e) for e in expected):
            return json.loads(payload)
    raise WebhookVerificationError("no matching webhook signature")
