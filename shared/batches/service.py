"""What batches do: accept many jobs in one transaction, count them, stream results, cancel.

Accepting is bulk work: one query for all uploads, options built once per distinct
set of overrides, jobs, batch items and credit holds inserted with executemany,
and the tenant's balance moved by one UPDATE (402 for the whole batch if it can't).
Nothing is enqueued here: the fair dispatcher (`shared.batches.dispatch`) feeds
the bulk queue after commit.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from typing import Any

from pydantic import BaseModel
from sqlalchemy import func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import Session

from shared.artifacts.service import apply_artifact
from shared.batches.dispatch import dispatch_after_commit
from shared.batches.models import Batch, BatchItem
from shared.batches.progress import OPEN, complete_batch
from shared.batches.schemas import BatchRequest, batch_view, merged_options
from shared.billing.models import LedgerEntry
from shared.billing.service import PageHold, credits_for, hold_batch, release_free_pages
from shared.clock import utcnow
from shared.contract.paging import DEFAULT_LIMIT, Slice, keyset_page
from shared.db.session import after_commit, transaction
from shared.errors import BadRequest, NotFound, QuarryError
from shared.idempotency import find_repeat, fingerprint
from shared.ids import new_id
from shared.jobs.metadata import parse_metadata
from shared.jobs.models import Job, Upload
from shared.jobs.options import ExtractOptions, MarkdownOptions, build_options, stored_options
from shared.jobs.schemas import job_view
from shared.jobs.states import BULK_QUEUE, TERMINAL_STATUSES, JobStatus
from shared.jobs.uploads import FILE_URI_PREFIX, check_size
from shared.net.ssrf import vet_model_endpoints, vet_url
from shared.settings import get_settings
from shared.storage.factory import get_storage
from shared.tenants.models import Tenant
from shared.tenants.service import tenant_limits

LEDGER_CHUNK = 1000


@dataclass(frozen=True)
class PreparedItem:
    options: ExtractOptions | MarkdownOptions
    webhook_url: str | None
    metadata: dict[str, Any] | None
    upload: Upload


def submit_batch(session: Session, *, tenant_id: str, request: BatchRequest,
                 idempotency_key: str | None = None) -> Batch:
    """Record the batch and all its jobs with their credit holds; dispatch after commit.

    With an `Idempotency-Key` seen before (same body), the first batch is returned and
    nothing new is created or charged.
    """
    most = tenant_limits(session, tenant_id).max_batch_items
    if len(request.items) > most:
        raise BadRequest(f"A batch holds at most {most} items on this plan.",
                         code="too_many_items")
    request_hash = fingerprint(request.model_dump(mode="json"))
    if idempotency_key:
        # Serialise same-key submissions on the tenant row so only one batch is created.
        session.execute(select(Tenant.id).where(Tenant.id == tenant_id).with_for_update())
        existing = find_repeat(session, Batch, tenant_id=tenant_id, key=idempotency_key,
                               request_hash=request_hash)
        if existing is not None:
            return existing
    if request.webhook_url:
        vet_url(request.webhook_url, field="webhook_url")
    items = _prepare_items(session, tenant_id, request)
    batch = Batch(id=new_id("bat"), tenant_id=tenant_id, operation=request.operation,
                  total=len(items), webhook_url=request.webhook_url, status="running",
                  idempotency_key=idempotency_key, request_hash=request_hash)
    session.add(batch)
    session.flush()
    now = utcnow()
    jobs = [_job_row(tenant_id, request.operation, item, now) for item in items]
    # Free pages first, then credits: each item's held credits are known before its row.
    held = hold_batch(session, tenant_id=tenant_id, jobs=[
        PageHold(job["id"], 1, partial(credits_for, item.options))
        for job, item in zip(jobs, items, strict=True)
    ])
    for job, credits in zip(jobs, held, strict=True):
        job["held_credits"] = credits
    session.execute(insert(Job), jobs)
    session.execute(insert(BatchItem), [
        {"job_id": job["id"], "batch_id": batch.id, "tenant_id": tenant_id, "position": index,
         "dispatched": False} for index, job in enumerate(jobs)
    ])
    after_commit(session, dispatch_after_commit)
    return batch


def _job_row(tenant_id: str, operation: str, item: PreparedItem, now: Any) -> dict[str, Any]:
    return {
        "id": new_id("job"), "tenant_id": tenant_id, "operation": operation,
        "options": stored_options(item.options), "queue": BULK_QUEUE,
        "status": JobStatus.QUEUED.value, "upload_id": item.upload.id,
        "file_name": item.upload.file_name, "attempts": 0, "created_at": now,
        "job_metadata": item.metadata, "webhook_url": item.webhook_url,
        # One page per item is the estimate: the files are not read here. The worker raises
        # the hold to the real page count before converting (the job fails with 402 if the
        # balance can't cover it), and settlement charges the pages actually read.
        "held_credits": credits_for(item.options, 1), "enqueued_at": None,
    }


def _prepare_items(session: Session, tenant_id: str, request: BatchRequest) -> list[PreparedItem]:
    uploads = _resolve_uploads(session, tenant_id, [item.file_uri for item in request.items])
    built: dict[str, ExtractOptions | MarkdownOptions] = {}
    vetted: set[str] = set()
    prepared = []
    for index, item in enumerate(request.items):
        merged = merged_options(request.defaults, item)
        key = json.dumps({name: value.model_dump() if isinstance(value, BaseModel) else value
                          for name, value in merged.items()}, sort_keys=True, default=str)
        if key not in built:
            built[key] = _build_item_options(session, tenant_id, request, merged, index)
        url = merged["webhook_url"]
        if url and url not in vetted:
            _for_item(index, partial(vet_url, url, field="webhook_url"))
            vetted.add(url)
        metadata = _for_item(index, partial(parse_metadata, item.metadata))
        prepared.append(PreparedItem(built[key], url, metadata, uploads[item.file_uri]))
    return prepared


def _build_item_options(session: Session, tenant_id: str, request: BatchRequest,
                        merged: dict[str, Any], index: int) -> ExtractOptions | MarkdownOptions:
    def build() -> ExtractOptions | MarkdownOptions:
        options = build_options(
            operation=request.operation, schema=merged["schema_"], mode=merged["mode"],
            conversion_mode=merged["conversion_mode"],
            allow_partial=bool(merged["allow_partial"]), artifact_id=merged["artifact_id"],
            llm=merged["llm"], ocr=merged["ocr"], page_range=merged["page_range"],
            ocr_lang=merged["ocr_lang"], table_format=merged["table_format"],
        )
        vet_model_endpoints(options.model_sections())
        # An item naming a trained artifact runs with its schema, mode and pipeline, exactly
        # as POST /v1/extract does with the same artifact_id.
        return apply_artifact(session, tenant_id=tenant_id, options=options)

    options: ExtractOptions | MarkdownOptions = _for_item(index, build)
    return options


def _for_item(index: int, check: Any) -> Any:
    """Run `check`, naming the item in any 4xx it raises."""
    try:
        return check()
    except QuarryError as exc:
        exc.detail = f"items[{index}]: {exc.detail}"
        exc.args = (exc.detail,)
        raise


def _resolve_uploads(session: Session, tenant_id: str, uris: list[str]) -> dict[str, Upload]:
    """Every item's upload in one query; unconfirmed presigned ones are checked in storage."""
    for index, uri in enumerate(uris):
        if not uri.startswith(FILE_URI_PREFIX):
            raise NotFound(f"items[{index}]: Upload not found.")
    ids = {uri.removeprefix(FILE_URI_PREFIX) for uri in uris}
    found = {upload.id: upload for upload in session.scalars(
        select(Upload).where(Upload.id.in_(ids), Upload.tenant_id == tenant_id))}
    for index, uri in enumerate(uris):
        if uri.removeprefix(FILE_URI_PREFIX) not in found:
            raise NotFound(f"items[{index}]: Upload not found.")
    _confirm_uploaded([upload for upload in found.values() if upload.uploaded_at is None])
    # Every item against the plan as it is now: an upload made on a larger plan, or one PUT
    # straight to S3 past it, is refused here, before any credit is held.
    uploads = {uri: found[uri.removeprefix(FILE_URI_PREFIX)] for uri in uris}
    limit = tenant_limits(session, tenant_id).max_upload_bytes
    for index, uri in enumerate(uris):
        _for_item(index, partial(check_size, uploads[uri].size, limit))
    return uploads


def _confirm_uploaded(uploads: list[Upload]) -> None:
    if not uploads:
        return
    with ThreadPoolExecutor(max_workers=16) as pool:
        sizes = list(pool.map(lambda upload: get_storage().size(upload.storage_key), uploads))
    now = utcnow()
    for upload, size in zip(uploads, sizes, strict=True):
        if size is None:
            raise BadRequest(f"The file for quarry://uploads/{upload.id} has not been uploaded yet.")
        upload.size, upload.uploaded_at = size, now  # its size is checked by the caller


def get_batch(session: Session, *, tenant_id: str, batch_id: str) -> Batch:
    batch = session.get(Batch, batch_id)
    if batch is None or batch.tenant_id != tenant_id:
        raise NotFound("Batch not found.")
    return batch


def list_batches(session: Session, *, tenant_id: str, limit: int = DEFAULT_LIMIT,
                 cursor: str | None = None) -> Slice[dict[str, Any]]:
    """The tenant's batches, newest first, a page at a time, each with its counts."""
    page = keyset_page(session, select(Batch).where(Batch.tenant_id == tenant_id),
                       created=Batch.created_at, ident=Batch.id, limit=limit, cursor=cursor)
    return Slice([batch_view(batch, status_counts(session, batch.id)) for batch in page.rows],
                 page.next_cursor)


def status_counts(session: Session, batch_id: str) -> dict[str, int]:
    rows = session.execute(
        select(Job.status, func.count()).join(BatchItem, BatchItem.job_id == Job.id)
        .where(BatchItem.batch_id == batch_id).group_by(Job.status)
    ).all()
    return {str(status): int(count) for status, count in rows}


def describe_batch(session: Session, *, tenant_id: str, batch_id: str) -> dict[str, Any]:
    batch = get_batch(session, tenant_id=tenant_id, batch_id=batch_id)
    return batch_view(batch, status_counts(session, batch_id))


def batch_event_data(session: Session, batch_id: str) -> dict[str, Any]:
    batch = session.get_one(Batch, batch_id)
    view = batch_view(batch, status_counts(session, batch_id))
    view["results_url"] = get_settings().public_base_url + view["results_url"]
    return view


def stream_results(batch_id: str, chunk: int = 500) -> Iterator[bytes]:
    """Finished jobs as JSON Lines in item order, read through a server-side cursor."""
    query = (
        select(Job, BatchItem.position).join(BatchItem, BatchItem.job_id == Job.id)
        .where(BatchItem.batch_id == batch_id, Job.status.in_(TERMINAL_STATUSES))
        .order_by(BatchItem.position).execution_options(yield_per=chunk)
    )
    with transaction() as session:
        for job, position in session.execute(query):
            line = {"position": position, **job_view(job)}
            yield (json.dumps(line, default=str) + "\n").encode()
            session.expunge(job)


def cancel_batch(session: Session, *, tenant_id: str, batch_id: str) -> dict[str, Any]:
    """Cancel every job not yet finished; their holds go back. Finished jobs stay."""
    batch = get_batch(session, tenant_id=tenant_id, batch_id=batch_id)
    if batch.completed_at is None:
        # Lock order everywhere: job rows, then the tenant, then the batch.
        members = select(BatchItem.job_id).where(BatchItem.batch_id == batch_id)
        canceled = session.execute(
            update(Job).where(Job.id.in_(members), Job.status.in_(OPEN))
            .values(status=JobStatus.CANCELED, finished_at=utcnow(),
                    cost={"credits_used": 0, "pages": 0})
            .returning(Job.id, Job.held_credits).execution_options(synchronize_session=False)
        ).all()
        _release_holds(session, tenant_id, [(row[0], row[1]) for row in canceled])
        release_free_pages(session, tenant_id=tenant_id, job_ids=[row[0] for row in canceled])
        session.execute(update(BatchItem).where(BatchItem.batch_id == batch_id,
                                                BatchItem.dispatched.is_(False))
                        .values(dispatched=True))
        counted = session.execute(
            update(Batch).where(Batch.id == batch_id)
            .values(finished=Batch.finished + len(canceled), dispatched=Batch.total,
                    canceled_at=func.coalesce(Batch.canceled_at, utcnow()), status="canceled")
            .returning(Batch.finished, Batch.total).execution_options(synchronize_session=False)
        ).one()
        if counted[0] >= counted[1]:
            complete_batch(session, batch_id)
        session.refresh(batch)
    return batch_view(batch, status_counts(session, batch_id))


def _release_holds(session: Session, tenant_id: str, holds: list[tuple[str, int]]) -> None:
    holds = [(job_id, credits) for job_id, credits in holds if credits]
    if not holds:
        return
    session.scalar(select(Tenant.credits_balance).where(Tenant.id == tenant_id)
                   .with_for_update(key_share=True))
    released = 0
    for start in range(0, len(holds), LEDGER_CHUNK):
        rows = [{"tenant_id": tenant_id, "kind": "release", "amount": credits,
                 "entry_key": f"release:{job_id}", "job_id": job_id, "reason": "batch canceled"}
                for job_id, credits in holds[start:start + LEDGER_CHUNK]]
        amounts = session.scalars(pg_insert(LedgerEntry).values(rows)
                                  .on_conflict_do_nothing(index_elements=["entry_key"])
                                  .returning(LedgerEntry.amount))
        released += sum(amounts)
    session.execute(update(Tenant).where(Tenant.id == tenant_id)
                    .values(credits_balance=Tenant.credits_balance + released))
