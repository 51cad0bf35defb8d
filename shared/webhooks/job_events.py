"""What follows a job's outcome, in the same transaction: its webhook and its batch count.

Both only write rows and register after-commit sends, so a slow or dead receiver
never delays the job: delivery is a separate task on its own queue.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from shared.batches.service import record_job_finished
from shared.jobs.models import Job
from shared.jobs.states import JobStatus
from shared.webhooks.service import queue_job_event


def job_finished(session: Session, job: Job, status: JobStatus) -> None:
    queue_job_event(session, job, status)
    record_job_finished(session, job.id)
