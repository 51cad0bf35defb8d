"""The last step of a long PDF job: its parts as one document, then the rest of the pipeline."""

from __future__ import annotations

import gc
import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager

from shared.clock import utcnow
from shared.db.session import transaction
from shared.jobs.lifecycle import Claim, held_job
from shared.jobs.parts import parts_in_order
from shared.storage.factory import get_storage
from worker.pipeline.convert.pdf import join_pdf_ranges
from worker.pipeline.document import document_from_json
from worker.pipeline.run import PipelineResult, complete_pipeline
from worker.runner import JobRun, RetryLater, load_job

log = logging.getLogger(__name__)


def join_parts(claim: Claim, *, retries: int) -> RetryLater | None:
    """Join the claim's parts in page order and record the job's outcome, once."""
    with transaction() as session:
        job = held_job(session, claim)
        if job is None:
            return None  # already recorded (a repeated join) or taken over by a new claim
        keys = [part.storage_key for part in parts_in_order(session, claim)]
        loaded = load_job(session, claim.job_id)
        # Durations (meta, metrics) count from the claim, not from the join.
        started = time.perf_counter() - (utcnow() - (job.started_at or utcnow())).total_seconds()
    run = JobRun(claim, loaded, started, task_retries=retries)
    later = run.settle(lambda: _joined(keys, run))
    if later is None:
        _delete(keys)
    return later


def _joined(keys: list[str], run: JobRun) -> PipelineResult:
    storage = get_storage()
    with _no_cycle_collection():
        ranges = [document_from_json(storage.get_bytes(key)) for key in keys]
    document = join_pdf_ranges(ranges)
    return complete_pipeline(document, run.job.options, run.started)


@contextmanager
def _no_cycle_collection() -> Iterator[None]:
    """Pause the cyclic GC while hundreds of thousands of acyclic objects (words, lines) are
    built: it would rescan them over and over, most of the loading time (0.5 of 0.7 s for
    600 pages). Worker processes run one task at a time, so nothing else is affected."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _delete(keys: list[str]) -> None:
    storage = get_storage()
    for key in keys:
        try:
            storage.delete(key)
        except Exception:  # noqa: BLE001 - a leftover part file is garbage, not a failure
            log.warning("could not delete part file %s", key, exc_info=True)
