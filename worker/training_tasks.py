"""Celery task for trained pipelines: a thin wrapper with a stable name."""

from __future__ import annotations

import logging
from functools import partial
from typing import Any

from celery import Task

from shared.artifacts.queue import SWEEP_TRAINING_TASK, TRAIN_TASK, send_training_job
from shared.artifacts.service import stale_training_job_ids
from shared.db.session import after_commit, transaction
from shared.errors import ServiceUnavailable
from worker.celery_app import app
from worker.training.runner import execute_training

log = logging.getLogger(__name__)
DATABASE_RETRY_S = 2.0
# Long enough that a backed-up training queue is not mistaken for a lost message.
TRAINING_STALE_S = 600.0


@app.task(name=TRAIN_TASK, bind=True, max_retries=None)
def run_training(self: Task[Any, Any], training_job_id: str) -> None:
    try:
        retry = execute_training(training_job_id)
    except ServiceUnavailable as exc:
        log.warning("database unavailable while training: %s", exc.detail)
        retry = DATABASE_RETRY_S
    if retry is not None:
        raise self.retry(countdown=retry)


@app.task(name=SWEEP_TRAINING_TASK)
def sweep_stale_training_jobs() -> int:
    """Re-send training jobs left queued by a lost message (runs from beat)."""
    with transaction() as session:
        ids = stale_training_job_ids(session, queued_for_s=TRAINING_STALE_S)
        for training_job_id in ids:
            after_commit(session, partial(send_training_job, training_job_id))
    return len(ids)
