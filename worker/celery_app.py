"""The worker's Celery application: shared configuration plus the task modules."""

import os
from typing import Any

from celery.signals import worker_process_init, worker_process_shutdown, worker_ready

from shared.db.session import reset_engine
from shared.files.limits import cap_process_memory
from shared.logs import configure_logging
from shared.queue import get_celery
from shared.settings import get_settings
from shared.tracing import configure_tracing
from worker.metrics_server import forget_process, serve_metrics

app = get_celery()
app.conf.include = ["worker.tasks", "worker.training_tasks", "worker.webhook_tasks",
                    "worker.batch_tasks", "worker.part_tasks"]
configure_logging(get_settings().log_level)


@worker_process_init.connect
def _fresh_pool_after_fork(**_: Any) -> None:
    # Connections must not be shared with the parent process across fork.
    reset_engine()
    configure_logging(get_settings().log_level)
    # Exporters run a background thread, which must be started in each pool process.
    configure_tracing("quarry-worker")
    # A hard memory bound per pool process, so a hostile file fails alone (413); Celery's
    # worker_max_memory_per_child only replaces a process once its task is over.
    cap_process_memory(get_settings().job_max_memory_mb)


@worker_ready.connect
def _serve_metrics(**_: Any) -> None:
    serve_metrics()


@worker_process_shutdown.connect
def _forget_metrics(**_: Any) -> None:
    forget_process(os.getpid())
