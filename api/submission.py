"""Create a job, then hold the request up to `wait` seconds for its result.

Shared by every job-creating route (multipart, canonical, OCR JSON). The job is
committed and enqueued before waiting starts; waiting never blocks the loop.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from api.limits import guard_queue_depth
from shared.billing.ledger import balance
from shared.clock import isoformat
from shared.db.session import transaction
from shared.errors import BadRequest
from shared.jobs.events import wait_for_job_done
from shared.jobs.models import Job, Upload
from shared.jobs.schemas import job_view
from shared.jobs.service import JobRequest, get_job, submit_job
from shared.jobs.states import TERMINAL_STATUSES, JobStatus
from shared.settings import get_settings
from shared.tenants.service import Caller

UploadFactory = Callable[[Session], Upload]


@dataclass(frozen=True)
class Submission:
    caller: Caller
    request: JobRequest
    upload_factory: UploadFactory
    idempotency_key: str | None = None
    file_digest: str = ""


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

        await wait_for_job_done(job_id, wait, finished)
    return await run_in_threadpool(_respond, tenant_id, job_id)


def _create(submission: Submission) -> tuple[str, str]:
    with transaction() as session:
        upload = submission.upload_factory(session)
        job = submit_job(
            session, tenant_id=submission.caller.tenant_id, upload=upload,
            request=submission.request, idempotency_key=submission.idempotency_key,
            file_digest=submission.file_digest,
        )
        return job.id, job.status


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
    return JSONResponse(view, status_code=200)
