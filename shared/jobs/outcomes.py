"""What a job's outcome writes and what follows it, in the transaction that writes it.

The outcome (result or error) is written once, by the claim that holds the job; the
hold is settled (charged for the pages done, or released); then, by name and in order:
the job's webhook delivery is queued, its batch counted (and, for a batch job, more
bulk work dispatched), and waiting requests woken over pub/sub. Everything after the
row writes is an after-commit send, so a slow receiver or broker never delays the job
and nothing is sent for an outcome that was rolled back.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Any, Literal

from sqlalchemy.orm import Session

from shared.batches.dispatch import dispatch_after_commit
from shared.batches.progress import count_finished_job
from shared.billing.service import settle_job, settle_options_job
from shared.db.session import after_commit
from shared.errors import QuarryError
from shared.jobs.events import publish_job_done
from shared.jobs.lifecycle import Claim, record_outcome
from shared.jobs.models import Job
from shared.jobs.options import load_options
from shared.jobs.states import JobStatus
from shared.webhooks.service import queue_job_event


@dataclass(frozen=True)
class Finished:
    """A job's successful outcome: what the pipeline produced and the pages it processed."""

    status: Literal["succeeded", "partial"]
    payload: dict[str, Any]
    pages: int


def record_success(session: Session, claim: Claim, outcome: Finished) -> int | None:
    """Write the result and charge its pages, once; the credits charged, or None when the
    claim no longer held the job (someone else finished or canceled it)."""
    job = session.get_one(Job, claim.job_id)
    status = JobStatus(outcome.status)
    if not record_outcome(session, claim, status=status, result=outcome.payload):
        return None
    charged = settle_options_job(session, tenant_id=job.tenant_id, job_id=job.id,
                                 held=job.held_credits, pages=outcome.pages,
                                 options=load_options(job.operation, job.options))
    job.cost = {"credits_used": charged, "pages": outcome.pages}
    job_finished(session, job, status)
    return charged


def record_failure(session: Session, claim: Claim, error: QuarryError) -> bool:
    """Write the error, once; a failed job is not charged, its hold goes back."""
    body = {**error.to_body(), "status_code": error.status_code}
    if not record_outcome(session, claim, status=JobStatus.FAILED, error=body,
                          cost={"credits_used": 0, "pages": 0}):
        return False
    job = session.get_one(Job, claim.job_id)
    settle_job(session, tenant_id=job.tenant_id, job_id=job.id, held=job.held_credits,
               price=None)
    job_finished(session, job, JobStatus.FAILED)
    return True


def job_finished(session: Session, job: Job, status: JobStatus) -> None:
    """Everything that follows a written outcome: webhook, batch count, dispatch, pub/sub."""
    queue_job_event(session, job, status)
    if count_finished_job(session, job.id):
        after_commit(session, dispatch_after_commit)
    after_commit(session, partial(publish_job_done, job.id))
