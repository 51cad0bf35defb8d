"""Job options, and how they become multipart form fields or a canonical JSON body."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Operation = Literal["inference.extract", "inference.to_markdown"]
EXTRACT: Operation = "inference.extract"
TO_MARKDOWN: Operation = "inference.to_markdown"
TableFormat = Literal["markdown", "html"]


@dataclass(frozen=True)
class ModelConfig:
    """A BYOK model in LiteLLM form (`openai/gpt-4o-mini`)."""

    provider_model: str | None = None
    api_key: str | None = None
    api_base: str | None = None
    max_tokens: int | None = None
    temperature: float | None = None
    num_retries: int | None = None
    fallback: bool | None = None
    """BYOK only: when this model fails, the server's provider chain may answer."""

    def as_dict(self) -> dict[str, Any]:
        return {name: value for name, value in asdict(self).items() if value is not None}


@dataclass(frozen=True)
class JobOptions:
    """Everything that defines a job besides its file."""

    operation: Operation = EXTRACT
    schema: dict[str, Any] | str | None = None
    mode: str | None = None
    conversion_mode: str | None = None
    allow_partial: bool = False
    artifact_id: str | None = None
    llm: ModelConfig | None = None
    ocr: ModelConfig | None = None
    webhook_url: str | None = None
    metadata: dict[str, Any] | None = field(default=None)
    page_range: str | None = None
    """1-based pages to process, like `"1-3,7"`; only those are converted and billed."""
    ocr_lang: str | None = None
    """OCR language hint for scanned pages (e.g. `"de"`, `"en"`; the server lists the codes it reads)."""
    table_format: TableFormat | None = None
    """How tables are written in markdown: `markdown` (default) or `html`."""

    def form_fields(self, wait: float) -> dict[str, str | None]:
        """Fields for `POST /v1/extract` or `/v1/to-markdown` (strings; `None` = omitted)."""
        common = {"webhook_url": self.webhook_url, "wait": _number(wait),
                  "metadata": json.dumps(self.metadata) if self.metadata is not None else None,
                  **_prefixed("ocr", self.ocr), **self.page_options()}
        if self.operation == TO_MARKDOWN:
            return {"conversion_mode": self.conversion_mode or self.mode, **common}
        return {
            "schema": _schema_text(self.schema), "mode": self.mode, "artifact_id": self.artifact_id,
            "allow_partial": "true" if self.allow_partial else None, **_prefixed("llm", self.llm),
            **common,
        }

    def page_options(self) -> dict[str, str | None]:
        """Which pages, OCR language and table style: the same fields on every route."""
        return {"page_range": self.page_range, "ocr_lang": self.ocr_lang,
                "table_format": self.table_format}

    def canonical_body(self, file_uri: str | None, file_name: str | None, wait: float, *,
                       file_url: str | None = None) -> dict[str, Any]:
        """Body for `POST /v1/canonical` (an uploaded `file_uri` or a `file_url` the server
        fetches); BYOK models go nested as `llm` / `ocr`."""
        body: dict[str, Any] = {
            "operation": self.operation, "file_uri": file_uri, "file_url": file_url,
            "file_name": file_name, "webhook_url": self.webhook_url, "wait": wait,
            "metadata": self.metadata, "ocr": self.ocr.as_dict() if self.ocr else None,
            **self.page_options(),
        }
        if self.operation == TO_MARKDOWN:
            body["conversion_mode"] = self.conversion_mode or self.mode
        else:
            body.update(schema=self.schema, mode=self.mode, artifact_id=self.artifact_id,
                        allow_partial=self.allow_partial or None,
                        llm=self.llm.as_dict() if self.llm else None)
        return body

    def fingerprint(self) -> dict[str, Any]:
        """A stable, key-free description (for deriving idempotency keys)."""
        values = asdict(self)
        for name in ("llm", "ocr"):
            if values[name]:
                values[name] = {k: v for k, v in values[name].items() if k != "api_key"}
        return values


def _schema_text(schema: dict[str, Any] | str | None) -> str | None:
    if schema is None or isinstance(schema, str):
        return schema
    return json.dumps(schema)


def _number(value: float) -> str:
    return f"{value:g}"


def _prefixed(prefix: str, config: ModelConfig | None) -> dict[str, str | None]:
    if config is None:
        return {}
    return {f"{prefix}_{name}": str(value) for name, value in config.as_dict().items()}
