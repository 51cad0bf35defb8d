"""Celery task for trained pipelines: a thin wrapper with a stable name."""

from __future__ import annotations

import logging
from typing import Any

from celery import Task

from shared.artifacts.queue import TRAIN_TASK
from shared.errors import ServiceUnavailable
from worker.celery_app import app
from worker.training.runner import execute_training

log = logging.getLogger(__name__)
DATABASE_RETRY_S = 2.0


@app.task(name=TRAIN_TASK, bind=True, max_retries=None)
def run_training(self: Task[Any, Any], training_job_id: str) -> None:
    try:
        retry = execute_training(training_job_id)
    except ServiceUnavailable as exc:
        log.warning("database unavailable while training: %s", exc.detail)
        retry = DATABASE_RETRY_S
    if retry is not None:
        raise self.retry(countdown=retry)
