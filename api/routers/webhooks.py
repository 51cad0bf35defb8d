"""Webhook secrets and a job's deliveries."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import CallerDep, PageCursor, PageLimit, ResourceId, SessionDep
from api.responses import error_responses
from shared.contract.paging import DEFAULT_LIMIT, Page
from shared.contract.resources import DeliveryOut, WebhookSecretOut
from shared.errors import BadRequest, NotFound
from shared.webhooks import secrets, service
from shared.webhooks.schemas import delivery_view, secret_view

router = APIRouter(prefix="/v1", tags=["webhooks"])


@router.get("/webhooks/secret", response_model=WebhookSecretOut, responses=error_responses())
def get_webhook_secret(caller: CallerDep, session: SessionDep) -> WebhookSecretOut:
    """The secret that signs this tenant's webhooks (and the previous one while it overlaps)."""
    return WebhookSecretOut.model_validate(
        secret_view(secrets.current_secrets(session, caller.tenant_id)))


@router.post("/webhooks/secret/rotate", response_model=WebhookSecretOut,
             responses=error_responses())
def rotate_webhook_secret(caller: CallerDep, session: SessionDep) -> WebhookSecretOut:
    """A new secret; the old one keeps signing too for `QUARRY_WEBHOOK_SECRET_OVERLAP_S`."""
    return WebhookSecretOut.model_validate(
        secret_view(secrets.rotate_secret(session, caller.tenant_id)))


@router.get("/jobs/{job_id}/deliveries", response_model=Page[DeliveryOut],
            responses=error_responses(NotFound, BadRequest))
def list_deliveries(job_id: ResourceId, caller: CallerDep, session: SessionDep,
                    limit: PageLimit = DEFAULT_LIMIT,
                    cursor: PageCursor = None) -> Page[DeliveryOut]:
    """Oldest first, each with its attempt log."""
    page = service.list_job_deliveries(session, tenant_id=caller.tenant_id, job_id=job_id,
                                       limit=limit, cursor=cursor)
    return page.page([DeliveryOut.model_validate(delivery_view(delivery, attempts))
                      for delivery, attempts in page.rows])


@router.post("/jobs/{job_id}/deliveries/{delivery_id}/redeliver", status_code=202,
             response_model=DeliveryOut, responses=error_responses(NotFound))
def redeliver(job_id: ResourceId, delivery_id: ResourceId, caller: CallerDep,
              session: SessionDep) -> DeliveryOut:
    """Send a delivery again: a fresh chain of attempts, same `webhook-id`."""
    delivery, attempts = service.redeliver(session, tenant_id=caller.tenant_id, job_id=job_id,
                                           delivery_id=delivery_id)
    return DeliveryOut.model_validate(delivery_view(delivery, attempts))
