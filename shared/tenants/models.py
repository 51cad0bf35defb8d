"""Tenant and API key tables."""

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from shared.db.base import Base, created_at_column


class Tenant(Base):
    __tablename__ = "tenants"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    credits_balance: Mapped[int] = mapped_column(default=0)
    rate_limits: Mapped[dict[str, Any] | None] = mapped_column(default=None)
    # None: the deployment's default plan (QUARRY_DEFAULT_PLAN), so changing it moves them all.
    plan: Mapped[str | None] = mapped_column(String(64), default=None)
    webhook_secret: Mapped[str | None] = mapped_column(String(100), default=None)
    webhook_secret_previous: Mapped[str | None] = mapped_column(String(100), default=None)
    created_at: Mapped[datetime] = created_at_column()


class ApiKey(Base):
    __tablename__ = "api_keys"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), index=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    prefix: Mapped[str] = mapped_column(String(16))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    is_admin: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = created_at_column()
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)
