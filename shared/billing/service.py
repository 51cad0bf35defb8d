"""What billing does around a job: price it, hold at submission, cover the real pages,
settle once.

Price: credits per page by operation and mode (rates in settings); BYOK calls pay a
reduced rate. The mode is the job's `JobOptions.price_mode`, interpreted nowhere else.
Hold: the estimated credits leave the balance at submission (402 if they can't).
Cover: once the worker knows the real page count, the hold is raised to its price
before any more work is done or any result kept (402, the job fails, if it can't).
Settle: the hold is released and the actual charge recorded — both under keys
unique to the job, so re-deliveries and retries never move credits twice. The charge
never exceeds the hold: work that was not paid for is never served.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from sqlalchemy import select
from sqlalchemy.orm import Session

from shared.billing.ledger import (
    balance,
    free_pages_left,
    held_for,
    record_entry,
    shortfall,
    take_credits,
)
from shared.jobs.options import ExtractOptions, MarkdownOptions
from shared.jobs.states import Operation
from shared.settings import get_settings
from shared.tenants.models import Tenant

TRAINING = "training"
"""The ledger's `operation` for a training job's charge."""


def price_per_page(operation: str, mode: str) -> int:
    settings = get_settings()
    if operation == Operation.TO_MARKDOWN:
        return settings.price_markdown_fast if mode == "fast" else settings.price_markdown_default
    return {"fast": settings.price_extract_fast, "robust": settings.price_extract_robust}.get(
        mode, settings.price_extract_standard
    )


def _credits(operation: str, mode: str, byok: bool, pages: int) -> int:
    """`pages` (at least one) at the mode's rate; BYOK pays `byok_rate_percent`, rounded up."""
    total = price_per_page(operation, mode) * max(pages, 1)
    if byok:
        total = -(-total * get_settings().byok_rate_percent // 100)
    return total


def credits_for(options: ExtractOptions | MarkdownOptions, pages: int) -> int:
    """What a job with these options costs for `pages` pages."""
    return _credits(options.operation, options.price_mode, options.byok, pages)


def training_credits(options: ExtractOptions, pages: int) -> int:
    """A training job reads and extracts every page of its examples: priced as extraction
    with its options (`training_options`: its mode, BYOK rate when it brought a model key)."""
    return credits_for(options, pages)


def place_hold(session: Session, *, tenant_id: str, job_id: str, credits: int) -> None:
    """Reserve `credits` for a job, or refuse with 402; the row lock makes this race-free."""
    if not take_credits(session, tenant_id=tenant_id, credits=credits):
        raise shortfall(session, tenant_id, f"this request needs {credits}", credits)
    record_entry(session, tenant_id=tenant_id, kind="hold", amount=-credits,
                 entry_key=f"hold:{job_id}", job_id=job_id, apply_to_balance=False)


def raise_hold(session: Session, *, tenant_id: str, job_id: str, held: int, credits: int,
               pages: int) -> int:
    """Raise a job's hold from `held` to `credits`, the price of its real `pages`; return the
    new hold, or refuse with 402 when the balance can't cover the difference.

    The caller holds the job's row lock, so a concurrent cancel releases the raised hold.
    """
    extra = credits - held
    if extra <= 0:
        return held
    if not take_credits(session, tenant_id=tenant_id, credits=extra):
        needs = f"this document has {pages} pages and needs {credits}"
        raise shortfall(session, tenant_id, needs, credits, held=held)
    record_entry(session, tenant_id=tenant_id, kind="hold", amount=-extra,
                 entry_key=f"hold:{job_id}:{credits}", job_id=job_id, apply_to_balance=False)
    return credits


def require_credits(session: Session, tenant_id: str, *, what: str) -> None:
    """402 unless the tenant has a positive balance: free work is still only for payers."""
    if balance(session, tenant_id) <= 0:
        raise shortfall(session, tenant_id, f"{what} needs a positive balance", 1)


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

    Pages still inside the monthly free allowance are not billed. The charge is never more
    than the hold: the worker raised the hold to the real pages before keeping a result
    (`raise_hold`), so the cap only guards against a price that changed in between.
    """
    # Lock the tenant row before the ledger inserts take their foreign-key share locks on
    # it; taking the row lock after them deadlocks two workers settling for one tenant.
    session.execute(
        select(Tenant.id).where(Tenant.id == tenant_id).with_for_update(key_share=True)
    )
    if held:
        record_entry(session, tenant_id=tenant_id, kind="release", amount=held,
                     entry_key=f"release:{job_id}", job_id=job_id)
    if price is None:
        return 0
    billable = pages - min(pages, free_pages_left(session, tenant_id))
    charged = max(0, min(price(billable) if billable else 0, held))
    record_entry(session, tenant_id=tenant_id, kind="charge", amount=-charged,
                 entry_key=f"charge:{job_id}", job_id=job_id, operation=operation, mode=mode,
                 pages=pages)
    return charged


def settle_options_job(session: Session, *, tenant_id: str, job_id: str, held: int,
                       options: ExtractOptions | MarkdownOptions, pages: int) -> int:
    """Settle a job that did `pages` pages of work under `options`: charge them, once."""
    return settle_job(session, tenant_id=tenant_id, job_id=job_id, held=held,
                      price=partial(credits_for, options), operation=options.operation,
                      mode=options.price_mode, pages=pages)


def settle_training(session: Session, *, tenant_id: str, training_job_id: str,
                    options: ExtractOptions, pages: int | None) -> int:
    """Release a training job's hold and, when it finished (`pages` read), charge those pages
    as extraction with its options; a failed training job (`pages` None) is not charged."""
    price = partial(training_credits, options) if pages is not None else None
    return settle_job(session, tenant_id=tenant_id, job_id=training_job_id,
                      held=held_for(session, training_job_id), price=price, operation=TRAINING,
                      mode=options.mode, pages=pages or 0)
