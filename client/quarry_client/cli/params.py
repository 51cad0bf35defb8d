"""The CLI's shared option types: enum choices, BYOK model flags, and reading JSON arguments."""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from quarry_client.options import ModelConfig


class ExtractMode(StrEnum):
    fast = "fast"
    standard = "standard"
    robust = "robust"


class ConversionMode(StrEnum):
    default = "default"
    fast = "fast"


class JobStatus(StrEnum):
    queued = "queued"
    running = "running"
    succeeded = "succeeded"
    partial = "partial"
    failed = "failed"
    canceled = "canceled"


class TableFormat(StrEnum):
    markdown = "markdown"
    html = "html"


class UsageGroup(StrEnum):
    day = "day"
    operation = "operation"
    mode = "mode"


JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON (for scripts).")]
SchemaOpt = Annotated[str | None, typer.Option(
    "--schema", help="JSON Schema or shorthand map: a file path or inline JSON.")]
ExtractModeOpt = Annotated[ExtractMode | None, typer.Option(
    "--mode", help="Extraction mode (default: standard, or the artifact's).")]
ConversionModeOpt = Annotated[ConversionMode | None, typer.Option("--mode", help="Conversion mode.")]
WebhookOpt = Annotated[str | None, typer.Option(help="POST job events here (Standard Webhooks).")]
MetadataOpt = Annotated[str | None, typer.Option(help="JSON object stored with the job.")]
WaitOpt = Annotated[float, typer.Option(min=0, help="Seconds the server holds the call before "
                                                    "answering 202 (then the CLI polls).")]
TimeoutOpt = Annotated[float | None, typer.Option(min=0, help="Give up after N seconds.")]
KeyOpt = Annotated[str | None, typer.Option(help="Idempotency-Key (default: a new one).")]
PagesOpt = Annotated[str | None, typer.Option(
    "--pages", help='Only these pages (1-based), like "1-3,7"; only they are billed.')]
OcrLangOpt = Annotated[str | None, typer.Option(
    "--ocr-lang", help='OCR language hint, e.g. "de" (the server says which it reads).')]
TableFormatOpt = Annotated[TableFormat | None, typer.Option(
    "--table-format", help="How tables are written in markdown.")]
FileUrlOpt = Annotated[str | None, typer.Option(
    "--file-url", help="Let the server fetch the document from this http(s) URL instead of FILE.")]
ProgressOpt = Annotated[bool, typer.Option("--progress/--no-progress",
                                           help="Show progress on stderr while waiting.")]

# BYOK models: the same six fields for the extraction LLM and the OCR/vision model.
LlmModel = Annotated[str | None, typer.Option("--llm-model", help="BYOK extraction model "
                                              "(LiteLLM form, e.g. openai/gpt-4o-mini).")]
LlmKey = Annotated[str | None, typer.Option("--llm-api-key", envvar="QUARRY_LLM_API_KEY",
                                            help="BYOK key for --llm-model.")]
LlmBase = Annotated[str | None, typer.Option("--llm-api-base")]
LlmTokens = Annotated[int | None, typer.Option("--llm-max-tokens", min=1)]
LlmTemperature = Annotated[float | None, typer.Option("--llm-temperature", min=0, max=2)]
LlmRetries = Annotated[int | None, typer.Option("--llm-num-retries", min=0, max=10)]
OcrModel = Annotated[str | None, typer.Option("--ocr-model", help="BYOK OCR/vision model.")]
OcrKey = Annotated[str | None, typer.Option("--ocr-api-key", envvar="QUARRY_OCR_API_KEY",
                                            help="BYOK key for --ocr-model.")]
OcrBase = Annotated[str | None, typer.Option("--ocr-api-base")]
OcrTokens = Annotated[int | None, typer.Option("--ocr-max-tokens", min=1)]
OcrTemperature = Annotated[float | None, typer.Option("--ocr-temperature", min=0, max=2)]
OcrRetries = Annotated[int | None, typer.Option("--ocr-num-retries", min=0, max=10)]


def model_config(model: str | None, key: str | None, base: str | None, tokens: int | None,
                 temperature: float | None, retries: int | None) -> ModelConfig | None:
    """A BYOK model from its flags; None when no flag was given."""
    config = ModelConfig(provider_model=model, api_key=key, api_base=base, max_tokens=tokens,
                         temperature=temperature, num_retries=retries)
    return config if config.as_dict() else None


def read_json_object(value: str | None, what: str) -> dict[str, Any] | None:
    """Inline JSON (starts with `{`) or a file path holding a JSON object."""
    if value is None:
        return None
    try:
        text = value if value.lstrip().startswith("{") else Path(value).read_text(encoding="utf-8")
        parsed = json.loads(text)
    except (OSError, json.JSONDecodeError) as error:
        raise typer.BadParameter(f"{what}: {error}") from error
    if not isinstance(parsed, dict):
        raise typer.BadParameter(f"{what} must be a JSON object")
    return parsed


def read_schema(value: str | None) -> dict[str, Any] | None:
    return read_json_object(value, "--schema")


def enum_value(value: StrEnum | None) -> str | None:
    return value.value if value is not None else None
