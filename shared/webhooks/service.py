"""What webhooks do: queue a delivery after commit, list deliveries, redeliver, sweep."""

from __future__ import annotations

from datetime import timedelta
from functools import partial

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from shared.clock import utcnow
from shared.contract.paging import DEFAULT_LIMIT, Slice, keyset_page
from shared.db.session import after_commit
from shared.errors import NotFound
from shared.ids import new_id
from shared.jobs.models import Job
from shared.jobs.states import DELIVER_WEBHOOK_TASK, WEBHOOKS_QUEUE, JobStatus
from shared.queue import send_task_quietly
from shared.webhooks.models import WebhookAttempt, WebhookDelivery
from shared.webhooks.schemas import EVENT_FOR_STATUS

PENDING, SUCCEEDED, FAILED = "pending", "succeeded", "failed"


def send_delivery(delivery_id: str, generation: int) -> None:
    send_task_quietly(DELIVER_WEBHOOK_TASK, [delivery_id, generation], WEBHOOKS_QUEUE)


def create_delivery(
    session: Session, *, tenant_id: str, event: str, url: str, job_id: str | None = None,
    batch_id: str | None = None,
) -> WebhookDelivery:
    """Record a delivery and send its first attempt once this transaction commits."""
    delivery = WebhookDelivery(
        id=new_id("msg"), tenant_id=tenant_id, event=event, url=url, job_id=job_id,
        batch_id=batch_id, status=PENDING, next_attempt_at=utcnow(),
    )
    session.add(delivery)
    session.flush()
    after_commit(session, partial(send_delivery, delivery.id, 0))
    return delivery


def queue_job_event(session: Session, job: Job, status: JobStatus) -> None:
    """In the transaction that wrote a job's outcome: its `job.*` event, if it has a URL."""
    event = EVENT_FOR_STATUS.get(status)
    if job.webhook_url and event:
        create_delivery(session, tenant_id=job.tenant_id, event=event, url=job.webhook_url,
                        job_id=job.id)


def list_job_deliveries(
    session: Session, *, tenant_id: str, job_id: str, limit: int = DEFAULT_LIMIT,
    cursor: str | None = None,
) -> Slice[tuple[WebhookDelivery, list[WebhookAttempt]]]:
    """Oldest first (the order they were sent), a page at a time, each with its attempts."""
    _tenant_job(session, tenant_id, job_id)
    page = keyset_page(session, select(WebhookDelivery).where(WebhookDelivery.job_id == job_id),
                       created=WebhookDelivery.created_at, ident=WebhookDelivery.id,
                       limit=limit, cursor=cursor, newest_first=False)
    return Slice([(delivery, _attempts(session, delivery.id)) for delivery in page.rows],
                 page.next_cursor)


def list_tenant_deliveries(
    session: Session, *, tenant_id: str, limit: int = DEFAULT_LIMIT, cursor: str | None = None,
) -> Slice[tuple[WebhookDelivery, list[WebhookAttempt]]]:
    """The tenant's deliveries across its jobs and batches, newest first, each with its
    attempts."""
    page = keyset_page(session, select(WebhookDelivery).where(WebhookDelivery.tenant_id == tenant_id),
                       created=WebhookDelivery.created_at, ident=WebhookDelivery.id,
                       limit=limit, cursor=cursor)
    return Slice([(delivery, _attempts(session, delivery.id)) for delivery in page.rows],
                 page.next_cursor)


def redeliver(session: Session, *, tenant_id: str, job_id: str,
              delivery_id: str) -> tuple[WebhookDelivery, list[WebhookAttempt]]:
    """Start a fresh chain of attempts (same `webhook-id`); an older chain stops."""
    _tenant_job(session, tenant_id, job_id)
    delivery = session.scalars(
        select(WebhookDelivery).where(WebhookDelivery.id == delivery_id,
                                      WebhookDelivery.job_id == job_id).with_for_update()
    ).first()
    if delivery is None:
        raise NotFound("Delivery not found.")
    delivery.generation += 1
    delivery.status, delivery.chain_attempts, delivery.next_attempt_at = PENDING, 0, utcnow()
    session.flush()
    after_commit(session, partial(send_delivery, delivery.id, delivery.generation))
    return delivery, _attempts(session, delivery.id)


def overdue_deliveries(session: Session, *, overdue_s: float, limit: int = 500) -> list[str]:
    """Pending deliveries whose message was lost (worker died, broker outage): send again."""
    cutoff = utcnow() - timedelta(seconds=overdue_s)
    rows = session.execute(
        select(WebhookDelivery.id, WebhookDelivery.generation)
        .where(WebhookDelivery.status == PENDING, WebhookDelivery.next_attempt_at < cutoff)
        .limit(limit)
    ).all()
    if rows:
        session.execute(update(WebhookDelivery)
                        .where(WebhookDelivery.id.in_([row[0] for row in rows]))
                        .values(next_attempt_at=utcnow()))
    for delivery_id, generation in rows:
        after_commit(session, partial(send_delivery, delivery_id, generation))
    return [row[0] for row in rows]


def _tenant_job(session: Session, tenant_id: str, job_id: str) -> Job:
    job = session.get(Job, job_id)
    if job is None or job.tenant_id != tenant_id:
        raise NotFound("Job not found.")
    return job


def _attempts(session: Session, delivery_id: str) -> list[WebhookAttempt]:
    return list(session.scalars(
        select(WebhookAttempt).where(WebhookAttempt.delivery_id == delivery_id)
        .order_by(WebhookAttempt.number)
    ))
