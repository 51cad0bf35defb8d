"""The credits ledger."""

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from shared.db.base import Base, created_at_column


class LedgerEntry(Base):
    """One movement of credits. `entry_key` makes each movement happen at most once."""

    __tablename__ = "credit_ledger"
    # The free allowance and usage read a tenant's entries by time (migration 0002).
    __table_args__ = (Index("ix_credit_ledger_tenant_created", "tenant_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    amount: Mapped[int]
    entry_key: Mapped[str] = mapped_column(String(200), unique=True)
    job_id: Mapped[str | None] = mapped_column(String(32), default=None, index=True)
    reason: Mapped[str] = mapped_column(String(500), default="")
    operation: Mapped[str | None] = mapped_column(String(40), default=None)
    mode: Mapped[str | None] = mapped_column(String(20), default=None)
    pages: Mapped[int | None] = mapped_column(default=None)
    created_at: Mapped[datetime] = created_at_column()
