"""The multipart convenience routes: `/v1/extract` and `/v1/to-markdown`."""

from __future__ import annotations

from functools import partial
from typing import Annotated

from fastapi import APIRouter, Depends, File, Form, Header, UploadFile
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from api.deps import CallerDep
from api.responses import job_responses
from api.submission import Submission, for_file, job_options, submit_and_wait, wait_seconds
from shared.files.checks import inspect_file
from shared.jobs.metadata import parse_metadata
from shared.jobs.options import TableFormat, build_options
from shared.jobs.schemas import (
    LlmRetries,
    LlmTemperature,
    LlmTokens,
    ModelConfig,
    Text,
    Url,
    WaitSeconds,
    upload_names,
)
from shared.jobs.service import JobRequest
from shared.jobs.states import Operation
from shared.jobs.uploads import IncomingFile, check_size
from shared.tenants.service import Caller

router = APIRouter(prefix="/v1", tags=["extraction"])

OptStr = Annotated[Text | None, Form()]
OptUrl = Annotated[Url | None, Form()]
OptTokens = Annotated[LlmTokens | None, Form()]
OptTemperature = Annotated[LlmTemperature | None, Form()]
OptRetries = Annotated[LlmRetries | None, Form()]
OptBool = Annotated[bool | None, Form()]
OptWait = Annotated[WaitSeconds | None, Form()]
OptJson = Annotated[str | None, Form()]
IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key", max_length=255)]


def llm_form(
    llm_provider_model: OptStr = None, llm_api_key: OptStr = None, llm_api_base: OptUrl = None,
    llm_max_tokens: OptTokens = None, llm_temperature: OptTemperature = None,
    llm_num_retries: OptRetries = None, llm_fallback: OptBool = None,
) -> ModelConfig:
    """The BYOK extraction model from its flat `llm_*` form fields."""
    return ModelConfig(provider_model=llm_provider_model, api_key=llm_api_key,
                       api_base=llm_api_base, max_tokens=llm_max_tokens,
                       temperature=llm_temperature, num_retries=llm_num_retries,
                       fallback=llm_fallback)


def ocr_form(
    ocr_provider_model: OptStr = None, ocr_api_key: OptStr = None, ocr_api_base: OptUrl = None,
    ocr_max_tokens: OptTokens = None, ocr_temperature: OptTemperature = None,
    ocr_num_retries: OptRetries = None, ocr_fallback: OptBool = None,
) -> ModelConfig:
    """The BYOK OCR/vision model from its flat `ocr_*` form fields."""
    return ModelConfig(provider_model=ocr_provider_model, api_key=ocr_api_key,
                       api_base=ocr_api_base, max_tokens=ocr_max_tokens,
                       temperature=ocr_temperature, num_retries=ocr_num_retries,
                       fallback=ocr_fallback)


LlmForm = Annotated[ModelConfig, Depends(llm_form)]
OcrForm = Annotated[ModelConfig, Depends(ocr_form)]


@router.post("/extract", responses=job_responses())
async def extract(
    caller: CallerDep,
    file: Annotated[UploadFile, File()],
    llm: LlmForm,
    ocr: OcrForm,
    schema_text: Annotated[str | None, Form(alias="schema")] = None,
    mode: OptStr = None,
    artifact_id: OptStr = None,
    allow_partial: Annotated[bool, Form()] = False,
    webhook_url: OptUrl = None,
    wait: OptWait = None,
    metadata: OptJson = None,
    page_range: OptStr = None,
    ocr_lang: OptStr = None,
    table_format: Annotated[TableFormat | None, Form()] = None,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """Extract JSON matching `schema` (JSON Schema or shorthand map) from one document."""
    options = await job_options(caller, partial(
        build_options, operation=Operation.EXTRACT, schema=schema_text, mode=mode,
        allow_partial=allow_partial, artifact_id=artifact_id, llm=llm, ocr=ocr,
        page_range=page_range, ocr_lang=ocr_lang, table_format=table_format))
    request = JobRequest(options, parse_metadata(metadata), webhook_url)
    return await _submit_multipart(caller, file, request, wait, idempotency_key)


@router.post("/to-markdown", responses=job_responses())
async def to_markdown(
    caller: CallerDep,
    file: Annotated[UploadFile, File()],
    ocr: OcrForm,
    conversion_mode: OptStr = None,
    webhook_url: OptUrl = None,
    wait: OptWait = None,
    metadata: OptJson = None,
    page_range: OptStr = None,
    ocr_lang: OptStr = None,
    table_format: Annotated[TableFormat | None, Form()] = None,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """Convert one document to markdown and plain text (and per page, in `pages`)."""
    options = build_options(operation=Operation.TO_MARKDOWN, conversion_mode=conversion_mode,
                            ocr=ocr, page_range=page_range, ocr_lang=ocr_lang,
                            table_format=table_format)
    request = JobRequest(options, parse_metadata(metadata), webhook_url)
    return await _submit_multipart(caller, file, request, wait, idempotency_key)


async def _submit_multipart(
    caller: Caller, file: UploadFile, request: JobRequest, wait: float | None,
    idempotency_key: str | None,
) -> JSONResponse:
    wait_s = wait_seconds(wait)
    data = await file.read()
    check_size(len(data), caller.limits.max_upload_bytes)  # before the file is inspected
    file_name, content_type = upload_names(file.filename, file.content_type)
    info = await run_in_threadpool(inspect_file, data, file_name, content_type)
    submission = Submission(caller=caller, request=for_file(request, info),
                            file=IncomingFile(file_name, content_type, data),
                            idempotency_key=idempotency_key)
    return await submit_and_wait(submission, wait_s)
