"""Webhook tasks: deliver one event (retried by Celery on the delivery's schedule), sweep."""

from __future__ import annotations

import logging
from typing import Any

from celery import Task

from shared.db.session import transaction
from shared.errors import ServiceUnavailable
from shared.jobs.states import DELIVER_WEBHOOK_TASK, SWEEP_WEBHOOKS_TASK
from shared.settings import get_settings
from shared.webhooks.delivery import attempt_delivery
from shared.webhooks.service import overdue_deliveries
from worker.celery_app import app

log = logging.getLogger(__name__)
DATABASE_RETRY_S = 5.0


@app.task(name=DELIVER_WEBHOOK_TASK, bind=True, max_retries=None)
def deliver_webhook(self: Task[Any, Any], delivery_id: str, generation: int) -> None:
    """One attempt; a failed one is retried with the jittered backoff the delivery chose."""
    try:
        retry_in = attempt_delivery(delivery_id, generation)
    except ServiceUnavailable as exc:
        log.warning("database unavailable while delivering a webhook: %s", exc.detail)
        retry_in = DATABASE_RETRY_S
    if retry_in is not None:
        raise self.retry(countdown=retry_in)


@app.task(name=SWEEP_WEBHOOKS_TASK)
def sweep_webhooks() -> int:
    """Send again deliveries whose message was lost (their attempt is long overdue)."""
    overdue_s = get_settings().webhook_timeout_s + 120
    with transaction() as session:
        sent = overdue_deliveries(session, overdue_s=overdue_s)
    if sent:
        log.info("webhook sweeper re-sent %d deliveries", len(sent))
    return len(sent)
