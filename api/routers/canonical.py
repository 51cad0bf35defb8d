"""JSON-bodied job routes over presigned uploads: `/v1/canonical`, `/v1/ocr/to-markdown`."""

from __future__ import annotations

from functools import partial
from typing import Annotated

from fastapi import APIRouter, Header
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from api.deps import CallerDep
from api.responses import job_responses
from api.submission import Submission, for_file, job_options, submit_and_wait, wait_seconds
from shared.db.session import transaction
from shared.files.checks import FileInfo, inspect_file
from shared.jobs.metadata import parse_metadata
from shared.jobs.options import build_options
from shared.jobs.schemas import CanonicalRequest, OcrToMarkdownRequest
from shared.jobs.service import JobRequest
from shared.jobs.states import Operation
from shared.jobs.uploads import RemoteFile, pin_upload, resolve_file_uri
from shared.net.ssrf import vet_url
from shared.storage.factory import get_storage
from shared.tenants.service import Caller

router = APIRouter(prefix="/v1", tags=["extraction"])
IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key", max_length=255)]


@router.post("/canonical", responses=job_responses())
async def canonical(
    body: CanonicalRequest, caller: CallerDep, idempotency_key: IdempotencyKey = None
) -> JSONResponse:
    """Run `inference.extract` or `inference.to_markdown` on an uploaded `file_uri`, or on a
    `file_url` the worker fetches."""
    options = await job_options(caller, partial(
        build_options, operation=body.operation, schema=body.schema_, mode=body.mode,
        conversion_mode=body.conversion_mode, allow_partial=body.allow_partial,
        artifact_id=body.artifact_id, llm=body.llm, ocr=body.ocr, page_range=body.page_range,
        ocr_lang=body.ocr_lang, table_format=body.table_format, file_url=body.file_url,
    ))
    request = JobRequest(options, parse_metadata(body.metadata), body.webhook_url)
    if body.file_url is not None:
        return await _submit_url(caller, body.file_url, request, body.wait, idempotency_key)
    return await _submit_uri(caller, body.file_uri or "", request, body.wait, idempotency_key)


@router.post("/ocr/to-markdown", responses=job_responses())
async def ocr_to_markdown(
    body: OcrToMarkdownRequest, caller: CallerDep, idempotency_key: IdempotencyKey = None
) -> JSONResponse:
    caller.require_tenant(body.tenant_id)
    options = build_options(operation=Operation.TO_MARKDOWN, conversion_mode=body.mode,
                            ocr=body.ocr, page_range=body.page_range)
    request = JobRequest(options, parse_metadata(body.metadata), body.webhook_url)
    return await _submit_uri(caller, body.file_uri, request, body.wait, idempotency_key)


async def _submit_uri(
    caller: Caller, file_uri: str, request: JobRequest, wait: float | None,
    idempotency_key: str | None,
) -> JSONResponse:
    wait_s = wait_seconds(wait)
    info = await run_in_threadpool(_inspect_uploaded, caller.tenant_id, file_uri)
    submission = Submission(caller=caller, request=for_file(request, info),
                            file=file_uri, idempotency_key=idempotency_key)
    return await submit_and_wait(submission, wait_s)


async def _submit_url(
    caller: Caller, file_url: str, request: JobRequest, wait: float | None,
    idempotency_key: str | None,
) -> JSONResponse:
    """The worker fetches the file (through the outbound guard) and checks it there."""
    wait_s = wait_seconds(wait)
    await run_in_threadpool(vet_url, file_url, field="file_url")
    submission = Submission(caller=caller, request=for_file(request, None),
                            file=RemoteFile(file_url), idempotency_key=idempotency_key)
    return await submit_and_wait(submission, wait_s)


def _inspect_uploaded(tenant_id: str, file_uri: str) -> FileInfo:
    """Check the uploaded bytes like a multipart file, pin them (the job reads these bytes or
    fails), and count their pages for the hold."""
    with transaction() as session:
        upload = resolve_file_uri(session, tenant_id=tenant_id, file_uri=file_uri)
        upload_id, key = upload.id, upload.storage_key
        name, content_type = upload.file_name, upload.content_type
    data = get_storage().get_bytes(key)
    with transaction() as session:
        pin_upload(session, upload_id=upload_id, data=data)
    return inspect_file(data, name, content_type)
