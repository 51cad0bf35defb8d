"""The fair dispatcher: batch jobs reach the bulk queue a few at a time, tenants in turn.

Batch jobs are stored `queued` without a message (`enqueued_at` unset, so the stale
job sweeper leaves them alone). The dispatcher keeps the bulk queue at about
`bulk_queue_target` messages, taking an equal share from every tenant with open
batches, so a second tenant's batch starts at once instead of after the first
one's 10,000 items. Single jobs use the interactive queue, which every worker
also consumes in turn with bulk, so they never wait behind a batch.

It runs after a batch is accepted, after every batch job finishes
(`shared.jobs.outcomes`), and on a beat schedule.
"""

from __future__ import annotations

import logging
import math
import random
from collections import Counter
from functools import partial

import redis
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from shared.batches.models import Batch, BatchItem
from shared.clock import utcnow
from shared.db.session import after_commit, transaction
from shared.jobs.models import Job
from shared.jobs.states import BULK_QUEUE, JobStatus
from shared.queue import queue_depth, send_job
from shared.settings import get_settings

log = logging.getLogger(__name__)


def top_up_bulk_queue() -> int:
    """Send batch jobs until the bulk queue holds its target; never raises (best effort)."""
    try:
        budget = get_settings().bulk_queue_target - queue_depth(BULK_QUEUE)
        if budget <= 0:
            return 0
        with transaction() as session:
            return len(dispatch_fairly(session, budget=budget))
    except (redis.RedisError, OSError) as exc:
        log.warning("bulk dispatch skipped: %s", exc)
    except Exception:
        log.exception("bulk dispatch failed; the next run retries")
    return 0


def dispatch_after_commit() -> None:
    top_up_bulk_queue()


def dispatch_fairly(session: Session, *, budget: int) -> list[str]:
    """Pick up to `budget` undispatched batch jobs, an equal share per tenant; send on commit."""
    tenants = list(session.scalars(
        select(Batch.tenant_id).where(Batch.completed_at.is_(None), Batch.canceled_at.is_(None),
                                      Batch.dispatched < Batch.total).distinct()
    ))
    if not tenants or budget <= 0:
        return []
    random.shuffle(tenants)
    share = max(1, math.ceil(budget / len(tenants)))
    picked: list[tuple[str, str]] = []
    for tenant_id in tenants:
        room = min(share, budget - len(picked))
        if room <= 0:
            break
        picked += [(row[0], row[1]) for row in session.execute(
            select(BatchItem.job_id, BatchItem.batch_id)
            .where(BatchItem.tenant_id == tenant_id, BatchItem.dispatched.is_(False))
            .order_by(BatchItem.position).limit(room).with_for_update(skip_locked=True)
        )]
    return _mark_and_send(session, picked)


def _mark_and_send(session: Session, picked: list[tuple[str, str]]) -> list[str]:
    if not picked:
        return []
    job_ids = [job_id for job_id, _ in picked]
    # Jobs before batches: the same lock order as a finishing job and a batch cancel.
    sent = list(session.scalars(
        update(Job).where(Job.id.in_(job_ids), Job.status == JobStatus.QUEUED)
        .values(enqueued_at=utcnow()).returning(Job.id)
        .execution_options(synchronize_session=False)
    ))
    session.execute(update(BatchItem).where(BatchItem.job_id.in_(job_ids))
                    .values(dispatched=True).execution_options(synchronize_session=False))
    for batch_id, count in Counter(batch_id for _, batch_id in picked).items():
        session.execute(update(Batch).where(Batch.id == batch_id)
                        .values(dispatched=Batch.dispatched + count)
                        .execution_options(synchronize_session=False))
    for job_id in sent:
        after_commit(session, partial(send_job, job_id, BULK_QUEUE))
    return sent
