"""Training job and artifact tables."""

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from shared.db.base import Base, created_at_column
from shared.jobs.states import JobStatus


class TrainingJob(Base):
    """One request to learn a pipeline from labeled examples; runs on the worker."""

    __tablename__ = "training_jobs"
    __table_args__ = (Index("ix_training_jobs_tenant_created", "tenant_id", "created_at"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"))
    name: Mapped[str] = mapped_column(String(200))
    schema: Mapped[dict[str, Any]] = mapped_column()
    mode: Mapped[str] = mapped_column(String(20))
    examples: Mapped[list[dict[str, Any]]] = mapped_column(JSONB)
    """[{"upload_id", "file_name", "expected"}] in the order the client sent them."""
    options: Mapped[dict[str, Any] | None] = mapped_column(default=None)
    """{"llm": sealed BYOK model section} while the job runs; the sealed key is dropped when
    the job finishes."""
    status: Mapped[str] = mapped_column(String(20), default=JobStatus.QUEUED.value)
    progress: Mapped[dict[str, Any] | None] = mapped_column(default=None)
    report: Mapped[dict[str, Any] | None] = mapped_column(default=None)
    error: Mapped[dict[str, Any] | None] = mapped_column(default=None)
    artifact_id: Mapped[str | None] = mapped_column(String(32), default=None)
    attempts: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = created_at_column()
    started_at: Mapped[datetime | None] = mapped_column(default=None)
    finished_at: Mapped[datetime | None] = mapped_column(default=None)


class Artifact(Base):
    """A trained pipeline: the schema, mode and engine overrides that extraction resolves."""

    __tablename__ = "artifacts"
    __table_args__ = (Index("ix_artifacts_tenant_name_version", "tenant_id", "name", "version"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"))
    name: Mapped[str] = mapped_column(String(200))
    version: Mapped[int] = mapped_column()
    schema: Mapped[dict[str, Any]] = mapped_column()
    mode: Mapped[str] = mapped_column(String(20))
    pipeline: Mapped[dict[str, Any]] = mapped_column()
    """Job options' `pipeline` key: {"engine": "local", "variant", "local": {LocalConfig overrides}}
    or {"engine": "llm", "variant", "model", "hints", "few_shot", "local"?} — never a key."""
    report: Mapped[dict[str, Any]] = mapped_column()
    training_job_id: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = created_at_column()
    retired_at: Mapped[datetime | None] = mapped_column(default=None)
