"""Reading, listing and canceling jobs."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from api.deps import CallerDep, ResourceId, SessionDep
from shared.jobs import service
from shared.jobs.schemas import job_view

router = APIRouter(prefix="/v1/jobs", tags=["jobs"])


@router.get("/{job_id}")
def get_job(job_id: ResourceId, caller: CallerDep, session: SessionDep) -> dict[str, Any]:
    return job_view(service.get_job(session, tenant_id=caller.tenant_id, job_id=job_id))


@router.get("")
def list_jobs(
    caller: CallerDep,
    session: SessionDep,
    status: Annotated[str | None, Query(max_length=20)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> dict[str, Any]:
    page = service.list_jobs(session, tenant_id=caller.tenant_id, status=status, limit=limit,
                             cursor=cursor)
    return {"jobs": [job_view(job) for job in page.jobs], "next_cursor": page.next_cursor}


@router.post("/{job_id}/cancel")
def cancel_job(job_id: ResourceId, caller: CallerDep, session: SessionDep) -> dict[str, Any]:
    return job_view(service.cancel_job(session, tenant_id=caller.tenant_id, job_id=job_id))
