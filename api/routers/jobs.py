"""Reading, listing and canceling jobs."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from api.deps import CallerDep, PageCursor, PageLimit, ResourceId, SessionDep
from api.responses import error_responses
from shared.billing.ledger import balance
from shared.contract.jobs import JobOut, seed_keys
from shared.contract.paging import DEFAULT_LIMIT, Page
from shared.errors import BadRequest, Conflict, NotFound
from shared.jobs import service
from shared.jobs.models import Job
from shared.jobs.schemas import job_view

router = APIRouter(prefix="/v1/jobs", tags=["jobs"])


def job_out(job: Job, credits_remaining: int | None = None) -> JobOut:
    view = job_view(job)
    return JobOut.model_validate({**view, **seed_keys(view, credits_remaining=credits_remaining)})


@router.get("/{job_id}", response_model=JobOut, response_model_exclude_unset=True,
            responses=error_responses(NotFound))
def get_job(job_id: ResourceId, caller: CallerDep, session: SessionDep) -> JobOut:
    """A finished extract job also carries the second seed's keys (`extractedData`, …);
    its `creditsRemaining` is the tenant's balance now."""
    job = service.get_job(session, tenant_id=caller.tenant_id, job_id=job_id)
    return job_out(job, balance(session, caller.tenant_id))


@router.get("", response_model=Page[JobOut], response_model_exclude_unset=True,
            responses=error_responses(BadRequest))
def list_jobs(
    caller: CallerDep,
    session: SessionDep,
    status: Annotated[str | None, Query(max_length=20)] = None,
    limit: PageLimit = DEFAULT_LIMIT,
    cursor: PageCursor = None,
) -> Page[JobOut]:
    """Newest first. `status` filters: queued, running, succeeded, partial, failed, canceled."""
    page = service.list_jobs(session, tenant_id=caller.tenant_id, status=status, limit=limit,
                             cursor=cursor)
    return Page[JobOut](data=[job_out(job) for job in page.jobs],
                        has_more=page.next_cursor is not None, next_cursor=page.next_cursor)


@router.post("/{job_id}/cancel", response_model=JobOut, response_model_exclude_unset=True,
             responses=error_responses(NotFound, Conflict))
def cancel_job(job_id: ResourceId, caller: CallerDep, session: SessionDep) -> JobOut:
    """Cancel a job that has not finished (409 once it has; a canceled job answers as is)."""
    return job_out(service.cancel_job(session, tenant_id=caller.tenant_id, job_id=job_id))
