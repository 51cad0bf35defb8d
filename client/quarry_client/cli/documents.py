"""`quarry extract` and `quarry markdown`: one document (a FILE or --file-url), every option
the API takes."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from quarry_client.cli.output import CliState, emit, state, stdout, wait_with_progress
from quarry_client.cli.params import (
    ConversionModeOpt,
    ExtractModeOpt,
    FileUrlOpt,
    JsonFlag,
    KeyOpt,
    LlmBase,
    LlmKey,
    LlmModel,
    LlmRetries,
    LlmTemperature,
    LlmTokens,
    MetadataOpt,
    OcrBase,
    OcrKey,
    OcrLangOpt,
    OcrModel,
    OcrRetries,
    OcrTemperature,
    OcrTokens,
    PagesOpt,
    ProgressOpt,
    SchemaOpt,
    TableFormatOpt,
    TimeoutOpt,
    WaitOpt,
    WebhookOpt,
    enum_value,
    model_config,
    read_json_object,
    read_schema,
)
from quarry_client.flow import extract_result, markdown_result
from quarry_client.models import Job
from quarry_client.options import EXTRACT, TO_MARKDOWN, JobOptions

OutOpt = Annotated[Path | None, typer.Option("--out", "-o", help="Write the output to this file.")]
FileArg = Annotated[Path | None, typer.Argument(exists=True, dir_okay=False, readable=True,
                                                show_default=False)]


def _source(file: Path | None, file_url: str | None) -> str:
    if (file is None) == (file_url is None):
        raise typer.BadParameter("give a FILE or --file-url (one of them)", param_hint="FILE")
    return file.name if file is not None else file_url or ""


def extract(
    ctx: typer.Context, file: FileArg, schema: SchemaOpt = None, mode: ExtractModeOpt = None,
    artifact_id: Annotated[str | None, typer.Option(help="Run a trained pipeline.")] = None,
    allow_partial: Annotated[bool, typer.Option(
        "--allow-partial", help="Return what was found even if it does not fully validate.")] = False,
    llm_model: LlmModel = None, llm_api_key: LlmKey = None, llm_api_base: LlmBase = None,
    llm_max_tokens: LlmTokens = None, llm_temperature: LlmTemperature = None,
    llm_num_retries: LlmRetries = None,
    ocr_model: OcrModel = None, ocr_api_key: OcrKey = None, ocr_api_base: OcrBase = None,
    ocr_max_tokens: OcrTokens = None, ocr_temperature: OcrTemperature = None,
    ocr_num_retries: OcrRetries = None,
    pages: PagesOpt = None, ocr_lang: OcrLangOpt = None, table_format: TableFormatOpt = None,
    file_url: FileUrlOpt = None,
    webhook_url: WebhookOpt = None, metadata: MetadataOpt = None, wait: WaitOpt = 10,
    timeout: TimeoutOpt = None, idempotency_key: KeyOpt = None, out: OutOpt = None,
    progress: ProgressOpt = True, as_json: JsonFlag = False,
) -> None:
    """Extract JSON from FILE (prints the result; --json prints the whole response)."""
    cli = state(ctx, as_json)
    source = _source(file, file_url)
    parsed = read_schema(schema)
    if parsed is None and artifact_id is None:
        raise typer.BadParameter("give --schema or --artifact-id", param_hint="--schema")
    options = JobOptions(
        EXTRACT, schema=parsed, mode=enum_value(mode), allow_partial=allow_partial,
        artifact_id=artifact_id,
        llm=model_config(llm_model, llm_api_key, llm_api_base, llm_max_tokens, llm_temperature,
                         llm_num_retries),
        ocr=model_config(ocr_model, ocr_api_key, ocr_api_base, ocr_max_tokens, ocr_temperature,
                         ocr_num_retries),
        webhook_url=webhook_url, metadata=read_json_object(metadata, "--metadata"),
        page_range=pages, ocr_lang=ocr_lang, table_format=enum_value(table_format))  # type: ignore[arg-type]
    job = _run(cli, file, options, file_url=file_url, wait=wait, timeout=timeout,
               idempotency_key=idempotency_key, progress=progress, label=f"extracting {source}")
    result = extract_result(job)
    text = json.dumps(result.raw if cli.json else result.result, indent=2, ensure_ascii=False)
    if out is not None:
        out.write_text(text + "\n", encoding="utf-8")
    if cli.json:
        emit(cli, result)
    elif out is None:
        stdout.print_json(text)


def markdown(
    ctx: typer.Context, file: FileArg, mode: ConversionModeOpt = None,
    ocr_model: OcrModel = None, ocr_api_key: OcrKey = None, ocr_api_base: OcrBase = None,
    ocr_max_tokens: OcrTokens = None, ocr_temperature: OcrTemperature = None,
    ocr_num_retries: OcrRetries = None,
    pages: PagesOpt = None, ocr_lang: OcrLangOpt = None, table_format: TableFormatOpt = None,
    file_url: FileUrlOpt = None,
    webhook_url: WebhookOpt = None, metadata: MetadataOpt = None, wait: WaitOpt = 10,
    timeout: TimeoutOpt = None, idempotency_key: KeyOpt = None, out: OutOpt = None,
    progress: ProgressOpt = True, as_json: JsonFlag = False,
) -> None:
    """Convert FILE to markdown (printed, or written to --out)."""
    cli = state(ctx, as_json)
    source = _source(file, file_url)
    options = JobOptions(
        TO_MARKDOWN, conversion_mode=enum_value(mode),
        ocr=model_config(ocr_model, ocr_api_key, ocr_api_base, ocr_max_tokens, ocr_temperature,
                         ocr_num_retries),
        webhook_url=webhook_url, metadata=read_json_object(metadata, "--metadata"),
        page_range=pages, ocr_lang=ocr_lang, table_format=enum_value(table_format))  # type: ignore[arg-type]
    job = _run(cli, file, options, file_url=file_url, wait=wait, timeout=timeout,
               idempotency_key=idempotency_key, progress=progress, label=f"converting {source}")
    result = markdown_result(job)
    if out is not None:
        out.write_text(result.markdown, encoding="utf-8")
    if cli.json:
        emit(cli, result)
    elif out is None:
        sys.stdout.write(result.markdown + ("" if result.markdown.endswith("\n") else "\n"))


def _run(cli: CliState, file: Path | None, options: JobOptions, *, file_url: str | None,
         wait: float, timeout: float | None, idempotency_key: str | None, progress: bool,
         label: str) -> Job:
    """Submit one job and follow it to the end, with a spinner while it runs."""
    with cli.client() as quarry:
        job = quarry.submit(file, options, wait=wait, idempotency_key=idempotency_key,
                            file_url=file_url)
        return wait_with_progress(quarry, job, timeout=timeout, enabled=progress, label=label)
