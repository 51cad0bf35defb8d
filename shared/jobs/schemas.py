"""Pydantic shapes for job requests and the one way a job is shown to clients."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from shared.clock import isoformat
from shared.errors import BadRequest
from shared.extraction.schema import parse_schema
from shared.jobs.models import Job
from shared.jobs.states import Operation
from shared.sealing import seal

ExtractMode = Literal["fast", "standard", "robust"]
ConversionMode = Literal["default", "fast"]


class ModelConfig(BaseModel):
    """A BYOK or server model in LiteLLM form (`openai/gpt-4o-mini`)."""

    model_config = ConfigDict(extra="ignore")

    provider_model: str | None = None
    api_key: str | None = None
    api_base: str | None = None
    max_tokens: int | None = Field(default=None, gt=0, le=200_000)
    temperature: float | None = Field(default=None, ge=0.0, le=2.0)
    num_retries: int | None = Field(default=None, ge=0, le=10)

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
    file_name: str = Field(min_length=1, max_length=500)
    content_type: str | None = None
    size: int | None = Field(default=None, ge=0)


class CanonicalRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")

    operation: Operation
    file_uri: str
    file_name: str | None = None
    schema_: str | dict[str, Any] | None = Field(default=None, alias="schema")
    mode: str | None = None
    conversion_mode: str | None = None
    allow_partial: bool = False
    artifact_id: str | None = None
    llm: ModelConfig | None = None
    ocr: ModelConfig | None = None
    webhook_url: str | None = None
    wait: float | None = None
    metadata: dict[str, Any] | None = None


class OcrToMarkdownRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")

    tenant_id: str
    file_uri: str
    file_name: str | None = None
    mode: str | None = None
    ocr: ModelConfig | None = None
    webhook_url: str | None = None
    wait: float | None = None
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
