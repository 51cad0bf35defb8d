"""Reading the ledger: balance breakdown and usage grouped by day, operation or mode."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from shared.billing.models import LedgerEntry
from shared.clock import isoformat, utc_instant
from shared.errors import BadRequest
from shared.jobs.models import Job
from shared.jobs.states import TERMINAL_STATUSES
from shared.tenants.models import Tenant

GroupBy = Literal["day", "operation", "mode"]


def balance_view(session: Session, tenant_id: str) -> dict[str, Any]:
    """The balance, what is held for unfinished jobs, and the ledger sum it must equal."""
    balance = session.scalar(select(Tenant.credits_balance).where(Tenant.id == tenant_id)) or 0
    ledger_sum = session.scalar(
        select(func.coalesce(func.sum(LedgerEntry.amount), 0)).where(LedgerEntry.tenant_id == tenant_id)
    )
    held = session.scalar(
        select(func.coalesce(func.sum(Job.held_credits), 0)).where(
            Job.tenant_id == tenant_id, Job.status.not_in(list(TERMINAL_STATUSES))
        )
    )
    return {"tenant_id": tenant_id, "credits_balance": balance, "credits_held": int(held or 0),
            "ledger_sum": int(ledger_sum or 0), "credits_remaining": balance}


def usage_window(start: datetime | None, end: datetime | None) -> tuple[datetime | None,
                                                                      datetime | None]:
    """`from`/`to` as UTC instants, `from` before `to`; 400 otherwise."""
    start = utc_instant(start, "from") if start else None
    end = utc_instant(end, "to") if end else None
    if start and end and start >= end:
        raise BadRequest("from must be before to.", code="invalid_request")
    return start, end


def usage_view(
    session: Session, tenant_id: str, *, start: datetime | None, end: datetime | None,
    group_by: GroupBy,
) -> dict[str, Any]:
    key = {
        "day": func.date_trunc("day", LedgerEntry.created_at),
        "operation": LedgerEntry.operation,
        "mode": LedgerEntry.mode,
    }[group_by]
    query: Select[Any, Any, Any, Any] = (
        select(key.label("group"), func.count(), func.coalesce(func.sum(LedgerEntry.pages), 0),
               func.coalesce(func.sum(-LedgerEntry.amount), 0))
        .where(LedgerEntry.tenant_id == tenant_id, LedgerEntry.kind == "charge")
        .group_by(key).order_by(key)
    )
    if start:
        query = query.where(LedgerEntry.created_at >= start)
    if end:
        query = query.where(LedgerEntry.created_at < end)
    rows = [
        {group_by: isoformat(group)[:10] if isinstance(group, datetime) else group,  # type: ignore[index]
         "jobs": jobs, "pages": int(pages), "credits": int(credits)}
        for group, jobs, pages, credits in session.execute(query)
    ]
    totals = {name: sum(row[name] for row in rows) for name in ("jobs", "pages", "credits")}
    return {"tenant_id": tenant_id, "group_by": group_by, "from": isoformat(start),
            "to": isoformat(end), "rows": rows, "totals": totals}
