"""One delivery attempt: claim it, POST the signed event, record what happened.

The HTTP request runs outside any transaction. A claim moves `next_attempt_at`
past the attempt's own timeout, so a duplicate message (a redelivered ETA task,
the sweeper) finds the attempt not yet due and does nothing.
"""

from __future__ import annotations

import logging
import random
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import or_, update
from sqlalchemy.orm import Session

from shared.clock import utcnow
from shared.db.session import transaction
from shared.jobs.models import Job
from shared.metrics import WEBHOOK_DELIVERIES
from shared.net.outbound import OutboundResponse, post_pinned
from shared.net.ssrf import UnsafeUrl
from shared.settings import get_settings
from shared.webhooks.models import WebhookAttempt, WebhookDelivery
from shared.webhooks.schemas import event_body, job_event_data
from shared.webhooks.secrets import signing_secrets
from shared.webhooks.service import FAILED, PENDING, SUCCEEDED
from shared.webhooks.signing import signed_headers

CLAIM_SLACK_S = 1.0
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PreparedAttempt:
    delivery_id: str
    generation: int
    number: int
    chain_number: int
    url: str
    body: str
    headers: dict[str, str]


@dataclass(frozen=True)
class AttemptResult:
    started_at: datetime
    duration_ms: float
    status_code: int | None = None
    error: str | None = None
    excerpt: str | None = None
    permanent: bool = False

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def attempt_delivery(delivery_id: str, generation: int) -> float | None:
    """Make one attempt if it is due; return seconds until the next one, or None when done."""
    with transaction() as session:
        prepared = _claim(session, delivery_id, generation)
    if prepared is None:
        return None
    result = _post(prepared)
    with transaction() as session:
        return _record(session, prepared, result)


def _claim(session: Session, delivery_id: str, generation: int) -> PreparedAttempt | None:
    now = utcnow()
    lease = now + timedelta(seconds=get_settings().webhook_timeout_s + 60)
    claimed = session.execute(
        update(WebhookDelivery)
        .where(WebhookDelivery.id == delivery_id, WebhookDelivery.generation == generation,
               WebhookDelivery.status == PENDING,
               or_(WebhookDelivery.next_attempt_at.is_(None),
                   WebhookDelivery.next_attempt_at <= now + timedelta(seconds=CLAIM_SLACK_S)))
        .values(attempts=WebhookDelivery.attempts + 1,
                chain_attempts=WebhookDelivery.chain_attempts + 1, next_attempt_at=lease)
        .returning(WebhookDelivery.attempts, WebhookDelivery.chain_attempts)
        .execution_options(synchronize_session=False)
    ).first()
    if claimed is None:
        return None
    delivery = session.get_one(WebhookDelivery, delivery_id)
    body = event_body(delivery, _event_data(session, delivery))
    headers = signed_headers(signing_secrets(session, delivery.tenant_id),
                             message_id=delivery.id, timestamp=now, body=body)
    return PreparedAttempt(delivery_id=delivery_id, generation=generation, number=claimed[0],
                           chain_number=claimed[1], url=delivery.url, body=body, headers=headers)


def _event_data(session: Session, delivery: WebhookDelivery) -> dict[str, Any]:
    if delivery.job_id:
        return job_event_data(session.get_one(Job, delivery.job_id))
    from shared.batches.service import batch_event_data

    return batch_event_data(session, delivery.batch_id or "")


def _post(prepared: PreparedAttempt) -> AttemptResult:
    started, clock = utcnow(), time.perf_counter()

    def elapsed() -> float:
        return (time.perf_counter() - clock) * 1000

    try:
        response: OutboundResponse = post_pinned(
            prepared.url, content=prepared.body.encode(), headers=prepared.headers,
            timeout_s=get_settings().webhook_timeout_s)
    except UnsafeUrl as exc:
        return AttemptResult(started, elapsed(), error=exc.detail, permanent=True)
    except httpx.TimeoutException:
        return AttemptResult(started, elapsed(), error="Timed out.")
    except httpx.HTTPError as exc:
        return AttemptResult(started, elapsed(), error=f"Connection failed: {type(exc).__name__}.")
    except Exception as exc:  # noqa: BLE001 - an attempt that cannot be made ends the delivery
        # Retrying would fail the same way; left pending, the sweeper would resend it forever.
        log.exception("webhook delivery %s could not be attempted", prepared.delivery_id)
        return AttemptResult(started, elapsed(), permanent=True,
                             error=f"The delivery could not be attempted: {type(exc).__name__}.")
    return AttemptResult(started, elapsed(), status_code=response.status_code,
                         excerpt=response.excerpt)


def _record(session: Session, prepared: PreparedAttempt, result: AttemptResult) -> float | None:
    WEBHOOK_DELIVERIES.labels("delivered" if result.ok else
                              "timeout" if result.error == "Timed out." else "failed").inc()
    session.add(WebhookAttempt(
        delivery_id=prepared.delivery_id, number=prepared.number, started_at=result.started_at,
        duration_ms=result.duration_ms, status_code=result.status_code,
        error=(result.error or "")[:500] or None, response_excerpt=result.excerpt,
    ))
    delivery = session.get_one(WebhookDelivery, prepared.delivery_id, with_for_update=True)
    if delivery.generation != prepared.generation or delivery.status != PENDING:
        return None
    delivery.last_status_code, delivery.last_error = result.status_code, result.error
    if result.ok:
        delivery.status, delivery.delivered_at, delivery.next_attempt_at = SUCCEEDED, utcnow(), None
        return None
    delay = retry_delay(prepared.chain_number)
    if result.permanent or delay is None:
        delivery.status, delivery.next_attempt_at = FAILED, None
        return None
    delivery.next_attempt_at = utcnow() + timedelta(seconds=delay)
    return delay


def retry_delay(failed_attempts: int) -> float | None:
    """The jittered wait after the `failed_attempts`-th failure; None once the schedule ends."""
    settings = get_settings()
    schedule = settings.webhook_retry_schedule_s
    if failed_attempts > len(schedule):
        return None
    jitter = settings.webhook_retry_jitter
    return float(schedule[failed_attempts - 1]) * (1 + random.uniform(-jitter, jitter))
