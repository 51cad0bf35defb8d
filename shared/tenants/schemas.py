"""Pydantic shapes for tenant, key and credit administration."""

from __future__ import annotations

from pydantic import BaseModel, Field


class MeOut(BaseModel):
    tenant_id: str
    key_id: str
    is_admin: bool
    credits_balance: int


class TenantCreate(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    credits: int = Field(default=0, ge=0)


class TenantOut(BaseModel):
    tenant_id: str
    name: str
    credits_balance: int


class KeyCreate(BaseModel):
    name: str = Field(default="", max_length=200)
    is_admin: bool = False


class KeyIssued(BaseModel):
    key_id: str
    api_key: str
    tenant_id: str
    name: str
    prefix: str
    is_admin: bool


class KeyOut(BaseModel):
    key_id: str
    name: str
    prefix: str
    is_admin: bool
    created_at: str | None
    revoked_at: str | None


class CreditTopUp(BaseModel):
    amount: int
    reason: str = Field(default="", max_length=500)


class BalanceOut(BaseModel):
    tenant_id: str
    credits_balance: int


class BucketLimit(BaseModel):
    rate: float = Field(gt=0, le=100_000)
    burst: int = Field(ge=1, le=1_000_000)


class RateLimitsIn(BaseModel):
    heavy: BucketLimit | None = None
    general: BucketLimit | None = None
