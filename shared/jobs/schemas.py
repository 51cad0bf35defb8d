"""Pydantic shapes for job requests and the one way a job is shown to clients."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError

from shared.clock import isoformat
from shared.errors import BadRequest
from shared.extraction.schema import parse_schema
from shared.jobs.models import Job
from shared.jobs.states import Operation
from shared.sealing import seal

ExtractMode = Literal["fast", "standard", "robust"]
ConversionMode = Literal["default", "fast"]

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


class ModelConfig(BaseModel):
    """A BYOK or server model in LiteLLM form (`openai/gpt-4o-mini`)."""

    model_config = ConfigDict(extra="ignore")

    provider_model: Text | None = None
    api_key: Text | None = None
    api_base: Url | None = None
    max_tokens: LlmTokens | None = None
    temperature: LlmTemperature | None = None
    num_retries: LlmRetries | None = None

    def to_options(self) -> dict[str, Any] | None:
        """Only a non-empty api_key counts as BYOK; the key is sealed before it is stored."""
        if not (self.api_key or "").strip():
            return None
        values = self.model_dump(exclude={"api_key"}, exclude_none=True)
        return {**values, "api_key_sealed": seal(self.api_key.strip())}  # type: ignore[union-attr]


def build_options(
    *,
    operation: Operation,
    schema: str | dict[str, Any] | None = None,
    mode: str | None = None,
    conversion_mode: str | None = None,
    allow_partial: bool = False,
    artifact_id: str | None = None,
    llm: ModelConfig | None = None,
    ocr: ModelConfig | None = None,
) -> dict[str, Any]:
    """Check and normalise a job's options; 400 on anything a worker could not run."""
    options: dict[str, Any] = {}
    if operation == Operation.EXTRACT:
        if mode or not artifact_id:  # with an artifact, an unsent mode is the artifact's
            mode = mode or "standard"
            if mode not in ("fast", "standard", "robust"):
                raise BadRequest("mode must be one of: fast, standard, robust.")
            options["mode"] = mode
        options["allow_partial"] = allow_partial
        if artifact_id:
            options["artifact_id"] = artifact_id
        if schema is not None or not artifact_id:
            options["schema"] = parse_schema(schema)
    else:
        conversion_mode = conversion_mode or mode or "default"
        if conversion_mode not in ("default", "fast"):
            raise BadRequest("conversion_mode must be one of: default, fast.")
        options["conversion_mode"] = conversion_mode
    sealed = {name: cfg.to_options() for name, cfg in (("llm", llm), ("ocr", ocr)) if cfg}
    options.update({name: value for name, value in sealed.items() if value})
    options["byok"] = any(sealed.values())
    return options


class PresignRequest(BaseModel):
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


class CanonicalRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")

    operation: Operation
    file_uri: Text
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


class OcrToMarkdownRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")

    tenant_id: Text
    file_uri: Text
    file_name: FileName | None = None
    mode: Text | None = None
    ocr: ModelConfig | None = None
    webhook_url: Url | None = None
    wait: WaitSeconds | None = None
    metadata: dict[str, Any] | None = None


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
