"""Celery tasks: thin wrappers with stable names that call the runner and the sweeper."""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import partial
from typing import Any

from celery import Task

from shared.db.session import after_commit, transaction
from shared.errors import ServiceUnavailable
from shared.jobs.lifecycle import stale_jobs
from shared.jobs.states import RUN_JOB_TASK, SWEEP_TASK
from shared.logs import job_id_var
from shared.queue import send_job
from shared.settings import get_settings
from worker.celery_app import app
from worker.runner import RetryLater, execute_job

log = logging.getLogger(__name__)
DATABASE_RETRY_S = 2.0


@app.task(name=RUN_JOB_TASK, bind=True, max_retries=None)
def run_job(self: Task[Any, Any], job_id: str) -> None:
    run_for_job(self, job_id, partial(execute_job, job_id))


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
        stale = stale_jobs(session, queued_for_s=get_settings().sweeper_stale_queued_s)
        for job in stale:
            # Back to the queue it was submitted to: an OCR job to `ocr`, a batch item to
            # `bulk` (a recovery cannot jump the fair order).
            after_commit(session, partial(send_job, job.job_id, job.queue))
    if stale:
        log.info("sweeper re-enqueued %d jobs", len(stale))
    return len(stale)
