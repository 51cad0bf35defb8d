"""What billing does around a job: price it, hold at submission, cover the real pages,
settle once.

Price: credits per page by operation and mode (rates in settings); BYOK calls pay a
reduced rate. The mode is the job's `JobOptions.price_mode`, interpreted nowhere else.
Hold: the estimated pages are reserved at submission — free pages of the monthly
allowance first (`free_hold`), credits for the rest leave the balance (402 if they can't).
Cover: once the worker knows the real page count, the hold is raised to it — more free
pages first, then credits — before any more work is done or any result kept (402, the
job fails, if it can't).
Settle: the hold and the free-page reservation are released and the actual charge
recorded — all under keys unique to the job, so re-deliveries and retries never move
credits twice. The charge never exceeds the hold: work that was not paid for, in credits
or reserved free pages, is never served.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from shared.billing.ledger import (
    FREE_HOLD,
    FREE_RELEASE,
    balance,
    free_pages_held_for,
    free_pages_left,
    held_for,
    lock_tenant,
    record_entry,
    record_free_pages,
    shortfall,
    take_credits,
)
from shared.billing.models import LedgerEntry
from shared.jobs.options import ExtractOptions, MarkdownOptions
from shared.jobs.states import Operation
from shared.settings import get_settings

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


Price = Callable[[int], int]
"""Credits for N billable pages (at least one) under one job's options."""


def _price(price: Price, billable: int) -> int:
    return price(billable) if billable > 0 else 0


def place_hold(session: Session, *, tenant_id: str, job_id: str, credits: int) -> None:
    """Reserve `credits` for a job, or refuse with 402; the row lock makes this race-free."""
    if not take_credits(session, tenant_id=tenant_id, credits=credits):
        raise shortfall(session, tenant_id, f"this request needs {credits}", credits)
    record_entry(session, tenant_id=tenant_id, kind="hold", amount=-credits,
                 entry_key=f"hold:{job_id}", job_id=job_id, apply_to_balance=False)


def hold_pages(session: Session, *, tenant_id: str, job_id: str, pages: int,
               price: Price) -> int:
    """Reserve a job's `pages`: free pages left this month first, credits for the rest;
    return the credits held, or refuse with 402 (nothing reserved) when they can't be.

    Under the tenant row lock, so concurrent jobs never count the same free pages.
    """
    lock_tenant(session, tenant_id)
    free = min(pages, free_pages_left(session, tenant_id))
    credits = _price(price, pages - free)
    if credits:
        if not take_credits(session, tenant_id=tenant_id, credits=credits):
            raise shortfall(session, tenant_id, _needs("this request", credits, free), credits)
        record_entry(session, tenant_id=tenant_id, kind="hold", amount=-credits,
                     entry_key=f"hold:{job_id}", job_id=job_id, apply_to_balance=False)
    if free:
        record_free_pages(session, tenant_id=tenant_id, job_id=job_id, kind=FREE_HOLD,
                          pages=free, entry_key=f"free_hold:{job_id}")
    return credits


def _needs(what: str, credits: int, free: int) -> str:
    return f"{what} needs {credits}" + (f" beyond {free} free pages" if free else "")


@dataclass(frozen=True)
class PageHold:
    """One job of a batch to reserve: its estimated `pages` at its `price`."""

    job_id: str
    pages: int
    price: Price


def hold_batch(session: Session, *, tenant_id: str, jobs: Sequence[PageHold]) -> list[int]:
    """`hold_pages` for many jobs at once (free pages to the first jobs, in order): one
    balance update, the ledger rows in one insert; the credits held per job, or 402 with
    nothing reserved when the batch's credits exceed the balance."""
    lock_tenant(session, tenant_id)
    free_left = free_pages_left(session, tenant_id)
    rows: list[dict[str, object]] = []
    held: list[int] = []
    for job in jobs:
        free = min(job.pages, free_left)
        free_left -= free
        credits = _price(job.price, job.pages - free)
        held.append(credits)
        if credits:
            rows.append({"tenant_id": tenant_id, "kind": "hold", "amount": -credits,
                         "entry_key": f"hold:{job.job_id}", "job_id": job.job_id,
                         "reason": "batch", "pages": None})
        if free:
            rows.append({"tenant_id": tenant_id, "kind": FREE_HOLD, "amount": 0,
                         "entry_key": f"free_hold:{job.job_id}", "job_id": job.job_id,
                         "reason": "batch", "pages": free})
    needed = sum(held)
    if needed and not take_credits(session, tenant_id=tenant_id, credits=needed):
        raise shortfall(session, tenant_id, f"this batch needs {needed}", needed)
    if rows:
        session.execute(insert(LedgerEntry), rows)
    return held


def release_free_pages(session: Session, *, tenant_id: str, job_ids: Sequence[str]) -> None:
    """Hand back the free pages reserved for jobs that end without settling one by one
    (a canceled batch); a job already handed back is skipped by its entry key."""
    if not job_ids:
        return
    reserved = session.execute(
        select(LedgerEntry.job_id, func.sum(LedgerEntry.pages))
        .where(LedgerEntry.job_id.in_(list(job_ids)),
               LedgerEntry.kind.in_([FREE_HOLD, FREE_RELEASE]))
        .group_by(LedgerEntry.job_id)
    ).all()
    for job_id, pages in reserved:
        if job_id and pages:
            record_free_pages(session, tenant_id=tenant_id, job_id=job_id, kind=FREE_RELEASE,
                              pages=-int(pages), entry_key=f"free_release:{job_id}")


def raise_hold(session: Session, *, tenant_id: str, job_id: str, held: int, pages: int,
               price: Price) -> int:
    """Raise a job's hold to cover its real `pages` — more free pages first, then credits —
    and return the credits now held, or refuse with 402 (nothing more reserved) when the
    balance can't cover the rest.

    The caller holds the job's row lock, so a concurrent cancel releases the raised hold.
    """
    lock_tenant(session, tenant_id)
    free = free_pages_held_for(session, job_id)
    if _price(price, pages - free) <= held:
        return held
    more_free = min(pages - free, free_pages_left(session, tenant_id))
    credits = _price(price, pages - free - more_free)
    extra = credits - held
    if extra > 0:
        if not take_credits(session, tenant_id=tenant_id, credits=extra):
            needs = _needs(f"this document has {pages} pages and", credits, free + more_free)
            raise shortfall(session, tenant_id, needs, credits, held=held)
        record_entry(session, tenant_id=tenant_id, kind="hold", amount=-extra,
                     entry_key=f"hold:{job_id}:{credits}", job_id=job_id,
                     apply_to_balance=False)
    if more_free:
        record_free_pages(session, tenant_id=tenant_id, job_id=job_id, kind=FREE_HOLD,
                          pages=more_free, entry_key=f"free_hold:{job_id}:{free + more_free}")
    return max(credits, held)


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
    """Release the job's hold and its reserved free pages and, with `price` (credits for N
    billable pages), charge the job; return what was charged.

    Pages still inside the monthly free allowance (the job's own reservation, handed back
    first, included) are not billed. The charge is never more than the hold: the worker
    raised the hold to the real pages before keeping a result (`raise_hold`), so the cap
    only guards against a price that changed in between.
    """
    # Lock the tenant row before the ledger inserts take their foreign-key share locks on
    # it; taking the row lock after them deadlocks two workers settling for one tenant.
    lock_tenant(session, tenant_id)
    if held:
        record_entry(session, tenant_id=tenant_id, kind="release", amount=held,
                     entry_key=f"release:{job_id}", job_id=job_id)
    reserved = free_pages_held_for(session, job_id)
    if reserved:
        record_free_pages(session, tenant_id=tenant_id, job_id=job_id, kind=FREE_RELEASE,
                          pages=-reserved, entry_key=f"free_release:{job_id}")
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
