"""The append-only ledger; the tenant's balance moves in the same transaction."""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from shared.billing.models import LedgerEntry
from shared.errors import BadRequest
from shared.tenants.models import Tenant


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
    if amount == 0:
        raise BadRequest("amount must not be zero.")
    record_entry(
        session, tenant_id=tenant_id, kind="top_up" if amount > 0 else "adjustment",
        amount=amount, entry_key=entry_key, reason=reason,
    )
    return balance(session, tenant_id)


def balance(session: Session, tenant_id: str) -> int:
    value = session.scalar(select(Tenant.credits_balance).where(Tenant.id == tenant_id))
    return int(value or 0)
