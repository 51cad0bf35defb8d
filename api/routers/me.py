"""`GET /v1/me` and a tenant's own API keys."""

from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy.orm import Session

from api.deps import CallerDep, PageCursor, PageLimit, ResourceId, SessionDep
from api.responses import error_responses
from shared.billing.ledger import balance, free_pages_left
from shared.clock import isoformat
from shared.contract.paging import DEFAULT_LIMIT, Page
from shared.contract.resources import BucketLimitOut, PlanLimitsOut
from shared.errors import BadRequest, Forbidden, NotFound
from shared.limits.effective import EffectiveLimits
from shared.limits.plans import Limit
from shared.tenants import service
from shared.tenants.models import ApiKey
from shared.tenants.schemas import KeyCreate, KeyIssued, KeyOut, MeOut

router = APIRouter(prefix="/v1", tags=["tenants"])


@router.get("/me", response_model=MeOut, responses=error_responses())
def get_me(caller: CallerDep, session: SessionDep) -> MeOut:
    """Who the key is, the tenant's balance, and the plan and limits it works under."""
    limits = caller.limits
    return MeOut(tenant_id=caller.tenant_id, key_id=caller.key_id, is_admin=caller.is_admin,
                 credits_balance=balance(session, caller.tenant_id), plan=limits.plan,
                 limits=limits_out(session, caller.tenant_id, limits))


def limits_out(session: Session, tenant_id: str, limits: EffectiveLimits) -> PlanLimitsOut:
    def bucket(limit: Limit) -> BucketLimitOut:
        return BucketLimitOut(per_minute=limit.per_minute, rate_per_s=limit.rate_per_s,
                              burst=limit.burst)

    return PlanLimitsOut(heavy=bucket(limits.heavy), general=bucket(limits.general),
                         max_upload_bytes=limits.max_upload_bytes,
                         free_pages_per_month=limits.free_pages_per_month,
                         free_pages_left=free_pages_left(session, tenant_id),
                         max_batch_items=limits.max_batch_items)


def key_out(key: ApiKey) -> KeyOut:
    return KeyOut(key_id=key.id, name=key.name, prefix=key.prefix, is_admin=key.is_admin,
                  created_at=isoformat(key.created_at), revoked_at=isoformat(key.revoked_at))


def key_issued(issued: service.IssuedKey) -> KeyIssued:
    key = issued.key
    return KeyIssued(key_id=key.id, api_key=issued.plain, tenant_id=key.tenant_id, name=key.name,
                     prefix=key.prefix, is_admin=key.is_admin)


@router.get("/api-keys", response_model=Page[KeyOut], responses=error_responses(BadRequest))
def list_api_keys(caller: CallerDep, session: SessionDep, limit: PageLimit = DEFAULT_LIMIT,
                  cursor: PageCursor = None) -> Page[KeyOut]:
    """The tenant's keys, oldest first, revoked ones included (never the key itself)."""
    page = service.list_keys(session, caller.tenant_id, limit=limit, cursor=cursor)
    return page.page([key_out(key) for key in page.rows])


@router.post("/api-keys", response_model=KeyIssued, status_code=201,
             responses=error_responses(Forbidden))
def create_api_key(body: KeyCreate, caller: CallerDep, session: SessionDep) -> KeyIssued:
    if body.is_admin:
        caller.require_admin()
    issued = service.issue_key(session, tenant_id=caller.tenant_id, name=body.name,
                               is_admin=body.is_admin)
    return key_issued(issued)


@router.delete("/api-keys/{key_id}", response_model=KeyOut, responses=error_responses(NotFound))
def revoke_api_key(key_id: ResourceId, caller: CallerDep, session: SessionDep) -> KeyOut:
    own = caller.__class__(tenant_id=caller.tenant_id, key_id=caller.key_id, is_admin=False)
    return key_out(service.revoke_key(session, key_id=key_id, caller=own))
