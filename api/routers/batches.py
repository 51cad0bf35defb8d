"""Bulk submission: create a batch, read its counts, stream its results, cancel it."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header
from fastapi.responses import JSONResponse, StreamingResponse

from api.deps import CallerDep, ResourceId, SessionDep
from api.limits import guard_queue_depth
from shared.batches import service
from shared.batches.schemas import BatchRequest

router = APIRouter(prefix="/v1/batches", tags=["batches"])
NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "No such batch for this tenant"}}


@router.post("", status_code=202, responses={
    400: {"description": "An item is invalid (named by its index)"},
    402: {"description": "The balance cannot cover the whole batch"},
    404: {"description": "An item's file_uri is unknown"},
})
def create_batch(
    body: BatchRequest, caller: CallerDep, session: SessionDep,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key", max_length=255)] = None,
) -> JSONResponse:
    """Accept up to 10,000 items in one transaction; they run on the bulk queue."""
    guard_queue_depth()
    batch = service.submit_batch(session, tenant_id=caller.tenant_id, request=body,
                                 idempotency_key=idempotency_key)
    status_url = f"/v1/batches/{batch.id}"
    return JSONResponse({"batch_id": batch.id, "total": batch.total, "status_url": status_url},
                        status_code=202, headers={"Location": status_url})


@router.get("/{batch_id}", responses=NOT_FOUND)
def get_batch(batch_id: ResourceId, caller: CallerDep, session: SessionDep) -> dict[str, Any]:
    return service.describe_batch(session, tenant_id=caller.tenant_id, batch_id=batch_id)


@router.get("/{batch_id}/results", responses=NOT_FOUND)
def batch_results(batch_id: ResourceId, caller: CallerDep, session: SessionDep) -> StreamingResponse:
    """Finished jobs as JSON Lines (`application/x-ndjson`), in item order, streamed."""
    service.get_batch(session, tenant_id=caller.tenant_id, batch_id=batch_id)
    return StreamingResponse(service.stream_results(batch_id), media_type="application/x-ndjson")


@router.post("/{batch_id}/cancel", responses=NOT_FOUND)
def cancel_batch(batch_id: ResourceId, caller: CallerDep, session: SessionDep) -> dict[str, Any]:
    return service.cancel_batch(session, tenant_id=caller.tenant_id, batch_id=batch_id)
