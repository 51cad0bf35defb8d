"""Balance and usage, for the key's own tenant (or any, with an admin key)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query

from api.deps import CallerDep, ResourceId, SessionDep
from api.responses import error_responses
from shared.billing.usage import GroupBy, balance_view, usage_view, usage_window
from shared.contract.resources import BalanceView, UsageOut
from shared.errors import BadRequest, Forbidden, NotFound
from shared.tenants.service import get_tenant

router = APIRouter(prefix="/v1/billing", tags=["billing"])


@router.get("/balance/{tenant_id}", response_model=BalanceView,
            responses=error_responses(Forbidden, NotFound))
def get_balance(tenant_id: ResourceId, caller: CallerDep, session: SessionDep) -> BalanceView:
    """The tenant's balance, what unfinished jobs hold, and the ledger sum it equals."""
    caller.require_tenant(tenant_id)
    get_tenant(session, tenant_id)
    return BalanceView.model_validate(balance_view(session, tenant_id))


@router.get("/usage/{tenant_id}", response_model=UsageOut,
            responses=error_responses(BadRequest, Forbidden, NotFound))
def get_usage(
    tenant_id: ResourceId,
    caller: CallerDep,
    session: SessionDep,
    start: Annotated[datetime | None, Query(alias="from")] = None,
    end: Annotated[datetime | None, Query(alias="to")] = None,
    group_by: GroupBy = "day",
) -> UsageOut:
    """Charges grouped by day, operation or mode, in `[from, to)`."""
    caller.require_tenant(tenant_id)
    start, end = usage_window(start, end)
    get_tenant(session, tenant_id)
    view = usage_view(session, tenant_id, start=start, end=end, group_by=group_by)
    view["credits_remaining"] = balance_view(session, tenant_id)["credits_balance"]
    return UsageOut.model_validate(view)
