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


FREE_HOLD = "free_hold"
"""A job's reservation of free pages (`pages`, no credits): taken with its credit hold."""
FREE_RELEASE = "free_release"
"""The reservation handed back when the job settles (`pages` negative); its charge then
counts whatever free pages it used."""


def lock_tenant(session: Session, tenant_id: str) -> None:
    """Serialise everything that reads and then spends a tenant's free pages or balance.

    `FOR NO KEY UPDATE` does not block the foreign-key share locks of ledger inserts.
    """
    session.execute(
        select(Tenant.id).where(Tenant.id == tenant_id).with_for_update(key_share=True)
    )


def free_pages_left(session: Session, tenant_id: str) -> int:
    """Pages still free this calendar month (UTC) on the tenant's plan; 0 without an allowance.

    Pages charged this month count as used, and pages reserved by jobs not yet settled as
    taken, so concurrent jobs can't each count the same free pages.
    """
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
    reserved = session.scalar(
        select(func.coalesce(func.sum(LedgerEntry.pages), 0)).where(
            LedgerEntry.tenant_id == tenant_id,
            LedgerEntry.kind.in_([FREE_HOLD, FREE_RELEASE]),
        )
    )
    return max(0, allowance - int(used or 0) - int(reserved or 0))


def free_pages_held_for(session: Session, job_id: str) -> int:
    """The free pages a job has reserved and not yet handed back."""
    held = session.scalar(
        select(func.coalesce(func.sum(LedgerEntry.pages), 0)).where(
            LedgerEntry.job_id == job_id, LedgerEntry.kind.in_([FREE_HOLD, FREE_RELEASE])
        )
    )
    return int(held or 0)


def record_free_pages(session: Session, *, tenant_id: str, job_id: str, kind: str,
                      pages: int, entry_key: str) -> None:
    """A reservation (`FREE_HOLD`, pages > 0) or its return (`FREE_RELEASE`, pages < 0)."""
    record_entry(session, tenant_id=tenant_id, kind=kind, amount=0, entry_key=entry_key,
                 job_id=job_id, pages=pages, apply_to_balance=False)
