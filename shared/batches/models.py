"""Batches and the jobs that belong to them."""

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from shared.db.base import Base, created_at_column


class Batch(Base):
    """Up to `batch_max_items` jobs submitted together; `finished` counts terminal ones."""

    __tablename__ = "batches"
    __table_args__ = (
        Index("ix_batches_tenant_created", "tenant_id", "created_at"),
        Index("ix_batches_open", "status", postgresql_where=text("completed_at IS NULL")),
        UniqueConstraint("tenant_id", "idempotency_key", name="uq_batches_tenant_idempotency"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"))
    operation: Mapped[str] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(20), default="running")
    total: Mapped[int]
    finished: Mapped[int] = mapped_column(default=0)
    dispatched: Mapped[int] = mapped_column(default=0)
    webhook_url: Mapped[str | None] = mapped_column(String(2000), default=None)
    created_at: Mapped[datetime] = created_at_column()
    canceled_at: Mapped[datetime | None] = mapped_column(default=None)
    completed_at: Mapped[datetime | None] = mapped_column(default=None)
    idempotency_key: Mapped[str | None] = mapped_column(String(255), default=None)
    request_hash: Mapped[str | None] = mapped_column(String(64), default=None)


class BatchItem(Base):
    """A job's place in its batch; `dispatched` once its message went to the bulk queue."""

    __tablename__ = "batch_items"
    __table_args__ = (
        Index("ix_batch_items_batch_position", "batch_id", "position"),
        Index("ix_batch_items_undispatched", "tenant_id", "position",
              postgresql_where=text("NOT dispatched")),
    )

    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id"), primary_key=True)
    batch_id: Mapped[str] = mapped_column(ForeignKey("batches.id"))
    tenant_id: Mapped[str] = mapped_column(String(32))
    position: Mapped[int]
    dispatched: Mapped[bool] = mapped_column(default=False)
