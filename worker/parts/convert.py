"""One page range of a long PDF: convert it, store its pages, count it done."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

from shared.db.session import after_commit, transaction
from shared.errors import QuarryError
from shared.jobs.lifecycle import Claim, held_job, worker_identity
from shared.jobs.parts import JobPart, finish_part
from shared.jobs.states import JOIN_PARTS_TASK
from shared.net.ssrf import vet_model_endpoints
from shared.queue import send_task_quietly
from shared.settings import get_settings
from shared.storage.factory import get_storage
from worker.pipeline.convert.pdf import convert_pdf_range
from worker.pipeline.document import document_to_json
from worker.pipeline.ocr import page_reader_for
from worker.pipeline.run import JobInput, conversion_request
from worker.runner import JobFile, RetryLater, load_input, read_job_file, settle


@dataclass(frozen=True)
class PageRange:
    start: int
    stop: int
    storage_key: str


def convert_part(claim: Claim, start: int, queue: str, *, retries: int) -> RetryLater | None:
    """Convert the part at `start` for `claim`; when it is the last, send the join on `queue`.

    A permanent error fails the whole job (once, through the claim); transient errors
    retry the part while `retries` allow. A part whose claim no longer holds does nothing.
    """
    with transaction() as session:
        part = session.get(JobPart, (claim.job_id, claim.attempt, start))
        if part is None or held_job(session, claim) is None:
            return None
        pages = PageRange(part.start, part.stop, part.storage_key)
        job_input, file = load_input(session, claim.job_id)
    work = partial(_convert, claim, job_input, file, pages, queue)
    return settle(claim, job_input, time.perf_counter(), work, retry=retry_while(retries))


def retry_while(retries: int) -> Callable[[QuarryError], RetryLater | None]:
    """A part's or join's own retries (their claim stays put), with the job's backoff."""
    settings = get_settings()

    def retry(_: QuarryError) -> RetryLater | None:
        if retries >= settings.job_max_retries:
            return None
        return RetryLater(settings.job_retry_backoff_s * 2 ** retries)

    return retry


def _convert(claim: Claim, job_input: dict[str, Any], file: JobFile, pages: PageRange,
             queue: str) -> None:
    vet_model_endpoints(job_input["options"])
    storage = get_storage()
    data = read_job_file(file)
    request = conversion_request(JobInput(**{**job_input, "data": data}))
    document = convert_pdf_range(data, pages.start, pages.stop, ocr=request.ocr,
                                 reader=page_reader_for(request.ocr, request.ocr_model))
    # A redelivered part overwrites the same key: the file is whole before it counts as done.
    storage.put_bytes(pages.storage_key, document_to_json(document), "application/json")
    with transaction() as session:
        progress = finish_part(session, claim, pages.start, converted_by=worker_identity())
        if progress is not None and progress.complete:
            args: list[object] = [claim.job_id, claim.attempt, claim.claimed_by]
            after_commit(session, partial(send_task_quietly, JOIN_PARTS_TASK, args, queue))
