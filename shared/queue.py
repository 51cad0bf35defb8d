"""The Celery application's configuration, built once and shared by API and worker.

The API only sends messages by task name; the worker registers the tasks.
"""

from __future__ import annotations

import logging
import time
from functools import lru_cache

import redis
from celery import Celery
from kombu.exceptions import OperationalError

from shared.jobs.states import (
    DELIVER_WEBHOOK_TASK,
    DISPATCH_BATCHES_TASK,
    INTERACTIVE_QUEUE,
    PURGE_EXPIRED_TASK,
    RUN_JOB_TASK,
    SWEEP_TASK,
    SWEEP_TRAINING_TASK,
    SWEEP_WEBHOOKS_TASK,
    WEBHOOKS_QUEUE,
)
from shared.redis_client import get_redis
from shared.settings import get_settings

log = logging.getLogger(__name__)


@lru_cache
def get_celery() -> Celery:
    settings = get_settings()
    app = Celery("quarry", broker=settings.redis_url)
    app.conf.update(
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        task_acks_on_failure_or_timeout=True,
        worker_prefetch_multiplier=1,
        worker_max_tasks_per_child=settings.worker_max_tasks_per_child,
        worker_max_memory_per_child=settings.worker_max_memory_per_child_kb,
        task_soft_time_limit=settings.job_soft_time_limit_s,
        task_time_limit=settings.job_hard_time_limit_s,
        task_default_queue=INTERACTIVE_QUEUE,
        task_routes={RUN_JOB_TASK: {"queue": INTERACTIVE_QUEUE},
                     DELIVER_WEBHOOK_TASK: {"queue": WEBHOOKS_QUEUE},
                     SWEEP_WEBHOOKS_TASK: {"queue": WEBHOOKS_QUEUE}},
        task_ignore_result=True,
        broker_connection_retry_on_startup=True,
        broker_transport_options={
            "visibility_timeout": settings.broker_visibility_timeout_s,
            "socket_timeout": settings.redis_socket_timeout_s,
            "socket_connect_timeout": settings.redis_socket_timeout_s,
        },
        broker_connection_timeout=settings.redis_socket_timeout_s,
        beat_schedule={
            "sweep-stale-jobs": {"task": SWEEP_TASK, "schedule": settings.sweeper_interval_s},
            "sweep-webhooks": {"task": SWEEP_WEBHOOKS_TASK,
                               "schedule": settings.webhook_sweep_interval_s},
            "dispatch-batches": {"task": DISPATCH_BATCHES_TASK,
                                 "schedule": settings.batch_dispatch_interval_s},
            "purge-expired": {"task": PURGE_EXPIRED_TASK,
                              "schedule": settings.retention_interval_s},
            "sweep-training": {"task": SWEEP_TRAINING_TASK, "schedule": 60.0},
        },
        worker_hijack_root_logger=False,
        task_serializer="json",
        accept_content=["json"],
    )
    return app


def send_job(job_id: str, queue: str = INTERACTIVE_QUEUE) -> None:
    """Enqueue a job by id. The job row is already durable, so a broker outage is not the
    caller's failure: the sweeper re-enqueues jobs left `queued`."""
    try:
        get_celery().send_task(RUN_JOB_TASK, args=[job_id], queue=queue,
                               headers={"sent_at": time.time()},
                               retry_policy={"max_retries": 2, "interval_start": 0.2,
                                             "interval_step": 0.3, "interval_max": 0.5})
    except (OperationalError, OSError, redis.RedisError):
        log.warning("broker unavailable; job %s stays queued for the sweeper", job_id)


def send_task_quietly(name: str, args: list[object], queue: str) -> None:
    """Send a maintenance or webhook message; if the broker is down, a sweep sends it later."""
    try:
        get_celery().send_task(name, args=args, queue=queue,
                               retry_policy={"max_retries": 2, "interval_start": 0.2,
                                             "interval_step": 0.3, "interval_max": 0.5})
    except (OperationalError, OSError, redis.RedisError):
        log.warning("broker unavailable; %s %s left for the next sweep", name, args)


def queue_depth(queue: str = INTERACTIVE_QUEUE) -> int:
    """Messages waiting in a queue (Redis transport keeps each queue as a list)."""
    depth: int = get_redis().llen(queue)
    return depth
