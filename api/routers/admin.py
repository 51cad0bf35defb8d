"""Operator routes: tenants, keys and credits (admin keys only)."""

from __future__ import annotations

import uuid

from fastapi import APIRouter

from api.deps import AdminDep, ResourceId, SessionDep
from api.responses import error_responses
from api.routers.me import key_issued, key_out, limits_out
from shared.billing.ledger import top_up
from shared.contract.resources import RateLimitsOut, TenantPlanOut
from shared.errors import BadRequest, Forbidden, NotFound
from shared.limits.effective import effective_limits
from shared.tenants import service
from shared.tenants.schemas import (
    BalanceOut,
    CreditTopUp,
    KeyCreate,
    KeyIssued,
    KeyOut,
    PlanIn,
    RateLimitsIn,
    TenantCreate,
    TenantOut,
)

router = APIRouter(prefix="/v1/admin", tags=["admin"])
ADMIN_ERRORS = error_responses(Forbidden, NotFound)


@router.post("/tenants", response_model=TenantOut, status_code=201, responses=ADMIN_ERRORS)
def create_tenant(body: TenantCreate, _: AdminDep, session: SessionDep) -> TenantOut:
    tenant = service.create_tenant(session, name=body.name)
    balance = tenant.credits_balance
    if body.credits:
        balance = top_up(session, tenant_id=tenant.id, amount=body.credits,
                         reason="initial credits", entry_key=f"topup:{tenant.id}:initial")
    return TenantOut(tenant_id=tenant.id, name=tenant.name, credits_balance=balance)


@router.post("/tenants/{tenant_id}/api-keys", response_model=KeyIssued, status_code=201,
             responses=ADMIN_ERRORS)
def issue_tenant_key(tenant_id: ResourceId, body: KeyCreate, _: AdminDep, session: SessionDep) -> KeyIssued:
    return key_issued(service.issue_key(session, tenant_id=tenant_id, name=body.name,
                                        is_admin=body.is_admin))


@router.delete("/api-keys/{key_id}", response_model=KeyOut, responses=ADMIN_ERRORS)
def admin_revoke_key(key_id: ResourceId, caller: AdminDep, session: SessionDep) -> KeyOut:
    return key_out(service.revoke_key(session, key_id=key_id, caller=caller))


@router.post("/tenants/{tenant_id}/credits", response_model=BalanceOut, responses=ADMIN_ERRORS)
def add_credits(tenant_id: ResourceId, body: CreditTopUp, _: AdminDep, session: SessionDep) -> BalanceOut:
    service.get_tenant(session, tenant_id)
    new_balance = top_up(session, tenant_id=tenant_id, amount=body.amount, reason=body.reason,
                         entry_key=f"topup:{tenant_id}:{uuid.uuid4().hex}")
    return BalanceOut(tenant_id=tenant_id, credits_balance=new_balance)


@router.put("/tenants/{tenant_id}/rate-limits", response_model=RateLimitsOut,
            responses=ADMIN_ERRORS)
def set_rate_limits(
    tenant_id: ResourceId, body: RateLimitsIn, _: AdminDep, session: SessionDep
) -> RateLimitsOut:
    limits = body.model_dump(exclude_none=True)
    tenant = service.set_rate_limits(session, tenant_id=tenant_id, limits=limits)
    return RateLimitsOut(tenant_id=tenant.id, rate_limits=tenant.rate_limits)


@router.put("/tenants/{tenant_id}/plan", response_model=TenantPlanOut,
            responses=error_responses(BadRequest, Forbidden, NotFound))
def set_plan(tenant_id: ResourceId, body: PlanIn, _: AdminDep, session: SessionDep) -> TenantPlanOut:
    """Put the tenant on a plan (400 lists the plans there are); its overrides stay on top."""
    tenant = service.set_plan(session, tenant_id=tenant_id, plan=body.plan)
    limits = effective_limits(tenant.plan, tenant.rate_limits)
    return TenantPlanOut(tenant_id=tenant.id, plan=limits.plan, rate_limits=tenant.rate_limits,
                         limits=limits_out(session, tenant.id, limits))
