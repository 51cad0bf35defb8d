"""Celery tasks: thin wrappers with stable names that call the runner and the sweeper."""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import partial
from typing import Any

from celery import Task
from sqlalchemy import select

from shared.batches.models import BatchItem
from shared.db.session import after_commit, transaction
from shared.errors import ServiceUnavailable
from shared.jobs.lifecycle import stale_job_ids
from shared.jobs.states import BULK_QUEUE, INTERACTIVE_QUEUE, RUN_JOB_TASK, SWEEP_TASK
from shared.logs import job_id_var
from shared.queue import send_job
from shared.settings import get_settings
from worker.celery_app import app
from worker.runner import RetryLater, execute_job

log = logging.getLogger(__name__)
DATABASE_RETRY_S = 2.0


@app.task(name=RUN_JOB_TASK, bind=True, max_retries=None)
def run_job(self: Task[Any, Any], job_id: str) -> None:
    # Page-range parts of a long PDF follow the job on the queue it came on.
    queue = (self.request.delivery_info or {}).get("routing_key") or INTERACTIVE_QUEUE
    run_for_job(self, job_id, partial(execute_job, job_id, queue))


def run_for_job(task: Task[Any, Any], job_id: str, work: Callable[[], RetryLater | None]) -> None:
    """Run a job's work with its id in the logs; retry the task when the work says so."""
    token = job_id_var.set(job_id)
    try:
        retry = work()
    except ServiceUnavailable as exc:
        # The database went away or chose us as a deadlock victim; our claim still stands
        # and the next delivery takes the job over.
        log.warning("database unavailable while running job: %s", exc.detail)
        retry = RetryLater(DATABASE_RETRY_S)
    finally:
        job_id_var.reset(token)
    if retry is not None:
        raise task.retry(countdown=retry.seconds)


@app.task(name=SWEEP_TASK)
def sweep_stale_jobs() -> int:
    """Re-enqueue jobs whose message was lost or whose worker died."""
    with transaction() as session:
        job_ids = stale_job_ids(session, queued_for_s=get_settings().sweeper_stale_queued_s)
        batch_jobs = set(session.scalars(select(BatchItem.job_id).where(BatchItem.job_id.in_(job_ids))))
        for job_id in job_ids:
            # Batch items go back to the bulk queue, so a recovery cannot jump the fair order.
            queue = BULK_QUEUE if job_id in batch_jobs else INTERACTIVE_QUEUE
            after_commit(session, partial(send_job, job_id, queue))
    if job_ids:
        log.info("sweeper re-enqueued %d jobs", len(job_ids))
    return len(job_ids)
