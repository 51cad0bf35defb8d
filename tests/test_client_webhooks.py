"""The client's stdlib webhook verifier agrees with the `standardwebhooks` reference."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime

import pytest
from quarry_client import WebhookVerificationError, sign_webhook, verify_webhook
from standardwebhooks import Webhook

SECRET = "whsec_" + base64.b64encode(b"0123456789abcdef0123456789abcdef").decode()
BODY = json.dumps({"type": "job.succeeded", "data": {"job_id": "job_1"}})


def headers_from_reference(msg_id: str, when: datetime, body: str) -> dict[str, str]:
    signature = Webhook(SECRET).sign(msg_id, when, body)
    return {"webhook-id": msg_id, "webhook-timestamp": str(int(when.timestamp())),
            "webhook-signature": signature}


def test_reference_signature_verifies() -> None:
    now = datetime.now(tz=UTC)
    headers = headers_from_reference("msg_1", now, BODY)
    assert verify_webhook(BODY.encode(), headers, SECRET) == json.loads(BODY)
    upper = {name.title(): value for name, value in headers.items()}
    assert verify_webhook(BODY, upper, SECRET)["data"]["job_id"] == "job_1"


def test_our_signature_verifies_with_reference() -> None:
    stamp = int(datetime.now(tz=UTC).timestamp())
    signature = sign_webhook(SECRET, "msg_2", stamp, BODY)
    headers = {"webhook-id": "msg_2", "webhook-timestamp": str(stamp), "webhook-signature": signature}
    assert Webhook(SECRET).verify(BODY, headers) == json.loads(BODY)


def test_one_of_several_signatures_may_match() -> None:
    now = datetime.now(tz=UTC)
    headers = headers_from_reference("msg_3", now, BODY)
    headers["webhook-signature"] = "v1,bm90LWl0 " + headers["webhook-signature"]
    assert verify_webhook(BODY, headers, SECRET)


@pytest.mark.parametrize("tamper", ["body", "id", "secret", "stale", "future", "missing", "version"])
def test_tampered_or_stale_messages_are_refused(tamper: str) -> None:
    now = datetime.now(tz=UTC)
    headers = headers_from_reference("msg_4", now, BODY)
    body, secret, clock = BODY, SECRET, now.timestamp()
    if tamper == "body":
        body = BODY.replace("job_1", "job_2")
    elif tamper == "id":
        headers["webhook-id"] = "msg_5"
    elif tamper == "secret":
        secret = "whsec_" + base64.b64encode(b"another-secret-another-secret!!!").decode()
    elif tamper == "stale":
        clock += 301
    elif tamper == "future":
        clock -= 301
    elif tamper == "missing":
        del headers["webhook-signature"]
    elif tamper == "version":
        headers["webhook-signature"] = headers["webhook-signature"].replace("v1,", "v2,")
    with pytest.raises(WebhookVerificationError):
        verify_webhook(body, headers, secret, now=clock)
