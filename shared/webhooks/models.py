"""Webhook deliveries, their attempts, and secret rotation windows."""

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from shared.db.base import Base, created_at_column


class WebhookDelivery(Base):
    """One event for one URL. Its id is the `webhook-id` header, the same on every attempt.

    `generation` starts a fresh chain of attempts on redelivery: tasks of an older
    chain find a different generation and stop.
    """

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        Index("ix_webhook_deliveries_status_next", "status", "next_attempt_at"),
        # The console's recent deliveries: one tenant's, newest first.
        Index("ix_webhook_deliveries_tenant_created", "tenant_id", "created_at", "id"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"))
    job_id: Mapped[str | None] = mapped_column(ForeignKey("jobs.id"), index=True, default=None)
    batch_id: Mapped[str | None] = mapped_column(ForeignKey("batches.id"), index=True,
                                                 default=None)
    event: Mapped[str] = mapped_column(String(40))
    url: Mapped[str] = mapped_column(String(2000))
    status: Mapped[str] = mapped_column(String(20), default="pending")
    attempts: Mapped[int] = mapped_column(default=0)
    chain_attempts: Mapped[int] = mapped_column(default=0)
    generation: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(default=None)
    last_status_code: Mapped[int | None] = mapped_column(default=None)
    last_error: Mapped[str | None] = mapped_column(String(500), default=None)
    created_at: Mapped[datetime] = created_at_column()
    delivered_at: Mapped[datetime | None] = mapped_column(default=None)


class WebhookAttempt(Base):
    """One HTTP attempt of a delivery, as the receiver answered it (or did not)."""

    __tablename__ = "webhook_attempts"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    delivery_id: Mapped[str] = mapped_column(ForeignKey("webhook_deliveries.id"), index=True)
    number: Mapped[int]
    started_at: Mapped[datetime]
    duration_ms: Mapped[float]
    status_code: Mapped[int | None] = mapped_column(default=None)
    error: Mapped[str | None] = mapped_column(String(500), default=None)
    response_excerpt: Mapped[str | None] = mapped_column(String(1024), default=None)


class WebhookSecretRotation(Base):
    """Until `previous_valid_until`, the tenant's previous secret signs alongside the new one."""

    __tablename__ = "webhook_secret_rotations"

    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), primary_key=True)
    rotated_at: Mapped[datetime]
    previous_valid_until: Mapped[datetime]
