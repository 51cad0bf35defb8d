"""Run one training job: claim it, read its examples, learn outside any transaction, store
the artifact and the report once, and charge the pages read (a failure releases the hold)."""

from __future__ import annotations

import logging
from typing import Any

from celery.exceptions import SoftTimeLimitExceeded
from sqlalchemy.orm import Session

from shared.artifacts.models import TrainingJob
from shared.artifacts.service import (
    claim_training_job,
    record_artifact,
    record_failure,
    record_progress,
)
from shared.billing.service import settle_training
from shared.db.session import transaction
from shared.errors import QuarryError, ServiceUnavailable, StorageError, TransientError
from shared.files.failures import OutOfTime
from shared.jobs.models import Upload
from shared.jobs.options import ExtractOptions, extract_options_for_training
from shared.settings import get_settings
from shared.storage.factory import get_storage
from worker.pipeline.convert import ConversionRequest, convert_document
from worker.pipeline.llm import resolve_model
from worker.training.learn import LabeledDocument
from worker.training.variants import TrainingOutcome, train

log = logging.getLogger(__name__)


def execute_training(training_job_id: str) -> float | None:
    """Train `training_job_id`; return seconds to wait before a retry, or None when done."""
    with transaction() as session:
        job = claim_training_job(session, training_job_id)
        if job is None:
            return None
        # The options as submitted (finishing drops the sealed key, which marks a BYOK price).
        options = extract_options_for_training(job.mode, job.schema, job.options)
        attempt = job.attempts
        examples = [dict(example) for example in job.examples]
        for example in examples:
            upload = session.get_one(Upload, example["upload_id"])
            example.update(storage_key=upload.storage_key, content_type=upload.content_type)
    try:
        # The caller's model (sealed key) or the server default; None: local variants only.
        # A fast artifact never calls a model when it extracts, so its training does not
        # either (and is billed at the fast price).
        model = None if options.mode == "fast" else resolve_model(options.llm)
        labeled = [_read_example(training_job_id, ex, options, i, len(examples))
                   for i, ex in enumerate(examples)]
        outcome = train(labeled, options.schema_ or {},
                        holdout_fraction=get_settings().training_holdout_fraction,
                        progress=lambda stage, done, total: _progress(training_job_id, stage, done,
                                                                       total), model=model)
    except (TransientError, ServiceUnavailable, StorageError) as exc:
        if attempt <= get_settings().job_max_retries:
            log.warning("transient failure in training, retrying: %s", exc.detail)
            return float(get_settings().job_retry_backoff_s * 2 ** (attempt - 1))
        _fail(training_job_id, exc, options)
    except QuarryError as exc:
        _fail(training_job_id, exc, options)
    except SoftTimeLimitExceeded:
        _fail(training_job_id, OutOfTime("Training exceeded the time limit; send fewer or "
                                         "smaller examples."), options)
    except Exception:
        log.exception("training failed unexpectedly")
        _fail(training_job_id, QuarryError(), options)
    else:
        pages = sum(len(example.document.pages) for example in labeled)
        _succeed(training_job_id, outcome, options, pages)
    return None


def _read_example(training_job_id: str, example: dict[str, Any], options: ExtractOptions,
                  index: int, total: int) -> LabeledDocument:
    """An example read the way an extraction with the job's options reads its file."""
    _progress(training_job_id, "reading examples", index, total)
    data = get_storage().get_bytes(example["storage_key"])
    request = ConversionRequest(data=data, file_name=example["file_name"],
                                content_type=example["content_type"],
                                ocr=options.first_reading)
    try:
        document = convert_document(request)
    except QuarryError as exc:
        if exc.status_code >= 500:
            raise
        raise type(exc)(f"examples[{index}] ({example['file_name']}) could not be read: "
                        f"{exc.detail}", code=exc.code) from exc
    return LabeledDocument(example["file_name"], document, example["expected"])


def _progress(training_job_id: str, stage: str, done: int, total: int) -> None:
    with transaction() as session:
        record_progress(session, training_job_id, {"stage": stage, "done": done, "total": total})


def _fail(training_job_id: str, exc: QuarryError, options: ExtractOptions) -> None:
    """Record the failure; the hold goes back, nothing is charged."""
    with transaction() as session:
        record_failure(session, training_job_id, {**exc.to_body(), "status_code": exc.status_code})
        _settle(session, training_job_id, options, pages=None)


def _succeed(training_job_id: str, outcome: TrainingOutcome, options: ExtractOptions,
             pages: int) -> None:
    """The artifact and the charge for the `pages` read, in one transaction."""
    with transaction() as session:
        record_artifact(session, training_job_id, pipeline=outcome.pipeline, report=outcome.report)
        _settle(session, training_job_id, options, pages=pages)


def _settle(session: Session, training_job_id: str, options: ExtractOptions, *,
            pages: int | None) -> None:
    job = session.get_one(TrainingJob, training_job_id)
    settle_training(session, tenant_id=job.tenant_id, training_job_id=job.id, options=options,
                    pages=pages)
