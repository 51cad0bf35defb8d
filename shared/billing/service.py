"""What billing does around a job: hold at submission, settle once at the end.

Hold: the estimated credits leave the balance at submission (402 if they can't).
Settle: the hold is released and the actual charge recorded — both under keys
unique to the job, so re-deliveries and retries never move credits twice.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from shared.billing.allowance import free_pages_left
from shared.billing.ledger import record_entry
from shared.errors import InsufficientCredits
from shared.tenants.models import Tenant


def place_hold(session: Session, *, tenant_id: str, job_id: str, credits: int) -> None:
    """Reserve `credits` for a job, or refuse with 402; the row lock makes this race-free."""
    reserved = session.execute(
        update(Tenant)
        .where(Tenant.id == tenant_id, Tenant.credits_balance >= credits)
        .values(credits_balance=Tenant.credits_balance - credits)
        .returning(Tenant.credits_balance)
    ).first()
    if reserved is None:
        available = session.scalar(select(Tenant.credits_balance).where(Tenant.id == tenant_id))
        raise InsufficientCredits(
            f"Not enough credits: this request needs {credits}, the balance is {available or 0}.",
            credits_required=credits, credits_balance=available or 0,
        )
    record_entry(session, tenant_id=tenant_id, kind="hold", amount=-credits,
                 entry_key=f"hold:{job_id}", job_id=job_id, apply_to_balance=False)


def settle_job(
    session: Session,
    *,
    tenant_id: str,
    job_id: str,
    held: int,
    price: Callable[[int], int] | None,
    operation: str | None = None,
    mode: str | None = None,
    pages: int = 0,
) -> int:
    """Release the job's hold and, with `price` (credits for N billable pages), charge
    the job; return what was charged.

    Pages still inside the monthly free allowance are not billed. A charge above the
    hold (the estimate was low) is capped at what the balance can pay, so a balance
    never goes below zero.
    """
    # Lock the tenant row before the ledger inserts take their foreign-key share locks on
    # it; taking the row lock after them deadlocks two workers settling for one tenant.
    available = session.scalar(
        select(Tenant.credits_balance).where(Tenant.id == tenant_id).with_for_update(key_share=True)
    ) or 0
    if held:
        record_entry(session, tenant_id=tenant_id, kind="release", amount=held,
                     entry_key=f"release:{job_id}", job_id=job_id)
    if price is None:
        return 0
    billable = pages - min(pages, free_pages_left(session, tenant_id))
    charged = max(0, min(price(billable) if billable else 0, available + held))
    record_entry(session, tenant_id=tenant_id, kind="charge", amount=-charged,
                 entry_key=f"charge:{job_id}", job_id=job_id, operation=operation, mode=mode,
                 pages=pages)
    return charged
