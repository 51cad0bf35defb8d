"""The I/O-free parts shared by both clients: settings, request building, results, polling."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

import httpx

from quarry_client import models
from quarry_client.calls import Call
from quarry_client.errors import error_from_job
from quarry_client.files import PRESIGN_THRESHOLD
from quarry_client.retry import RetryPolicy

DEFAULT_URL = "http://127.0.0.1:8000"
USER_AGENT = "quarry-client/0.1.0"


@dataclass(frozen=True)
class ClientSettings:
    """How a client talks to the API. `api_key`/`base_url` fall back to QUARRY_API_KEY / QUARRY_URL."""

    api_key: str | None = None
    base_url: str | None = None
    timeout: float = 60.0
    connect_timeout: float = 10.0
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    presign_threshold: int = PRESIGN_THRESHOLD

    def resolved_key(self) -> str | None:
        return self.api_key or os.environ.get("QUARRY_API_KEY")

    def resolved_url(self) -> str:
        return (self.base_url or os.environ.get("QUARRY_URL") or DEFAULT_URL).rstrip("/")

    def httpx_timeout(self) -> httpx.Timeout:
        return httpx.Timeout(self.timeout, connect=self.connect_timeout)


def build_request(http: httpx.Client | httpx.AsyncClient, call: Call[Any], api_key: str | None,
                  timeout: httpx.Timeout) -> httpx.Request:
    headers = {**call.headers(), **({"X-API-KEY": api_key} if api_key else {})}
    if call.read_timeout is not None:
        timeout = httpx.Timeout(max(call.read_timeout, timeout.read or 0), connect=timeout.connect)
    return http.build_request(
        call.route.method, call.route.url(**call.path_params), headers=headers, json=call.json,
        data=call.form, files=call.files, params=call.query, timeout=timeout,
    )


def extract_result(job: models.Job) -> models.ExtractResult:
    """A finished job as `extract()` returns it, or the error it stands for."""
    if not job.ok:
        raise error_from_job(job.job_id, job.status, job.error)
    return models.ExtractResult.from_job(job)


def markdown_result(job: models.Job) -> models.MarkdownResult:
    if not job.ok:
        raise error_from_job(job.job_id, job.status, job.error)
    return models.MarkdownResult.from_job(job)


@dataclass
class PollSchedule:
    """Intervals between status polls: start quick, grow to `maximum`."""

    interval: float = 0.2
    maximum: float = 2.0
    factor: float = 1.5

    def next(self) -> float:
        current = self.interval
        self.interval = min(self.maximum, self.interval * self.factor)
        return current


def job_id_of(job: str | models.Job) -> str:
    return job if isinstance(job, str) else job.job_id
