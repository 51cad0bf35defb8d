"""The worker's Celery application: shared configuration plus the task modules."""

from typing import Any

from celery.signals import worker_process_init

from shared.db.session import reset_engine
from shared.logs import configure_logging
from shared.queue import get_celery
from shared.settings import get_settings

app = get_celery()
app.conf.include = ["worker.tasks"]
configure_logging(get_settings().log_level)


@worker_process_init.connect
def _fresh_pool_after_fork(**_: Any) -> None:
    # Connections must not be shared with the parent process across fork.
    reset_engine()
    configure_logging(get_settings().log_level)
