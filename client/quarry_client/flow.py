"""The I/O-free parts shared by both clients: settings, request building, results, polling."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from typing import Any, TypedDict, TypeVar

import httpx
from pydantic import BaseModel, ValidationError

from quarry_client import models
from quarry_client.calls import Call
from quarry_client.errors import error_from_job
from quarry_client.files import PRESIGN_THRESHOLD
from quarry_client.options import ModelConfig, TableFormat
from quarry_client.retry import RetryPolicy

DEFAULT_URL = "http://127.0.0.1:8000"
SchemaInput = type[BaseModel] | dict[str, Any] | str | None
"""A pydantic model class, a JSON Schema / shorthand map, or its JSON text."""
ModelT = TypeVar("ModelT", bound=BaseModel)


class ExtractKwargs(TypedDict, total=False):
    """`extract()`'s keyword options (for its typed overloads)."""

    mode: str | None
    allow_partial: bool
    artifact_id: str | None
    llm: ModelConfig | None
    ocr: ModelConfig | None
    webhook_url: str | None
    metadata: dict[str, Any] | None
    page_range: str | None
    ocr_lang: str | None
    table_format: TableFormat | None
    file_url: str | None
    wait: float
    timeout: float | None
    idempotency_key: str | None
    file_name: str | None
USER_AGENT = "quarry-client/0.1.0"


@dataclass(frozen=True)
class ClientSettings:
    """How a client talks to the API.

    `api_key` falls back to `QUARRY_API_KEY`; `base_url` to `QUARRY_BASE_URL`, then to the
    older `QUARRY_URL`, then to `http://127.0.0.1:8000`.
    """

    api_key: str | None = None
    base_url: str | None = None
    timeout: float = 60.0
    connect_timeout: float = 10.0
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    presign_threshold: int = PRESIGN_THRESHOLD

    def resolved_key(self) -> str | None:
        return self.api_key or os.environ.get("QUARRY_API_KEY")

    def resolved_url(self) -> str:
        return (self.base_url or env_base_url() or DEFAULT_URL).rstrip("/")

    def httpx_timeout(self) -> httpx.Timeout:
        return httpx.Timeout(self.timeout, connect=self.connect_timeout)


def env_base_url() -> str | None:
    """`QUARRY_BASE_URL`, or its older alias `QUARRY_URL`."""
    return os.environ.get("QUARRY_BASE_URL") or os.environ.get("QUARRY_URL") or None


def build_request(http: httpx.Client | httpx.AsyncClient, call: Call[Any], api_key: str | None,
                  timeout: httpx.Timeout) -> httpx.Request:
    headers = {**call.headers(), **({"X-API-KEY": api_key} if api_key else {})}
    if call.read_timeout is not None:
        timeout = httpx.Timeout(max(call.read_timeout, timeout.read or 0), connect=timeout.connect)
    return http.build_request(
        call.route.method, call.route.url(**call.path_params), headers=headers, json=call.json,
        data=call.form, files=call.files, params=call.query, timeout=timeout,
    )


def schema_for_request(schema: SchemaInput) -> dict[str, Any] | str | None:
    """What goes on the wire: a pydantic model class becomes its JSON Schema."""
    if isinstance(schema, type) and issubclass(schema, BaseModel):
        return schema.model_json_schema()
    return schema


def extract_result(job: models.Job, schema: SchemaInput = None) -> models.ExtractResult[Any]:
    """A finished job as `extract()` returns it, or the error it stands for.

    With a pydantic model as `schema`, `data` is the result validated as that model; when it
    does not validate, `data` stays None and the model's errors are in `model_errors`
    (`validation_errors` stays the server's own list, so each list holds one kind of item).
    """
    if not job.ok:
        raise error_from_job(job.job_id, job.status, job.error)
    result: models.ExtractResult[Any] = models.ExtractResult.from_job(job)
    if not (isinstance(schema, type) and issubclass(schema, BaseModel)):
        return replace(result, data=result.result)
    try:
        return replace(result, data=schema.model_validate(result.result))
    except ValidationError as error:
        model_errors = [{"path": "/" + "/".join(str(part) for part in item["loc"]),
                         "message": item["msg"], "type": item["type"]}
                        for item in error.errors(include_url=False)]
        return replace(result, data=None, model_errors=model_errors)


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
