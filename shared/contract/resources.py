"""What the other routes answer: uploads, batches, artifacts, training, webhooks, billing,
keys, health. Shapes only; the services build the values."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from shared.contract.base import ResponseBody


class Presigned(ResponseBody):
    upload_id: str
    upload_url: str
    method: str = Field(examples=["PUT"])
    headers: dict[str, str]
    file_uri: str
    expires_at: str | None
    max_bytes: int


class UploadStored(ResponseBody):
    upload_id: str
    size: int


class BatchAccepted(ResponseBody):
    batch_id: str
    total: int
    status_url: str


class BatchCounts(ResponseBody):
    queued: int
    running: int
    succeeded: int
    partial: int
    failed: int
    canceled: int


class BatchOut(ResponseBody):
    batch_id: str
    operation: str
    status: str
    total: int
    counts: BatchCounts
    finished: int
    progress: float = Field(description="0..1")
    eta_s: float | None = Field(description="Seconds left at the rate so far; null until "
                                            "an item has finished.")
    created_at: str | None
    canceled_at: str | None
    completed_at: str | None
    results_url: str


class Accuracy(ResponseBody):
    """Held-out accuracy (0..1) of the baseline pipeline and of the one trained."""

    before: float
    after: float


class ArtifactOut(ResponseBody):
    """A trained pipeline. `pipeline` and `report` are shown by `GET /v1/artifacts/{id}`
    only, not in the list."""

    artifact_id: str
    name: str | None
    version: int
    status: str = Field(examples=["active"], description="active or retired")
    mode: str | None
    schema_: dict[str, Any] | None = Field(alias="schema")
    engine: str | None
    variant: str | None
    accuracy: Accuracy | None
    training_job_id: str | None
    created_at: str | None
    retired_at: str | None
    pipeline: dict[str, Any] | None = None
    report: dict[str, Any] | None = None


class TrainingAccepted(ResponseBody):
    training_job_id: str
    status: str
    status_url: str


class TrainingJobOut(ResponseBody):
    training_job_id: str
    name: str | None
    status: str
    mode: str | None
    examples: int
    progress: dict[str, Any] | None
    report: dict[str, Any] | None
    artifact_id: str | None
    error: dict[str, Any] | None
    created_at: str | None
    started_at: str | None
    finished_at: str | None


class AttemptOut(ResponseBody):
    number: int
    started_at: str | None
    duration_ms: float
    status_code: int | None
    error: str | None
    response_excerpt: str | None


class DeliveryOut(ResponseBody):
    delivery_id: str
    webhook_id: str
    event: str = Field(examples=["job.succeeded"])
    url: str
    status: str
    attempts: int
    next_attempt_at: str | None
    last_status_code: int | None
    created_at: str | None
    delivered_at: str | None
    attempt_log: list[AttemptOut]


class WebhookSecretOut(ResponseBody):
    secret: str
    previous_secret: str | None
    previous_valid_until: str | None


class BalanceView(ResponseBody):
    tenant_id: str
    credits_balance: int
    credits_held: int
    ledger_sum: int
    credits_remaining: int


class UsageRow(ResponseBody):
    """One group: its key (`day`, `operation` or `mode`, as grouped by) and its sums."""

    jobs: int
    pages: int
    credits: int


class UsageTotals(ResponseBody):
    jobs: int
    pages: int
    credits: int


class UsageOut(ResponseBody):
    tenant_id: str
    group_by: str
    from_: str | None = Field(alias="from")
    to: str | None
    rows: list[UsageRow]
    totals: UsageTotals
    credits_remaining: int


class RateLimitsOut(ResponseBody):
    tenant_id: str
    rate_limits: dict[str, Any] | None


class BucketLimitOut(ResponseBody):
    """One rate bucket as it applies: `burst` requests at once, then `per_minute`."""

    per_minute: float
    rate_per_s: float
    burst: int


class PlanLimitsOut(ResponseBody):
    """A tenant's effective limits: its plan with its own overrides on top."""

    heavy: BucketLimitOut
    general: BucketLimitOut
    max_upload_bytes: int
    free_pages_per_month: int
    free_pages_left: int
    max_batch_items: int


class TenantPlanOut(ResponseBody):
    tenant_id: str
    plan: str
    limits: PlanLimitsOut
    rate_limits: dict[str, Any] | None = Field(
        description="The tenant's own rate overrides, applied on top of the plan.")


class Health(ResponseBody):
    status: str = Field(examples=["ok"])


class Readiness(ResponseBody):
    status: str = Field(examples=["ready"])
    checks: dict[str, str]
