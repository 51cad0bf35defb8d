"""The append-only ledger; the tenant's balance moves in the same transaction.

Also what is read off it to price work: the balance, the credits held for a job, and the
monthly free-pages allowance (the first N pages a tenant processes each month are free).
"""

from __future__ import annotations

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from shared.billing.models import LedgerEntry
from shared.clock import utcnow
from shared.errors import BadRequest, InsufficientCredits
from shared.tenants.models import Tenant
from shared.tenants.service import tenant_limits


def record_entry(
    session: Session,
    *,
    tenant_id: str,
    kind: str,
    amount: int,
    entry_key: str,
    job_id: str | None = None,
    reason: str = "",
    operation: str | None = None,
    mode: str | None = None,
    pages: int | None = None,
    apply_to_balance: bool = True,
) -> bool:
    """Append one entry unless `entry_key` was already used; return whether it was new.

    The insert and the balance update share a transaction, so the balance always
    equals the ledger sum; a re-delivered job hitting the same key changes nothing.
    `apply_to_balance=False` is for a caller that already moved the balance itself.
    """
    inserted = session.execute(
        insert(LedgerEntry)
        .values(
            tenant_id=tenant_id, kind=kind, amount=amount, entry_key=entry_key, job_id=job_id,
            reason=reason, operation=operation, mode=mode, pages=pages,
        )
        .on_conflict_do_nothing(index_elements=["entry_key"])
        .returning(LedgerEntry.id)
    ).first()
    if inserted is None:
        return False
    if not apply_to_balance:
        return True
    session.execute(
        update(Tenant)
        .where(Tenant.id == tenant_id)
        .values(credits_balance=Tenant.credits_balance + amount)
    )
    return True


def top_up(session: Session, *, tenant_id: str, amount: int, reason: str, entry_key: str) -> int:
    """Add credits, or with a negative amount take them away; a debit beyond the balance is
    refused with 402, since a balance never goes below zero."""
    if amount == 0:
        raise BadRequest("amount must not be zero.")
    if amount < 0 and not take_credits(session, tenant_id=tenant_id, credits=-amount):
        raise shortfall(session, tenant_id, f"this debit is {-amount}", -amount)
    record_entry(
        session, tenant_id=tenant_id, kind="top_up" if amount > 0 else "adjustment",
        amount=amount, entry_key=entry_key, reason=reason, apply_to_balance=amount > 0,
    )
    return balance(session, tenant_id)


def take_credits(session: Session, *, tenant_id: str, credits: int) -> bool:
    """Move `credits` out of the balance if it holds them, else change nothing.

    One conditional UPDATE: the row lock serialises concurrent takers, so none overdraws.
    The caller records the matching ledger entry (`apply_to_balance=False`).
    """
    taken = session.execute(
        update(Tenant)
        .where(Tenant.id == tenant_id, Tenant.credits_balance >= credits)
        .values(credits_balance=Tenant.credits_balance - credits)
        .returning(Tenant.id)
    ).first()
    return taken is not None


def shortfall(session: Session, tenant_id: str, needs: str, credits: int,
              *, held: int = 0) -> InsufficientCredits:
    """The 402 for a refused take: what was needed, and the balance (plus `held`, credits
    already set aside for the same work) it was measured against."""
    available = balance(session, tenant_id) + held
    return InsufficientCredits(
        f"Not enough credits: {needs}, the balance is {available}.",
        credits_required=credits, credits_balance=available,
    )


def balance(session: Session, tenant_id: str) -> int:
    value = session.scalar(select(Tenant.credits_balance).where(Tenant.id == tenant_id))
    return int(value or 0)


def held_for(session: Session, job_id: str) -> int:
    """The credits held for `job_id` by its hold entries (for work whose row keeps no hold)."""
    held = session.scalar(select(func.coalesce(func.sum(-LedgerEntry.amount), 0))
                          .where(LedgerEntry.job_id == job_id, LedgerEntry.kind == "hold"))
    return int(held or 0)


def free_pages_left(session: Session, tenant_id: str) -> int:
    """Pages still free this calendar month (UTC) on the tenant's plan; 0 without an allowance."""
    allowance = tenant_limits(session, tenant_id).free_pages_per_month
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
