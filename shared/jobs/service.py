"""What jobs do: submit (idempotently), read, list, cancel."""

from __future__ import annotations

import base64
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from shared.billing.service import credits_for, hold_pages, settle_job, settle_options_job
from shared.clock import utc_instant, utcnow
from shared.db.session import after_commit
from shared.errors import BadRequest, Conflict, NotFound
from shared.idempotency import find_repeat, fingerprint
from shared.ids import new_id
from shared.jobs.models import Job, Upload
from shared.jobs.options import ExtractOptions, MarkdownOptions, load_options, stored_options
from shared.jobs.states import INTERACTIVE_QUEUE, TERMINAL_STATUSES, JobStatus
from shared.net.ssrf import vet_model_endpoints, vet_url
from shared.queue import send_job


@dataclass(frozen=True)
class JobRequest:
    """Everything that defines a job; its hash is what `Idempotency-Key` compares."""

    options: ExtractOptions | MarkdownOptions
    metadata: dict[str, Any] | None = None
    webhook_url: str | None = None
    pages: int = 1
    """The pages the credits hold is based on: the file's (or its `page_range`'s) count."""
    queue: str = INTERACTIVE_QUEUE

    @property
    def operation(self) -> str:
        return self.options.operation

    def fingerprint(self, file_digest: str) -> str:
        return fingerprint({
            "operation": self.operation, "options": stored_options(self.options),
            "metadata": self.metadata,
            "webhook_url": self.webhook_url, "file": file_digest,
        })


UploadSource = Callable[[Session], Upload]
"""Finds or records the upload a new job reads (`resolve_file_uri`, `record_upload`)."""


def submit_job(
    session: Session,
    *,
    tenant_id: str,
    request: JobRequest,
    upload: UploadSource,
    file_digest: str,
    idempotency_key: str | None = None,
) -> Job:
    """Record a job, hold its credits and enqueue it after commit.

    What can refuse the call runs first, and `upload` is asked for the job's file only
    when a new job is made: a repeated idempotent call returns the first job and records
    nothing. A new file's bytes are the caller's to keep last (`keep_upload`).
    """
    request_hash = request.fingerprint(file_digest)
    vet_job_urls(request)
    if idempotency_key:
        existing = find_repeat(session, Job, tenant_id=tenant_id, key=idempotency_key,
                               request_hash=request_hash)
        if existing is not None:
            return existing
    try:
        with session.begin_nested():
            job = _new_job(tenant_id, request, upload(session), idempotency_key, request_hash)
            session.add(job)
    except IntegrityError:
        # Another request with the same key won the race; answer as it did. The savepoint
        # took this call's upload row with it.
        existing = find_repeat(session, Job, tenant_id=tenant_id, key=idempotency_key or "",
                               request_hash=request_hash)
        if existing is None:
            raise
        return existing
    job.held_credits = hold_pages(session, tenant_id=tenant_id, job_id=job.id,
                                  pages=request.pages, price=partial(credits_for, request.options))
    job_id = job.id
    queue = request.queue
    after_commit(session, lambda: send_job(job_id, queue))
    return job


def _new_job(tenant_id: str, request: JobRequest, upload: Upload, idempotency_key: str | None,
             request_hash: str) -> Job:
    return Job(
        id=new_id("job"), tenant_id=tenant_id, operation=request.operation,
        options=stored_options(request.options), queue=request.queue, upload_id=upload.id,
        file_name=upload.file_name,
        job_metadata=request.metadata, webhook_url=request.webhook_url,
        idempotency_key=idempotency_key, request_hash=request_hash, enqueued_at=utcnow(),
    )


def vet_job_urls(request: JobRequest) -> None:
    """400 for a webhook URL or BYOK api_base pointing inside the network (SSRF guard)."""
    if request.webhook_url:
        vet_url(request.webhook_url, field="webhook_url")
    vet_model_endpoints(request.options.model_sections())


def get_job(session: Session, *, tenant_id: str, job_id: str) -> Job:
    job = session.get(Job, job_id)
    if job is None or job.tenant_id != tenant_id:
        raise NotFound("Job not found.")
    return job


@dataclass(frozen=True)
class JobPage:
    jobs: list[Job]
    next_cursor: str | None


def list_jobs(
    session: Session, *, tenant_id: str, status: str | None, limit: int, cursor: str | None
) -> JobPage:
    """Newest first; the cursor is the (created_at, id) of the last job returned."""
    query = select(Job).where(Job.tenant_id == tenant_id)
    if status:
        if status not in JobStatus.__members__.values():
            raise BadRequest(f"Unknown status {status!r}.")
        query = query.where(Job.status == status)
    if cursor:
        created, last_id = _decode_cursor(cursor)
        query = query.where(
            or_(Job.created_at < created, and_(Job.created_at == created, Job.id < last_id))
        )
    rows = list(session.scalars(query.order_by(Job.created_at.desc(), Job.id.desc()).limit(limit + 1)))
    has_more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = _encode_cursor(rows[-1]) if has_more and rows else None
    return JobPage(jobs=rows, next_cursor=next_cursor)


def _encode_cursor(job: Job) -> str:
    raw = f"{job.created_at.isoformat()}|{job.id}"
    return base64.urlsafe_b64encode(raw.encode()).decode()


def _decode_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        created, job_id = base64.urlsafe_b64decode(cursor.encode()).decode().split("|", 1)
        return utc_instant(datetime.fromisoformat(created), "cursor"), job_id
    except (ValueError, UnicodeDecodeError, BadRequest) as exc:
        raise BadRequest("Invalid cursor.") from exc


def cancel_job(session: Session, *, tenant_id: str, job_id: str) -> Job:
    """Cancel a job that has not finished. A queued job gets its hold back; a running one
    stops within a page (the worker checks between pages) and is charged the pages it
    converted so far, at least one: its worker was busy for it."""
    job = get_job(session, tenant_id=tenant_id, job_id=job_id)
    # Locked: a worker may be raising the hold or recording the outcome right now.
    session.refresh(job, with_for_update=True)
    if job.status in TERMINAL_STATUSES:
        if job.status == JobStatus.CANCELED:
            return job
        raise Conflict(f"Job already finished with status {job.status}.")
    pages = max(job.pages_done or 0, 1) if job.status == JobStatus.RUNNING else 0
    if pages:
        charged = settle_options_job(session, tenant_id=tenant_id, job_id=job_id,
                                     held=job.held_credits, pages=pages,
                                     options=load_options(job.operation, job.options))
    else:
        charged = settle_job(session, tenant_id=tenant_id, job_id=job_id,
                             held=job.held_credits, price=None)
    job.status, job.finished_at, job.lease_expires_at = JobStatus.CANCELED, utcnow(), None
    job.cost = {"credits_used": charged, "pages": pages}
    session.flush()
    return job
