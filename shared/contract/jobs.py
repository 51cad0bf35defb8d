"""What job routes answer: a job, an accepted job, a finished sync call."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from pydantic import Field

from shared.contract.base import ResponseBody
from shared.jobs.states import Operation

RAW_TEXT_LIMIT = 100_000
"""`rawText` (the second seed's name) carries at most this many characters of the document's
text, so a long document does not double the answer's size; `raw_text` keeps it whole."""


class Cost(ResponseBody):
    credits_used: int
    pages: int


class Progress(ResponseBody):
    pages_done: int
    pages_total: int


class RouteOut(ResponseBody):
    """The route an extraction took and why (docs/routing.md)."""

    name: str = Field(examples=["local_then_llm"], description=(
        "local, local_then_llm, llm, byok, trained_llm, local_cross_check or llm_cross_check"))
    reason: str = Field(examples=["a text document with a simple schema: the local engine "
                                  "answers first, the model only when it misses a required "
                                  "field or is unsure"])
    escalated: bool = Field(default=False, description=(
        "local_then_llm: the local answer fell short and the model was asked"))
    escalation_reason: str | None = None
    local_fallback: str | None = Field(default=None, description=(
        "why the local engine answered although the route called a model (every server "
        "provider failed and the local engine is the chain's last link)"))


class MissingOut(ResponseBody):
    """What a `partial` extraction lacks because a provider kept rate-limiting it."""

    pages: list[int] = Field(examples=[[5, 6]])
    reason: str = Field(examples=["rate_limited"])
    detail: str | None = None


class JobOut(ResponseBody):
    """A job as `GET /v1/jobs/{id}` shows it. A finished job also carries its result fields:
    extract `result`, `validation_errors`, `confidence`, `fields`, `raw_text`; to-markdown
    `markdown`, `plain_text`, `meta`. A purged job's result is `purged: true`, `purged_at`.
    An extract job with a result also carries the second seed's keys (`seed_keys`)."""

    job_id: str
    operation: str = Field(examples=["inference.extract"])
    status: str = Field(examples=["succeeded"],
                        description="queued, running, succeeded, partial, failed or canceled")
    file_name: str | None = None
    created_at: str | None = None
    started_at: str | None = None
    finished_at: str | None = None
    attempts: int = 0
    error: dict[str, Any] | None = None
    cost: Cost | None = None
    metadata: dict[str, Any] | None = None
    progress: Progress | None = None
    purged: bool = False
    result: Any = None
    validation_errors: list[Any] | None = None
    confidence: float | None = None
    raw_text: str | None = None
    markdown: str | None = None
    plain_text: str | None = None
    meta: dict[str, Any] | None = None
    engine: str | None = Field(default=None, examples=["llm:openai/gpt-4o-mini"],
                               description="extract: `local` or `llm:<model>`")
    route: RouteOut | None = Field(default=None,
                                   description="extract: the route taken and why")
    model: str | None = Field(default=None, description="extract: the model that answered")
    models: list[str] | None = Field(
        default=None, description="extract: every model that answered (chunks, fallbacks)")
    missing: MissingOut | None = Field(
        default=None, description="a `partial` extract: pages a rate limit left unextracted")
    # The second seed product's names for a finished extract job, beside Quarry's own, so a
    # client written for it reads the answer unchanged (see `seed_keys`).
    extractedData: Any = Field(default=None, description="= `result`")
    confidenceScore: int | None = Field(default=None, description="= `confidence` (0–100)")
    processedAt: str | None = Field(default=None, description="= `finished_at`")
    creditsRemaining: int | None = Field(
        default=None, description="the tenant's credit balance (after this job's charge)")
    rawText: str | None = Field(
        default=None, description=f"`raw_text`, cut to its first {RAW_TEXT_LIMIT:,} characters")


def seed_keys(view: Mapping[str, Any], *, credits_remaining: int | None) -> dict[str, Any]:
    """The second seed's keys for a job view: only an extract job that has a result (not a
    queued, failed or purged one) gets them; every value is one of Quarry's own keys."""
    if view.get("operation") != Operation.EXTRACT or "result" not in view:
        return {}
    confidence = view.get("confidence")
    raw_text = view.get("raw_text")
    keys: dict[str, Any] = {
        "extractedData": view["result"],
        "confidenceScore": None if confidence is None else round(confidence),
        "processedAt": view.get("finished_at"),
        "rawText": None if raw_text is None else raw_text[:RAW_TEXT_LIMIT],
    }
    if credits_remaining is not None:
        keys["creditsRemaining"] = credits_remaining
    return keys


class JobAccepted(ResponseBody):
    """202: the job runs on; poll `status_url` (also in the `Location` header)."""

    job_id: str
    status: str = Field(examples=["queued"])
    status_url: str = Field(examples=["/v1/jobs/job_abc123"])


class JobFinished(JobOut):
    """200 from a job-creating call that finished within `wait`: the job view plus the
    call's outcome. `status` is `success` or `partial` (`job_status` is the job's own)."""

    status: Literal["success", "partial"] = Field(examples=["success"])
    job_status: str
    credits_remaining: int
    processed_at: str | None = None
