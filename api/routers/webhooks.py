"""Webhook secrets and a job's deliveries."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from api.deps import CallerDep, ResourceId, SessionDep
from shared.webhooks import secrets, service
from shared.webhooks.schemas import delivery_view, secret_view

router = APIRouter(prefix="/v1", tags=["webhooks"])


@router.get("/webhooks/secret")
def get_secret(caller: CallerDep, session: SessionDep) -> dict[str, Any]:
    """The secret that signs this tenant's webhooks (and the previous one while it overlaps)."""
    return secret_view(secrets.current_secrets(session, caller.tenant_id))


@router.post("/webhooks/secret/rotate")
def rotate_secret(caller: CallerDep, session: SessionDep) -> dict[str, Any]:
    """A new secret; the old one keeps signing too for `QUARRY_WEBHOOK_SECRET_OVERLAP_S`."""
    return secret_view(secrets.rotate_secret(session, caller.tenant_id))


@router.get("/jobs/{job_id}/deliveries", responses={404: {"description": "No such job"}})
def list_deliveries(job_id: ResourceId, caller: CallerDep, session: SessionDep) -> dict[str, Any]:
    deliveries = service.list_job_deliveries(session, tenant_id=caller.tenant_id, job_id=job_id)
    return {"deliveries": [delivery_view(delivery, attempts) for delivery, attempts in deliveries]}


@router.post("/jobs/{job_id}/deliveries/{delivery_id}/redeliver", status_code=202,
             responses={404: {"description": "No such job or delivery"}})
def redeliver(job_id: ResourceId, delivery_id: ResourceId, caller: CallerDep,
              session: SessionDep) -> dict[str, Any]:
    delivery, attempts = service.redeliver(session, tenant_id=caller.tenant_id, job_id=job_id,
                                           delivery_id=delivery_id)
    return delivery_view(delivery, attempts)
