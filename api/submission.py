"""Create a job, then hold the request up to `wait` seconds for its result.

Shared by every job-creating route (multipart, canonical, OCR JSON). The job is
committed and enqueued before waiting starts; waiting never blocks the loop.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import partial
from typing import Any

from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from api.limits import guard_queue_depth, sync_wait
from shared.artifacts.service import resolve_artifact_options
from shared.billing.ledger import balance
from shared.clock import isoformat
from shared.contract.jobs import seed_keys
from shared.db.session import transaction
from shared.errors import BadRequest
from shared.files.checks import FileInfo
from shared.jobs.events import wait_for_job_done
from shared.jobs.models import Job
from shared.jobs.options import ExtractOptions, MarkdownOptions, selected_pages
from shared.jobs.schemas import job_view
from shared.jobs.service import JobRequest, UploadSource, get_job, submit_job
from shared.jobs.states import TERMINAL_STATUSES, JobStatus
from shared.jobs.uploads import (
    IncomingFile,
    RemoteFile,
    discard_kept,
    keep_upload,
    record_remote_upload,
    record_upload,
    resolve_file_uri,
)
from shared.settings import get_settings
from shared.tenants.service import Caller


@dataclass(frozen=True)
class Submission:
    caller: Caller
    request: JobRequest
    file: IncomingFile | RemoteFile | str
    """The bytes of a new file (multipart), a `file_url` for the worker to fetch, or the
    `file_uri` of an uploaded one."""
    idempotency_key: str | None = None

    @property
    def file_digest(self) -> str:
        """What identifies the file in the idempotency fingerprint."""
        if isinstance(self.file, IncomingFile):
            return self.file.sha256
        return self.file.url if isinstance(self.file, RemoteFile) else self.file

    def upload_source(self) -> UploadSource:
        tenant_id = self.caller.tenant_id
        if isinstance(self.file, IncomingFile):
            return partial(record_upload, tenant_id=tenant_id, file=self.file)
        if isinstance(self.file, RemoteFile):
            return partial(record_remote_upload, tenant_id=tenant_id, file=self.file)
        return partial(resolve_file_uri, tenant_id=tenant_id, file_uri=self.file)


async def job_options(
    caller: Caller, build: Callable[[], ExtractOptions | MarkdownOptions]
) -> ExtractOptions | MarkdownOptions:
    """The request's `JobOptions`, built once (`shared.jobs.options.build_options`) with a
    trained artifact's schema, mode and pipeline filled in. Checking a large schema takes a
    while: off the event loop, so other requests go on."""
    options = await run_in_threadpool(build)
    return await run_in_threadpool(resolve_artifact_options, caller.tenant_id, options)


def for_file(request: JobRequest, info: FileInfo | None) -> JobRequest:
    """The request with its hold's pages and its queue, from the checked file.

    The pages are the `page_range`'s (400 when it asks for a page the file lacks). With no
    file yet (`file_url`: the worker fetches it), one page is held, as for a batch item,
    and the worker raises the hold to the real count before converting.
    """
    if info is None:
        return replace(request, pages=1, queue=request.options.queue_for(""))
    pages = len(selected_pages(request.options.page_range, info.pages))
    return replace(request, pages=pages, queue=request.options.queue_for(info.kind))


def wait_seconds(requested: float | None) -> float:
    settings = get_settings()
    if requested is None:
        return settings.default_wait_s
    if requested < 0 or requested > settings.max_wait_s:
        raise BadRequest(f"wait must be between 0 and {settings.max_wait_s:g} seconds.")
    return requested


async def submit_and_wait(submission: Submission, wait: float) -> JSONResponse:
    await run_in_threadpool(guard_queue_depth)
    job_id, status = await run_in_threadpool(_create, submission)
    tenant_id = submission.caller.tenant_id
    if status not in TERMINAL_STATUSES and wait > 0:
        async def finished() -> bool:
            return await run_in_threadpool(_is_finished, tenant_id, job_id)

        with sync_wait(tenant_id) as may_wait:  # past the tenant's waits: 202 at once
            if may_wait:
                await wait_for_job_done(job_id, wait, finished)
    return await run_in_threadpool(_respond, tenant_id, job_id)


def _create(submission: Submission) -> tuple[str, str]:
    """Checks and the hold first, a new file's bytes last: a refused call (400, 402, 409)
    keeps nothing in storage, and bytes whose transaction then fails are deleted again."""
    kept: str | None = None
    try:
        with transaction() as session:
            job = submit_job(
                session, tenant_id=submission.caller.tenant_id, request=submission.request,
                upload=submission.upload_source(), file_digest=submission.file_digest,
                idempotency_key=submission.idempotency_key,
            )
            if isinstance(submission.file, IncomingFile):
                kept = keep_upload(session, upload_id=job.upload_id, file=submission.file)
            return job.id, job.status
    except BaseException:
        discard_kept(kept)
        raise


def _is_finished(tenant_id: str, job_id: str) -> bool:
    with transaction() as session:
        return get_job(session, tenant_id=tenant_id, job_id=job_id).status in TERMINAL_STATUSES


def _respond(tenant_id: str, job_id: str) -> JSONResponse:
    with transaction() as session:
        job = get_job(session, tenant_id=tenant_id, job_id=job_id)
        credits_remaining = balance(session, tenant_id)
        return finished_response(job, credits_remaining) if job.status in TERMINAL_STATUSES \
            else accepted_response(job)


def accepted_response(job: Job) -> JSONResponse:
    status_url = f"/v1/jobs/{job.id}"
    body = {"job_id": job.id, "status": job.status, "status_url": status_url}
    return JSONResponse(body, status_code=202, headers={"Location": status_url})


def finished_response(job: Job, credits_remaining: int) -> JSONResponse:
    if job.status == JobStatus.FAILED:
        error: dict[str, Any] = dict(job.error or {})
        status_code = int(error.pop("status_code", 500))
        return JSONResponse({**error, "job_id": job.id}, status_code=status_code)
    if job.status == JobStatus.CANCELED:
        body = {"detail": "The job was canceled.", "code": "job_canceled", "job_id": job.id}
        return JSONResponse(body, status_code=409)
    view = job_view(job)
    view.update(
        job_status=job.status,
        status="success" if job.status == JobStatus.SUCCEEDED else "partial",
        credits_remaining=credits_remaining,
        processed_at=isoformat(job.finished_at),
    )
    view.setdefault("validation_errors", None)
    view.update(seed_keys(view, credits_remaining=credits_remaining))
    return JSONResponse(view, status_code=200)
