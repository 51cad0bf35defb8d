"""One page range of a long PDF: convert it, store its pages, count it done."""

from __future__ import annotations

import time
from dataclasses import dataclass
from functools import partial

from shared.db.session import after_commit, transaction
from shared.jobs.lifecycle import Claim, held_job, worker_identity
from shared.jobs.parts import JobPart, finish_part
from shared.jobs.states import JOIN_PARTS_TASK
from shared.net.ssrf import vet_model_endpoints
from shared.queue import send_task_quietly
from shared.storage.factory import get_storage
from worker.pipeline.convert.pdf import convert_pdf_range
from worker.pipeline.document import document_to_json
from worker.pipeline.ocr import page_reader_for
from worker.pipeline.run import JobInput, conversion_request
from worker.runner import JobRun, RetryLater, load_job, read_job_file


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
        job = load_job(session, claim.job_id)
    run = JobRun(claim, job, time.perf_counter(), task_retries=retries)
    return run.settle(lambda: _convert(run, pages, queue))


def _convert(run: JobRun, pages: PageRange, queue: str) -> None:
    job, claim = run.job, run.claim
    vet_model_endpoints(job.options.model_sections())
    data = read_job_file(job)
    request = conversion_request(JobInput(options=job.options, data=data,
                                          file_name=job.file_name, content_type=job.content_type))
    document = convert_pdf_range(data, pages.start, pages.stop, ocr=request.ocr,
                                 reader=page_reader_for(request.ocr, request.ocr_model,
                                                        request.ocr_lang),
                                 table_format=request.table_format)
    # A redelivered part overwrites the same key: the file is whole before it counts as done.
    get_storage().put_bytes(pages.storage_key, document_to_json(document), "application/json")
    with transaction() as session:
        progress = finish_part(session, claim, pages.start, converted_by=worker_identity())
        if progress is not None and progress.complete:
            args: list[object] = [claim.job_id, claim.attempt, claim.claimed_by]
            after_commit(session, partial(send_task_quietly, JOIN_PARTS_TASK, args, queue))
