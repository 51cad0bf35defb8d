"""Bulk submission: create a batch, list and read batches, stream results, cancel."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header
from fastapi.responses import JSONResponse, StreamingResponse

from api.deps import CallerDep, PageCursor, PageLimit, ResourceId, SessionDep
from api.limits import guard_queue_depth
from api.responses import error_responses
from shared.batches import service
from shared.batches.schemas import BatchRequest
from shared.contract.paging import DEFAULT_LIMIT, Page
from shared.contract.resources import BatchAccepted, BatchOut
from shared.errors import BadRequest, Conflict, InsufficientCredits, NotFound

router = APIRouter(prefix="/v1/batches", tags=["batches"])
RESULTS_LINES: dict[str, Any] = {"application/x-ndjson": {"schema": {
    "type": "string", "description": "One finished job per line: `position` plus the job view."}}}


@router.post("", status_code=202, response_model=BatchAccepted,
             responses=error_responses(BadRequest, InsufficientCredits, NotFound, Conflict))
def create_batch(
    body: BatchRequest, caller: CallerDep, session: SessionDep,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key", max_length=255)] = None,
) -> JSONResponse:
    """Accept up to 10,000 items in one transaction; they run on the bulk queue. An item
    that is invalid is named by its index (400); a `file_uri` unknown, 404; the balance
    must cover the whole batch (402)."""
    guard_queue_depth()
    batch = service.submit_batch(session, tenant_id=caller.tenant_id, request=body,
                                 idempotency_key=idempotency_key)
    status_url = f"/v1/batches/{batch.id}"
    accepted = BatchAccepted(batch_id=batch.id, total=batch.total, status_url=status_url)
    return JSONResponse(accepted.model_dump(), status_code=202, headers={"Location": status_url})


@router.get("", response_model=Page[BatchOut], responses=error_responses(BadRequest))
def list_batches(caller: CallerDep, session: SessionDep, limit: PageLimit = DEFAULT_LIMIT,
                 cursor: PageCursor = None) -> Page[BatchOut]:
    """The tenant's batches, newest first, with their counts."""
    page = service.list_batches(session, tenant_id=caller.tenant_id, limit=limit, cursor=cursor)
    return page.page([BatchOut.model_validate(view) for view in page.rows])


@router.get("/{batch_id}", response_model=BatchOut, responses=error_responses(NotFound))
def get_batch(batch_id: ResourceId, caller: CallerDep, session: SessionDep) -> BatchOut:
    return BatchOut.model_validate(
        service.describe_batch(session, tenant_id=caller.tenant_id, batch_id=batch_id))


@router.get("/{batch_id}/results", response_class=StreamingResponse,
            responses={200: {"content": RESULTS_LINES, "description": "JSON Lines"},
                       **error_responses(NotFound)})
def get_batch_results(batch_id: ResourceId, caller: CallerDep,
                      session: SessionDep) -> StreamingResponse:
    """Finished jobs as JSON Lines (`application/x-ndjson`), in item order, streamed."""
    service.get_batch(session, tenant_id=caller.tenant_id, batch_id=batch_id)
    return StreamingResponse(service.stream_results(batch_id), media_type="application/x-ndjson")


@router.post("/{batch_id}/cancel", response_model=BatchOut, responses=error_responses(NotFound))
def cancel_batch(batch_id: ResourceId, caller: CallerDep, session: SessionDep) -> BatchOut:
    """Cancel every job not yet finished; their holds go back. Finished jobs stay."""
    return BatchOut.model_validate(
        service.cancel_batch(session, tenant_id=caller.tenant_id, batch_id=batch_id))
