"""The training task's name and queue, and how a training job is enqueued."""

from __future__ import annotations

import logging

import redis
from kombu.exceptions import OperationalError

from shared.queue import get_celery

log = logging.getLogger(__name__)

TRAIN_TASK = "training.run"
TRAINING_QUEUE = "training"
"""Its own queue: a training run takes seconds to minutes and must not delay single jobs."""


def send_training_job(training_job_id: str) -> None:
    """Enqueue a committed training job by id; a broker outage leaves it queued (see docs)."""
    try:
        get_celery().send_task(TRAIN_TASK, args=[training_job_id], queue=TRAINING_QUEUE,
                               retry_policy={"max_retries": 2, "interval_start": 0.2,
                                             "interval_step": 0.3, "interval_max": 0.5})
    except (OperationalError, OSError, redis.RedisError):
        log.warning("broker unavailable; training job %s stays queued", training_job_id)
