"""What trained pipelines do: accept training input, run bookkeeping, resolve artifacts.

A training job is billed like extraction of its examples' pages in its mode: the pages are
held at submission (402 when the balance cannot cover them) and charged when it succeeds
(`shared.billing.service.settle_training`). Extractions that use the resulting artifact are
billed like any other extraction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from jsonschema.exceptions import best_match
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from shared.artifacts.models import Artifact, TrainingJob
from shared.artifacts.queue import send_training_job
from shared.billing.service import place_hold, training_credits
from shared.clock import utcnow
from shared.contract.paging import DEFAULT_LIMIT, Slice, keyset_page
from shared.db.session import after_commit, transaction
from shared.errors import BadRequest, NotFound, PayloadTooLarge
from shared.extraction.schema import parse_schema
from shared.extraction.validation import validation_problems
from shared.files.checks import inspect_file
from shared.ids import new_id
from shared.jobs.models import Upload
from shared.jobs.options import (
    EXTRACT_MODES,
    ExtractOptions,
    MarkdownOptions,
    SealedModel,
    TrainedPipeline,
    extract_options_for_training,
    mode_was_sent,
)
from shared.jobs.schemas import ModelConfig
from shared.jobs.states import JobStatus
from shared.jobs.uploads import check_tenant_size, resolve_file_uri, store_upload
from shared.net.ssrf import vet_model_endpoints
from shared.settings import get_settings
from shared.storage.factory import get_storage


@dataclass(frozen=True)
class ExampleInput:
    """A labeled example as the request gave it: the bytes (multipart) or a `file_uri`."""

    expected: Any
    file_name: str = "document"
    content_type: str | None = None
    data: bytes | None = None
    file_uri: str | None = None


@dataclass(frozen=True)
class TrainingInput:
    schema: str | dict[str, Any] | None
    examples: list[ExampleInput]
    name: str | None = None
    mode: str | None = None
    counts_sent: tuple[int, int] | None = None
    """Multipart only: how many files and how many expected labels came."""
    llm: ModelConfig | None = None
    """A BYOK model to evaluate LLM variants with; only a non-empty key counts."""


def create_training_job(session: Session, *, tenant_id: str, request: TrainingInput) -> TrainingJob:
    """Check everything a worker would trip over (400s), keep the files, enqueue after commit."""
    schema = parse_schema(request.schema)
    mode = _mode(request.mode)
    _check_counts(request)
    for index, example in enumerate(request.examples):
        check_label(schema, example.expected, index)
    options = training_options(request.llm)
    job_id = new_id("trn")
    pages = _checked_pages(session, tenant_id, request.examples)
    # Held before any file is kept: a 402 stores nothing.
    place_hold(session, tenant_id=tenant_id, job_id=job_id, credits=training_credits(
        extract_options_for_training(mode, schema, options), pages))
    uploads = _example_uploads(session, tenant_id, request.examples)
    job = TrainingJob(
        id=job_id, tenant_id=tenant_id, name=(request.name or "").strip() or "pipeline",
        schema=schema, mode=mode, status=JobStatus.QUEUED.value,
        progress={"stage": "queued", "done": 0, "total": 0}, options=options,
        examples=[{"upload_id": upload.id, "file_name": upload.file_name, "expected": ex.expected}
                  for upload, ex in zip(uploads, request.examples, strict=True)],
    )
    session.add(job)
    session.flush()
    after_commit(session, lambda: send_training_job(job_id))
    return job


def training_options(llm: ModelConfig | None) -> dict[str, Any]:
    """The job's options: the BYOK model section, key sealed and `api_base` vetted (SSRF)."""
    section = llm.to_options() if llm else None
    options = {"llm": section} if section else {}
    vet_model_endpoints({"llm": SealedModel.model_validate(section)} if section else {})
    return options


def without_secrets(options: dict[str, Any] | None) -> dict[str, Any]:
    """Options with every sealed key removed: what a finished training job keeps."""
    return {name: ({k: v for k, v in section.items() if k != "api_key_sealed"}
                   if isinstance(section, dict) else section)
            for name, section in (options or {}).items()}


def _mode(mode: str | None) -> str:
    mode = mode or "standard"
    if mode not in EXTRACT_MODES:
        raise BadRequest("mode must be one of: fast, standard, robust.")
    return mode


def _check_counts(request: TrainingInput) -> None:
    settings = get_settings()
    count = len(request.examples)
    if request.counts_sent is not None and request.counts_sent[0] != request.counts_sent[1]:
        files, labels = request.counts_sent
        raise BadRequest(f"Got {files} files but {labels} expected labels; send one label per "
                         "file, in file order.", code="example_count_mismatch")
    if count < settings.training_min_examples:
        raise BadRequest(f"Training needs at least {settings.training_min_examples} labeled "
                         f"examples; got {count}.", code="too_few_examples")
    if count > settings.training_max_examples:
        raise BadRequest(f"Training takes at most {settings.training_max_examples} examples; "
                         f"got {count}.", code="too_many_examples")


def check_label(schema: dict[str, Any], expected: Any, index: int) -> None:
    """An example's expected JSON must be an object that satisfies the schema."""
    if not isinstance(expected, dict) or not any(v not in (None, "", []) for v in expected.values()):
        raise BadRequest(f"examples[{index}].expected must be a JSON object with at least one "
                         "value.", code="invalid_label")
    given = {key: value for key, value in expected.items() if value is not None}  # null: absent
    error = best_match(validation_problems(schema, given))
    if error is not None:
        where = "/".join(map(str, error.absolute_path)) or "(root)"
        raise BadRequest(f"examples[{index}].expected does not match the schema at {where}: "
                         f"{error.message}", code="invalid_label")
    unknown = sorted(set(expected) - set(schema.get("properties") or {}))
    if unknown:
        raise BadRequest(f"examples[{index}].expected has fields the schema lacks: "
                         f"{', '.join(unknown)}.", code="invalid_label")


def _checked_pages(session: Session, tenant_id: str, examples: list[ExampleInput]) -> int:
    """Every file checked (unreadable → 400, nothing kept); their pages, as billed."""
    pages = 0
    for index, example in enumerate(examples):
        try:
            if example.data is not None:
                check_tenant_size(session, tenant_id, len(example.data))  # the plan's limit
                info = inspect_file(example.data, example.file_name, example.content_type)
            elif example.file_uri:
                upload = resolve_file_uri(session, tenant_id=tenant_id, file_uri=example.file_uri)
                info = inspect_file(get_storage().get_bytes(upload.storage_key), upload.file_name,
                                    upload.content_type)
            else:
                raise BadRequest("Each example needs a file (multipart) or a file_uri.")
        except (BadRequest, PayloadTooLarge) as exc:
            raise type(exc)(f"examples[{index}] ({example.file_name}): {exc.detail}",
                            code=exc.code) from exc
        pages += info.pages
    return pages


def _example_uploads(session: Session, tenant_id: str, examples: list[ExampleInput]) -> list[Upload]:
    """The checked files, stored (multipart) or resolved (`file_uri`)."""
    return [resolve_file_uri(session, tenant_id=tenant_id, file_uri=ex.file_uri)
            if ex.data is None and ex.file_uri else
            store_upload(session, tenant_id=tenant_id, file_name=ex.file_name,
                         content_type=ex.content_type, data=ex.data or b"")
            for ex in examples]


def get_training_job(session: Session, *, tenant_id: str, training_job_id: str) -> TrainingJob:
    job = session.get(TrainingJob, training_job_id)
    if job is None or job.tenant_id != tenant_id:
        raise NotFound("Training job not found.")
    return job


def list_training_jobs(session: Session, *, tenant_id: str, limit: int = DEFAULT_LIMIT,
                       cursor: str | None = None) -> Slice[TrainingJob]:
    """The tenant's training jobs, newest first, a page at a time."""
    query = select(TrainingJob).where(TrainingJob.tenant_id == tenant_id)
    return keyset_page(session, query, created=TrainingJob.created_at, ident=TrainingJob.id,
                       limit=limit, cursor=cursor)


def list_artifacts(session: Session, *, tenant_id: str, include_retired: bool = False,
                   limit: int = DEFAULT_LIMIT, cursor: str | None = None) -> Slice[Artifact]:
    """Newest first, a page at a time."""
    query = select(Artifact).where(Artifact.tenant_id == tenant_id)
    if not include_retired:
        query = query.where(Artifact.retired_at.is_(None))
    return keyset_page(session, query, created=Artifact.created_at, ident=Artifact.id,
                       limit=limit, cursor=cursor)


def get_artifact(session: Session, *, tenant_id: str, artifact_id: str) -> Artifact:
    artifact = session.get(Artifact, artifact_id)
    if artifact is None or artifact.tenant_id != tenant_id:
        raise NotFound("Artifact not found.")
    return artifact


def retire_artifact(session: Session, *, tenant_id: str, artifact_id: str) -> Artifact:
    """Retired artifacts stay readable but can no longer be used to extract."""
    artifact = get_artifact(session, tenant_id=tenant_id, artifact_id=artifact_id)
    if artifact.retired_at is None:
        artifact.retired_at = utcnow()
        session.flush()
    return artifact


def apply_artifact(session: Session, *, tenant_id: str,
                   options: ExtractOptions | MarkdownOptions) -> ExtractOptions | MarkdownOptions:
    """Extract options with the artifact's schema, mode and pipeline filled in.

    A schema sent alongside must be the artifact's (400 otherwise); an unknown, foreign
    or retired artifact is 404. Options without `artifact_id` come back unchanged. The
    mode is the request's when it sent one, else the artifact's.
    """
    if not isinstance(options, ExtractOptions) or not options.artifact_id:
        return options
    artifact = get_artifact(session, tenant_id=tenant_id, artifact_id=options.artifact_id)
    if artifact.retired_at is not None:
        raise NotFound("Artifact not found (it was retired).")
    if options.schema_ is not None and options.schema_ != artifact.schema:
        raise BadRequest("The schema sent does not match the artifact's schema; omit it to use "
                         "the artifact's.", code="schema_mismatch")
    _check_model_available(artifact.pipeline, options)
    mode = options.mode if mode_was_sent(options) else artifact.mode
    return options.model_copy(update={"schema_": artifact.schema, "mode": mode,
                                      "pipeline": TrainedPipeline.model_validate(artifact.pipeline)})


def _check_model_available(pipeline: dict[str, Any], options: ExtractOptions) -> None:
    """An LLM artifact without a local fallback needs the caller's model or the server's."""
    if (pipeline.get("engine") != "llm" or isinstance(pipeline.get("local"), dict)
            or options.llm or get_settings().llm_default_model.strip()):
        return
    raise BadRequest("This artifact was trained for an LLM and the server has no default model: "
                     "send llm_provider_model and llm_api_key with the extraction.",
                     code="llm_required")


def resolve_artifact_options(
    tenant_id: str, options: ExtractOptions | MarkdownOptions
) -> ExtractOptions | MarkdownOptions:
    """`apply_artifact` in a short read-only transaction of its own, for the submit routes."""
    if not isinstance(options, ExtractOptions) or not options.artifact_id:
        return options
    with transaction() as session:
        return apply_artifact(session, tenant_id=tenant_id, options=options)


# The worker's side of a training job.

def stale_training_job_ids(session: Session, *, queued_for_s: float) -> list[str]:
    """Training jobs still queued long after submission: their message was probably lost."""
    cutoff = utcnow() - timedelta(seconds=queued_for_s)
    query = select(TrainingJob.id).where(TrainingJob.status == JobStatus.QUEUED,
                                         TrainingJob.created_at < cutoff).limit(100)
    return list(session.scalars(query))


def claim_training_job(session: Session, training_job_id: str) -> TrainingJob | None:
    """Mark a queued (or interrupted) training job running; None when there is nothing to do."""
    job = session.get(TrainingJob, training_job_id, with_for_update=True)
    if job is None or job.status not in (JobStatus.QUEUED, JobStatus.RUNNING):
        return None
    job.status = JobStatus.RUNNING.value
    job.attempts += 1
    job.started_at = utcnow()
    session.flush()
    return job


def record_progress(session: Session, training_job_id: str, progress: dict[str, Any]) -> None:
    job = session.get_one(TrainingJob, training_job_id)
    job.progress = progress
    session.flush()


def record_artifact(session: Session, training_job_id: str, *, pipeline: dict[str, Any],
                    report: dict[str, Any]) -> Artifact:
    """The trained pipeline as the next version of the job's name, and the job succeeded."""
    job = session.get_one(TrainingJob, training_job_id, with_for_update=True)
    latest = session.scalar(select(func.max(Artifact.version)).where(
        Artifact.tenant_id == job.tenant_id, Artifact.name == job.name))
    artifact = Artifact(id=new_id("art"), tenant_id=job.tenant_id, name=job.name,
                        version=(latest or 0) + 1, schema=job.schema, mode=job.mode,
                        pipeline=pipeline, report=report, training_job_id=job.id)
    session.add(artifact)
    job.status, job.artifact_id, job.report = JobStatus.SUCCEEDED.value, artifact.id, report
    job.options = without_secrets(job.options)
    job.finished_at = utcnow()
    job.progress = {"stage": "done", "done": 1, "total": 1}
    session.flush()
    return artifact


def record_failure(session: Session, training_job_id: str, error: dict[str, Any]) -> None:
    job = session.get_one(TrainingJob, training_job_id)
    job.status, job.error, job.finished_at = JobStatus.FAILED.value, error, utcnow()
    job.options = without_secrets(job.options)
    session.flush()
