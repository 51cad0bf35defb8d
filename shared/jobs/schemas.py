"""Pydantic shapes for job requests and the one way a job is shown to clients."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AfterValidator, Field, ValidationError, model_validator

from shared.clock import isoformat
from shared.contract.base import RequestBody
from shared.errors import BadRequest
from shared.jobs.models import Job
from shared.jobs.options import TableFormat
from shared.jobs.states import Operation
from shared.sealing import seal

# The modes (`ExtractMode`, `ConversionMode`) and what they mean live in `shared.jobs.options`.

# Field bounds, declared once: the JSON models and the multipart forms use the same ones,
# so the OpenAPI document tells a client (and a fuzzer) what a request may hold.
MAX_FILE_NAME = 500
MAX_CONTENT_TYPE = 200
MAX_URL = 2000
MAX_TEXT = 500
MAX_LLM_TOKENS = 200_000
MAX_LLM_TEMPERATURE = 2.0
MAX_LLM_RETRIES = 10
MAX_WAIT_S = 3600.0


def printable(value: str) -> str:
    """Refuse control characters (NUL above all: the database cannot store it)."""
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in value):
        raise ValueError("must not contain control characters")
    return value


def file_name_value(value: str) -> str:
    printable(value)
    if value.strip() in ("", ".", ".."):
        raise ValueError("is not a usable file name")
    return value


Text = Annotated[str, Field(max_length=MAX_TEXT), AfterValidator(printable)]
Url = Annotated[str, Field(max_length=MAX_URL), AfterValidator(printable)]
FileName = Annotated[str, Field(min_length=1, max_length=MAX_FILE_NAME),
                     AfterValidator(file_name_value)]
ContentType = Annotated[str, Field(max_length=MAX_CONTENT_TYPE), AfterValidator(printable)]
LlmTokens = Annotated[int, Field(gt=0, le=MAX_LLM_TOKENS)]
LlmTemperature = Annotated[float, Field(ge=0.0, le=MAX_LLM_TEMPERATURE, allow_inf_nan=False)]
LlmRetries = Annotated[int, Field(ge=0, le=MAX_LLM_RETRIES)]
# The configured `max_wait_s` (at most this) is checked where the wait starts.
WaitSeconds = Annotated[float, Field(ge=0, le=MAX_WAIT_S, allow_inf_nan=False)]


class ModelConfig(RequestBody):
    """A BYOK or server model in LiteLLM form (`openai/gpt-4o-mini`)."""

    provider_model: Text | None = None
    api_key: Text | None = None
    api_base: Url | None = None
    max_tokens: LlmTokens | None = None
    temperature: LlmTemperature | None = None
    num_retries: LlmRetries | None = None
    fallback: bool | None = None
    """BYOK only: when this model fails, the server's provider chain may answer (and bill)."""

    def to_options(self) -> dict[str, Any] | None:
        """Only a non-empty api_key counts as BYOK; the key is sealed before it is stored."""
        if not (self.api_key or "").strip():
            return None
        values = self.model_dump(exclude={"api_key"}, exclude_none=True)
        return {**values, "api_key_sealed": seal(self.api_key.strip())}  # type: ignore[union-attr]


class PresignRequest(RequestBody):
    file_name: FileName
    content_type: ContentType | None = None
    size: int | None = Field(default=None, ge=0, le=2**63 - 1)


def upload_names(file_name: str | None, content_type: str | None) -> tuple[str, str | None]:
    """A multipart file's name and declared type, held to a presign request's rules."""
    if content_type == "application/octet-stream":
        content_type = None
    try:
        checked = PresignRequest(file_name=file_name or "document", content_type=content_type)
    except ValidationError as exc:
        problems = "; ".join(f"file {'.'.join(map(str, e['loc']))}: {e['msg']}"
                             for e in exc.errors())
        raise BadRequest(problems, code="invalid_request") from exc
    return checked.file_name, checked.content_type


class CanonicalRequest(RequestBody):
    operation: Operation
    file_uri: Text | None = None
    """An uploaded file (`quarry://uploads/…`); exactly one of `file_uri` and `file_url`."""
    file_url: Url | None = None
    """An http(s) URL the worker fetches the file from (SSRF-guarded, size-limited)."""
    file_name: FileName | None = None
    schema_: str | dict[str, Any] | None = Field(default=None, alias="schema")
    mode: Text | None = None
    conversion_mode: Text | None = None
    allow_partial: bool = False
    artifact_id: Text | None = None
    llm: ModelConfig | None = None
    ocr: ModelConfig | None = None
    webhook_url: Url | None = None
    wait: WaitSeconds | None = None
    metadata: dict[str, Any] | None = None
    page_range: Text | None = None
    """1-based pages to process, like `"1-3,7"`; only these are converted and billed."""
    ocr_lang: Text | None = None
    table_format: TableFormat | None = None

    @model_validator(mode="after")
    def _one_file(self) -> CanonicalRequest:
        if (self.file_uri is None) == (self.file_url is None):
            raise ValueError("send exactly one of file_uri and file_url")
        return self


class OcrToMarkdownRequest(RequestBody):
    tenant_id: Text
    file_uri: Text
    file_name: FileName | None = None
    mode: Text | None = None
    ocr: ModelConfig | None = None
    webhook_url: Url | None = None
    wait: WaitSeconds | None = None
    metadata: dict[str, Any] | None = None
    page_range: Text | None = None
    """1-based pages to process, like `"1-3,7"`; only these are converted and billed."""


def job_view(job: Job) -> dict[str, Any]:
    """A job as `GET /v1/jobs/{id}` shows it; finished jobs carry their result fields."""
    view: dict[str, Any] = {
        "job_id": job.id,
        "operation": job.operation,
        "status": job.status,
        "file_name": job.file_name,
        "created_at": isoformat(job.created_at),
        "started_at": isoformat(job.started_at),
        "finished_at": isoformat(job.finished_at),
        "attempts": job.attempts,
        "error": job.error,
        "cost": job.cost,
        "metadata": job.job_metadata,
        "progress": _progress(job),
        "purged": False,
    }
    if job.result:
        # A purged job's result is `{"purged": true, "purged_at": …}` (shared/retention).
        view.update(job.result)
    return view


def _progress(job: Job) -> dict[str, Any] | None:
    if job.pages_total is None:
        return None
    return {"pages_done": job.pages_done or 0, "pages_total": job.pages_total}
