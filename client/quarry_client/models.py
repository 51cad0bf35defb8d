"""Typed results. Each keeps the full JSON in `raw`, so new server fields are never lost."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any, Generic, Self, TypeVar

T = TypeVar("T")

TERMINAL_JOB_STATUSES = frozenset({"succeeded", "partial", "failed", "canceled"})


@dataclass(frozen=True, kw_only=True)
class ApiObject:
    """Base of every result: known fields typed, everything in `raw`."""

    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Self:
        names = {item.name for item in fields(cls)} - {"raw"}
        return cls(raw=dict(data), **{name: data[name] for name in names if name in data})

    def get(self, key: str, default: Any = None) -> Any:
        """Any field of the response, typed or not."""
        return self.raw.get(key, default)


@dataclass(frozen=True, kw_only=True)
class Me(ApiObject):
    tenant_id: str = ""
    key_id: str = ""
    is_admin: bool = False
    credits_balance: int = 0


@dataclass(frozen=True, kw_only=True)
class Tenant(ApiObject):
    tenant_id: str = ""
    name: str = ""
    credits_balance: int = 0


@dataclass(frozen=True, kw_only=True)
class ApiKey(ApiObject):
    key_id: str = ""
    name: str = ""
    prefix: str = ""
    is_admin: bool = False
    created_at: str | None = None
    revoked_at: str | None = None


@dataclass(frozen=True, kw_only=True)
class IssuedKey(ApiObject):
    """A new key; `api_key` is shown only once."""

    key_id: str = ""
    api_key: str = ""
    tenant_id: str = ""
    name: str = ""
    prefix: str = ""
    is_admin: bool = False


@dataclass(frozen=True, kw_only=True)
class CreditBalance(ApiObject):
    """A tenant's balance after a top-up."""

    tenant_id: str = ""
    credits_balance: int = 0


@dataclass(frozen=True, kw_only=True)
class Balance(CreditBalance):
    """`GET /v1/billing/balance/{tenant_id}`: the balance, what running jobs hold, and the
    ledger's own sum (equal to the balance unless something is wrong)."""

    credits_held: int = 0
    ledger_sum: int | None = None
    credits_remaining: int | None = None


@dataclass(frozen=True, kw_only=True)
class Usage(ApiObject):
    tenant_id: str = ""
    group_by: str = "day"
    rows: list[dict[str, Any]] = field(default_factory=list)
    totals: dict[str, int] = field(default_factory=dict)
    credits_remaining: int | None = None


@dataclass(frozen=True, kw_only=True)
class RateLimits(ApiObject):
    tenant_id: str = ""
    rate_limits: dict[str, Any] | None = None


@dataclass(frozen=True, kw_only=True)
class TenantPlan(ApiObject):
    """The tenant's plan and its effective limits (`limits`), overrides (`rate_limits`) on top."""

    tenant_id: str = ""
    plan: str = ""
    limits: dict[str, Any] = field(default_factory=dict)
    rate_limits: dict[str, Any] | None = None


@dataclass(frozen=True, kw_only=True)
class PresignedUpload(ApiObject):
    upload_url: str = ""
    method: str = "PUT"
    headers: dict[str, str] = field(default_factory=dict)
    file_uri: str = ""
    expires_at: str | None = None
    upload_id: str | None = None
    max_bytes: int | None = None


@dataclass(frozen=True, kw_only=True)
class Job(ApiObject):
    """A job as `GET /v1/jobs/{id}` shows it (or the 200/202 answer of a job-creating call)."""

    job_id: str = ""
    status: str = "queued"
    operation: str | None = None
    file_name: str | None = None
    created_at: str | None = None
    started_at: str | None = None
    finished_at: str | None = None
    attempts: int = 0
    error: dict[str, Any] | None = None
    cost: dict[str, Any] | None = None
    metadata: dict[str, Any] | None = None
    progress: dict[str, Any] | None = None
    result: Any = None
    markdown: str | None = None
    plain_text: str | None = None
    status_url: str | None = None

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Self:
        # A finished sync answer says `status: success|partial` and keeps the job's own in `job_status`.
        if "job_status" in data:
            data = {**data, "status": data["job_status"]}
        return super().from_json(data)

    @property
    def done(self) -> bool:
        return self.status in TERMINAL_JOB_STATUSES

    @property
    def ok(self) -> bool:
        return self.status in ("succeeded", "partial")


def page_items(data: Mapping[str, Any], legacy_key: str) -> list[Any]:
    """The items of a list answer: the `{"data": [...], "has_more", "next_cursor"}` envelope,
    or (servers before the envelope) the list under `legacy_key`."""
    items = data.get("data")
    if items is None:
        items = data.get(legacy_key, [])
    return list(items) if isinstance(items, list) else []


def page_has_more(data: Mapping[str, Any]) -> bool:
    has_more = data.get("has_more")
    return bool(data.get("next_cursor")) if has_more is None else bool(has_more)


@dataclass(frozen=True, kw_only=True)
class ItemPage(ApiObject, Generic[T]):
    """One page of a list (API keys, artifacts, deliveries); the clients' `list_*` methods
    follow `next_cursor` and return every item."""

    data: list[T] = field(default_factory=list)
    has_more: bool = False
    next_cursor: str | None = None


@dataclass(frozen=True, kw_only=True)
class JobPage(ApiObject):
    """One page of `GET /v1/jobs`; `iter_jobs()` follows `next_cursor` for you."""

    jobs: list[Job] = field(default_factory=list)
    has_more: bool = False
    next_cursor: str | None = None

    @property
    def data(self) -> list[Job]:
        return self.jobs

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Self:
        jobs = [Job.from_json(item) for item in page_items(data, "jobs")]
        return cls(raw=dict(data), jobs=jobs, has_more=page_has_more(data),
                   next_cursor=data.get("next_cursor"))


@dataclass(frozen=True, kw_only=True)
class ExtractResult(ApiObject, Generic[T]):
    """An extraction. `result` is the JSON the server returned; `data` is that JSON as the
    pydantic model passed as `schema` (or the JSON itself for a dict/JSON Schema).

    When the result does not fit the model (an `allow_partial` answer with missing fields,
    or a model stricter than its JSON Schema), `data` is None, `result` still holds what
    was extracted; `validation_errors` holds the server's messages (strings) and
    `model_errors` the model's own complaints (`{"path", "message", "type"}`).
    """

    data: T | None = None
    job_id: str = ""
    status: str = "success"
    """`success` or `partial`."""
    result: Any = None
    cost: dict[str, Any] | None = None
    validation_errors: list[Any] | None = None
    model_errors: list[dict[str, Any]] = field(default_factory=list)
    """Why the result did not validate as the pydantic model passed as `schema`."""
    confidence: float | None = None
    raw_text: str | None = None
    credits_remaining: int | None = None
    processed_at: str | None = None

    @property
    def is_partial(self) -> bool:
        """The server answered `partial`, or the result did not validate as the model."""
        return self.status == "partial" or (self.data is None and self.result is not None)

    @classmethod
    def from_job(cls, job: Job) -> Self:
        status = "success" if job.status == "succeeded" else "partial"
        return cls.from_json({**job.raw, "status": status, "processed_at": job.finished_at})


@dataclass(frozen=True)
class PageImage:
    """A page of a job's file as a PNG (`GET /v1/jobs/{id}/pages/{n}.png`), with the page's
    size in the unit of `fields[...]["bbox"]` (points): `bbox[0] / width` is a share of the
    picture's width."""

    png: bytes
    width: float
    height: float


@dataclass(frozen=True)
class PageMarkdown:
    """One page of a to-markdown result: its number (1-based), markdown and size."""

    page: int
    markdown: str
    width: float | None = None
    height: float | None = None


@dataclass(frozen=True, kw_only=True)
class MarkdownResult(ApiObject):
    job_id: str = ""
    markdown: str = ""
    plain_text: str = ""
    meta: dict[str, Any] = field(default_factory=dict)
    cost: dict[str, Any] | None = None
    credits_remaining: int | None = None

    @property
    def pages(self) -> list[PageMarkdown]:
        """Per-page markdown (servers that send it; else empty), in page order."""
        items = self.raw.get("pages")
        if not isinstance(items, list):
            return []
        return [PageMarkdown(page=int(item.get("page", index + 1)), markdown=str(item.get("markdown", "")),
                             width=item.get("width"), height=item.get("height"))
                for index, item in enumerate(items) if isinstance(item, dict)]

    @classmethod
    def from_job(cls, job: Job) -> Self:
        return cls.from_json(job.raw)


@dataclass(frozen=True, kw_only=True)
class BatchCreated(ApiObject):
    batch_id: str = ""
    total: int = 0
    status_url: str | None = None


@dataclass(frozen=True, kw_only=True)
class BatchPage(ApiObject):
    """One page of `GET /v1/batches`; `iter_batches()` follows `next_cursor`."""

    data: list[Batch] = field(default_factory=list)
    has_more: bool = False
    next_cursor: str | None = None

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Self:
        batches = [Batch.from_json(item) for item in page_items(data, "batches")]
        return cls(raw=dict(data), data=batches, has_more=page_has_more(data),
                   next_cursor=data.get("next_cursor"))


@dataclass(frozen=True, kw_only=True)
class Batch(ApiObject):
    batch_id: str = ""
    operation: str | None = None
    status: str | None = None
    total: int = 0
    counts: dict[str, int] = field(default_factory=dict)
    finished: int = 0
    progress: float | None = None
    """Finished share, 0..1."""
    eta_s: float | None = None
    created_at: str | None = None
    canceled_at: str | None = None
    completed_at: str | None = None


@dataclass(frozen=True, kw_only=True)
class WebhookSecret(ApiObject):
    secret: str = ""
    previous_secret: str | None = None
    """Still signs (as a second signature) until `previous_valid_until`, after a rotation."""
    previous_valid_until: str | None = None


@dataclass(frozen=True, kw_only=True)
class Delivery(ApiObject):
    delivery_id: str = ""
    event: str | None = None
    url: str | None = None
    status: str | None = None
    attempts: int = 0
    last_status_code: int | None = None
    next_attempt_at: str | None = None
    created_at: str | None = None
    delivered_at: str | None = None
    attempt_log: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True, kw_only=True)
class TrainingJob(ApiObject):
    training_job_id: str = ""
    status: str = "queued"
    progress: Any = None
    report: dict[str, Any] | None = None
    artifact_id: str | None = None
    error: dict[str, Any] | None = None
    status_url: str | None = None

    @property
    def done(self) -> bool:
        return self.status in TERMINAL_JOB_STATUSES


@dataclass(frozen=True, kw_only=True)
class Artifact(ApiObject):
    artifact_id: str = ""
    name: str | None = None
    version: int | None = None
    status: str | None = None
    """`active` or `retired`."""
    mode: str | None = None
    schema: dict[str, Any] | None = None
    accuracy: float | None = None
    training_job_id: str | None = None
    created_at: str | None = None
    retired_at: str | None = None
