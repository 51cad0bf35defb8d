"""Upload and job tables."""

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from shared.db.base import Base, created_at_column
from shared.jobs.states import INTERACTIVE_QUEUE, JobStatus


class Upload(Base):
    """A file in object storage that a tenant may process (by presign or multipart)."""

    __tablename__ = "uploads"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), index=True)
    storage_key: Mapped[str] = mapped_column(String(500))
    file_name: Mapped[str] = mapped_column(String(500))
    content_type: Mapped[str | None] = mapped_column(String(200), default=None)
    size: Mapped[int | None] = mapped_column(default=None)
    sha256: Mapped[str | None] = mapped_column(String(64), default=None)
    """The bytes' hash when first stored or read; jobs refuse bytes that differ (S3 PUTs)."""
    uploaded_at: Mapped[datetime | None] = mapped_column(default=None)
    expires_at: Mapped[datetime | None] = mapped_column(default=None)
    created_at: Mapped[datetime] = created_at_column()


class Job(Base):
    __tablename__ = "jobs"
    __table_args__ = (
        UniqueConstraint("tenant_id", "idempotency_key", name="uq_jobs_tenant_idempotency"),
        Index("ix_jobs_tenant_created", "tenant_id", "created_at", "id"),
        Index("ix_jobs_status_enqueued", "status", "enqueued_at"),
        Index("ix_jobs_finished_at", "finished_at"),  # retention's scan (migration 0003)
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"))
    operation: Mapped[str] = mapped_column(String(40))
    options: Mapped[dict[str, Any]] = mapped_column(default=dict)
    """The job's `JobOptions` as JSON (`shared.jobs.options`); `operation` discriminates it."""
    queue: Mapped[str] = mapped_column(String(20), default=INTERACTIVE_QUEUE,
                                       server_default=INTERACTIVE_QUEUE)
    """The Celery queue the job runs on, chosen at submission; the sweeper re-sends it there."""
    status: Mapped[str] = mapped_column(String(20), default=JobStatus.QUEUED.value)
    upload_id: Mapped[str] = mapped_column(ForeignKey("uploads.id"))
    file_name: Mapped[str] = mapped_column(String(500), default="")
    attempts: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = created_at_column()
    enqueued_at: Mapped[datetime | None] = mapped_column(default=None)
    started_at: Mapped[datetime | None] = mapped_column(default=None)
    finished_at: Mapped[datetime | None] = mapped_column(default=None)
    lease_expires_at: Mapped[datetime | None] = mapped_column(default=None)
    claimed_by: Mapped[str | None] = mapped_column(String(200), default=None)
    result: Mapped[dict[str, Any] | None] = mapped_column(default=None)
    error: Mapped[dict[str, Any] | None] = mapped_column(default=None)
    cost: Mapped[dict[str, Any] | None] = mapped_column(default=None)
    job_metadata: Mapped[dict[str, Any] | None] = mapped_column("metadata", default=None)
    idempotency_key: Mapped[str | None] = mapped_column(String(255), default=None)
    request_hash: Mapped[str | None] = mapped_column(String(64), default=None)
    webhook_url: Mapped[str | None] = mapped_column(String(2000), default=None)
    held_credits: Mapped[int] = mapped_column(default=0)
    pages_total: Mapped[int | None] = mapped_column(default=None)
    pages_done: Mapped[int | None] = mapped_column(default=None)
