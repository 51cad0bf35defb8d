"""The monthly free-pages allowance: the first N pages a tenant processes each month are free."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from shared.billing.models import LedgerEntry
from shared.clock import utcnow
from shared.settings import get_settings


def free_pages_left(session: Session, tenant_id: str) -> int:
    """Pages still free this calendar month (UTC); 0 when no allowance is configured."""
    allowance = get_settings().free_pages_per_month
    if allowance <= 0:
        return 0
    month_start = utcnow().replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    used = session.scalar(
        select(func.coalesce(func.sum(LedgerEntry.pages), 0)).where(
            LedgerEntry.tenant_id == tenant_id, LedgerEntry.kind == "charge",
            LedgerEntry.created_at >= month_start,
        )
    )
    return max(0, allowance - int(used or 0))
