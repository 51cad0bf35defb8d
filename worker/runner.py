"""Run one job: claim it, process it outside any transaction, record the outcome once.

A `JobRun` is a claimed job being worked on by this process. Whole jobs, the page-range
parts of a long PDF and their join all run through one: `settle` runs the work and
records what came of it (`succeed`, `fail`, or `retry` for a transient error).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass

from celery.exceptions import SoftTimeLimitExceeded
from sqlalchemy.orm import Session

from shared.db.session import transaction
from shared.errors import QuarryError, ServiceUnavailable, StorageError, TransientError
from shared.files.checks import inspect_file
from shared.files.failures import OutOfTime, worker_lost
from shared.jobs.lifecycle import (
    Busy,
    Claim,
    JobStopped,
    claim_job,
    cover_pages,
    held_job,
    record_progress,
    release_for_retry,
)
from shared.jobs.models import Job, Upload
from shared.jobs.options import ExtractOptions, MarkdownOptions, load_options, selected_pages
from shared.jobs.outcomes import record_failure, record_success
from shared.jobs.uploads import pin_upload
from shared.metrics import observe_job
from shared.net.ssrf import vet_model_endpoints
from shared.settings import get_settings
from shared.storage.factory import get_storage
from worker.fetch_slots import FetchSlot, TenantAtCap, fetch_slot
from worker.parts.plan import pages_to_split, send_parts
from worker.pipeline.run import JobInput, PipelineResult, run_pipeline
from worker.remote_file import fetch_into_upload

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RetryLater:
    seconds: float


@dataclass(frozen=True)
class LoadedJob:
    """A job as the worker reads it: typed options and the upload holding its file."""

    job_id: str
    options: ExtractOptions | MarkdownOptions
    queue: str
    upload_id: str
    storage_key: str
    file_name: str
    content_type: str | None

    @property
    def operation(self) -> str:
        return self.options.operation


def load_job(session: Session, job_id: str) -> LoadedJob:
    job = session.get_one(Job, job_id)
    upload = session.get_one(Upload, job.upload_id)
    return LoadedJob(job_id=job.id, options=load_options(job.operation, job.options),
                     queue=job.queue, upload_id=upload.id, storage_key=upload.storage_key,
                     file_name=upload.file_name, content_type=upload.content_type)


TRANSIENT = (TransientError, ServiceUnavailable, StorageError)


@dataclass(frozen=True)
class JobRun:
    """A claimed job being worked on here; its outcome is recorded once, through the claim.

    `task_retries` is None for a whole job's delivery, whose retries hand the job back to
    `queued` (`release_for_retry`); page parts and the join keep the claim and count their
    own task's retries instead.
    """

    claim: Claim
    job: LoadedJob
    started: float
    task_retries: int | None = None

    def settle(self, work: Callable[[], PipelineResult | None]) -> RetryLater | None:
        """Run `work` and record what came of it, once: its result, or its error.

        `work` returning None handed the job on (to page-range parts): nothing is recorded.
        A result is kept only once the hold covers its pages (else the job fails with 402).
        """
        try:
            outcome = work()
            if outcome is not None:
                cover(self.claim, outcome.pages)
        except JobStopped:
            self._observe("canceled", 0, 0)
            return None
        except TRANSIENT as exc:
            later = self.retry(exc)
            if later is not None:
                return later
            self.fail(exc)
        except QuarryError as exc:
            self.fail(exc)
        except SoftTimeLimitExceeded:
            self.fail(OutOfTime())
        except Exception:
            log.exception("job failed unexpectedly")
            self.fail(QuarryError())
        else:
            if outcome is not None:
                self.succeed(outcome)
        return None

    def succeed(self, outcome: PipelineResult) -> None:
        """Record the result and charge the pages processed, in one transaction, once."""
        with transaction() as session:
            charged = record_success(session, self.claim, outcome)
        self._observe(outcome.status, outcome.pages, charged or 0)

    def fail(self, error: QuarryError) -> None:
        """Record a failure; failed jobs are not charged, their hold goes back."""
        with transaction() as session:
            record_failure(session, self.claim, error)
        self._observe("failed", 0, 0)

    def retry(self, error: QuarryError) -> RetryLater | None:
        """When to try again after a transient error, or None when no attempts remain."""
        settings = get_settings()
        if self.task_retries is not None:
            if self.task_retries >= settings.job_max_retries:
                return None
            return RetryLater(settings.job_retry_backoff_s * 2 ** self.task_retries)
        if self.claim.attempt > settings.job_max_retries:
            return None
        log.warning("transient failure, retrying: %s", error.detail)
        with transaction() as session:
            release_for_retry(session, self.claim)
        return RetryLater(settings.job_retry_backoff_s * 2 ** (self.claim.attempt - 1))

    def _observe(self, status: str, pages: int, credits: int) -> None:
        observe_job(self.job.operation, self.job.options.price_mode, status,
                    time.perf_counter() - self.started, pages, credits)


def execute_job(job_id: str) -> RetryLater | None:
    """Process `job_id`; return when to try again, or None when nothing is left to do.

    A long PDF is handed to page-range parts sent to the job's queue (see `worker.parts`).
    A `file_url` job whose tenant already runs its cap of fetches waits, unclaimed, and is
    sent again later (`worker.fetch_slots`).
    """
    slot = fetch_slot(job_id)
    if isinstance(slot, TenantAtCap):
        return RetryLater(slot.retry_in_s)
    try:
        return _execute_claimed(job_id, slot)
    finally:
        if slot is not None:
            slot.release()


def _execute_claimed(job_id: str, slot: FetchSlot | None) -> RetryLater | None:
    with transaction() as session:
        claim = claim_job(session, job_id)
        if claim is None:
            return None
        if isinstance(claim, Busy):
            return RetryLater(claim.retry_in_s)
        job = load_job(session, job_id)
    run = JobRun(claim, job, time.perf_counter())
    if claim.attempt > get_settings().job_max_retries + 1:
        # Earlier deliveries ended with their process gone (killed at the hard time limit,
        # out of memory, a native crash): the file is the likely cause, so stop here.
        run.fail(worker_lost())
        return None
    return run.settle(lambda: process_job(run, slot))


def process_job(run: JobRun, slot: FetchSlot | None = None) -> PipelineResult | None:
    """Read the file, hold the price of its pages, then convert here or in parts."""
    job = run.job
    vet_model_endpoints(job.options.model_sections())  # again at run time: DNS may have changed
    data = read_job_file(job, slot)
    watch = JobWatch(run.claim)
    # Count the pages (attachments included; the page_range's, when it has one) and hold
    # their price before any conversion. A range beyond the document is a 400 here.
    info = inspect_file(data, job.file_name, job.content_type)
    cover(run.claim, len(selected_pages(job.options.page_range, info.pages)))
    pages = pages_to_split(job.options, info)
    if pages:
        send_parts(run.claim, page_count=pages, queue=job.queue)
        return None
    return run_pipeline(JobInput(options=job.options, data=data, file_name=job.file_name,
                                 content_type=job.content_type, progress=watch.progress,
                                 checkpoint=watch.checkpoint))


def cover(claim: Claim, pages: int) -> None:
    """Make the job's hold cover `pages`, or raise 402 `insufficient_credits`."""
    with transaction() as session:
        cover_pages(session, claim, pages)


def read_job_file(job: LoadedJob, slot: FetchSlot | None = None) -> bytes:
    """The job's bytes, which must be those first stored or read (409 `upload_changed`).

    A job submitted with a `file_url` fetches them first (through the outbound guard),
    holding its tenant's fetch `slot` only for the download."""
    if job.options.file_url:
        with slot or nullcontext():
            data = fetch_into_upload(job.options.file_url, upload_id=job.upload_id,
                                     storage_key=job.storage_key)
        if data is not None:
            return data
    data = get_storage().get_bytes(job.storage_key)
    with transaction() as session:
        pin_upload(session, upload_id=job.upload_id, data=data)
    return data


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
