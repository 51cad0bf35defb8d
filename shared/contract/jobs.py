"""What job routes answer: a job, an accepted job, a finished sync call."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from shared.contract.base import ResponseBody


class Cost(ResponseBody):
    credits_used: int
    pages: int


class Progress(ResponseBody):
    pages_done: int
    pages_total: int


class JobOut(ResponseBody):
    """A job as `GET /v1/jobs/{id}` shows it. A finished job also carries its result fields:
    extract `result`, `validation_errors`, `confidence`, `fields`, `raw_text`; to-markdown
    `markdown`, `plain_text`, `meta`. A purged job's result is `purged: true`, `purged_at`."""

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
