"""Batch and retention upkeep on the beat schedule: fair dispatch, drained batches, purge."""

from __future__ import annotations

import logging

from shared.batches.dispatch import top_up_bulk_queue
from shared.batches.progress import complete_drained_batches
from shared.db.session import transaction
from shared.jobs.states import DISPATCH_BATCHES_TASK, PURGE_EXPIRED_TASK
from shared.retention.service import purge_expired
from worker.celery_app import app

log = logging.getLogger(__name__)


@app.task(name=DISPATCH_BATCHES_TASK)
def dispatch_batches() -> int:
    """Top the bulk queue up (tenants in turn) and complete batches with nothing left."""
    with transaction() as session:
        completed = complete_drained_batches(session)
    if completed:
        log.info("completed %d drained batches", completed)
    return top_up_bulk_queue()


@app.task(name=PURGE_EXPIRED_TASK)
def purge_expired_data() -> dict[str, int]:
    """Purge results and files past retention, a bounded slice per run."""
    with transaction() as session:
        report = purge_expired(session)
    if report.jobs or report.uploads or report.orphans:
        log.info("retention purged %d job results, %d files and %d orphan objects",
                 report.jobs, report.uploads, report.orphans)
    return {"jobs": report.jobs, "uploads": report.uploads, "orphans": report.orphans}
