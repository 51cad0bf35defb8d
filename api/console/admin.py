"""The console's operator pages (`/console/admin`, admin keys only): every tenant with its
balance, plan and rate limits, a tenant's page, granting credits, setting the plan and the
rate limits.

Each action calls the admin API's own route functions (`api.routers.admin`), so the same
checks run as for `POST /v1/admin/tenants/{id}/credits` and
`PUT /v1/admin/tenants/{id}/rate-limits` and `/plan`; a key that is not an admin key gets 403 on every
page here, as it does from the API.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from pydantic import ValidationError
from starlette.responses import Response

from api.console.render import ConsoleRoute, page, redirect
from api.console.routes import PAGE_SIZE, FormUserDep, SignedIn, SignedInDep
from api.deps import PageCursor, ResourceId, SessionDep
from api.routers import admin
from shared.errors import BadRequest
from shared.limits.effective import all_plans, plan_name
from shared.limits.gcra import limit_for
from shared.tenants import service
from shared.tenants.models import Tenant
from shared.tenants.schemas import CreditTopUp, PlanIn, RateLimitsIn

router = APIRouter(prefix="/console/admin", route_class=ConsoleRoute, include_in_schema=False)

BUCKETS = ("heavy", "general")
Number = Annotated[str, Form(max_length=30)]


def admin_user(user: SignedInDep) -> SignedIn:
    user.caller.require_admin()
    return user


def admin_form(user: FormUserDep) -> SignedIn:
    """A state-changing admin form: the session's CSRF token, then an admin key."""
    user.caller.require_admin()
    return user


AdminUserDep = Annotated[SignedIn, Depends(admin_user)]
AdminFormDep = Annotated[SignedIn, Depends(admin_form)]


def _limits(tenant: Tenant) -> dict[str, Any]:
    return {bucket: limit_for(bucket, tenant.rate_limits, tenant.plan) for bucket in BUCKETS}


@router.get("")
def tenants_page(request: Request, user: AdminUserDep, db: SessionDep,
                 cursor: PageCursor = None) -> Response:
    found = service.list_tenants(db, limit=PAGE_SIZE, cursor=cursor)
    tenants = [{"tenant": tenant, "limits": _limits(tenant), "plan": plan_name(tenant.plan)}
               for tenant in found.rows]
    return page(request, "admin.html", user.context(nav="admin", tenants=tenants, cursor=cursor,
                                                    next_cursor=found.next_cursor))


def _tenant_page(request: Request, user: SignedIn, db: SessionDep, tenant_id: str, *,
                 error: str | None = None, status_code: int = 200) -> Response:
    tenant = service.get_tenant(db, tenant_id)
    return page(request, "admin_tenant.html", user.context(
        nav="admin", tenant=tenant, limits=_limits(tenant), overrides=tenant.rate_limits or {},
        plan=plan_name(tenant.plan), plans=sorted(all_plans()), error=error),
        status_code=status_code)


@router.get("/tenants/{tenant_id}")
def tenant_page(request: Request, tenant_id: ResourceId, user: AdminUserDep,
                db: SessionDep) -> Response:
    return _tenant_page(request, user, db, tenant_id)


@router.post("/tenants/{tenant_id}/credits")
def grant_credits(request: Request, tenant_id: ResourceId, user: AdminFormDep, db: SessionDep,
                  amount: Number = "", reason: Annotated[str, Form(max_length=500)] = "") -> Response:
    try:
        body = CreditTopUp.model_validate({"amount": amount.strip(), "reason": reason.strip()})
    except ValidationError as exc:
        return _tenant_page(request, user, db, tenant_id, status_code=400,
                            error=f"Credits: {_problems(exc)}.")
    admin.add_credits(tenant_id, body, user.caller, db)
    return redirect(f"/console/admin/tenants/{tenant_id}")


@router.post("/tenants/{tenant_id}/rate-limits")
def set_rate_limits(request: Request, tenant_id: ResourceId, user: AdminFormDep, db: SessionDep,
                    heavy_rate: Number = "", heavy_burst: Number = "",
                    general_rate: Number = "", general_burst: Number = "") -> Response:
    """A bucket left blank keeps its override (or the plan's limit); both fields set it."""
    sent = {"heavy": (heavy_rate.strip(), heavy_burst.strip()),
            "general": (general_rate.strip(), general_burst.strip())}
    # The API's PUT replaces every override; the form keeps the buckets left blank.
    kept = service.get_tenant(db, tenant_id).rate_limits or {}
    limits = {**kept, **{bucket: {"rate": rate, "burst": burst}
                         for bucket, (rate, burst) in sent.items() if rate or burst}}
    try:
        body = RateLimitsIn.model_validate(limits)
    except ValidationError as exc:
        return _tenant_page(request, user, db, tenant_id, status_code=400,
                            error=f"Rate limits: {_problems(exc)}.")
    admin.set_rate_limits(tenant_id, body, user.caller, db)
    return redirect(f"/console/admin/tenants/{tenant_id}")


@router.post("/tenants/{tenant_id}/plan")
def set_plan(request: Request, tenant_id: ResourceId, user: AdminFormDep, db: SessionDep,
             plan: Annotated[str, Form(max_length=64)] = "") -> Response:
    try:
        body = PlanIn(plan=plan.strip())
        admin.set_plan(tenant_id, body, user.caller, db)
    except ValidationError as exc:
        return _tenant_page(request, user, db, tenant_id, status_code=400,
                            error=f"Plan: {_problems(exc)}.")
    except BadRequest as exc:  # an unknown plan: the API's 400, with the plans there are
        return _tenant_page(request, user, db, tenant_id, status_code=400, error=exc.detail)
    return redirect(f"/console/admin/tenants/{tenant_id}")


def _problems(exc: ValidationError) -> str:
    return "; ".join(f"{'.'.join(map(str, error['loc'])) or 'value'}: {error['msg']}"
                     for error in exc.errors())
