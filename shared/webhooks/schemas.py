"""Webhook event bodies and how deliveries are shown to clients."""

from __future__ import annotations

import json
from typing import Any

from shared.clock import isoformat
from shared.jobs.models import Job
from shared.jobs.schemas import job_view
from shared.jobs.states import JobStatus
from shared.settings import get_settings
from shared.webhooks.models import WebhookAttempt, WebhookDelivery
from shared.webhooks.secrets import SecretState

EVENT_FOR_STATUS = {
    JobStatus.SUCCEEDED: "job.succeeded",
    JobStatus.PARTIAL: "job.partial",
    JobStatus.FAILED: "job.failed",
}
BATCH_COMPLETED = "batch.completed"
RESULT_FIELDS_KEPT = frozenset({
    "job_id", "operation", "status", "file_name", "created_at", "started_at", "finished_at",
    "attempts", "error", "cost", "metadata", "progress", "purged",
})


def event_body(delivery: WebhookDelivery, data: dict[str, Any]) -> str:
    """`{"type", "timestamp", "data"}`, serialised once so the signature covers these bytes."""
    envelope = {"type": delivery.event, "timestamp": isoformat(delivery.created_at), "data": data}
    return json.dumps(envelope, separators=(",", ":"), default=str)


def job_event_data(job: Job) -> dict[str, Any]:
    """The job view; when that is too large, the view without its result plus a link to it."""
    view = job_view(job)
    if len(json.dumps(view, default=str)) <= get_settings().webhook_max_payload_bytes:
        return view
    thin = {key: value for key, value in view.items() if key in RESULT_FIELDS_KEPT}
    thin.update(result_omitted=True,
                result_url=f"{get_settings().public_base_url}/v1/jobs/{job.id}")
    return thin


def delivery_view(delivery: WebhookDelivery, attempts: list[WebhookAttempt]) -> dict[str, Any]:
    return {
        "delivery_id": delivery.id,
        "webhook_id": delivery.id,
        "event": delivery.event,
        "url": delivery.url,
        "status": delivery.status,
        "attempts": delivery.attempts,
        "next_attempt_at": isoformat(delivery.next_attempt_at) if delivery.status == "pending"
        else None,
        "last_status_code": delivery.last_status_code,
        "created_at": isoformat(delivery.created_at),
        "delivered_at": isoformat(delivery.delivered_at),
        "attempt_log": [attempt_view(attempt) for attempt in attempts],
    }


def attempt_view(attempt: WebhookAttempt) -> dict[str, Any]:
    return {
        "number": attempt.number,
        "started_at": isoformat(attempt.started_at),
        "duration_ms": round(attempt.duration_ms, 1),
        "status_code": attempt.status_code,
        "error": attempt.error,
        "response_excerpt": attempt.response_excerpt,
    }


def secret_view(state: SecretState) -> dict[str, Any]:
    return {
        "secret": state.secret,
        "previous_secret": state.previous_secret,
        "previous_valid_until": isoformat(state.previous_valid_until),
    }
