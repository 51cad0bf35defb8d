"""Run one job: claim it, process it outside any transaction, record the outcome once."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

from celery.exceptions import SoftTimeLimitExceeded
from sqlalchemy.orm import Session

from shared.billing.pricing import credits_for, pricing_mode
from shared.billing.service import settle_job
from shared.db.session import transaction
from shared.errors import QuarryError, ServiceUnavailable, StorageError, TransientError
from shared.files.checks import inspect_file
from shared.files.failures import OutOfTime, worker_lost
from shared.jobs.events import publish_job_done
from shared.jobs.lifecycle import (
    Busy,
    Claim,
    JobStopped,
    claim_job,
    cover_pages,
    held_job,
    record_outcome,
    record_progress,
    release_for_retry,
)
from shared.jobs.models import Job, Upload
from shared.jobs.states import INTERACTIVE_QUEUE, JobStatus
from shared.jobs.uploads import pin_upload
from shared.metrics import observe_job
from shared.net.ssrf import vet_model_endpoints
from shared.settings import get_settings
from shared.storage.factory import get_storage
from shared.webhooks.job_events import job_finished
from worker.parts.plan import pages_to_split, send_parts
from worker.pipeline.run import JobInput, PipelineResult, run_pipeline

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RetryLater:
    seconds: float


@dataclass(frozen=True)
class JobFile:
    """The upload a job reads."""

    upload_id: str
    storage_key: str


TRANSIENT = (TransientError, ServiceUnavailable, StorageError)


def execute_job(job_id: str, queue: str = INTERACTIVE_QUEUE) -> RetryLater | None:
    """Process `job_id`; return when to try again, or None when nothing is left to do.

    A long PDF is handed to page-range parts sent to `queue` (see `worker.parts`).
    """
    with transaction() as session:
        claim = claim_job(session, job_id)
        if claim is None:
            return None
        if isinstance(claim, Busy):
            return RetryLater(claim.retry_in_s)
        job_input, file = load_input(session, job_id)
    work: Callable[[], PipelineResult | None] = partial(_process, claim, job_input, file, queue)
    if claim.attempt > get_settings().job_max_retries + 1:
        # Earlier deliveries ended with their process gone (killed at the hard time limit,
        # out of memory, a native crash): the file is the likely cause, so stop here.
        work = partial(_refuse, worker_lost())
    return settle(claim, job_input, time.perf_counter(), work, retry=partial(_retry_job, claim))


def settle(claim: Claim, job_input: dict[str, Any], started: float,
           work: Callable[[], PipelineResult | None],
           retry: Callable[[QuarryError], RetryLater | None]) -> RetryLater | None:
    """Run `work` for `claim` and record what came of it, once: its result, or its error.

    `work` returning None handed the job on (to page-range parts): nothing is recorded.
    A result is kept only once the hold covers its pages (else the job fails with 402).
    Transient errors ask `retry` when to try again; None from it records the error.
    """
    try:
        outcome = work()
        if outcome is not None:
            cover(claim, outcome.pages)
    except JobStopped:
        _observe(job_input, "canceled", started, 0, 0)
        return None
    except TRANSIENT as exc:
        later = retry(exc)
        if later is not None:
            return later
        _fail(claim, exc)
    except QuarryError as exc:
        _fail(claim, exc)
    except SoftTimeLimitExceeded:
        _fail(claim, OutOfTime())
    except Exception:
        log.exception("job failed unexpectedly")
        _fail(claim, QuarryError())
    else:
        if outcome is not None:
            charged = _succeed(claim, outcome, job_input)
            _observe(job_input, outcome.status, started, outcome.pages, charged)
        return None
    _observe(job_input, "failed", started, 0, 0)
    return None


def _refuse(error: QuarryError) -> None:
    raise error


def _process(claim: Claim, job_input: dict[str, Any], file: JobFile,
             queue: str) -> PipelineResult | None:
    vet_model_endpoints(job_input["options"])  # again at run time: DNS may have changed
    data = read_job_file(file)
    watch = JobWatch(claim)
    job = JobInput(**{**job_input, "data": data}, progress=watch.progress,
                   checkpoint=watch.checkpoint)
    # Count the pages (attachments included) and hold their price before any conversion.
    info = inspect_file(data, job.file_name, job.content_type)
    cover(claim, info.pages)
    pages = pages_to_split(job, info)
    if pages:
        send_parts(claim, page_count=pages, queue=queue)
        return None
    return run_pipeline(job)


def cover(claim: Claim, pages: int) -> None:
    """Make the job's hold cover `pages`, or raise 402 `insufficient_credits`."""
    with transaction() as session:
        cover_pages(session, claim, pages)


def read_job_file(file: JobFile) -> bytes:
    """The job's bytes, which must be those first stored or read (409 `upload_changed`)."""
    data = get_storage().get_bytes(file.storage_key)
    with transaction() as session:
        pin_upload(session, upload_id=file.upload_id, data=data)
    return data


def _observe(job_input: dict[str, Any], status: str, started: float, pages: int, credits: int) -> None:
    operation, options = job_input["operation"], job_input["options"]
    observe_job(operation, pricing_mode(operation, options), status,
                time.perf_counter() - started, pages, credits)


class JobWatch:
    """Writes pages done/total to the job so polling shows progress, and stops the work
    (`JobStopped`) once the claim no longer holds the job, so a canceled job frees its
    worker within a page. Both at most once a second: one small UPDATE or SELECT."""

    def __init__(self, claim: Claim, interval_s: float = 1.0) -> None:
        self.claim, self.interval_s, self.last = claim, interval_s, 0.0

    def progress(self, done: int, total: int) -> None:
        """Told after each converted page."""
        if not self._due() and done < total:
            return
        with transaction() as session:
            held = record_progress(session, self.claim, done=done, total=total)
        if not held:
            raise JobStopped()

    def checkpoint(self) -> None:
        """Called between steps, and between pages whose progress is not shown."""
        if not self._due():
            return
        with transaction() as session:
            held = held_job(session, self.claim) is not None
        if not held:
            raise JobStopped()

    def _due(self) -> bool:
        now = time.monotonic()
        if now - self.last < self.interval_s:
            return False
        self.last = now
        return True


def load_input(session: Session, job_id: str) -> tuple[dict[str, Any], JobFile]:
    job = session.get_one(Job, job_id)
    upload = session.get_one(Upload, job.upload_id)
    job_input = {"operation": job.operation, "file_name": upload.file_name,
                 "content_type": upload.content_type, "options": dict(job.options)}
    return job_input, JobFile(upload_id=upload.id, storage_key=upload.storage_key)


def _retry_job(claim: Claim, exc: QuarryError) -> RetryLater | None:
    """Hand the job back for another delivery while attempts remain."""
    if claim.attempt > get_settings().job_max_retries:
        return None
    return _retry(claim, exc)


def _retry(claim: Claim, exc: QuarryError) -> RetryLater:
    log.warning("transient failure, retrying: %s", exc.detail)
    with transaction() as session:
        release_for_retry(session, claim)
    return RetryLater(get_settings().job_retry_backoff_s * 2 ** (claim.attempt - 1))


def _fail(claim: Claim, exc: QuarryError) -> None:
    """Record a failure; failed jobs are not charged, their hold goes back."""
    error = {**exc.to_body(), "status_code": exc.status_code}
    with transaction() as session:
        written = record_outcome(session, claim, status=JobStatus.FAILED, error=error,
                                 cost={"credits_used": 0, "pages": 0})
        if written:
            job = session.get_one(Job, claim.job_id)
            settle_job(session, tenant_id=job.tenant_id, job_id=job.id, held=job.held_credits,
                       price=None)
            job_finished(session, job, JobStatus.FAILED)
    if written:
        publish_job_done(claim.job_id)


def _succeed(claim: Claim, outcome: PipelineResult, job_input: dict[str, Any]) -> int:
    """Record the result and charge the actual pages, in one transaction, once."""
    operation, options = job_input["operation"], job_input["options"]
    charged = 0
    with transaction() as session:
        job = session.get_one(Job, claim.job_id)
        written = record_outcome(session, claim, status=JobStatus(outcome.status),
                                 result=outcome.payload)
        if written:
            charged = settle_job(
                session, tenant_id=job.tenant_id, job_id=job.id, held=job.held_credits,
                price=partial(credits_for, operation, options), operation=operation,
                mode=pricing_mode(operation, options), pages=outcome.pages,
            )
            job.cost = {"credits_used": charged, "pages": outcome.pages}
            job_finished(session, job, JobStatus(outcome.status))
    if written:
        publish_job_done(claim.job_id)
    return charged
