"""Balance and usage, for the key's own tenant (or any, with an admin key)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query

from api.deps import CallerDep, ResourceId, SessionDep
from shared.billing.usage import GroupBy, balance_view, usage_view, usage_window
from shared.tenants.service import get_tenant

router = APIRouter(prefix="/v1/billing", tags=["billing"])


@router.get("/balance/{tenant_id}")
def balance(tenant_id: ResourceId, caller: CallerDep, session: SessionDep) -> dict[str, Any]:
    caller.require_tenant(tenant_id)
    get_tenant(session, tenant_id)
    return balance_view(session, tenant_id)


@router.get("/usage/{tenant_id}")
def usage(
    tenant_id: ResourceId,
    caller: CallerDep,
    session: SessionDep,
    start: Annotated[datetime | None, Query(alias="from")] = None,
    end: Annotated[datetime | None, Query(alias="to")] = None,
    group_by: GroupBy = "day",
) -> dict[str, Any]:
    caller.require_tenant(tenant_id)
    start, end = usage_window(start, end)
    get_tenant(session, tenant_id)
    view = usage_view(session, tenant_id, start=start, end=end, group_by=group_by)
    view["credits_remaining"] = balance_view(session, tenant_id)["credits_balance"]
    return view
