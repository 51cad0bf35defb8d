"""A job's life inside a worker: claim it, then record its outcome exactly once.

Deliveries can repeat (late acks, a dead worker, the sweeper). A claim is a lease
held by one worker process; the outcome is written only by the holder of the
current claim while the job is still `running`, so a result is written once.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from typing import Any

import psutil
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from shared.billing.service import credits_for, raise_hold
from shared.clock import utcnow
from shared.errors import QuarryError
from shared.jobs.models import Job
from shared.jobs.options import load_options
from shared.jobs.states import TERMINAL_STATUSES, JobStatus
from shared.settings import get_settings

LEASE_MARGIN_S = 30


def worker_identity() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


@dataclass(frozen=True)
class Claim:
    job_id: str
    attempt: int
    claimed_by: str


class JobStopped(QuarryError):
    """The claim no longer holds the job (canceled, or taken over by another delivery): the
    work stops where it is and records nothing; whoever ended the job settled it."""

    status_code = 409
    code = "job_stopped"
    default_detail = "The job was canceled or taken over."


@dataclass(frozen=True)
class Busy:
    """Another live worker holds the job; look again after `retry_in_s`."""

    retry_in_s: float


def claim_job(session: Session, job_id: str) -> Claim | Busy | None:
    """Take the job for this process, or say why not (None: nothing left to do)."""
    job = session.scalars(select(Job).where(Job.id == job_id).with_for_update()).first()
    if job is None or job.status in TERMINAL_STATUSES:
        return None
    now = utcnow()
    if job.status == JobStatus.RUNNING and job.lease_expires_at and job.lease_expires_at > now:
        if _holder_is_alive(job.claimed_by):
            return Busy(retry_in_s=min((job.lease_expires_at - now).total_seconds(), 30.0))
    me = worker_identity()
    lease = lease_s()
    job.status = JobStatus.RUNNING
    job.attempts += 1
    job.started_at = job.started_at or now
    job.lease_expires_at = now + timedelta(seconds=lease)
    job.claimed_by = me
    session.flush()
    return Claim(job_id=job.id, attempt=job.attempts, claimed_by=me)


def lease_s() -> int:
    """How long one task may hold a job: its hard time limit, plus a margin."""
    return get_settings().job_hard_time_limit_s + LEASE_MARGIN_S


def held_job(session: Session, claim: Claim, *, lock: bool = False) -> Job | None:
    """The job while `claim` still holds it (running, same holder and attempt), else None."""
    query = select(Job).where(
        Job.id == claim.job_id, Job.status == JobStatus.RUNNING,
        Job.claimed_by == claim.claimed_by, Job.attempts == claim.attempt,
    )
    return session.scalars(query.with_for_update() if lock else query).first()


def extend_lease(session: Session, claim: Claim, *, seconds: float) -> None:
    """Keep the sweeper off a job that is still being worked on (by its page-range parts)."""
    session.execute(
        update(Job)
        .where(Job.id == claim.job_id, Job.status == JobStatus.RUNNING,
               Job.claimed_by == claim.claimed_by, Job.attempts == claim.attempt)
        .values(lease_expires_at=utcnow() + timedelta(seconds=seconds))
    )


def cover_pages(session: Session, claim: Claim, pages: int) -> None:
    """Raise the job's hold to the price of `pages`, its real count, or refuse with 402.

    Called once the count is known (before converting, and again before the outcome is
    written), so no work past what the balance covers is done or kept. A claim that no
    longer holds the job changes nothing: its outcome will not be written either.
    """
    job = held_job(session, claim, lock=True)
    if job is None:
        return
    price = partial(credits_for, load_options(job.operation, job.options))
    job.held_credits = raise_hold(session, tenant_id=job.tenant_id, job_id=job.id,
                                  held=job.held_credits, pages=pages, price=price)
    session.flush()


def _holder_is_alive(claimed_by: str | None) -> bool:
    """Same machine: ask the OS. Another machine: trust the lease until it expires."""
    if not claimed_by:
        return False
    host, _, pid = claimed_by.rpartition(":")
    if host != socket.gethostname():
        return True
    return pid.isdigit() and psutil.pid_exists(int(pid)) and int(pid) != os.getpid()


def record_outcome(
    session: Session,
    claim: Claim,
    *,
    status: JobStatus,
    result: dict[str, Any] | None = None,
    error: dict[str, Any] | None = None,
    cost: dict[str, Any] | None = None,
) -> bool:
    """Write the outcome if this claim still holds; False means someone else finished it."""
    written = session.execute(
        update(Job)
        .where(
            Job.id == claim.job_id, Job.status == JobStatus.RUNNING,
            Job.claimed_by == claim.claimed_by, Job.attempts == claim.attempt,
        )
        .values(
            status=status, result=result, error=error, cost=cost, finished_at=utcnow(),
            lease_expires_at=None,
        )
    )
    return bool(getattr(written, "rowcount", 0))


def release_for_retry(session: Session, claim: Claim) -> None:
    """Hand the job back to `queued` so the next delivery can claim it."""
    session.execute(
        update(Job)
        .where(Job.id == claim.job_id, Job.status == JobStatus.RUNNING,
               Job.claimed_by == claim.claimed_by)
        .values(status=JobStatus.QUEUED, lease_expires_at=None, claimed_by=None,
                enqueued_at=utcnow())
    )


def record_progress(session: Session, claim: Claim, *, done: int, total: int) -> bool:
    """Record pages done while `claim` holds the job; False once it does not (canceled)."""
    written = session.execute(
        update(Job)
        .where(Job.id == claim.job_id, Job.status == JobStatus.RUNNING,
               Job.claimed_by == claim.claimed_by, Job.attempts == claim.attempt)
        .values(pages_done=done, pages_total=total)
    )
    return bool(getattr(written, "rowcount", 0))


@dataclass(frozen=True)
class StaleJob:
    job_id: str
    queue: str
    """The queue the job was submitted to, where it goes back."""


def stale_jobs(session: Session, *, queued_for_s: float, limit: int = 500) -> list[StaleJob]:
    """Jobs whose message was probably lost: queued too long, or running past their lease."""
    now = utcnow()
    queued = select(Job.id, Job.queue).where(
        Job.status == JobStatus.QUEUED, Job.enqueued_at < now - timedelta(seconds=queued_for_s)
    )
    expired = select(Job.id, Job.queue).where(
        Job.status == JobStatus.RUNNING, Job.lease_expires_at < now
    )
    stale = [StaleJob(job_id, queue) for job_id, queue in
             [*session.execute(queued.limit(limit)), *session.execute(expired.limit(limit))]]
    ids = [job.job_id for job in stale]
    if ids:
        session.execute(update(Job).where(Job.id.in_(ids), Job.status == JobStatus.QUEUED)
                        .values(enqueued_at=now))
    return stale
