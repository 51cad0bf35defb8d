"""What billing does around a job: hold at submission, settle once at the end.

Hold: the estimated credits leave the balance at submission (402 if they can't).
Settle: the hold is released and the actual charge recorded — both under keys
unique to the job, so re-deliveries and retries never move credits twice.
"""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.orm import Session

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
    charge: int | None,
    operation: str | None = None,
    mode: str | None = None,
    pages: int | None = None,
) -> int:
    """Release the job's hold and, if `charge` is given, charge it; return what was charged.

    A charge above the hold (the estimate was low) is capped at what the balance can
    pay, so a balance never goes below zero.
    """
    # Lock the tenant row before the ledger inserts take their foreign-key share locks on
    # it; taking the row lock after them deadlocks two workers settling for one tenant.
    available = session.scalar(
        select(Tenant.credits_balance).where(Tenant.id == tenant_id).with_for_update(key_share=True)
    ) or 0
    if held:
        record_entry(session, tenant_id=tenant_id, kind="release", amount=held,
                     entry_key=f"release:{job_id}", job_id=job_id)
    if charge is None:
        return 0
    charged = max(0, min(charge, available + held))
    record_entry(session, tenant_id=tenant_id, kind="charge", amount=-charged,
                 entry_key=f"charge:{job_id}", job_id=job_id, operation=operation, mode=mode,
                 pages=pages)
    return charged
