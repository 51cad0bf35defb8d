"""A batch's progress: count its finished jobs and complete it, exactly once.

Called in the transaction that wrote a job's outcome (`shared.jobs.outcomes`), by a
batch cancel, and by the beat schedule for batches drained by single cancels. It only
writes rows; what follows (dispatching more bulk work) is its caller's to call.
"""

from __future__ import annotations

from sqlalchemy import case, exists, select, update
from sqlalchemy.orm import Session

from shared.batches.models import Batch, BatchItem
from shared.clock import utcnow
from shared.jobs.models import Job
from shared.jobs.states import JobStatus
from shared.webhooks.schemas import BATCH_COMPLETED
from shared.webhooks.service import create_delivery

OPEN = (JobStatus.QUEUED, JobStatus.RUNNING)


def count_finished_job(session: Session, job_id: str) -> bool:
    """Count a finished job in its batch, completing the batch with its last job; False when
    the job belongs to no batch."""
    batch_of_job = select(BatchItem.batch_id).where(BatchItem.job_id == job_id).scalar_subquery()
    row = session.execute(
        update(Batch).where(Batch.id == batch_of_job)
        .values(finished=Batch.finished + 1)
        .returning(Batch.id, Batch.finished, Batch.total)
        .execution_options(synchronize_session=False)
    ).first()
    if row is None:
        return False
    if row[1] >= row[2]:
        complete_batch(session, row[0])
    return True


def complete_batch(session: Session, batch_id: str) -> bool:
    """Mark the batch complete exactly once and queue its `batch.completed` event."""
    done = session.execute(
        update(Batch).where(Batch.id == batch_id, Batch.completed_at.is_(None))
        .values(completed_at=utcnow(), finished=Batch.total,
                status=case((Batch.canceled_at.is_(None), "completed"), else_="canceled"))
        .returning(Batch.tenant_id, Batch.webhook_url)
        .execution_options(synchronize_session=False)
    ).first()
    if done is None:
        return False
    if done[1]:
        create_delivery(session, tenant_id=done[0], event=BATCH_COMPLETED, url=done[1],
                        batch_id=batch_id)
    return True


def complete_drained_batches(session: Session, limit: int = 100) -> int:
    """Complete open batches with nothing left to run (jobs canceled one by one)."""
    open_jobs = exists().where(BatchItem.batch_id == Batch.id, Job.id == BatchItem.job_id,
                               Job.status.in_(OPEN))
    drained = list(session.scalars(
        select(Batch.id).where(Batch.completed_at.is_(None), Batch.dispatched >= Batch.total,
                               ~open_jobs).limit(limit)
    ))
    return sum(complete_batch(session, batch_id) for batch_id in drained)
